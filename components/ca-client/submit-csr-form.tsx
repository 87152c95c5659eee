"use client";
import { Fragment, useActionState, type ReactNode } from "react";
import { useFormStatus } from "react-dom";
import { Field, SelectField, TextAreaField } from "@/components/ui/field";
import { SubmitButton } from "@/components/ui/button";
import { Alert } from "@/components/ui/alert";
import { FormErrorSummary } from "@/components/ui/form-errors";
import { KEY_ALGORITHMS } from "@/lib/pki/key-algorithms.ts";
import type { SubmitState, SubmittedView } from "@/app/(admin)/ca-client/submit/actions.ts";

type Action = (prev: SubmitState, fd: FormData) => Promise<SubmitState>;

const SUBJECT = [
  { key: "C", label: "Country", hint: "Two letters, ISO 3166 (for example US, DE, FR).", maxLength: 2, autoComplete: "country" },
  { key: "ST", label: "State or Province", hint: "Spelled out in full.", maxLength: 64 },
  { key: "L", label: "Locality", hint: "The municipality, spelled out in full.", maxLength: 64 },
  { key: "O", label: "Organization", hint: "Spelled out in full, e.g. “Example Corporation”.", maxLength: 64, autoComplete: "organization" },
  { key: "OU", label: "Organizational Unit", hint: "Any other organizational information, such as a department.", maxLength: 64 },
  { key: "CN", label: "Common Name", hint: "For a TLS server, its host name, e.g. server1.example.com.", maxLength: 64 },
] as const;

/** Colon hex that wraps only between octets. */
export function Fingerprint({ value }: { value: string }) {
  const parts = value.split(":");
  return (
    <>
      {parts.map((p, i) => (
        <Fragment key={i}>
          {p}
          {i < parts.length - 1 ? (
            <>
              :<wbr />
            </>
          ) : null}
        </Fragment>
      ))}
    </>
  );
}

/** The submission's result in IRIS's form, with the fingerprint large enough to read out over the phone. */
export function SubmittedResult({ result, title }: { result: SubmittedView; title?: ReactNode }) {
  return (
    <Alert tone="success" title={title ?? "Certificate Signing Request submitted"}>
      <p data-testid="submit-message" className="break-words">
        {result.message}
      </p>
      <p className="mt-3 text-xs font-semibold uppercase tracking-wide text-emerald-800">SHA-1 Fingerprint</p>
      <p data-testid="submit-sha1" className="select-all font-mono text-2xl font-semibold tracking-wide text-emerald-950 sm:text-3xl">
        <Fingerprint value={result.sha1Fingerprint} />
      </p>
      <p className="mt-1 font-mono text-xs text-emerald-900">
        SHA-256: <Fingerprint value={result.sha256Fingerprint} />
      </p>
      <p className="mt-3">
        <strong>Make a copy of this fingerprint.</strong> When the Certificate Authority administrator contacts you, read it out to prove the request is yours. Then get your certificate from{" "}
        <a href="/ca-client/certificates" className="font-medium underline">
          Get Certificate(s)
        </a>
        .
      </p>
      <p className="mt-2 text-xs">
        Saved: <code className="break-all">{result.keyFile}</code> ({result.keyEncrypted ? "encrypted with your password" : "not encrypted"}) and <code className="break-all">{result.csrFile}</code>. Store the private key on encrypted, removable media that can be physically secured.
      </p>
    </Alert>
  );
}

function Progress({ serverUrl }: { serverUrl: string }) {
  const { pending } = useFormStatus();
  return (
    <p role="status" aria-live="polite" className="text-xs text-slate-600" data-testid="submit-progress">
      {pending ? `Generating the key pair and the request, saving them, then submitting to ${serverUrl}… RSA 4096 can take several seconds.` : ""}
    </p>
  );
}

function SansField({ defaultValue, error }: { defaultValue?: string; error?: string }) {
  return (
    <TextAreaField
      name="sans"
      label="Subject alternative names"
      rows={2}
      defaultValue={defaultValue}
      error={error}
      spellCheck={false}
      placeholder="DNS:server1.example.com, IP:192.0.2.10"
      hint="Optional. DNS:name or IP:address, separated by commas, spaces or line breaks. A TLS server certificate needs its host names here (or as the Common Name)."
    />
  );
}

export function SubmitCsrForm({ action, serverUrl }: { action: Action; serverUrl: string }) {
  const [state, formAction] = useActionState(action, {});
  const result = state.ok ? state.data?.result : undefined;
  // After a success the form starts empty again; after an error it keeps what was typed.
  const v = state.ok ? {} : (state.values ?? {});
  const f = state.fields ?? {};
  return (
    <div className="space-y-6">
      {result ? <SubmittedResult result={result} /> : null}
      <form key={result?.sha1Fingerprint ?? "form"} action={formAction} className="space-y-6" noValidate>
        <FormErrorSummary title="The Certificate Signing Request was not submitted" message={state.message} fields={f} messageTestId="submit-error" />
        <Field name="fileNameRoot" label="File name root for local Certificate and Private Key files (without extension)" required defaultValue={v.fileNameRoot} error={f.fileNameRoot} hint="Letters, digits, hyphen and underscore; not “cache”. CAClient gives CAClient.key, CAClient.csr and, later, CAClient.cer." autoComplete="off" spellCheck={false} className="sm:max-w-xl" />
        <div className="grid gap-4 sm:grid-cols-2">
          <Field name="keyPassword" type="password" label="Password to Private Key file" error={f.keyPassword} autoComplete="new-password" hint="Optional; at least 8 characters. Empty: the key is saved unencrypted." />
          <Field name="keyPasswordConfirm" type="password" label="Confirm Password" error={f.keyPasswordConfirm} autoComplete="new-password" />
        </div>
        <fieldset className="rounded-lg border border-slate-200 p-4" aria-describedby="dn-hint">
          <legend className="px-1 text-sm font-semibold">Subject Distinguished Name</legend>
          <p id="dn-hint" className="mb-3 text-xs text-slate-500">
            Describes the bearer of the certificate. Provide a value for at least one attribute.
          </p>
          <div className="grid gap-4 sm:grid-cols-2">
            {SUBJECT.map((s) => (
              <Field key={s.key} name={`subject.${s.key}`} label={s.label} hint={s.hint} maxLength={s.maxLength} defaultValue={v[`subject.${s.key}`]} error={f[`subject.${s.key}`]} autoComplete={"autoComplete" in s ? s.autoComplete : "off"} />
            ))}
          </div>
        </fieldset>
        <div className="grid gap-4 sm:grid-cols-[1fr_2fr]">
          <SelectField name="keyAlgorithm" label="Key algorithm" options={KEY_ALGORITHMS.map((a) => ({ value: a.id, label: a.label }))} defaultValue={v.keyAlgorithm ?? "ecdsa-p256"} error={f.keyAlgorithm} />
          <SansField defaultValue={v.sans} error={f.sans} />
        </div>
        <div className="flex flex-wrap items-center gap-3">
          <SubmitButton pendingText="Generating and submitting…">Save</SubmitButton>
          <Progress serverUrl={serverUrl} />
        </div>
      </form>
    </div>
  );
}
