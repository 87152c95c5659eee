"use client";
import { useActionState, useEffect, useRef, useState, type ReactNode } from "react";
import { Field } from "@/components/ui/field";
import { SubmitButton, buttonClass } from "@/components/ui/button";
import { Alert } from "@/components/ui/alert";
import { USAGES, type Usage } from "@/lib/pki/profiles.ts";
import type { VerificationChannel } from "@/lib/ca/issue-request.ts";
import type { IssueState } from "@/app/(admin)/ca-server/requests/actions.ts";

type Action = (prev: IssueState, fd: FormData) => Promise<IssueState>;

// The values of lib/ca/issue-request.ts's VERIFICATION_CHANNELS (that module is server-only).
const CHANNELS: { id: VerificationChannel; label: string }[] = [
  { id: "phone", label: "Phone" },
  { id: "in-person", label: "In person" },
  { id: "other", label: "Other" },
];

const VERIFY_MESSAGE = "Confirm that you verified the identity, authority and fingerprint with the technical contact";

/** A radio group as one fieldset: legend, options with descriptions, one error for the group. */
function RadioGroup({
  name,
  legend,
  options,
  defaultValue,
  error,
  layout = "stack",
}: {
  name: string;
  legend: ReactNode;
  options: readonly { id: string; label: string; description?: string }[];
  defaultValue: string;
  error?: string;
  layout?: "stack" | "inline";
}) {
  const errorId = `f-${name}-error`;
  return (
    <fieldset aria-describedby={error ? errorId : undefined} aria-invalid={error ? true : undefined} className="space-y-2">
      <legend className="text-sm font-semibold text-slate-900">{legend}</legend>
      <div className={layout === "inline" ? "flex flex-wrap gap-x-6 gap-y-2" : "space-y-2"}>
        {options.map((o) => {
          const id = `f-${name}-${o.id}`;
          return (
            <div key={o.id} className={layout === "stack" ? "flex items-start gap-3 rounded-lg border border-slate-200 px-3 py-2 has-[:checked]:border-brand-600 has-[:checked]:bg-brand-50" : "flex items-center gap-2"}>
              <input
                id={id}
                type="radio"
                name={name}
                value={o.id}
                defaultChecked={defaultValue === o.id}
                aria-describedby={o.description ? `${id}-desc` : undefined}
                className="mt-0.5 h-4 w-4 shrink-0 border-slate-300 text-brand-600"
              />
              <div className="min-w-0">
                <label htmlFor={id} className="text-sm font-medium text-slate-800">
                  {o.label}
                </label>
                {o.description ? (
                  <p id={`${id}-desc`} className="text-xs text-slate-500">
                    {o.description}
                  </p>
                ) : null}
              </div>
            </div>
          );
        })}
      </div>
      {error ? (
        <p id={errorId} className="text-sm font-medium text-red-700">
          {error}
        </p>
      ) : null}
    </fieldset>
  );
}

/**
 * IRIS's Process form: Certificate Usage, the verification with the technical contact,
 * then Issue Certificate reveals the CA key password and Finish.
 */
