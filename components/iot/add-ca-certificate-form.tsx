"use client";
import { useActionState, useState } from "react";
import { Field } from "@/components/ui/field";
import { SubmitButton } from "@/components/ui/button";
import { Alert } from "@/components/ui/alert";
import { DefinitionList } from "@/components/ui/card";
import { FormErrorSummary } from "@/components/ui/form-errors";
import type { AddCaState } from "@/app/(admin)/iot/ca-certificates/actions.ts";
import { PemInput } from "./pem-input";

type Action = (prev: AddCaState, fd: FormData) => Promise<AddCaState>;

function sameText(a: string | undefined, b: string): boolean {
  return (a ?? "").replace(/\r\n?/g, "\n") === b.replace(/\r\n?/g, "\n");
}

function utc(iso: string): string {
  return iso.replace("T", " ").replace(/\.\d+Z$/, " UTC").replace(/Z$/, " UTC");
}

/**
 * Add Certificate: a file (PEM or DER, read here) or pasted PEM, and a description →
 * Preview (the parsed details and any problem) → Save.
 */
export function AddCaCertificateForm({ action }: { action: Action }) {
  const [state, formAction] = useActionState(action, {});
  const [certificate, setCertificate] = useState(state.values?.certificate ?? "");
  const f = state.fields ?? {};
  const preview = state.ok ? state.data?.preview : undefined;
  // A preview belongs to the text it was made from; editing the certificate asks for a new one.
  // (A submitted text area's line breaks arrive as CRLF.)
  const previewCurrent = preview && sameText(state.values?.certificate, certificate);
  const canSave = Boolean(previewCurrent && preview && preview.problems.length === 0);
  return (
    <form action={formAction} className="space-y-4" noValidate data-testid="add-ca-form">
      <FormErrorSummary title="The certificate was not added" message={state.message} fields={f} messageTestId="add-ca-error" />
      <PemInput
        name="certificate"
        label="CA certificate"
        kind="certificate"
        value={certificate}
        onChange={setCertificate}
        error={f.certificate}
        required
        hint="Exactly one certificate: a CA certificate (basicConstraints CA:TRUE), currently valid. When it names an http(s) CRL distribution point, the CRL is fetched and checked."
      />
      <Field name="description" label="Description" defaultValue={state.values?.description} error={f.description} maxLength={200} hint="Optional: what these devices are, e.g. “Factory 3 sensors”. Empty: the subject is used." className="sm:max-w-xl" />
      {previewCurrent && preview ? (
        <div className="space-y-3 rounded-lg border border-slate-200 bg-slate-50 p-4" data-testid="ca-preview">
          <h3 className="text-sm font-semibold text-slate-900">Preview</h3>
          {preview.problems.length ? (
            <Alert tone="error" title="This certificate cannot be saved">
              <ul className="list-disc space-y-1 pl-5" data-testid="preview-problems">
                {preview.problems.map((p) => (
                  <li key={p}>{p}</li>
                ))}
              </ul>
            </Alert>
          ) : (
            <Alert tone="success">No problems found: Save registers it, active.</Alert>
          )}
          <DefinitionList
            items={[
              { term: "Subject", value: <span data-testid="preview-subject">{preview.subject}</span> },
              { term: "Issuer", value: <span data-testid="preview-issuer">{preview.selfSigned ? `${preview.issuer} (self-signed)` : preview.issuer}</span> },
              { term: "Valid from", value: utc(preview.notBefore) },
              { term: "Valid until", value: utc(preview.notAfter) },
              { term: "Serial number", value: <span className="font-mono text-xs">{preview.serial}</span> },
              { term: "SHA-1 fingerprint", value: <span className="font-mono text-xs" data-testid="preview-sha1">{preview.sha1Fingerprint}</span> },
              { term: "SHA-256 fingerprint", value: <span className="font-mono text-xs" data-testid="preview-sha256">{preview.sha256Fingerprint}</span> },
              {
                term: "Certificate Authority",
                value: (
                  <span data-testid="preview-ca">
                    {preview.isCa ? `Yes (CA:TRUE${preview.pathLength !== null ? `, path length ${preview.pathLength}` : ""})` : "No (not a CA certificate)"}
                  </span>
                ),
              },
              { term: "Public key", value: preview.keyLabel },
              {
                term: "CRL distribution points",
                value: preview.crlDistributionPoints.length ? (
                  <ul className="space-y-0.5">
                    {preview.crlDistributionPoints.map((u) => (
                      <li key={u} className="font-mono text-xs break-all">
                        {u}
                      </li>
                    ))}
                    {preview.crl ? (
                      <li className="text-xs text-emerald-800">
                        CRL fetched from {preview.crl.url}: signed by this certificate, current{preview.crl.nextUpdate ? ` until ${utc(preview.crl.nextUpdate)}` : ""}, {preview.crl.revokedCount} revoked.
                      </li>
                    ) : null}
                  </ul>
                ) : (
                  "None"
                ),
              },
            ]}
          />
        </div>
      ) : null}
      <div className="flex flex-wrap items-center gap-3">
        <SubmitButton name="intent" value="preview" variant={canSave ? "secondary" : "primary"} pendingText="Reading…">
          Preview
        </SubmitButton>
        <SubmitButton name="intent" value="save" disabled={!canSave} pendingText="Saving…" title={canSave ? undefined : "Preview the certificate first"}>
          Save
        </SubmitButton>
        {!canSave ? <span className="text-xs text-slate-500">Preview the certificate, then Save.</span> : null}
      </div>
    </form>
  );
}
