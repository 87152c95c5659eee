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
            columns={["Number", "Subject", "Hostname", "Not after", "Days left"]}
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
                <td className={`py-2 whitespace-nowrap ${c.daysLeft < 7 ? "font-semibold text-red-700" : c.daysLeft < 30 ? "font-semibold text-amber-700" : ""}`}>{c.daysLeft}</td>
              </tr>
            ))}
          />
        )}
        {cursor || nextCursor ? (
          <nav aria-label="Pages of expiring certificates" className="mt-4 flex flex-wrap items-center gap-3 border-t border-slate-100 pt-4 text-sm">
            {cursor ? (
              <Link href={`/ca-server/expiring?days=${days}`} className={buttonClass("secondary")}>
                First page
              </Link>
            ) : null}
            {nextCursor ? (
              <Link href={`/ca-server/expiring?days=${days}&cursor=${encodeURIComponent(nextCursor)}`} className={buttonClass("secondary")}>
                Next page
              </Link>
            ) : null}
          </nav>
        ) : null}
      </Card>
    </div>
  );
}
