"use client";
import { startTransition, useActionState, useEffect, useId, useRef } from "react";
import { Field, SelectField } from "@/components/ui/field";
import { Spinner, buttonClass } from "@/components/ui/button";
import { Alert } from "@/components/ui/alert";
import { REVOCATION_REASON_LABELS } from "@/lib/ca/revocation-reasons.ts";
import type { RevokeState } from "@/app/(admin)/ca-server/certificates/[number]/actions.ts";

type Action = (prev: RevokeState, fd: FormData) => Promise<RevokeState>;

/**
 * Revoke: the reason (RFC 5280 names, plain-English labels) and the CA key's password,
 * then a modal confirmation whose button submits the form. A wrong password comes back
 * as a message next to the password field.
 */
export function RevokeForm({ action, number, subject }: { action: Action; number: number; subject: string }) {
  const [state, formAction, pending] = useActionState(action, {});
  const dialog = useRef<HTMLDialogElement>(null);
  const form = useRef<HTMLFormElement>(null);
  const id = `dlg-${useId().replace(/[^A-Za-z0-9_-]/g, "")}`;
  const f = state.fields ?? {};

  useEffect(() => {
    if (!state.message && !state.fields) return;
    dialog.current?.close();
    const password = form.current?.querySelector<HTMLInputElement>('input[name="caKeyPassword"]');
    if (password) password.value = "";
    form.current?.querySelector<HTMLElement>('[aria-invalid="true"]')?.focus();
  }, [state]);

  return (
    // Submitted by hand rather than with action={…}: React resets a form after its action runs, which
    // would put the reason back to the default when only the password was wrong.
    <form
      ref={form}
      noValidate
      className="space-y-4"
      onSubmit={(e) => {
        e.preventDefault();
        const fd = new FormData(e.currentTarget);
        startTransition(() => formAction(fd));
      }}
    >
      {state.message ? (
        <Alert tone="error" title="The certificate was not revoked">
          <p data-testid="revoke-form-message">{state.message}</p>
        </Alert>
      ) : null}
      <SelectField name="reason" label="Reason (RFC 5280 CRLReason)" options={REVOCATION_REASON_LABELS} defaultValue="unspecified" error={f.reason} className="sm:max-w-xl" />
      <Field
        name="caKeyPassword"
        type="password"
        label="Password for Certificate Authority's Private Key file"
        required
        autoComplete="off"
        error={f.caKeyPassword}
        hint="Signs the new CRL at once. It is never stored."
        className="sm:max-w-md"
      />
      <button type="button" className={buttonClass("danger")} onClick={() => dialog.current?.showModal()}>
        Revoke
      </button>
      <dialog ref={dialog} aria-labelledby={`${id}-title`} className="m-auto w-[min(32rem,calc(100vw-2rem))] rounded-xl p-0 shadow-xl">
        <div className="space-y-4 p-6">
          <h2 id={`${id}-title`} className="text-lg font-semibold">
            Revoke certificate number {number}?
          </h2>
          <p className="text-sm text-slate-700 [overflow-wrap:anywhere]">
            The certificate for <span className="font-medium">{subject}</span> is listed on the CRL from now on and OCSP answers &quot;revoked&quot;. This cannot be undone.
          </p>
          <div className="flex justify-end gap-3">
            <button type="button" className={buttonClass("secondary")} onClick={() => dialog.current?.close()} autoFocus>
              Cancel
            </button>
            <button type="submit" disabled={pending} aria-disabled={pending || undefined} className={buttonClass("danger")}>
              {pending ? <Spinner /> : null}
              {pending ? "Revoking…" : "Revoke certificate"}
            </button>
          </div>
        </div>
      </dialog>
    </form>
  );
}
