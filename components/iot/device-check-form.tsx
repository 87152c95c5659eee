"use client";
import { useActionState, useState } from "react";
import { SubmitButton } from "@/components/ui/button";
import { Alert } from "@/components/ui/alert";
import { DefinitionList } from "@/components/ui/card";
import { FormErrorSummary } from "@/components/ui/form-errors";
import type { DeviceCheckState } from "@/app/(public)/iot/device-check/actions.ts";
import { PemInput } from "./pem-input";

function sameText(a: string | undefined, b: string): boolean {
  return (a ?? "").replace(/\r\n?/g, "\n") === b.replace(/\r\n?/g, "\n");
}

type Action = (prev: DeviceCheckState, fd: FormData) => Promise<DeviceCheckState>;

/** Paste or upload a device certificate (+ optional chain) → the verdict with every reason. */
export function DeviceCheckForm({ action }: { action: Action }) {
  const [state, formAction] = useActionState(action, {});
  const [certificate, setCertificate] = useState(state.values?.certificate ?? "");
  const [chain, setChain] = useState(state.values?.chain ?? "");
  const f = state.fields ?? {};
  const r = state.ok ? state.data : undefined;
  // (A submitted text area's line breaks arrive as CRLF.)
  const current = r && sameText(state.values?.certificate, certificate) && sameText(state.values?.chain, chain);
  return (
    <div className="space-y-6">
      <form action={formAction} className="space-y-4" noValidate>
        <FormErrorSummary title="The certificate could not be checked" message={state.message} fields={f} messageTestId="device-check-error" />
        <PemInput name="certificate" label="Device certificate" kind="certificate" value={certificate} onChange={setCertificate} error={f.certificate} required hint="The certificate the device presents (PEM or DER)." />
        <PemInput name="chain" label="Intermediate certificates (optional)" kind="chain" rows={4} value={chain} onChange={setChain} error={f.chain} hint="Only when the device sends intermediate CA certificates between its own and the registered CA: PEM, one after the other." />
        <SubmitButton pendingText="Checking…">Check certificate</SubmitButton>
      </form>
      {r ? (
        <section aria-live="polite" data-testid="verdict" data-accepted={r.accepted ? "true" : "false"} className={current ? undefined : "opacity-60"}>
          <Alert tone={r.accepted ? "success" : "error"} title={<span data-testid="verdict-title">{r.accepted ? "Accepted" : "Refused"}</span>}>
            <p>{r.accepted ? "The messaging server would accept this device." : "The messaging server would refuse this device."}</p>
            {!current ? <p className="mt-1 text-xs">This verdict is for the certificate checked before your last edit: check again.</p> : null}
          </Alert>
          <div className="mt-4">
            <DefinitionList
              items={[
                { term: "Device type", value: <span data-testid="verdict-device-type">{r.deviceType ?? "—"}</span> },
                { term: "Device id", value: <span data-testid="verdict-device-id">{r.deviceId ?? "—"}</span> },
                { term: "Issuer (registered CA)", value: <span data-testid="verdict-issuer">{r.issuer ?? "None: it does not chain to an active registered CA certificate"}</span> },
                {
                  term: r.accepted ? "Notes" : "Reasons",
                  value: r.reasons.length ? (
                    <ul className="list-disc space-y-1 pl-5 [word-break:normal] [overflow-wrap:anywhere]" data-testid="verdict-reasons">
                      {r.reasons.map((x, i) => (
                        <li key={i}>{x}</li>
                      ))}
                    </ul>
                  ) : (
                    "None"
                  ),
                },
              ]}
            />
          </div>
        </section>
      ) : null}
    </div>
  );
}
