"use client";
import { useActionState } from "react";
import { Field, SelectField, TextAreaField } from "@/components/ui/field";
import { SubmitButton } from "@/components/ui/button";
import { FormErrorSummary } from "@/components/ui/form-errors";
import { KEY_ALGORITHMS, DEFAULT_KEY_ALGORITHM } from "@/lib/pki/key-algorithms.ts";
import type { FormState } from "@/app/_server/action-state.ts";

type Action = (prev: FormState, fd: FormData) => Promise<FormState>;

const SUBJECT = [
  { key: "C", label: "Country", hint: "Two letters, ISO 3166 (for example US, DE).", maxLength: 2 },
  { key: "ST", label: "State or Province", maxLength: 64 },
  { key: "L", label: "Locality", maxLength: 64 },
  { key: "O", label: "Organization", maxLength: 64 },
  { key: "OU", label: "Organizational Unit", maxLength: 64 },
  { key: "CN", label: "Common Name", hint: "Usually the broker's host name, e.g. mqtt.example.com.", maxLength: 64 },
] as const;

/** Generate CSR: subject details and SANs; the key pair is generated and kept (encrypted) on the server. */
export function GenerateCsrForm({ action }: { action: Action }) {
  const [state, formAction] = useActionState(action, {});
  const v = state.values ?? {};
  const f = state.fields ?? {};
  return (
    <form action={formAction} className="space-y-4" noValidate data-testid="generate-csr-form">
      <FormErrorSummary title="The CSR was not generated" message={state.message} fields={f} messageTestId="generate-csr-error" />
      <fieldset className="rounded-lg border border-slate-200 p-4">
        <legend className="px-1 text-sm font-semibold">Subject Distinguished Name</legend>
        <div className="grid gap-4 sm:grid-cols-2">
          {SUBJECT.map((s) => (
            <Field key={s.key} name={`subject.${s.key}`} label={s.label} hint={"hint" in s ? s.hint : undefined} maxLength={s.maxLength} defaultValue={v[`subject.${s.key}`]} error={f[`subject.${s.key}`]} autoComplete="off" />
          ))}
        </div>
        {f.subject ? <p className="mt-2 text-sm font-medium text-red-700">{f.subject}</p> : null}
      </fieldset>
      <div className="grid gap-4 sm:grid-cols-[1fr_2fr]">
        <SelectField name="keyAlgorithm" label="Key algorithm" options={KEY_ALGORITHMS.map((a) => ({ value: a.id, label: a.label }))} defaultValue={v.keyAlgorithm ?? DEFAULT_KEY_ALGORITHM} error={f.keyAlgorithm} />
        <TextAreaField name="sans" label="Subject alternative names" rows={2} defaultValue={v.sans} error={f.sans} spellCheck={false} placeholder="DNS:mqtt.example.com, IP:192.0.2.10" hint="DNS:name or IP:address, separated by commas or line breaks. Devices match these, not the Common Name." />
      </div>
      <Field name="description" id="csr-description" label="Description" defaultValue={v.description} error={f.description} maxLength={200} className="sm:max-w-xl" />
      <SubmitButton pendingText="Generating…">Generate CSR</SubmitButton>
    </form>
  );
}