export function IssueForm({ action, requestId, filename, defaultUsage = "tls" }: { action: Action; requestId: string; filename: string; defaultUsage?: Usage }) {
  const [state, formAction] = useActionState(action, {});
  const [revealed, setRevealed] = useState(false);
  const [clientError, setClientError] = useState<string | undefined>();
  const [verifyEdited, setVerifyEdited] = useState(false);
  const [seen, setSeen] = useState(state);
  const formRef = useRef<HTMLFormElement>(null);
  const checkboxRef = useRef<HTMLInputElement>(null);
  const summaryRef = useRef<HTMLDivElement>(null);

  // A new answer from the server: its messages replace what the admin was correcting.
  if (seen !== state) {
    setSeen(state);
    setVerifyEdited(false);
    setClientError(undefined);
  }

  const v = state.values ?? {};
  const f = state.fields ?? {};
  const verifyError = clientError ?? (verifyEdited ? undefined : f.fingerprintVerified);
  const errorCount = Object.keys(f).length;

  useEffect(() => {
    if (!state.message && !state.fields) return;
    const invalid = formRef.current?.querySelector<HTMLElement>('[aria-invalid="true"]');
    const target = invalid?.tagName === "FIELDSET" ? invalid.querySelector<HTMLElement>("input") : invalid;
    (target ?? summaryRef.current)?.focus();
  }, [state]);

  useEffect(() => {
    if (revealed && !state.fields) document.getElementById("f-caKeyPassword")?.focus();
    // Only when the password step opens.
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [revealed]);

  function issueCertificate() {
    if (!checkboxRef.current?.checked) {
      setClientError(VERIFY_MESSAGE);
      checkboxRef.current?.focus();
      return;
    }
    setClientError(undefined);
    setRevealed(true);
  }

  const current = state.data?.current;
  if (current && current.status !== "pending") {
    return (
      <div ref={summaryRef} tabIndex={-1} className="space-y-3 outline-none">
        <Alert tone="error" title="The certificate was not issued">
          <p>{state.message}</p>
          <p className="mt-2" data-testid="current-state">
            Current state of &quot;{filename}&quot;: {current.status}
            {current.status === "issued" && current.certificateNumber ? (
              <>
                {" "}
                as{" "}
                <a className="font-medium underline" href={`/api/v1/certificates/${current.certificateNumber}?format=pem`}>
                  certificate number {current.certificateNumber}
                </a>
              </>
            ) : null}
            .
          </p>
        </Alert>
        <div className="flex flex-wrap gap-3">
          <a href={`/ca-server/requests/${requestId}`} className={buttonClass("secondary")}>
            Show the request
          </a>
          <a href="/ca-server/requests" className={buttonClass("secondary")}>
            Back to the queue
          </a>
        </div>
      </div>
    );
  }

  return (
    <form
      ref={formRef}
      action={formAction}
      noValidate
      className="space-y-6"
      onSubmit={(e) => {
        // Enter before the password step opens it instead of submitting without a password.
        if (!revealed) {
          e.preventDefault();
          issueCertificate();
        }
      }}
    >
      {state.message || errorCount ? (
        <div ref={summaryRef} tabIndex={-1} className="outline-none">
          <Alert tone="error" title="The certificate was not issued">
            {state.message ? <p data-testid="issue-form-message">{state.message}</p> : null}
            {errorCount ? <p>{errorCount === 1 ? "Correct the field marked below." : `Correct the ${errorCount} fields marked below.`}</p> : null}
          </Alert>
        </div>
      ) : null}

      <RadioGroup name="usage" legend="Certificate Usage" options={USAGES} defaultValue={(v.usage as Usage | undefined) ?? defaultUsage} error={f.usage} />

      <div className="space-y-3 rounded-lg border border-amber-300 bg-amber-50 p-4">
        <p className="text-sm text-amber-950">
          Contact the technical contact by phone or in person, by a means that prevents impersonation, and verify: their identity; their authority to hold a certificate with the subject shown above, signed by this CA; and that the SHA-1 fingerprint shown above matches the one reported to them when they submitted the request.
        </p>
        <div className="flex items-start gap-2">
          <input
            ref={checkboxRef}
            id="f-fingerprintVerified"
            name="fingerprintVerified"
            type="checkbox"
            defaultChecked={v.fingerprintVerified === "on"}
            aria-invalid={verifyError ? true : undefined}
            aria-describedby={verifyError ? "f-fingerprintVerified-error" : undefined}
            onChange={() => {
              setVerifyEdited(true);
              setClientError(undefined);
            }}
            className="mt-1 h-4 w-4 shrink-0 rounded border-slate-300 text-brand-600"
          />
          <div>
            <label htmlFor="f-fingerprintVerified" className="text-sm font-medium text-slate-900">
              I verified the identity, authority and fingerprint with the technical contact
              <span className="text-red-700" aria-hidden="true">
                {" "}
                *
              </span>
            </label>
            {verifyError ? (
              <p id="f-fingerprintVerified-error" className="mt-1 text-sm font-medium text-red-700">
                {verifyError}
              </p>
            ) : null}
          </div>
        </div>
        <RadioGroup name="verificationChannel" legend="Verified by" layout="inline" options={CHANNELS} defaultValue={v.verificationChannel ?? "phone"} error={f.verificationChannel} />
        <div>
          <label htmlFor="f-verificationNote" className="block text-sm font-medium text-slate-800">
            Note (optional)
          </label>
          <textarea
            id="f-verificationNote"
            name="verificationNote"
            rows={2}
            maxLength={500}
            defaultValue={v.verificationNote}
            aria-invalid={f.verificationNote ? true : undefined}
            aria-describedby={`f-verificationNote-hint${f.verificationNote ? " f-verificationNote-error" : ""}`}
            className={`mt-1 block w-full rounded-md border bg-white px-3 py-2 text-sm shadow-sm focus:border-brand-600 focus:outline-none focus:ring-2 focus:ring-brand-600/30 ${f.verificationNote ? "border-red-600" : "border-slate-300"}`}
          />
          <p id="f-verificationNote-hint" className="mt-1 text-xs text-slate-500">
            Kept with the certificate record, e.g. the number you called. At most 500 characters.
          </p>
          {f.verificationNote ? (
            <p id="f-verificationNote-error" className="mt-1 text-sm font-medium text-red-700">
              {f.verificationNote}
            </p>
          ) : null}
        </div>
      </div>

      {revealed ? (
        <div className="space-y-4 rounded-lg border border-slate-200 bg-slate-50 p-4">
          <Field
            name="caKeyPassword"
            type="password"
            label="Password for Certificate Authority's Private Key file"
            required
            error={f.caKeyPassword}
            autoComplete="off"
            hint="Decrypts the CA's private key for this one certificate. It is never stored."
            className="sm:max-w-md"
          />
          <div className="flex flex-wrap items-center gap-3">
            <SubmitButton pendingText="Issuing…">Finish</SubmitButton>
            <button type="button" className={buttonClass("secondary")} onClick={() => setRevealed(false)}>
              Back
            </button>
          </div>
        </div>
      ) : (
        <button type="button" className={buttonClass("primary")} onClick={issueCertificate}>
          Issue Certificate
        </button>
      )}
    </form>
  );
}
