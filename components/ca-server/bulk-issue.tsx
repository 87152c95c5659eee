"use client";
import { createContext, useContext, useState, type FormEvent, type ReactNode } from "react";
import Link from "next/link";
import { useRouter } from "next/navigation";
import { Field, SelectField } from "@/components/ui/field";
import { Alert } from "@/components/ui/alert";
import { buttonClass } from "@/components/ui/button-styles";
import { USAGES } from "@/lib/pki/profiles.ts";
import type { BulkIssueResult } from "@/lib/ca/bulk-issue.ts";
import type { BulkIssueState } from "@/app/(admin)/ca-server/requests/actions.ts";

type Action = (prev: BulkIssueState, fd: FormData) => Promise<BulkIssueState>;

/** Requests sent per call, so progress shows between calls. */
const CHUNK = 10;

interface Selection {
  ids: string[];
  selected: Set<string>;
  toggle: (id: string, on: boolean) => void;
  setAll: (on: boolean) => void;
  unselect: (done: string[]) => void;
}

const SelectionContext = createContext<Selection | null>(null);

function useSelection(): Selection {
  const s = useContext(SelectionContext);
  if (!s) throw new Error("BulkSelection is missing");
  return s;
}

/** Holds which requests of this page are selected for bulk issuance. */
export function BulkSelection({ ids, children }: { ids: string[]; children: ReactNode }) {
  const [selected, setSelected] = useState<Set<string>>(new Set());
  const toggle = (id: string, on: boolean) =>
    setSelected((prev) => {
      const next = new Set(prev);
      if (on) next.add(id);
      else next.delete(id);
      return next;
    });
  const setAll = (on: boolean) => setSelected(on ? new Set(ids) : new Set());
  const unselect = (done: string[]) =>
    setSelected((prev) => {
      const next = new Set(prev);
      for (const id of done) next.delete(id);
      return next;
    });
  return <SelectionContext.Provider value={{ ids, selected, toggle, setAll, unselect }}>{children}</SelectionContext.Provider>;
}

/** The checkbox of one row of the queue. */
export function BulkCheckbox({ id, label }: { id: string; label: string }) {
  const { selected, toggle } = useSelection();
  return <input type="checkbox" data-testid="bulk-select" aria-label={`Select ${label}`} checked={selected.has(id)} onChange={(e) => toggle(id, e.target.checked)} className="mt-1 h-4 w-4 rounded border-slate-300 text-brand-600" />;
}

const CHANNELS = [
  { value: "phone", label: "Phone" },
  { value: "in-person", label: "In person" },
  { value: "other", label: "Other" },
];

interface Progress {
  total: number;
  processed: number;
  issued: BulkIssueResult["issued"];
  skipped: BulkIssueResult["skipped"];
  failed: BulkIssueResult["failed"];
  done: boolean;
}

/** Requests per call for a whole submission batch: each call stores them in one transaction. */
const BATCH_CHUNK = 100;

/**
 * Issue the selected requests with one password entry — or, given `batch`, every pending
 * request of that submission batch. They are sent in chunks, so progress shows between
 * them; an interrupted run (page closed, error) is resumed by issuing again: requests
 * already issued have left the queue.
 */
