"use client";
import { useRef, useState, type ReactNode } from "react";
import { Card } from "@/components/ui/card";
import { Alert } from "@/components/ui/alert";
import { IssueForm } from "@/components/queue/issue-form";
import { isUsage, type Usage } from "@/lib/pki/profiles.ts";
import type { RequestPreview } from "@/lib/ca/preview-request.ts";
import type { Finding } from "@/lib/pki/lint.ts";
import type { IssueState } from "../actions.ts";

type Action = (prev: IssueState, fd: FormData) => Promise<IssueState>;

function utcSecond(iso: string): string {
  return iso.replace("T", " ").replace(/\.\d+Z$/, " UTC").replace(/Z$/, " UTC");
}

function Lines({ items, empty = "None", mono = false }: { items: string[]; empty?: string; mono?: boolean }) {
  if (items.length === 0) return <span className="text-slate-500">{empty}</span>;
  return (
    <ul className="space-y-0.5">
      {items.map((s, i) => (
        <li key={`${i}-${s}`} className={mono ? "font-mono text-xs break-all" : undefined}>
          {s}
        </li>
      ))}
    </ul>
  );
}

const critical = (c: boolean) => (c ? <span className="ml-1 text-xs text-slate-500">(critical)</span> : null);

/** The CSR beside the certificate the chosen usage makes of it, and the lint findings. */
function PreviewCard({ preview, loading, failure }: { preview: RequestPreview; loading: boolean; failure: string | null }) {
  const { requested, issued, lint } = preview;
  const notAsked = <span className="text-slate-500">Not in the request</span>;
  const row = (label: string, asked: ReactNode, will: ReactNode, testId?: string) => (
    <tr className="align-top">
      <th scope="row" className="py-2 pr-4 text-left font-medium text-slate-600">
        {label}
      </th>
      <td className="py-2 pr-4 [overflow-wrap:anywhere]">{asked}</td>
      <td className="py-2 [overflow-wrap:anywhere]" data-testid={testId}>
        {will}
      </td>
    </tr>
  );
  return (
    <Card
      title={<span data-testid="preview-title">{`Preview: what will be issued as ${preview.usageLabel}`}</span>}
      description="Built and checked before the CA key signs anything: the CSR as received beside the certificate this usage makes of it."
    >
      <div className="space-y-4" aria-busy={loading}>
        <p aria-live="polite" className={loading ? "text-xs text-slate-500" : "sr-only"} data-testid="preview-status">
          {loading ? "Updating the preview…" : ""}
        </p>
        {failure ? (
          <Alert tone="warning" title="The preview could not be updated">
            {failure}
          </Alert>
        ) : null}
        <div className="overflow-x-auto">
          <table className="w-full text-sm" data-testid="preview-table">
            <thead className="text-xs uppercase text-slate-500">
              <tr>
                <th scope="col" className="py-2 pr-4 text-left"></th>
                <th scope="col" className="py-2 pr-4 text-left">
                  Requested in the CSR
                </th>
                <th scope="col" className="py-2 text-left">
                  Will be issued
                </th>
              </tr>
            </thead>
            <tbody className="divide-y divide-slate-100">
              {row("Subject", requested.subject, issued ? issued.subject : "—", "preview-subject")}
              {row("Subject alternative names", <Lines items={requested.subjectAltNames} mono />, issued ? <Lines items={issued.subjectAltNames} mono /> : "—", "preview-sans")}
              {row("Public key", requested.publicKey, issued ? issued.publicKey : "—")}
              {row(
                "Validity",
                notAsked,
                issued ? (
                  <span data-testid="preview-validity">
                    {utcSecond(issued.notBefore)} to {utcSecond(issued.notAfter)}
                  </span>
                ) : (
                  "—"
                ),
              )}
              {row("Basic constraints", notAsked, issued?.basicConstraints ? <>{issued.basicConstraints.value}{critical(issued.basicConstraints.critical)}</> : "—", "preview-basic-constraints")}
              {row("Key usage", notAsked, issued?.keyUsage ? <>{issued.keyUsage.value.join(", ")}{critical(issued.keyUsage.critical)}</> : "—", "preview-key-usage")}
              {row("Extended key usage", notAsked, issued?.extendedKeyUsage ? <>{issued.extendedKeyUsage.value.join(", ")}{critical(issued.extendedKeyUsage.critical)}</> : "None", "preview-eku")}
              {row("CRL distribution point", notAsked, issued ? <Lines items={issued.crlDistributionPoints} mono /> : "—")}
              {row(
                "Authority information access",
                notAsked,
                issued ? <Lines items={[...issued.ocsp.map((u) => `OCSP ${u}`), ...issued.caIssuers.map((u) => `CA issuers ${u}`)]} mono /> : "—",
              )}
              {row(
                "Other extensions",
                requested.otherExtensions.length ? <Lines items={requested.otherExtensions.map((x) => `${x.name} (${x.oid}${x.critical ? ", critical" : ""})`)} /> : "None",
                requested.otherExtensions.length ? <span className="text-slate-500">Not copied: the usage decides the extensions</span> : "—",
              )}
              {row("Signature", requested.signatureAlgorithm, issued ? `${issued.signatureAlgorithm} by the CA key` : "—")}
            </tbody>
          </table>
        </div>
        <div className="space-y-3" data-testid="lint-results">
          {lint.errors.length ? (
            <Alert tone="error" title={`${lint.errors.length === 1 ? "1 error" : `${lint.errors.length} errors`}: this certificate will not be issued`}>
              <FindingList findings={lint.errors} testId="lint-errors" />
            </Alert>
          ) : null}
          {lint.warnings.length ? (
            <Alert tone="warning" title={lint.warnings.length === 1 ? "1 warning" : `${lint.warnings.length} warnings`}>
              <FindingList findings={lint.warnings} testId="lint-warnings" />
            </Alert>
          ) : null}
          {!lint.errors.length && !lint.warnings.length ? (
            <Alert tone="success">
              <span data-testid="lint-clean">No findings: the certificate passes every check run before signing (RFC 5280, CA/Browser Forum rules for a private CA, and the usage&apos;s profile).</span>
            </Alert>
          ) : null}
        </div>
      </div>
    </Card>
  );
}

