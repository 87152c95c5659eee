"use server";
import { redirect } from "next/navigation";
import { revalidatePath } from "next/cache";
import { requireAdminAction } from "@/app/_server/session.ts";
import { echoValues, formSubject, formText, toFormState, type FormState } from "@/app/_server/action-state.ts";
import {
  addMessagingCertificate,
  attachSignedCertificate,
  deleteMessagingCertificate,
  exportDefaultMessagingCertificate,
  generateMessagingCsr,
  setDefaultMessagingCertificate,
} from "@/lib/iot/messaging-certificates.ts";
import { isAppError } from "@/lib/errors/app-error.ts";

const PAGE = "/iot/messaging";

/** Add Certificate: certificate + private key (+ passphrase) + description. */
export async function addMessagingCertificateAction(_prev: FormState, fd: FormData): Promise<FormState> {
  const values = echoValues(fd, ["privateKey", "passphrase"]);
  let id: string;
  try {
    const admin = await requireAdminAction();
    const passphrase = formText(fd, "passphrase");
    const r = await addMessagingCertificate(
      { certificate: formText(fd, "certificate") ?? "", privateKey: formText(fd, "privateKey") ?? "", passphrase: passphrase ? passphrase : undefined, description: formText(fd, "description") ?? "" },
      { actor: admin.username },
    );
    id = r.id;
  } catch (e) {
    return toFormState(e, values, ["certificate", "privateKey", "passphrase", "description"]);
  }
  revalidatePath("/", "layout");
  redirect(`${PAGE}?added=${encodeURIComponent(id)}`);
}

/** Generate CSR: subject fields, SANs, key algorithm, description. */
export async function generateCsrAction(_prev: FormState, fd: FormData): Promise<FormState> {
  const values = echoValues(fd, []);
  let id: string;
  try {
    const admin = await requireAdminAction();
    const r = await generateMessagingCsr(
      { subject: formSubject(fd), sans: formText(fd, "sans") ?? "", keyAlgorithm: formText(fd, "keyAlgorithm"), description: formText(fd, "description") ?? "" },
      { actor: admin.username },
    );
    id = r.id;
  } catch (e) {
    return toFormState(e, values, ["subject.", "subject", "sans", "keyAlgorithm", "description"]);
  }
  revalidatePath("/", "layout");
  redirect(`${PAGE}?csr=${encodeURIComponent(id)}#row-${id}`);
}

/** Upload the signed certificate onto a CSR row (`id` bound by the page). */
export async function attachCertificateAction(id: string, _prev: FormState, fd: FormData): Promise<FormState> {
  try {
    const admin = await requireAdminAction();
    await attachSignedCertificate(id, { certificate: formText(fd, "certificate") ?? "" }, { actor: admin.username });
  } catch (e) {
    const state = toFormState(e, undefined, ["certificate"]);
    if (isAppError(e) && e.code === "not_found") state.message = "This CSR no longer exists: reload the page.";
    return state;
  }
  revalidatePath("/", "layout");
  redirect(`${PAGE}?attached=${encodeURIComponent(id)}#row-${id}`);
}

/** The Default messaging server certificate drop-down's Save. */
export async function setDefaultAction(_prev: FormState, fd: FormData): Promise<FormState> {
  const id = formText(fd, "id") ?? "";
  try {
    const admin = await requireAdminAction();
    await setDefaultMessagingCertificate(id, { actor: admin.username });
  } catch (e) {
    return toFormState(e, { id }, ["id"]);
  }
  revalidatePath("/", "layout");
  redirect(`${PAGE}?default=${encodeURIComponent(id)}`);
}

/** Delete a certificate or CSR (not the default), after the confirmation. */
export async function deleteMessagingAction(fd: FormData): Promise<void> {
  const id = formText(fd, "id") ?? "";
  let destination: string;
  try {
    const admin = await requireAdminAction();
    await deleteMessagingCertificate(id, { actor: admin.username });
    destination = `${PAGE}?deleted=1`;
  } catch (e) {
    if (!isAppError(e)) throw e;
    if (e.code === "unauthorized") destination = `/login?next=${encodeURIComponent(PAGE)}`;
    else if (e.code === "conflict") destination = `${PAGE}?notDeleted=${encodeURIComponent(id)}`;
    else if (e.code === "not_found") destination = PAGE;
    else throw e;
  }
  revalidatePath("/", "layout");
  redirect(destination);
}

export interface ExportResult {
  certificate: string;
  privateKey: string;
  subject?: string;
}

/** Export default for the broker: the certificate and its unencrypted key, shown once. */
export async function exportDefaultAction(): Promise<{ ok: true; data: ExportResult } | { ok: false; message: string }> {
  try {
    const admin = await requireAdminAction();
    const r = await exportDefaultMessagingCertificate({ actor: admin.username });
    return { ok: true, data: { certificate: r.certificate, privateKey: r.privateKey } };
  } catch (e) {
    const s = toFormState(e);
    return { ok: false, message: s.message ?? "The default certificate could not be exported." };
  }
}
