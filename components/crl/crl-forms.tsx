"use client";
import { useActionState } from "react";
import { Field } from "@/components/ui/field";
import { SubmitButton } from "@/components/ui/button";
import { Alert } from "@/components/ui/alert";
import type { CrlFormState } from "@/app/(admin)/ca-server/crl/actions.ts";

type Action = (prev: CrlFormState, fd: FormData) => Promise<CrlFormState>;

/**
 * A form that asks for the CA key's password and runs `action`: Re-sign CRL, or Unlock.
 * A wrong password comes back as a message next to the field.
 */
export function CaPasswordForm({ action, submitLabel, pendingLabel, hint, failedTitle, testId }: { action: Action; submitLabel: string; pendingLabel: string; hint: string; failedTitle: string; testId: string }) {
  const [state, formAction] = useActionState(action, {});
  return (
    <form action={formAction} noValidate className="space-y-4" data-testid={testId}>
      {state.message ? (
        <Alert tone="error" title={failedTitle}>
          <p data-testid={`${testId}-message`}>{state.message}</p>
        </Alert>
      ) : null}
      <Field
        id={`${testId}-password`}
        name="caKeyPassword"
        type="password"
        label="Password for Certificate Authority's Private Key file"
        required
        autoComplete="off"
        error={state.fields?.caKeyPassword}
        hint={hint}
        className="sm:max-w-md"
      />
      <SubmitButton pendingText={pendingLabel}>{submitLabel}</SubmitButton>
    </form>
  );
}

/** The days from a CRL's thisUpdate to its nextUpdate (1–10). */
export function CrlPeriodForm({ action, current }: { action: Action; current: number }) {
  const [state, formAction] = useActionState(action, {});
  return (
    <form action={formAction} noValidate className="flex flex-wrap items-start gap-3">
      <Field
        name="crlNextUpdateDays"
        type="number"
        min={1}
        max={10}
        label="Days from a CRL's thisUpdate to its nextUpdate"
        required
        defaultValue={state.values?.crlNextUpdateDays ?? String(current)}
        error={state.fields?.crlNextUpdateDays ?? state.message}
        hint="1 to 10. Applies to the CRLs signed from now on."
        className="w-full sm:max-w-xs"
      />
      <div className="sm:pt-6">
        <SubmitButton variant="secondary" pendingText="Saving…">
          Save
        </SubmitButton>
      </div>
    </form>
  );
}
