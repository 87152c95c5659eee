"use client";
import { useActionState, useState } from "react";
import { Field } from "@/components/ui/field";
import { SubmitButton } from "@/components/ui/button";
import { FormErrorSummary } from "@/components/ui/form-errors";
import type { FormState } from "@/app/_server/action-state.ts";
import { PemInput } from "./pem-input";

type Action = (prev: FormState, fd: FormData) => Promise<FormState>;

/** Add Certificate: the server certificate and its private key (+ passphrase when encrypted), with a description. */
export function AddMessagingCertificateForm({ action }: { action: Action }) {
  const [state, formAction] = useActionState(action, {});
  const v = state.values ?? {};
  const f = state.fields ?? {};
  const [certificate, setCertificate] = useState(v.certificate ?? "");
  const [privateKey, setPrivateKey] = useState("");
  return (
    <form action={formAction} className="space-y-4" noValidate data-testid="add-messaging-form">
      <FormErrorSummary title="The certificate was not added" message={state.message} fields={f} messageTestId="add-messaging-error" />
      <PemInput name="certificate" label="Certificate" kind="chain" value={certificate} onChange={setCertificate} error={f.certificate} required hint="The messaging server's certificate (PEM or DER). Not a CA certificate; it must allow TLS server authentication." />
      <PemInput name="privateKey" label="Private key" kind="private key" rows={4} value={privateKey} onChange={setPrivateKey} error={f.privateKey} required hint="PKCS#8, PKCS#1 or SEC1, encrypted or not. It is stored encrypted at rest and never shown again." />
      <Field name="passphrase" id="add-passphrase" type="password" label="Passphrase" autoComplete="off" error={f.passphrase} hint="Only when the private key is encrypted; leave empty otherwise." className="sm:max-w-md" />
      <Field name="description" id="add-description" label="Description" defaultValue={v.description} error={f.description} maxLength={200} hint="For example: broker mqtt.example.com, signed by the corporate CA." className="sm:max-w-xl" />
      <SubmitButton pendingText="Adding…">Add Certificate</SubmitButton>
    </form>
  );
}
