"use server";
import { revalidatePath } from "next/cache";
import { requireAdminAction } from "@/app/_server/session.ts";
import { toFormState, type FormState } from "@/app/_server/action-state.ts";
import { getCaCertificate, getIssuedCertificate } from "@/lib/client/get-certificates.ts";

export interface SavedFileView {
  message: string;
  sha1Fingerprint: string;
  /** Name in the client directory, for /api/v1/client/files/{name}. */
  fileName: string;
  notes: string[];
  /** More files saved with this one (the CA chain), one line each. */
  alsoSaved?: string[];
}
export type GetState = FormState<SavedFileView>;

function baseName(path: string): string {
  return path.split(/[\\/]/).pop() ?? path;
}

/** Get Certificate Authority Certificate. */
export async function getCaCertificateAction(_prev: GetState, _fd: FormData): Promise<GetState> {
  try {
    await requireAdminAction();
    const r = await getCaCertificate();
    revalidatePath("/ca-client", "layout");
    return { ok: true, data: { message: r.message, sha1Fingerprint: r.sha1Fingerprint, fileName: baseName(r.file), notes: r.notes, alsoSaved: r.chainMessage ? [r.chainMessage] : [] } };
  } catch (e) {
    return toFormState(e);
  }
}

/** Get for one issued certificate (by its number). */
export async function getCertificateAction(_prev: GetState, fd: FormData): Promise<GetState> {
  try {
    await requireAdminAction();
    const r = await getIssuedCertificate(String(fd.get("number") ?? ""));
    return { ok: true, data: { message: r.message, sha1Fingerprint: r.sha1Fingerprint, fileName: r.fileName, notes: r.notes } };
  } catch (e) {
    const s = toFormState<SavedFileView>(e);
    return s.fields && !s.message ? { ...s, message: Object.values(s.fields).join(" ") } : s;
  }
}
