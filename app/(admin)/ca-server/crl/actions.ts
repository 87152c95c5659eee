"use server";
import { redirect } from "next/navigation";
import { revalidatePath } from "next/cache";
import { requireAdminAction, requireAdminFormAction } from "@/app/_server/session.ts";
import { echoValues, formText, toFormState, type FormState } from "@/app/_server/action-state.ts";
import { resignCrl, setCrlNextUpdateDays } from "@/lib/ca/crl-signing.ts";
import { lockCa, unlockCaForCrlSigning } from "@/lib/ca/ca-key-holder.ts";

export type CrlFormState = FormState;

const PAGE = "/ca-server/crl";

/** Re-sign CRL: signs a new CRL now with the CA key's password. */
export async function resignCrlAction(_prev: CrlFormState, fd: FormData): Promise<CrlFormState> {
  let crlNumber: number;
  try {
    const admin = await requireAdminAction();
    ({ crlNumber } = await resignCrl({ caKeyPassword: formText(fd, "caKeyPassword") ?? "" }, { actor: admin.username }));
  } catch (e) {
    return toFormState(e, {}, ["caKeyPassword"]);
  }
  // The banner in the layout reads the CRL too.
  revalidatePath("/", "layout");
  redirect(`${PAGE}?signed=${crlNumber}`);
}

/** The days from thisUpdate to nextUpdate of the CRLs signed from now on. */
export async function setCrlPeriodAction(_prev: CrlFormState, fd: FormData): Promise<CrlFormState> {
  const values = echoValues(fd, []);
  try {
    await requireAdminAction();
    await setCrlNextUpdateDays({ crlNextUpdateDays: formText(fd, "crlNextUpdateDays") ?? "" });
  } catch (e) {
    return toFormState(e, values, ["crlNextUpdateDays"]);
  }
  revalidatePath(PAGE);
  redirect(`${PAGE}?period=saved`);
}

/** Unlock for scheduled CRL signing (PORTCULLIS_CA_KEEP_UNLOCKED=true). */
export async function unlockCaAction(_prev: CrlFormState, fd: FormData): Promise<CrlFormState> {
  try {
    const admin = await requireAdminAction();
    await unlockCaForCrlSigning({ caKeyPassword: formText(fd, "caKeyPassword") ?? "" }, { actor: admin.username });
  } catch (e) {
    return toFormState(e, {}, ["caKeyPassword"]);
  }
  revalidatePath("/", "layout");
  redirect(`${PAGE}?unlocked=1`);
}

/** Lock: forgets the unlocked key. */
export async function lockCaAction(): Promise<void> {
  const admin = await requireAdminFormAction(PAGE);
  await lockCa({ actor: admin.username });
  revalidatePath(PAGE);
  redirect(`${PAGE}?locked=1`);
}