export function BulkIssueForm({ action, batch }: { action: Action; batch?: { id: string; ids: string[] } }) {
  const { ids, selected, setAll, unselect } = useSelection();
  const router = useRouter();
  const [fields, setFields] = useState<Record<string, string>>({});
  const [message, setMessage] = useState<string | undefined>();
  const [running, setRunning] = useState(false);
  const [progress, setProgress] = useState<Progress | null>(null);

  async function onSubmit(e: FormEvent<HTMLFormElement>) {
    e.preventDefault();
    const form = new FormData(e.currentTarget);
    const chosen = batch ? batch.ids : ids.filter((id) => selected.has(id));
    const chunk = batch ? BATCH_CHUNK : CHUNK;
    setFields({});
    setMessage(undefined);
    if (chosen.length === 0) {
      setMessage("Select at least one request.");
      return;
    }
    setRunning(true);
    let p: Progress = { total: chosen.length, processed: 0, issued: [], skipped: [], failed: [], done: false };
    let refused = false;
    setProgress(p);
    try {
      for (let i = 0; i < chosen.length; i += chunk) {
        const fd = new FormData();
        for (const [k, v] of form.entries()) fd.append(k, v);
        for (const id of chosen.slice(i, i + chunk)) fd.append("id", id);
        const r = await action({}, fd);
        if (!r.ok || !r.data) {
          setFields(r.fields ?? {});
          setMessage(r.message ?? (r.fields ? undefined : "The requests could not be issued."));
          refused = true;
          break;
        }
        const d = r.data;
        p = { ...p, processed: p.processed + d.requested, issued: [...p.issued, ...d.issued], skipped: [...p.skipped, ...d.skipped], failed: [...p.failed, ...d.failed] };
        setProgress(p);
      }
    } catch {
      setMessage("The connection to the server was lost. Issue again to resume: requests already issued are no longer pending.");
    } finally {
      // A refusal before anything was done (password, confirmation) leaves no progress to show.
      setProgress(refused && p.processed === 0 ? null : { ...p, done: true });
      setRunning(false);
      unselect([...p.issued.map((x) => x.id), ...p.skipped.map((x) => x.id)]);
      if (p.processed) router.refresh();
    }
  }

  const allOn = ids.length > 0 && ids.every((id) => selected.has(id));
  return (
    <form onSubmit={onSubmit} aria-label={batch ? "Issue this submission batch" : "Issue selected requests"} className="space-y-4" noValidate>
      {batch ? (
        <p data-testid="bulk-batch-count" className="text-sm text-slate-700">
          {batch.ids.length} pending {batch.ids.length === 1 ? "request" : "requests"} in this batch
        </p>
      ) : (
        <div className="flex flex-wrap items-center gap-4">
          <label className="flex items-center gap-2 text-sm font-medium text-slate-800">
            <input type="checkbox" checked={allOn} onChange={(e) => setAll(e.target.checked)} disabled={ids.length === 0} className="h-4 w-4 rounded border-slate-300 text-brand-600" />
            Select all on this page
          </label>
          <span data-testid="bulk-selected" className="text-sm text-slate-600">
            {ids.filter((id) => selected.has(id)).length} selected
          </span>
        </div>
      )}
      <div className="grid gap-4 sm:grid-cols-3">
        <SelectField name="usage" label="Certificate usage" options={USAGES.map((u) => ({ value: u.id, label: u.label }))} error={fields.usage} />
        <SelectField name="verificationChannel" label="Verified by" options={CHANNELS} error={fields.verificationChannel} />
        <Field name="caKeyPassword" label="CA private key password" type="password" autoComplete="off" error={fields.caKeyPassword} />
      </div>
      <Field name="verificationNote" label="Verification note (optional)" maxLength={500} error={fields.verificationNote} />
      <div>
        <label className="flex items-start gap-2 text-sm font-medium text-slate-800">
          <input type="checkbox" name="fingerprintVerified" aria-describedby={fields.fingerprintVerified ? "f-bulk-verified-error" : undefined} className="mt-1 h-4 w-4 rounded border-slate-300 text-brand-600" />
          {batch ? "I verified this batch with its technical contact: who sent it, for which devices or hosts, and the fingerprints of its requests" : "I verified the identity, authority and fingerprint of every selected request with its technical contact"}
        </label>
        {fields.fingerprintVerified ? (
          <p id="f-bulk-verified-error" className="text-sm font-medium text-red-700">
            {fields.fingerprintVerified}
          </p>
        ) : null}
      </div>
      {message ? <Alert tone="error">{message}</Alert> : null}
      <button type="submit" disabled={running || (batch !== undefined && batch.ids.length === 0)} className={buttonClass("primary")}>
        {running ? "Issuing…" : batch ? "Issue the whole batch" : "Issue selected"}
      </button>
      {progress ? <ProgressView p={progress} /> : null}
    </form>
  );
}

function ProgressView({ p }: { p: Progress }) {
  return (
    <div className="space-y-3" aria-live="polite">
      <div>
        <p data-testid="bulk-progress" className="text-sm font-medium text-slate-800">
          {p.issued.length} of {p.total} issued
        </p>
        <progress value={p.processed} max={p.total} className="mt-1 h-2 w-full" aria-label="Requests processed" />
      </div>
      {p.done ? (
        <Alert tone={p.failed.length ? "warning" : "success"}>
          Done: {p.issued.length} issued, {p.skipped.length} skipped (no longer pending), {p.failed.length} not issued.
        </Alert>
      ) : null}
      {p.issued.length ? (
        <ul data-testid="bulk-issued" className="list-inside list-disc text-sm">
          {p.issued.map((x) => (
            <li key={x.id}>
              <Link href={`/ca-server/certificates/${x.number}`} className="text-brand-700 underline">
                Certificate number {x.number}
              </Link>
            </li>
          ))}
        </ul>
      ) : null}
      {p.failed.length ? (
        <ul data-testid="bulk-failed" className="list-inside list-disc text-sm text-red-800">
          {p.failed.map((x) => (
            <li key={x.id}>
              <Link href={`/ca-server/requests/${x.id}`} className="underline">
                Request {x.id}
              </Link>
              : {x.message}
            </li>
          ))}
        </ul>
      ) : null}
      {p.skipped.length ? (
        <ul data-testid="bulk-skipped" className="list-inside list-disc text-sm text-slate-600">
          {p.skipped.map((x) => (
            <li key={x.id}>{x.reason}</li>
          ))}
        </ul>
      ) : null}
    </div>
  );
}
