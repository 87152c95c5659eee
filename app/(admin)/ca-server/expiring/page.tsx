import type { Metadata } from "next";
import Link from "next/link";
import { requireAdminPage } from "@/app/_server/session.ts";
import { findCaServerView } from "@/lib/ca/get-server.ts";
import { listExpiringCertificates, type ExpiringCertificate } from "@/lib/ca/expiring.ts";
import { isAppError } from "@/lib/errors/app-error.ts";
import { PageHeader, Card } from "@/components/ui/card";
import { Breadcrumb } from "@/components/ui/breadcrumb";
import { ServerNotConfigured } from "@/components/ca-server/server-not-configured";
import { Alert } from "@/components/ui/alert";
import { buttonClass } from "@/components/ui/button-styles";
import { DataTable, utcMinute } from "@/components/ui/table";
import { SubmitButton } from "@/components/ui/button";
import { expiryWarningThresholds, lastScheduledExpiryCheck } from "@/lib/ca/expiry-warnings.ts";
import { env } from "@/lib/env.ts";
import { sendDueWarningsAction } from "./actions.ts";
import { Pager } from "@/components/ui/pager";

export const metadata: Metadata = { title: "Expiring certificates" };
export const dynamic = "force-dynamic";

const TITLE = "Expiring certificates";
const WINDOWS = [7, 30, 60, 90] as const;
const DEFAULT_WINDOW = 60;
const PAGE_SIZE = 50;

type SearchParams = Record<string, string | string[] | undefined>;

function one(sp: SearchParams, key: string): string | undefined {
  const v = sp[key];
  return typeof v === "string" && v.length <= 400 ? v : undefined;
}

const breadcrumb = <Breadcrumb current="Certificate Authority Server" />;

/** "60, 30 and 7". */
function dayList(days: number[]): string {
  const s = [...days].sort((a, b) => b - a).map(String);
  return s.length <= 1 ? s.join("") : `${s.slice(0, -1).join(", ")} and ${s.at(-1)}`;
}

function count(raw: string | undefined): number | null {
  return raw && /^\d{1,6}$/.test(raw) ? Number(raw) : null;
}

/** What "Send due warnings now" did, from the query it redirected to. */
function CheckResult({ sp }: { sp: SearchParams }) {
  const failed = one(sp, "checkFailed");
  if (failed) {
    return (
      <Alert tone="error" title="The check could not run">
        {failed === "not_configured" ? "The Certificate Authority server is not configured." : "Try again; the scheduled check keeps running."}
      </Alert>
    );
  }
  if (one(sp, "noMail")) {
    return <Alert tone="warning" title="No warning was sent">E-mail is not configured on the CA server: nothing was sent or recorded.</Alert>;
  }
  const warned = count(one(sp, "warned"));
  const mails = count(one(sp, "mails"));
  if (warned === null || mails === null) return null;
  return (
    <Alert tone="success" title="Checked now">
      {warned === 0
        ? "No certificate reached a new warning threshold."
        : `${warned} certificate${warned === 1 ? "" : "s"} reached a warning threshold: ${mails} e-mail${mails === 1 ? "" : "s"} queued in the outbox.`}
    </Alert>
  );
}

function WarningsCell({ c }: { c: ExpiringCertificate }) {
  return (
    <div className="space-y-0.5">
      {c.renewedBy !== null ? (
        <div data-testid="renewed-by">
          renewed by{" "}
          <Link href={`/ca-server/certificates/${c.renewedBy}`} className="font-medium text-brand-700 underline">
            #{c.renewedBy}
          </Link>
        </div>
      ) : null}
      {c.warnings.map((w) =>
        w.mailed ? (
          <div key={w.thresholdDays} data-testid="warning-sent" className="whitespace-nowrap">
            {w.thresholdDays} d mailed {utcMinute(new Date(w.sentAt))}
          </div>
        ) : (
          <div key={w.thresholdDays} data-testid="warning-skipped" className="whitespace-nowrap text-slate-500" title="It was already past this threshold when first checked; the smaller threshold's warning was mailed instead">
            {w.thresholdDays} d skipped (first seen later)
          </div>
        ),
      )}
      {c.renewedBy === null && c.warnings.length === 0 ? <span className="text-slate-500">—</span> : null}
    </div>
  );
}

