import type { Metadata } from "next";
import Link from "next/link";
import { requireAdminPage } from "@/app/_server/session.ts";
import { auditActions, listAudit, parseAuditDate, verifyAuditChain, type AuditEntryView, type ChainCheck } from "@/lib/audit/audit-log.ts";
import { isAppError } from "@/lib/errors/app-error.ts";
import { PageHeader, Card } from "@/components/ui/card";
import { Alert } from "@/components/ui/alert";
import { buttonClass } from "@/components/ui/button-styles";
import { DataTable, utcMinute } from "@/components/ui/table";
import { Pager } from "@/components/ui/pager";

export const metadata: Metadata = { title: "Audit log" };
export const dynamic = "force-dynamic";

const PAGE_SIZE = 50;

type SearchParams = Record<string, string | string[] | undefined>;

function one(sp: SearchParams, key: string): string {
  const v = sp[key];
  return typeof v === "string" && v.length <= 200 ? v.trim() : "";
}

function detailText(details: Record<string, unknown>): string {
  return Object.entries(details)
    .map(([k, v]) => `${k}: ${typeof v === "string" ? v : JSON.stringify(v)}`)
    .join("\n");
}

function ChainResult({ check }: { check: ChainCheck }) {
  return check.ok ? (
    <Alert tone="success" title="The chain is intact">
      <span data-testid="audit-verify-result">
        {check.entries} entries checked; every entry matches its hash and links to the one before. Head: entry {check.headSeq}, <code className="break-all">{check.headHash}</code>
      </span>
    </Alert>
  ) : (
    <Alert tone="error" title="The chain is broken">
      <span data-testid="audit-verify-result">
        Entry {check.problem!.seq}: {check.problem!.reason}. {check.entries} entries were checked before it.
      </span>
    </Alert>
  );
}

export default async function AuditPage({ searchParams }: { searchParams: Promise<SearchParams> }) {
  await requireAdminPage("/audit");
  const sp = await searchParams;
  const filters = { action: one(sp, "action"), actor: one(sp, "actor"), from: one(sp, "from"), to: one(sp, "to") };
  const beforeRaw = one(sp, "before");
  const before = /^\d{1,10}$/.test(beforeRaw) ? Number(beforeRaw) : null;
  let items: AuditEntryView[] = [];
  let nextBefore: number | null = null;
  let problem: string | null = null;
  try {
    ({ items, nextBefore } = await listAudit({
      action: filters.action || null,
      actor: filters.actor || null,
      from: parseAuditDate(filters.from, "From"),
      to: parseAuditDate(filters.to, "To"),
      before,
      take: PAGE_SIZE,
    }));
  } catch (e) {
    if (!isAppError(e)) throw e;
    problem = e.message;
  }
  const actions = await auditActions();
  const check = one(sp, "verify") === "1" ? await verifyAuditChain() : null;
  const query = new URLSearchParams(Object.entries(filters).filter(([, v]) => v) as [string, string][]);
  const pageLink = (b: number | null) => {
    const q = new URLSearchParams(query);
    if (b) q.set("before", String(b));
    const s = q.toString();
    return s ? `/audit?${s}` : "/audit";
  };

  return (
    <div className="space-y-6">
      <PageHeader
        title="Audit log"
        description="Every administrative act, newest first. Each entry carries the SHA-256 of the one before it, so an entry changed, removed or reordered afterwards breaks the chain, which Verify detects."
      />
      {check ? <ChainResult check={check} /> : null}
      <Card
        title="Entries"
        actions={
          <div className="flex flex-wrap gap-2">
            <Link href={`${pageLink(null)}${query.toString() ? "&" : "?"}verify=1`} className={buttonClass("secondary")} data-testid="audit-verify">
              Verify chain
            </Link>
            <a href="/api/v1/admin/audit/export" className={buttonClass("secondary")} data-testid="audit-export">
              Export (JSON Lines)
            </a>
          </div>
        }
      >
        <form method="get" action="/audit" className="mb-4 flex flex-wrap items-end gap-3 text-sm">
          <label className="flex flex-col gap-1">
            <span className="font-medium text-slate-700">Action</span>
            <select name="action" defaultValue={filters.action} className="rounded-md border border-slate-300 px-2 py-1.5" data-testid="audit-action">
              <option value="">All</option>
              {actions.map((a) => (
                <option key={a} value={a}>
                  {a}
                </option>
              ))}
            </select>
          </label>
          <label className="flex flex-col gap-1">
            <span className="font-medium text-slate-700">Actor</span>
            <input name="actor" defaultValue={filters.actor} className="rounded-md border border-slate-300 px-2 py-1.5" data-testid="audit-actor" />
          </label>
          <label className="flex flex-col gap-1">
            <span className="font-medium text-slate-700">From (UTC)</span>
            <input type="date" name="from" defaultValue={filters.from} className="rounded-md border border-slate-300 px-2 py-1.5" />
          </label>
          <label className="flex flex-col gap-1">
            <span className="font-medium text-slate-700">Before (UTC)</span>
            <input type="date" name="to" defaultValue={filters.to} className="rounded-md border border-slate-300 px-2 py-1.5" />
          </label>
          <button type="submit" className={buttonClass("secondary")}>
            Filter
          </button>
        </form>
        {problem ? (
          <Alert tone="error" title="This filter cannot be applied">
            {problem}
          </Alert>
        ) : (
          <DataTable
            columns={["#", "When", "Who", "Action", "Target", "Details", "From"]}
            empty={<span data-testid="audit-empty">No entry matches.</span>}
            rows={items.map((e) => (
              <tr key={e.seq} data-testid="audit-row" data-action={e.action} className="align-top">
                <td className="py-2 pr-4 tabular-nums">{e.seq}</td>
                <td className="py-2 pr-4 whitespace-nowrap">{utcMinute(e.at)}</td>
                <td className="py-2 pr-4 break-all">{e.actor}</td>
                <td className="py-2 pr-4 whitespace-nowrap font-mono text-xs">{e.action}</td>
                <td className="py-2 pr-4 break-all">{e.target ?? "—"}</td>
                <td className="max-w-80 py-2 pr-4 whitespace-pre-wrap break-words text-xs">{detailText(e.details) || "—"}</td>
                <td className="py-2 whitespace-nowrap text-xs">{e.ip ?? "—"}</td>
              </tr>
            ))}
          />
        )}
        <Pager label="Pages of the audit log" firstHref={before ? pageLink(null) : null} nextHref={nextBefore ? pageLink(nextBefore) : null} firstText="Newest" nextText="Older" />
      </Card>
    </div>
  );
}
