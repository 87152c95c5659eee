"use server";
import { headers } from "next/headers";
import { clientIp } from "@/app/_server/origin.ts";
import { echoValues, formText, toFormState, type FormState } from "@/app/_server/action-state.ts";
import { RateLimiter } from "@/lib/auth/rate-limit.ts";
import { checkDeviceCertificate, type DeviceCheckResult } from "@/lib/iot/device-check.ts";

export type DeviceCheckState = FormState<DeviceCheckResult>;

// Its own window, like POST /api/v1/iot/device-check: anonymous checks per client address.
const limiter = new RateLimiter(Number(process.env.PORTCULLIS_DEVICE_CHECK_RATE_LIMIT ?? 300), 60_000);

/** The device check: a question, so a refused certificate is an answer (with every reason), not an error. */
export async function deviceCheckAction(_prev: DeviceCheckState, fd: FormData): Promise<DeviceCheckState> {
  const values = echoValues(fd, []);
  try {
    limiter.hit(clientIp(await headers()) ?? "unknown");
    const certificate = formText(fd, "certificate") ?? "";
    if (!certificate.trim()) return { ok: false, fields: { certificate: "Choose the device certificate file or paste it (PEM)" }, values };
    const chain = formText(fd, "chain")?.trim();
    const result = await checkDeviceCertificate({ certificate, chain: chain ? chain : undefined });
    return { ok: true, values, data: result };
  } catch (e) {
    const state = toFormState<DeviceCheckResult>(e, values);
    // Only the two fields exist on the page.
    const fields: Record<string, string> = {};
    for (const [k, m] of Object.entries(state.fields ?? {})) {
      if (k === "chain") fields.chain = m;
      else if (k === "certificate") fields.certificate = m;
      else state.message = [state.message, m].filter(Boolean).join(" ");
    }
    state.fields = Object.keys(fields).length ? fields : undefined;
    return state;
  }
}
