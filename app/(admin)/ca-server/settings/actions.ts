"use server";
import { redirect } from "next/navigation";
import { revalidatePath } from "next/cache";
import { requireAdminAction } from "@/app/_server/session.ts";
import { echoValues, formText, toFormState, type FormState } from "@/app/_server/action-state.ts";
import { sendCaSettingsTestMail, updateCaSettings, type CaSettingsInput, type TestMailResult } from "@/lib/ca/settings/update-settings.ts";

export type CaSettingsFormState = FormState<{ testMail?: TestMailResult }>;

const PAGE = "/ca-server/settings";
const SECRETS = ["smtp.password", "smtp.passwordConfirm"];
const SHOWN = ["issuedValidityDays", "smtp.", "adminEmail"];

function formToInput(fd: FormData): CaSettingsInput {
  const s = (k: string) => formText(fd, k) ?? "";
  return {
    issuedValidityDays: s("issuedValidityDays"),
    smtp: {
      host: s("smtp.host"),
      port: s("smtp.port"),
      secure: fd.get("smtp.secure") === "on",
      username: s("smtp.username"),
      from: s("smtp.from"),
      password: s("smtp.password"),
      passwordConfirm: s("smtp.passwordConfirm"),
      clearPassword: fd.get("smtp.clearPassword") === "on",
    },
    adminEmail: s("adminEmail"),
  };
}

/** Save the CA server's settings, or ("test-mail") send a test mail with the settings in the form without saving them. */
export async function caSettingsAction(_prev: CaSettingsFormState, fd: FormData): Promise<CaSettingsFormState> {
  const values = echoValues(fd, SECRETS);
  let changed: string[];
  try {
    const admin = await requireAdminAction();
    if (fd.get("intent") === "test-mail") {
      const testMail = await sendCaSettingsTestMail(formToInput(fd), { actor: admin.username });
      return { ok: testMail.status === "sent", data: { testMail }, values };
    }
    ({ changed } = await updateCaSettings(formToInput(fd), { actor: admin.username }));
  } catch (e) {
    return toFormState(e, values, SHOWN);
  }
  revalidatePath("/", "layout");
  redirect(`${PAGE}?saved=${changed.length}`);
}
