"use client";
import { useActionState } from "react";
import { Field, CheckboxField } from "@/components/ui/field";
import { SubmitButton } from "@/components/ui/button";
import { Alert } from "@/components/ui/alert";
import { FormErrorSummary } from "@/components/ui/form-errors";
import type { ConfigureClientState } from "@/app/(admin)/ca-client/actions.ts";

type Action = (prev: ConfigureClientState, fd: FormData) => Promise<ConfigureClientState>;

export interface ClientDefaults {
  serverHost: string;
  serverPort: string;
  serverPath: string;
  useTls: boolean;
  instanceName: string;
  hostname: string;
  contactName: string;
  contactPhone: string;
  contactEmail: string;
}

export function ConfigureClientForm({ action, defaults, systemHostname }: { action: Action; defaults: ClientDefaults; systemHostname: string | null }) {
  const [state, formAction] = useActionState(action, {});
  const v = state.values;
  const f = state.fields ?? {};
  const val = (k: keyof ClientDefaults) => (v ? (v[k] ?? "") : String(defaults[k] ?? ""));
  const check = state.data?.check;
  return (
    <form action={formAction} className="space-y-6" noValidate>
      <FormErrorSummary title="The configuration was not saved" message={state.message} fields={f} />
      {check ? (
        <div data-testid="check-result">
          <Alert tone={check.ok ? "success" : "error"} title={check.ok ? "Connection works" : "Connection failed"}>
            {check.message}
          </Alert>
        </div>
      ) : null}

      <fieldset className="space-y-4">
        <legend className="text-base font-semibold">Certificate Authority server</legend>
        <div className="grid gap-4 sm:grid-cols-[2fr_1fr]">
          <Field name="serverHost" label="Certificate Authority server hostname" required defaultValue={val("serverHost")} error={f.serverHost} hint="The fully qualified name or IP address of the machine where the CA server runs." autoComplete="off" spellCheck={false} />
          <Field name="serverPort" type="number" inputMode="numeric" min={1} max={65535} label="Certificate Authority WebServer port number" required defaultValue={val("serverPort")} error={f.serverPort} />
        </div>
        <Field name="serverPath" label="Certificate Authority server path" required defaultValue={val("serverPath")} error={f.serverPath} hint="The path of the CA server's web service; for a Portcullis CA, /api/v1." autoComplete="off" spellCheck={false} className="sm:max-w-md" />
        <CheckboxField name="useTls" label="Use TLS (HTTPS)" hint="The server's certificate must be trusted by this instance (NODE_EXTRA_CA_CERTS for a private CA)." defaultChecked={v ? v.useTls === "on" : defaults.useTls} />
      </fieldset>

      <fieldset className="space-y-4">
        <legend className="text-base font-semibold">This instance</legend>
        <div className="grid gap-4 sm:grid-cols-2">
          <Field name="instanceName" label="Instance name" required defaultValue={val("instanceName")} error={f.instanceName} hint="Sent with each request; “Show Certificates for This Instance” lists the certificates issued under this name." autoComplete="off" />
          <Field name="hostname" label="Host name of this instance" defaultValue={val("hostname")} error={f.hostname} hint={systemHostname ? `Empty: the system's host name (${systemHostname}).` : "The system's host name is not a valid DNS name: enter one, or none is sent."} autoComplete="off" spellCheck={false} />
        </div>
      </fieldset>

      <fieldset className="space-y-4">
        <legend className="text-base font-semibold">Local technical contact</legend>
        <p className="text-xs text-slate-500">The person who provides verification information to the CA administrator on behalf of this instance.</p>
        <div className="grid gap-4 sm:grid-cols-3">
          <Field name="contactName" label="Name" required defaultValue={val("contactName")} error={f.contactName} autoComplete="name" />
          <Field name="contactPhone" type="tel" label="Phone number" defaultValue={val("contactPhone")} error={f.contactPhone} hint="So the CA administrator can verify the request." autoComplete="tel" />
          <Field name="contactEmail" type="email" label="Email address" defaultValue={val("contactEmail")} error={f.contactEmail} hint="Notified when the certificate is issued." autoComplete="email" />
        </div>
      </fieldset>

      <div className="flex flex-wrap items-center gap-3">
        <SubmitButton name="intent" value="save" pendingText="Saving…">
          Save
        </SubmitButton>
        <SubmitButton name="intent" value="check" variant="secondary" pendingText="Contacting the server…">
          Check connection
        </SubmitButton>
      </div>
    </form>
  );
}
