"use client";
import { useActionState, useState } from "react";
import { Field, SelectField } from "@/components/ui/field";
import { SubmitButton, buttonClass } from "@/components/ui/button";
import { FormErrorSummary } from "@/components/ui/form-errors";
import { PemInput } from "@/components/iot/pem-input";
import { SmtpFields } from "@/components/ca-server/smtp-fields";
import { KEY_ALGORITHMS } from "@/lib/pki/key-algorithms.ts";
import type { WizardState } from "@/app/(admin)/ca-server/actions.ts";
import type { LocationInspection } from "@/lib/ca/configure-server.ts";

type Action = (prev: WizardState, fd: FormData) => Promise<WizardState>;

const SUBJECT = [
  { key: "C", label: "Country", hint: "Two letters, ISO 3166 (for example US, DE, FR).", maxLength: 2, autoComplete: "country" },
  { key: "ST", label: "State or Province", hint: "Usually left empty for a CA certificate.", maxLength: 64 },
  { key: "L", label: "Locality", hint: "Usually left empty for a CA certificate.", maxLength: 64 },
  { key: "O", label: "Organization", hint: "Spelled out in full, e.g. “Example Corporation”.", maxLength: 64, autoComplete: "organization" },
  { key: "OU", label: "Organizational Unit", maxLength: 64 },
  { key: "CN", label: "Common Name", hint: "A descriptive name for the CA, e.g. “Example Internal CA”.", maxLength: 64 },
] as const;

function Summary({ state }: { state: WizardState }) {
  return <FormErrorSummary title="The configuration was not saved" message={state.message} fields={state.fields} />;
}

