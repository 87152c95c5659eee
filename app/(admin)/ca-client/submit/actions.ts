"use server";
import { revalidatePath } from "next/cache";
import { requireAdminAction } from "@/app/_server/session.ts";
import { echoValues, formSubject, formText, toFormState, type FormState } from "@/app/_server/action-state.ts";
import { resubmitCertificateRequest, submitCertificateRequest, type SubmitCsrResult } from "@/lib/client/submit-request.ts";

/** What the page shows of a submitted request. */
export type SubmittedView = Pick<SubmitCsrResult, "fileNameRoot" | "subject" | "sha1Fingerprint" | "sha256Fingerprint" | "keyFile" | "csrFile" | "keyEncrypted" | "message">;
export type SubmitState = FormState<{ result?: SubmittedView; resubmitted?: boolean }>;

const SECRETS = ["keyPassword", "keyPasswordConfirm"];

function view(r: SubmitCsrResult): SubmittedView {
  return { fileNameRoot: r.fileNameRoot, subject: r.subject, sha1Fingerprint: r.sha1Fingerprint, sha256Fingerprint: r.sha256Fingerprint, keyFile: r.keyFile, csrFile: r.csrFile, keyEncrypted: r.keyEncrypted, message: r.message };
}

/** Save on "Submit Certificate Signing Request": generate, save, submit. */
export async function submitCsrAction(_prev: SubmitState, fd: FormData): Promise<SubmitState> {
  const values = echoValues(fd, SECRETS);
  const s = (k: string) => formText(fd, k);
  try {
    const admin = await requireAdminAction();
    const r = await submitCertificateRequest(
      {
        fileNameRoot: s("fileNameRoot"),
        keyPassword: s("keyPassword"),
        keyPasswordConfirm: s("keyPasswordConfirm"),
        subject: formSubject(fd),
        keyAlgorithm: s("keyAlgorithm"),
        sans: s("sans"),
      },
      { actor: admin.username },
    );
    revalidatePath("/ca-client/submit");
    return { ok: true, data: { result: view(r) } };
  } catch (e) {
    // A failed submission still saved files and a record: show it in the list.
    revalidatePath("/ca-client/submit");
    return toFormState(e, values);
  }
}

/** "Submit again" for a request whose submission failed. */
export async function resubmitAction(_prev: SubmitState, fd: FormData): Promise<SubmitState> {
  try {
    const admin = await requireAdminAction();
    const r = await resubmitCertificateRequest(String(fd.get("id") ?? ""), { actor: admin.username });
    revalidatePath("/ca-client/submit");
    return { ok: true, data: { result: view(r), resubmitted: true } };
  } catch (e) {
    revalidatePath("/ca-client/submit");
    return toFormState(e);
  }
}
