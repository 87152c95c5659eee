"use client";
import { useActionState } from "react";
import { Field } from "@/components/ui/field";
import { SubmitButton } from "@/components/ui/button";
import { Alert } from "@/components/ui/alert";
import type { FormState } from "@/app/_server/action-state.ts";

type State = FormState<{ token: string; name: string }>;

export function CreateTokenForm({ action }: { action: (prev: State, fd: FormData) => Promise<State> }) {
  const [state, formAction] = useActionState(action, {});
  return (
    <div className="space-y-4">
      {state.ok && state.data ? (
        <Alert tone="success" title={`Token “${state.data.name}” created`}>
          <p>Copy it now: it is shown only once.</p>
          <code data-testid="new-token" className="mt-2 block select-all break-all rounded bg-white px-2 py-1 font-mono text-xs text-slate-900">
            {state.data.token}
          </code>
          <p className="mt-2 text-xs">Use it as <code>Authorization: Bearer &lt;token&gt;</code>.</p>
        </Alert>
      ) : null}
      {state.message ? <Alert tone="error">{state.message}</Alert> : null}
      <form action={formAction} className="grid gap-4 sm:grid-cols-[2fr_1fr_auto] sm:items-start" noValidate>
        <Field name="name" label="Name" required defaultValue={state.ok ? "" : state.values?.name} error={state.fields?.name} hint="What the token is for, e.g. “enrolment script”." />
        <Field name="expiresInDays" type="number" min={1} max={3650} label="Expires after (days)" defaultValue={state.ok ? "" : state.values?.expiresInDays} error={state.fields?.expiresInDays} hint="Empty: never." />
        <div className="sm:pt-6">
          <SubmitButton pendingText="Creating…">Create token</SubmitButton>
        </div>
      </form>
    </div>
  );
}