export function CaServerWizard({ action }: { action: Action }) {
  const [state, formAction] = useActionState(action, { data: { step: "location" } });
  const [chainPem, setChainPem] = useState("");
  const step = state.data?.step ?? "location";
  const v = state.values ?? {};
  const f = state.fields ?? {};

  if (step === "location") {
    return (
      <form action={formAction} className="space-y-5" noValidate aria-describedby="location-intro">
        <Summary state={state} />
        <p id="location-intro" className="text-sm text-slate-600">
          If the directory already holds <code>&lt;root&gt;.cer</code> and <code>&lt;root&gt;.key</code>, they are used for the CA server. Otherwise a new key and certificate are created (a lone <code>.cer</code> or <code>.key</code> is renamed with the <code>.old</code> suffix).
        </p>
        <Field name="fileNameRoot" label="File name root for Certificate Authority's Certificate and Private Key files (without extension)" required defaultValue={v.fileNameRoot} error={f.fileNameRoot} hint="Letters, digits, hyphen and underscore; not “cache”. MyCA gives MyCA.key and MyCA.cer." autoComplete="off" spellCheck={false} />
        <Field name="directory" label="Directory for Certificate Authority's Certificate and Private Key files" required defaultValue={v.directory ?? "ca"} error={f.directory} hint="Created if missing. A relative path is relative to the Portcullis data directory. Keep it on secure, preferably encrypted, storage." autoComplete="off" spellCheck={false} />
        <SubmitButton name="intent" value="next" pendingText="Checking…">
          Next
        </SubmitButton>
      </form>
    );
  }

  const insp = state.data?.inspection;
  const existing = insp?.mode === "existing";
  return (
    <form action={formAction} className="space-y-6" noValidate>
      <Summary state={state} />
      <input type="hidden" name="fileNameRoot" value={v.fileNameRoot ?? insp?.fileNameRoot ?? ""} />
      <input type="hidden" name="directory" value={v.directory ?? ""} />
      <div className="rounded-lg border border-slate-200 bg-slate-50 p-4 text-sm">
        <p>
          <span className="font-medium">Files:</span>{" "}
          <code className="break-all">
            {insp?.directory}/{insp?.fileNameRoot}.cer, .key
          </code>
        </p>
        <p className="mt-1" data-testid="mode-notice">
          {existing
            ? "An existing key and certificate were found: they will be used for the CA server. Enter the key's password to prove it can be decrypted."
            : "No key and certificate pair was found: a new key and a new self-signed CA certificate will be created."}
        </p>
        {existing && insp?.certificate ? (
          <p className="mt-1" data-testid="certificate-notice">
            <span className="font-medium">Certificate:</span> {insp.certificate.subject}
            {insp.certificate.selfSigned ? " (self-signed: a root CA)" : <>, issued by {insp.certificate.issuer} (an intermediate CA: its issuer chain is needed)</>}
          </p>
        ) : null}
        {insp?.willRename.length ? (
          <p className="mt-1 text-amber-800">Only one of the two files exists: {insp.willRename.join(", ")} will be renamed with the .old suffix.</p>
        ) : null}
      </div>

      <fieldset className="space-y-4">
        <legend className="text-base font-semibold">{existing ? "Private key" : "Private key and certificate"}</legend>
        <div className="grid gap-4 sm:grid-cols-2">
          <Field name="keyPassword" type="password" label={existing ? "Password of the Certificate Authority's Private Key file" : "Password to Certificate Authority's Private Key file"} required error={f.keyPassword} autoComplete="new-password" hint={existing ? undefined : "At least 10 characters. It is never stored: you will type it at each issuance."} />
          {existing ? null : <Field name="keyPasswordConfirm" type="password" label="Confirm Password" required error={f.keyPasswordConfirm} autoComplete="new-password" />}
        </div>
        {existing ? null : (
          <>
            <fieldset className="rounded-lg border border-slate-200 p-4" aria-describedby="dn-hint">
              <legend className="px-1 text-sm font-semibold">Certificate Authority Subject Distinguished Name</legend>
              <p id="dn-hint" className="mb-3 text-xs text-slate-500">
                Provide a value for at least one attribute.
              </p>
              <div className="grid gap-4 sm:grid-cols-2">
                {SUBJECT.map((s) => (
                  <Field key={s.key} name={`subject.${s.key}`} label={s.label} hint={"hint" in s ? s.hint : undefined} maxLength={s.maxLength} defaultValue={v[`subject.${s.key}`]} error={f[`subject.${s.key}`]} autoComplete={"autoComplete" in s ? s.autoComplete : "off"} />
                ))}
              </div>
            </fieldset>
            <div className="grid gap-4 sm:grid-cols-2">
              <SelectField name="keyAlgorithm" label="Key algorithm" options={KEY_ALGORITHMS.map((a) => ({ value: a.id, label: a.label }))} defaultValue={v.keyAlgorithm ?? "ecdsa-p256"} error={f.keyAlgorithm} hint="RSA 4096 takes a few seconds to generate." />
              <Field name="caValidityDays" type="number" inputMode="numeric" min={1} max={10950} label="Validity period for Certificate Authority's Certificate (days)" required defaultValue={v.caValidityDays ?? "3650"} error={f.caValidityDays} />
            </div>
          </>
        )}
        {existing ? <IssuerChainField inspection={insp} value={chainPem} onChange={setChainPem} error={f.chainPem} /> : null}
        <Field name="issuedValidityDays" type="number" inputMode="numeric" min={1} max={3650} className="sm:max-w-sm" label="Validity period for Certificates issued by Certificate Authority (days)" required defaultValue={v.issuedValidityDays ?? "365"} error={f.issuedValidityDays} />
      </fieldset>

      <fieldset className="space-y-4">
        <legend className="text-base font-semibold">Configure email</legend>
        <p className="text-xs text-slate-500">Notifications (new requests, issued certificates) are sent through this SMTP server. Leave the server empty to configure e-mail later.</p>
        <SmtpFields v={v} f={f} />
        <Field name="adminEmail" type="email" className="sm:max-w-md" label="Certificate Authority server administrator's email address" required defaultValue={v.adminEmail} error={f.adminEmail} hint="Receives the confirmation and the certificate signing request notifications." autoComplete="email" />
      </fieldset>

      <div className="flex flex-wrap items-center gap-3">
        <SubmitButton name="intent" value="save" pendingText={existing ? "Checking the key and saving…" : "Generating the key pair and certificate…"}>
          Save
        </SubmitButton>
        <button type="submit" name="intent" value="back" formNoValidate className={buttonClass("secondary")}>
          Back
        </button>
        <p role="status" className="text-xs text-slate-500">
          {existing ? "" : "Key generation runs in the background; RSA 4096 can take several seconds."}
        </p>
      </div>
    </form>
  );
}

/**
 * Existing mode: the issuers of a CA certificate that is not self-signed, uploaded or
 * pasted. Folded away for a self-signed certificate unless something is wrong with it.
 */
function IssuerChainField({ inspection, value, onChange, error }: { inspection?: LocationInspection; value: string; onChange: (v: string) => void; error?: string }) {
  const found = inspection?.chainFound;
  const selfSigned = inspection?.certificate?.selfSigned === true;
  const url = inspection?.caIssuersUrl;
  const hint = found
    ? `Leave empty to use the ${found.certificates} certificate${found.certificates === 1 ? "" : "s"} found in ${found.file}; a chain given here replaces it.`
    : url
      ? `Leave empty to fetch the issuers' certificates from ${url}, where the certificate says its issuer publishes it; or give them here, nearest issuer first and the root last.`
      : `The certificates of the CA's issuers, nearest issuer first and the root last${inspection?.certificate ? ` (starting with the certificate of ${inspection.certificate.issuer})` : ""}. Saved as ${inspection?.fileNameRoot ?? "<root>"}_chain.pem beside the certificate.`;
  const input = <PemInput name="chainPem" label="Issuer chain" kind="chain" rows={5} value={value} onChange={onChange} error={error} hint={hint} required={!selfSigned && !found && !url} />;
  if (!selfSigned) return input;
  return (
    <details open={!!error || value !== ""} className="rounded-lg border border-slate-200 p-3">
      <summary className="cursor-pointer text-sm font-medium">Issuer chain (not needed: the certificate is self-signed)</summary>
      <div className="mt-3">{input}</div>
    </details>
  );
}
