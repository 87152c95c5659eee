"use client";
import { useActionState } from "react";
import { Field, CheckboxField } from "@/components/ui/field";
import { SubmitButton } from "@/components/ui/button";
import { FormErrorSummary } from "@/components/ui/form-errors";
import { SmtpFields } from "@/components/ca-server/smtp-fields";
import type { CaSettingsFormState } from "@/app/(admin)/ca-server/settings/actions.ts";
import type { CaSettingsView } from "@/lib/ca/settings/update-settings.ts";

type Action = (prev: CaSettingsFormState, fd: FormData) => Promise<CaSettingsFormState>;

function initialValues(s: CaSettingsView): Record<string, string> {
  return {
    issuedValidityDays: String(s.issuedValidityDays),
    "smtp.host": s.smtp.host ?? "",
    "smtp.port": s.smtp.port === null ? "25" : String(s.smtp.port),
    "smtp.secure": s.smtp.secure ? "on" : "",
    "smtp.username": s.smtp.username ?? "",
    "smtp.from": s.smtp.from ?? "",
    adminEmail: s.adminEmail,
  };
}

/** The CA server's settings after configuration; the SMTP password is write-only. */
export function CaSettingsForm({ action, settings }: { action: Action; settings: CaSettingsView }) {
  const [state, formAction] = useActionState(action, {});
  const v = state.values ?? initialValues(settings);
  const f = state.fields ?? {};
  const test = state.data?.testMail;
  const passwordHint = settings.smtp.passwordSet ? "A password is stored (encrypted). Leave empty to keep it." : "No password is stored. Stored encrypted.";
  return (
    <form action={formAction} className="space-y-6" noValidate data-testid="ca-settings-form">
      <FormErrorSummary title="The settings were not saved" message={state.message} fields={state.fields} messageTestId="ca-settings-message" />
      <Field
        name="issuedValidityDays"
        type="number"
        inputMode="numeric"
        min={1}
        max={settings.issuedValidityMaxDays}
        className="sm:max-w-sm"
        label="Validity period for Certificates issued by Certificate Authority (days)"
        required
        defaultValue={v.issuedValidityDays}
        error={f.issuedValidityDays}
        hint={`Applies to certificates issued from now on; at most ${settings.issuedValidityMaxDays} days, the CA certificate's remaining life.`}
      />
      <fieldset className="space-y-4">
        <legend className="text-base font-semibold">Configure email</legend>
        <p className="text-xs text-slate-500">Notifications (new requests, issued certificates) are sent through this SMTP server; e-mails waiting in the outbox are sent with the new settings. Leave the server empty to send no e-mail.</p>
        <SmtpFields
          v={v}
          f={f}
          passwordHint={passwordHint}
          afterPassword={settings.smtp.passwordSet ? <CheckboxField name="smtp.clearPassword" label="Remove the stored SMTP password" hint="Mail is then sent without authentication." defaultChecked={v["smtp.clearPassword"] === "on"} /> : null}
        />
        <Field name="adminEmail" type="email" className="sm:max-w-md" label="Certificate Authority server administrator's email address" required defaultValue={v.adminEmail} error={f.adminEmail} hint="Receives the certificate signing request notifications, the CRL reminders and the test mail." autoComplete="email" />
        <div className="flex flex-wrap items-start gap-3">
          <SubmitButton name="intent" value="test-mail" variant="secondary" pendingText="Sending…" aria-describedby={test ? "test-mail-result" : undefined}>
            Send a test mail
          </SubmitButton>
          {test ? (
            <p id="test-mail-result" role="status" data-testid="test-mail-result" data-status={test.status} className={`pt-2 text-sm font-medium ${test.status === "sent" ? "text-emerald-800" : "text-red-700"}`}>
              {test.status === "sent" ? `${test.message}. Not saved yet: Save keeps these settings (type a new password again).` : `Not sent: ${test.message}`}
            </p>
          ) : (
            <p className="pt-2 text-xs text-slate-500">Sends a message to the administrator&apos;s address with the settings above, without saving them (a password left empty uses the stored one).</p>
          )}
        </div>
      </fieldset>
      <SubmitButton name="intent" value="save" pendingText="Saving…">
        Save
      </SubmitButton>
    </form>
  );
}
