"use client";
import { useActionState } from "react";
import { SubmitButton } from "@/components/ui/button";
import { Alert } from "@/components/ui/alert";
import { DataTable } from "@/components/ui/table";
import type { SubmitState } from "@/app/(admin)/ca-client/submit/actions.ts";
import { Fingerprint, SubmittedResult } from "./submit-csr-form";

type Action = (prev: SubmitState, fd: FormData) => Promise<SubmitState>;

export interface ClientRequestRow {
  id: string;
  fileNameRoot: string;
  subject: string;
  sans: string[];
  sha1Fingerprint: string;
  serverUrl: string;
  keyEncrypted: boolean;
  status: "submitted" | "failed";
  error: string | null;
  submittedAt: string;
}

function when(iso: string): string {
  return iso.slice(0, 16).replace("T", " ") + " UTC";
}

/** This instance's requests; a failed one can be submitted again (its saved CSR, same key). */
export function ClientRequestsTable({ rows, action }: { rows: ClientRequestRow[]; action: Action }) {
  const [state, formAction] = useActionState(action, {});
  const result = state.ok ? state.data?.result : undefined;
  return (
    <div className="space-y-4">
      {result ? <SubmittedResult result={result} title="Certificate Signing Request submitted again" /> : null}
      {state.message ? (
        <Alert tone="error" title="The Certificate Signing Request was not submitted">
          {state.message}
        </Alert>
      ) : null}
      <DataTable
        columns={["File name root", "Subject", "SHA-1 fingerprint", "Sent", "Status", ""]}
        empty="No Certificate Signing Request was submitted from this instance yet."
        rows={rows.map((r) => (
          <tr key={r.id} data-testid={`client-request-${r.fileNameRoot}`} className="align-top">
            <td className="py-2 pr-4 font-medium">{r.fileNameRoot}</td>
            <td className="py-2 pr-4">
              <span className="break-words">{r.subject}</span>
              {r.sans.length ? <span className="block text-xs text-slate-500">{r.sans.join(", ")}</span> : null}
            </td>
            <td className="py-2 pr-4 font-mono text-xs">
              <Fingerprint value={r.sha1Fingerprint} />
            </td>
            <td className="py-2 pr-4 whitespace-nowrap text-xs">
              {when(r.submittedAt)}
              <span className="block break-all text-slate-500">{r.serverUrl}</span>
            </td>
            <td className="py-2 pr-4">
              {r.status === "submitted" ? (
                <span className="rounded bg-emerald-100 px-1.5 py-0.5 text-xs font-semibold text-emerald-900">Submitted</span>
              ) : (
                <>
                  <span className="rounded bg-red-100 px-1.5 py-0.5 text-xs font-semibold text-red-900">Failed</span>
                  {r.error ? <span className="mt-1 block max-w-xs text-xs text-red-800">{r.error}</span> : null}
                </>
              )}
            </td>
            <td className="py-2">
              {r.status === "failed" ? (
                <form action={formAction}>
                  <input type="hidden" name="id" value={r.id} />
                  <SubmitButton variant="secondary" pendingText="Submitting…" aria-label={`Submit ${r.fileNameRoot} again`}>
                    Submit again
                  </SubmitButton>
                </form>
              ) : null}
            </td>
          </tr>
        ))}
      />
    </div>
  );
}
