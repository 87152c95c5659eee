"use client";
import { useActionState } from "react";
import { SubmitButton } from "@/components/ui/button";
import { Alert } from "@/components/ui/alert";
import { DataTable } from "@/components/ui/table";
import type { GetState } from "@/app/(admin)/ca-client/certificates/actions.ts";
import type { RemoteCertificate } from "@/lib/client/ca-server-api.ts";

type Action = (prev: GetState, fd: FormData) => Promise<GetState>;

function Saved({ state, testId }: { state: GetState; testId: string }) {
  if (state.ok && state.data) {
    return (
      <Alert tone={state.data.notes.length ? "warning" : "success"}>
        <p data-testid={testId} className="break-words">
          {state.data.message}
        </p>
        {state.data.alsoSaved?.map((m) => (
          <p key={m} className="mt-1 break-words" data-testid={`${testId}-also`}>
            {m}
          </p>
        ))}
        {state.data.notes.map((n) => (
          <p key={n} className="mt-1">
            {n}
          </p>
        ))}
        <p className="mt-2">
          <a href={`/api/v1/client/files/${encodeURIComponent(state.data.fileName)}`} download={state.data.fileName} className="font-medium underline">
            Download {state.data.fileName}
          </a>
        </p>
      </Alert>
    );
  }
  if (state.message) {
    return (
      <Alert tone="error" title="Nothing was saved">
        <p data-testid={`${testId}-error`}>{state.message}</p>
      </Alert>
    );
  }
  return null;
}

/** Get Certificate Authority Certificate, and its message. */
export function GetCaCertificate({ action }: { action: Action }) {
  const [state, formAction] = useActionState(action, {});
  return (
    <div className="space-y-3">
      <form action={formAction}>
        <SubmitButton pendingText="Getting the certificate…">Get Certificate Authority Certificate</SubmitButton>
      </form>
      <Saved state={state} testId="ca-message" />
    </div>
  );
}

/** A listed certificate, as much of it as the table shows. */
export type CertificateRow = Pick<RemoteCertificate, "number" | "serial" | "subject" | "hostname" | "instance" | "filename" | "usage" | "notAfter" | "status">;

/** The server's issued certificates, each with Get. `compact`: only Serial Number and Filename, as IRIS shows this instance's. */
export function CertificatesTable({ rows, action, compact }: { rows: CertificateRow[]; action: Action; compact?: boolean }) {
  const [state, formAction] = useActionState(action, {});
  const get = (r: CertificateRow) => (
    <td className="py-2 text-right">
      <form action={formAction}>
        <input type="hidden" name="number" value={r.number} />
        <SubmitButton variant="secondary" pendingText="Getting…" aria-label={`Get certificate number ${r.number} (${r.filename})`}>
          Get
        </SubmitButton>
      </form>
    </td>
  );
  return (
    <div className="space-y-4">
      <div aria-live="polite">
        <Saved state={state} testId="get-message" />
      </div>
      <DataTable
        columns={compact ? ["Serial Number", "Filename", ""] : ["Number", "Serial Number", "Subject", "Hostname", "Instance", "Filename", "Expires", ""]}
        empty="No certificate matches."
        rows={rows.map((r) =>
          compact ? (
            <tr key={r.number} data-testid={`certificate-${r.number}`}>
              <td className="py-2 pr-4 font-mono text-xs break-all">{r.serial}</td>
              <td className="py-2 pr-4 font-medium">
                <a href={`/ca-client/certificates/${r.number}`} className="text-brand-700 underline" aria-label={`${r.filename}: details and deployment bundles`}>
                  {r.filename}
                </a>
              </td>
              {get(r)}
            </tr>
          ) : (
            <tr key={r.number} data-testid={`certificate-${r.number}`} className="align-top">
              <td className="py-2 pr-4">
                <a href={`/ca-client/certificates/${r.number}`} className="text-brand-700 underline" aria-label={`Certificate number ${r.number}: details and deployment bundles`}>
                  {r.number}
                </a>
              </td>
              <td className="py-2 pr-4 font-mono text-xs break-all">{r.serial}</td>
              <td className="py-2 pr-4 break-all">
                {r.subject}
                {r.status && r.status !== "valid" ? <span className="ml-1 rounded bg-red-100 px-1.5 py-0.5 text-xs text-red-900">{r.status}</span> : null}
              </td>
              <td className="py-2 pr-4 break-all">{r.hostname ?? "—"}</td>
              <td className="py-2 pr-4">{r.instance ?? "—"}</td>
              <td className="py-2 pr-4 font-medium">{r.filename}</td>
              <td className="py-2 pr-4 whitespace-nowrap text-xs">{r.notAfter ? r.notAfter.slice(0, 10) : "—"}</td>
              {get(r)}
            </tr>
          ),
        )}
      />
    </div>
  );
}
