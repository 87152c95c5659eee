"use server";
import { headers } from "next/headers";
import { clientIp } from "@/app/_server/origin.ts";
import { echoValues, formText, toFormState, type FormState } from "@/app/_server/action-state.ts";
import { hitSharedLimit } from "@/lib/auth/shared-rate-limit.ts";
import { CSR_RATE_WINDOW_MS, csrRateLimit } from "@/app/_server/csr-rate-limit.ts";
import { submitRequest } from "@/lib/ca/requests.ts";
import { env } from "@/lib/env.ts";

/** What the page shows after a successful submission. */
export interface SubmittedRequest {
  id: string;
  filename: string;
  subject: string;
  sha1Fingerprint: string;
  sha256Fingerprint: string;
}
export type RequestFormState = FormState<SubmittedRequest>;


/** Submits a CSR from the public request page (no sign-in): the same rules as the API. */
export async function submitPublicRequestAction(_prev: RequestFormState, fd: FormData): Promise<RequestFormState> {
  return submitFromForm(fd);
}

/** Renewal of certificate `number` (bound by the renewal page): the same rules as POST /api/v1/certificates/{number}/renewal. */
export async function renewPublicRequestAction(number: number, _prev: RequestFormState, fd: FormData): Promise<RequestFormState> {
  return submitFromForm(fd, number);
}

async function submitFromForm(fd: FormData, renewalOf?: number): Promise<RequestFormState> {
  // The CSR is public but may be long; the form keeps it in its own state, so it is not echoed.
  const values = echoValues(fd, ["csr"]);
  try {
    const h = await headers();
    const ip = clientIp(h);
    // Its own window, like POST /api/v1/csrs: anonymous submissions per client address, shared by the instances.
    await hitSharedLimit("csr-form", ip ?? "unknown", csrRateLimit(), CSR_RATE_WINDOW_MS);
    // Never the caller's Host header: an anonymous caller could point the link in the
    // administrator's e-mail at a host of their own.
    const portalUrl = env().PORTCULLIS_PUBLIC_URL;
    const r = await submitRequest(
      {
        csr: formText(fd, "csr") ?? "",
        contact: { name: formText(fd, "contact.name"), phone: formText(fd, "contact.phone"), email: formText(fd, "contact.email") },
        hostname: formText(fd, "hostname"),
        instance: formText(fd, "instance"),
        filename: formText(fd, "filename"),
      },
      { ip, portalUrl, renewalOf },
    );
    return { ok: true, data: { id: r.id, filename: r.filename, subject: r.subject, sha1Fingerprint: r.sha1Fingerprint, sha256Fingerprint: r.sha256Fingerprint } };
  } catch (e) {
    return toFormState<SubmittedRequest>(e, values);
  }
}