/**
 * The preview and the Process form together: choosing another Certificate Usage in the
 * form fetches the preview for it (GET /api/v1/admin/csrs/{id}/preview?usage=…).
 */
export function IssuePanel({ initial, requestId, filename, action, children }: { initial: RequestPreview; requestId: string; filename: string; action: Action; children?: ReactNode }) {
  const [preview, setPreview] = useState(initial);
  const [loading, setLoading] = useState(false);
  const [failure, setFailure] = useState<string | null>(null);
  const current = useRef<AbortController | null>(null);

  async function load(usage: Usage) {
    current.current?.abort();
    const controller = new AbortController();
    current.current = controller;
    setLoading(true);
    setFailure(null);
    try {
      const res = await fetch(`/api/v1/admin/csrs/${encodeURIComponent(requestId)}/preview?usage=${encodeURIComponent(usage)}`, { signal: controller.signal, cache: "no-store" });
      const body = (await res.json().catch(() => null)) as (RequestPreview & { error?: { message?: string } }) | null;
      if (!res.ok || !body || body.error) throw new Error(body?.error?.message ?? `The server answered ${res.status}`);
      setPreview(body);
      const url = new URL(window.location.href);
      url.searchParams.set("usage", usage);
      window.history.replaceState(window.history.state, "", url);
    } catch (e) {
      if (controller.signal.aborted) return;
      setFailure(e instanceof Error ? e.message : "The preview could not be loaded");
    } finally {
      if (current.current === controller) setLoading(false);
    }
  }

  return (
    <>
      <PreviewCard preview={preview} loading={loading} failure={failure} />
      <Card title="Issue the certificate">
        <div
          className="space-y-4"
          onChange={(e) => {
            const t = e.target as HTMLInputElement;
            if (t.name === "usage" && t.checked && isUsage(t.value)) void load(t.value);
          }}
        >
          {children}
          <IssueForm action={action} requestId={requestId} filename={filename} defaultUsage={initial.usage} />
        </div>
      </Card>
    </>
  );
}

function FindingList({ findings, testId }: { findings: Finding[]; testId: string }) {
  return (
    <ul className="list-disc space-y-1 pl-5" data-testid={testId}>
      {findings.map((f, i) => (
        <li key={`${f.code}-${i}`}>
          {f.message} <code className="text-xs">{f.code}</code>
        </li>
      ))}
    </ul>
  );
}