export default async function ExpiringCertificatesPage({ searchParams }: { searchParams: Promise<SearchParams> }) {
  await requireAdminPage("/ca-server/expiring");
  const sp = await searchParams;
  const ca = await findCaServerView();
  if (!ca) {
    return (
      <div>
        <PageHeader title={TITLE} breadcrumb={breadcrumb} />
        <ServerNotConfigured reason="There are no issued certificates until it is." />
      </div>
    );
  }
  const asked = Number(one(sp, "days"));
  const days = (WINDOWS as readonly number[]).includes(asked) ? asked : DEFAULT_WINDOW;
  const cursor = one(sp, "cursor");
  let items: ExpiringCertificate[] = [];
  let nextCursor: string | null = null;
  let problem: string | null = null;
  const thresholds = expiryWarningThresholds();
  const checkMinutes = env().PORTCULLIS_EXPIRY_CHECK_MINUTES;
  const lastCheck = await lastScheduledExpiryCheck();
  const mailConfigured = Boolean(ca.smtp.host && ca.smtp.port);
  try {
    ({ items, nextCursor } = await listExpiringCertificates({ withinDays: days, cursor, take: PAGE_SIZE }));
  } catch (e) {
    if (!isAppError(e)) throw e;
    problem = e.message;
  }

  return (
    <div className="space-y-6">
      <PageHeader
        title={TITLE}
        breadcrumb={breadcrumb}
        description="Valid, unrevoked certificates that expire within the chosen window, soonest first. Ask their technical contacts to request a renewal with the same common name."
      />
      <Card
        title="Expiry warnings"
        description={
          <span data-testid="warning-thresholds">
            The technical contact and the administrator ({ca.adminEmail}) are e-mailed {dayList(thresholds)} days before a certificate expires, once per threshold, unless it was renewed. Checked every {checkMinutes} minute{checkMinutes === 1 ? "" : "s"}; last scheduled check{" "}
            <span data-testid="last-check">{lastCheck ? utcMinute(lastCheck) : "not yet"}</span>.
          </span>
        }
        actions={
          <form action={sendDueWarningsAction}>
            <input type="hidden" name="days" value={days} />
            <SubmitButton variant="secondary" pendingText="Checking…">
              Send due warnings now
            </SubmitButton>
          </form>
        }
      >
        <div className="space-y-3 text-sm">
          <CheckResult sp={sp} />
          {mailConfigured ? (
            <p className="text-slate-600">The thresholds are set with PORTCULLIS_EXPIRY_WARNING_DAYS and the interval with PORTCULLIS_EXPIRY_CHECK_MINUTES.</p>
          ) : (
            <Alert tone="warning" title="E-mail is not configured">
              No warning is sent until the CA server has an SMTP server;{" "}
              <Link href="/ca-server" className="font-medium underline">
                configure it
              </Link>
              . Warnings due meanwhile go out at the first check after that.
            </Alert>
          )}
        </div>
      </Card>
      <Card
        title={`Expiring within ${days} days`}
        actions={
          <a href="/api/v1/admin/certificates/expiring.ics" className="text-sm font-medium text-brand-700 underline" data-testid="ics-link">
            Calendar feed (.ics)
          </a>
        }
      >
        <form method="get" action="/ca-server/expiring" className="mb-4 flex flex-wrap items-end gap-3 text-sm">
          <label className="flex flex-col gap-1">
            <span className="font-medium text-slate-700">Window</span>
            <select name="days" defaultValue={String(days)} className="rounded-md border border-slate-300 px-2 py-1.5" data-testid="window-select">
              {WINDOWS.map((w) => (
                <option key={w} value={w}>
                  {w} days
                </option>
              ))}
            </select>
          </label>
          <button type="submit" className={buttonClass("secondary")}>
            Show
          </button>
        </form>
        {problem ? (
          <Alert tone="error" title="This page cannot be shown">
            {problem}{" "}
            <Link href={`/ca-server/expiring?days=${days}`} className="font-medium underline">
              First page
            </Link>
          </Alert>
        ) : (
          <DataTable
            columns={["Number", "Subject", "Hostname", "Not after", "Days left", "Warnings"]}
            empty={<span data-testid="expiring-empty">No valid certificate expires within {days} days.</span>}
            rows={items.map((c) => (
              <tr key={c.number} data-testid="expiring-row" data-number={c.number} className="align-top">
                <td className="py-2 pr-4">
                  <Link href={`/ca-server/certificates/${c.number}`} className="font-medium text-brand-700 underline">
                    {c.number}
                  </Link>
                </td>
                <td className="min-w-48 max-w-80 py-2 pr-4 break-words">{c.subject}</td>
                <td className="py-2 pr-4 break-all">{c.hostname ?? "—"}</td>
                <td className="py-2 pr-4 whitespace-nowrap">{utcMinute(new Date(c.notAfter))}</td>
                <td className={`py-2 pr-4 whitespace-nowrap ${c.daysLeft < 7 ? "font-semibold text-red-700" : c.daysLeft < 30 ? "font-semibold text-amber-700" : ""}`}>{c.daysLeft}</td>
                <td className="py-2" data-testid="warnings-cell">
                  <WarningsCell c={c} />
                </td>
              </tr>
            ))}
          />
        )}
        <Pager
          label="Pages of expiring certificates"
          firstHref={cursor ? `/ca-server/expiring?days=${days}` : null}
          nextHref={nextCursor ? `/ca-server/expiring?days=${days}&cursor=${encodeURIComponent(nextCursor)}` : null}
        />
      </Card>
    </div>
  );
}
