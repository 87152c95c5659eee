import type { ReactNode } from "react";
import { Field, CheckboxField } from "@/components/ui/field";

/**
 * The SMTP server, port, TLS, username, password and From fields of the CA server's e-mail
 * settings (configure form and settings page). `v` holds the values to show, `f` the field
 * messages; the password is never shown back.
 */
export function SmtpFields({ v, f, passwordHint = "Stored encrypted.", afterPassword }: { v: Record<string, string | undefined>; f: Record<string, string | undefined>; passwordHint?: ReactNode; afterPassword?: ReactNode }) {
  return (
    <>
      <div className="grid gap-4 sm:grid-cols-[2fr_1fr]">
        <Field name="smtp.host" label="SMTP server" defaultValue={v["smtp.host"]} error={f["smtp.host"]} hint="A fully qualified host name, e.g. smtp.example.com." autoComplete="off" spellCheck={false} />
        <Field name="smtp.port" type="number" inputMode="numeric" min={1} max={65535} label="SMTP port" defaultValue={v["smtp.port"] ?? "25"} error={f["smtp.port"]} />
      </div>
      <CheckboxField name="smtp.secure" label="Use TLS from the start (SMTPS, usually port 465)" hint="When off, STARTTLS is used if the server offers it." defaultChecked={v["smtp.secure"] === "on"} />
      <div className="grid gap-4 sm:grid-cols-3">
        <Field name="smtp.username" label="SMTP username" defaultValue={v["smtp.username"]} error={f["smtp.username"]} autoComplete="off" />
        <Field name="smtp.password" type="password" label="SMTP password" error={f["smtp.password"]} autoComplete="new-password" hint={passwordHint} />
        <Field name="smtp.passwordConfirm" type="password" label="Confirm password" error={f["smtp.passwordConfirm"]} autoComplete="new-password" />
      </div>
      {afterPassword}
      <Field name="smtp.from" label="From address (optional)" defaultValue={v["smtp.from"]} error={f["smtp.from"]} hint="What the mail says it is from, e.g. PKI Team <pki@example.com>; some relays accept only their own senders. Left empty, the mail comes from Portcullis PKI at portcullis@ followed by the host name of PORTCULLIS_PUBLIC_URL." autoComplete="off" spellCheck={false} />
    </>
  );
}
