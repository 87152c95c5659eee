"use client";
import { useActionState } from "react";
import { SelectField } from "@/components/ui/field";
import { SubmitButton } from "@/components/ui/button";
import type { FormState } from "@/app/_server/action-state.ts";

type Action = (prev: FormState, fd: FormData) => Promise<FormState>;

/** The Default messaging server certificate drop-down and its Save. */
export function DefaultCertificateForm({ action, options, current }: { action: Action; options: { value: string; label: string }[]; current?: string }) {
  const [state, formAction] = useActionState(action, {});
  const f = state.fields ?? {};
  return (
    <form action={formAction} className="flex flex-wrap items-end gap-3" noValidate>
      <SelectField name="id" label="Default messaging server certificate" options={options} defaultValue={state.values?.id ?? current} error={f.id ?? state.message} className="min-w-0 flex-1 sm:max-w-2xl" />
      <SubmitButton pendingText="Saving…">Save</SubmitButton>
    </form>
  );
}
