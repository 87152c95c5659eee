"use server";
import { redirect } from "next/navigation";
import { revalidatePath } from "next/cache";
import { requireAdminAction } from "@/app/_server/session.ts";
import { echoValues, formText, toFormState, type FormState } from "@/app/_server/action-state.ts";
import { revokeCertificate } from "@/lib/ca/revoke-certificate.ts";

export type RevokeState = FormState;

const FORM_FIELDS = ["reason", "caKeyPassword"];

/** Revoke certificate `number` (bound by the page) with a reason and the CA key's password. */
export async function revokeCertificateAction(number: number, _prev: RevokeState, fd: FormData): Promise<RevokeState> {
  const values = echoValues(fd, ["caKeyPassword"]);
  try {
    const admin = await requireAdminAction();
    await revokeCertificate(number, { reason: formText(fd, "reason"), caKeyPassword: formText(fd, "caKeyPassword") ?? "" }, { actor: admin.username });
  } catch (e) {
    return toFormState(e, values, FORM_FIELDS);
  }
  revalidatePath("/", "layout");
  redirect(`/ca-server/certificates/${number}?revoked=1`);
}
