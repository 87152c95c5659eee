"use client";
import { useActionState, useState } from "react";
import { SubmitButton } from "@/components/ui/button";
import { Alert } from "@/components/ui/alert";
import type { FormState } from "@/app/_server/action-state.ts";
import { PemInput } from "./pem-input";

type Action = (prev: FormState, fd: FormData) => Promise<FormState>;

/** Upload signed certificate, on a CSR row: its public key must be the CSR's. */
export function AttachCertificateForm({ action, subject }: { action: Action; subject: string }) {
  const [state, formAction] = useActionState(action, {});
  const [certificate, setCertificate] = useState("");
  const f = state.fields ?? {};
  return (
    <details className="mt-2 rounded-md border border-slate-200 bg-slate-50 p-2 open:bg-white" open={Boolean(state.message || f.certificate) || undefined}>
      <summary className="cursor-pointer text-sm font-medium text-brand-700">
        Upload signed certificate<span className="sr-only"> for {subject}</span>
      </summary>
      <form action={formAction} className="mt-2 space-y-3" noValidate>
        {state.message ? <Alert tone="error" title="The certificate was not attached">{state.message}</Alert> : null}
        <PemInput name="certificate" label="Signed certificate" kind="certificate" rows={4} value={certificate} onChange={setCertificate} error={f.certificate} required />
        <SubmitButton pendingText="Uploading…">Upload</SubmitButton>
      </form>
    </details>
  );
}
