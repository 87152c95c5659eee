"use server";
import { redirect } from "next/navigation";
import { revalidatePath } from "next/cache";
import { requireAdminAction } from "@/app/_server/session.ts";
import { echoValues, formText, toFormState, type FormState } from "@/app/_server/action-state.ts";
import { addIotCaCertificate, deleteIotCaCertificate, previewIotCaCertificate, refreshIotCaCrl, registerLocalCa, setIotCaCertificateActive, type IotCaPreview } from "@/lib/iot/ca-certificates.ts";
import { isAppError } from "@/lib/errors/app-error.ts";

const PAGE = "/iot/ca-certificates";

export interface AddCaData {
  preview?: IotCaPreview;
}
export type AddCaState = FormState<AddCaData>;

/**
 * Add Certificate: `intent` "preview" parses the certificate and shows its details and
 * problems (the CRL is fetched too); "save" registers it and returns to the list.
 */
export async function addCaCertificateAction(_prev: AddCaState, fd: FormData): Promise<AddCaState> {
  const values = echoValues(fd, []);
  const certificate = formText(fd, "certificate") ?? "";
  const description = formText(fd, "description") ?? "";
  let id: string;
  try {
    const admin = await requireAdminAction();
    if (formText(fd, "intent") !== "save") {
      if (!certificate.trim()) return { ok: false, fields: { certificate: "Choose a certificate file or paste the certificate (PEM)" }, values };
      const preview = await previewIotCaCertificate(certificate, { checkCrl: true });
      return { ok: true, values, data: { preview } };
    }
    const r = await addIotCaCertificate({ certificate, description }, { actor: admin.username });
    id = r.id;
  } catch (e) {
    return toFormState<AddCaData>(e, values, ["certificate", "description"]);
  }
  revalidatePath("/", "layout");
  redirect(`${PAGE}?added=${encodeURIComponent(id)}`);
}

/**
 * Runs a one-click row action and goes back to the list with its outcome. Only an
 * error code travels in the URL: a crafted link cannot put text of its own on the page.
 */
async function listAction(fd: FormData | null, work: (actor: string) => Promise<Record<string, string>>): Promise<never> {
  let destination: string;
  try {
    const admin = await requireAdminAction();
    destination = fd ? back(fd, await work(admin.username)) : `${PAGE}?${new URLSearchParams(await work(admin.username))}`;
  } catch (e) {
    if (!isAppError(e)) throw e;
    if (e.code === "unauthorized") destination = `/login?next=${encodeURIComponent(PAGE)}`;
    else destination = fd ? back(fd, { problem: e.code }) : `${PAGE}?problem=${encodeURIComponent(e.code)}`;
  }
  revalidatePath("/", "layout");
  redirect(destination);
}

/** Register this instance's CA certificate with one click. */
export async function registerLocalCaAction(): Promise<void> {
  await listAction(null, async (actor) => ({ added: (await registerLocalCa({ actor })).id }));
}

function back(fd: FormData, extra: Record<string, string>): string {
  const q = new URLSearchParams(extra);
  if (formText(fd, "show") === "all") q.set("show", "all");
  return `${PAGE}?${q}`;
}

/** Activate or Deactivate a row (`active` "true" or "false"). */
export async function setActiveAction(fd: FormData): Promise<void> {
  const id = formText(fd, "id") ?? "";
  const active = formText(fd, "active") === "true";
  await listAction(fd, async (actor) => {
    await setIotCaCertificateActive(id, active, { actor });
    return { [active ? "activated" : "deactivated"]: id };
  });
}

/** Delete a row, after the confirmation. */
export async function deleteCaCertificateAction(fd: FormData): Promise<void> {
  const id = formText(fd, "id") ?? "";
  await listAction(fd, async (actor) => ({ deleted: (await deleteIotCaCertificate(id, { actor })).id }));
}

/**
 * Refresh CRL: fetch the CA's CRL again now. The outcome is read back from the CA's row
 * (its CRL dates, or the reason the last attempt failed), so only the id travels in the URL.
 */
export async function refreshCrlAction(fd: FormData): Promise<void> {
  const id = formText(fd, "id") ?? "";
  await listAction(fd, async (actor): Promise<Record<string, string>> => {
    try {
      await refreshIotCaCrl(id, { actor });
      return { "crl-refreshed": id };
    } catch (e) {
      if (isAppError(e) && e.code !== "not_found" && e.code !== "unauthorized") return { "crl-failed": id };
      throw e;
    }
  });
}
