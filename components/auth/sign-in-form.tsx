"use client";
import { useActionState } from "react";
import { Field } from "@/components/ui/field";
import { SubmitButton } from "@/components/ui/button";
import { Alert } from "@/components/ui/alert";
import type { FormState } from "@/app/_server/action-state.ts";

type Action = (prev: FormState, fd: FormData) => Promise<FormState>;

export function SignInForm({ action, next }: { action: Action; next: string }) {
  const [state, formAction] = useActionState(action, {});
  return (
    <form action={formAction} className="space-y-4" noValidate>
      {state.message ? <Alert tone="error">{state.message}</Alert> : null}
      <input type="hidden" name="next" value={next} />
      <Field name="username" label="User name" autoComplete="username" required defaultValue={state.values?.username} error={state.fields?.username} autoFocus />
      <Field name="password" label="Password" type="password" autoComplete="current-password" required error={state.fields?.password} />
      <SubmitButton pendingText="Signing in…">Sign in</SubmitButton>
    </form>
  );
}

export function SetupForm({ action }: { action: Action }) {
  const [state, formAction] = useActionState(action, {});
  return (
    <form action={formAction} className="space-y-4" noValidate>
      {state.message ? <Alert tone="error">{state.message}</Alert> : null}
      <Field name="username" label="Administrator user name" autoComplete="username" required defaultValue={state.values?.username} error={state.fields?.username} autoFocus />
      <Field name="password" label="Password" type="password" autoComplete="new-password" required hint="At least 10 characters." error={state.fields?.password} />
      <Field name="passwordConfirm" label="Confirm password" type="password" autoComplete="new-password" required error={state.fields?.passwordConfirm} />
      <SubmitButton pendingText="Creating…">Create administrator</SubmitButton>
    </form>
  );
}
