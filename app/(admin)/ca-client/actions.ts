"use server";
import { redirect } from "next/navigation";
import { revalidatePath } from "next/cache";
import { requireAdminAction } from "@/app/_server/session.ts";
import { echoValues, formText, toFormState, type FormState } from "@/app/_server/action-state.ts";
import { checkCaServer, configureCaClient, type ConfigureClientInput } from "@/lib/client/configure-client.ts";

export type ConfigureClientState = FormState<{ check?: { ok: boolean; message: string } }>;

function formToInput(fd: FormData): ConfigureClientInput {
  const s = (k: string) => formText(fd, k);
  return {
    serverHost: s("serverHost"),
    serverPort: s("serverPort"),
    serverPath: s("serverPath"),
    useTls: fd.get("useTls") === "on",
    instanceName: s("instanceName"),
    hostname: s("hostname"),
    contactName: s("contactName"),
    contactPhone: s("contactPhone"),
    contactEmail: s("contactEmail"),
  };
}

/** Save (or Check connection) on "Configure local Certificate Authority client". */
export async function configureClientAction(_prev: ConfigureClientState, fd: FormData): Promise<ConfigureClientState> {
  const values = echoValues(fd, []);
  const intent = fd.get("intent");
  try {
    const admin = await requireAdminAction();
    if (intent === "check") {
      const r = await checkCaServer(formToInput(fd));
      return { values, data: { check: { ok: true, message: r.message } } };
    }
    await configureCaClient(formToInput(fd), { actor: admin.username });
  } catch (e) {
    const state = toFormState<{ check?: { ok: boolean; message: string } }>(e, values);
    // A failed connection check is a result to show, not a form error.
    if (intent === "check" && !state.fields) return { values, data: { check: { ok: false, message: state.message ?? "The check failed" } } };
    return state;
  }
  revalidatePath("/ca-client", "layout");
  redirect("/ca-client?configured=1");
}
