import type { Metadata } from "next";
import { requireAdminPage } from "@/app/_server/session.ts";
import { listOutboxPage, type OutboxRow } from "@/lib/mail/outbox.ts";
import { isAppError } from "@/lib/errors/app-error.ts";
import { PageHeader, Card } from "@/components/ui/card";
import { SubmitButton } from "@/components/ui/button";
import { DataTable, utcMinute } from "@/components/ui/table";
import { Alert } from "@/components/ui/alert";
import { Pager } from "@/components/ui/pager";
import { retryMailAction } from "./actions.ts";

export const metadata: Metadata = { title: "E-mail" };
export const dynamic = "force-dynamic";

const tone: Record<string, string> = {
  sent: "bg-emerald-100 text-emerald-900",
  pending: "bg-amber-100 text-amber-900",
  sending: "bg-sky-100 text-sky-900",
  failed: "bg-red-100 text-red-900",
};

/** Messages per page. */
const PAGE_SIZE = 100;

export default async function MailPage({ searchParams }: { searchParams: Promise<Record<string, string | string[] | undefined>> }) {
  await requireAdminPage("/mail");
  const raw = (await searchParams).cursor;
  const cursor = typeof raw === "string" && raw.length <= 200 ? raw : null;
  let rows: OutboxRow[] = [];
  let nextCursor: string | null = null;
  let cursorProblem: string | null = null;
  try {
    ({ items: rows, nextCursor } = await listOutboxPage({ cursor, take: PAGE_SIZE }));
  } catch (e) {
    if (!isAppError(e)) throw e;
    cursorProblem = e.message;
  }
  return (
    <div className="space-y-6">
      <PageHeader title="E-mail" description="Every notification goes through this outbox. A message the SMTP server did not accept stays here and is retried with growing delays; the business action it reports on is never undone." />
      {cursorProblem ? (
        <Alert tone="error" title="This page of the outbox cannot be shown">
          {cursorProblem}
        </Alert>
      ) : null}
      <Card title="Recent messages">
        <DataTable
          columns={["Status", "To", "Subject", "Queued", "Attempts", "Details"]}
          empty="No e-mail has been sent yet."
          rows={rows.map((m) => (
            <tr key={m.id} className="align-top">
              <td className="py-2 pr-4">
                <span className={`rounded-full px-2 py-0.5 text-xs font-semibold ${tone[m.status] ?? ""}`}>{m.status}</span>
              </td>
              <td className="py-2 pr-4 break-all">{m.toAddress}</td>
              <td className="py-2 pr-4">{m.subject}</td>
              <td className="py-2 pr-4 whitespace-nowrap">{utcMinute(m.createdAt)}</td>
              <td className="py-2 pr-4">{m.attempts}</td>
              <td className="py-2">
                {m.status === "sent" ? (
                  `Sent ${utcMinute(m.sentAt)}`
                ) : (
                  <div className="space-y-2">
                    {m.lastError ? <p className="text-xs text-red-800">{m.lastError}</p> : null}
                    {m.status !== "sending" ? <p className="text-xs text-slate-600">Next attempt {utcMinute(m.nextAttemptAt)}</p> : null}
                    <form action={retryMailAction}>
                      <input type="hidden" name="id" value={m.id} />
                      <SubmitButton variant="secondary" pendingText="Sending…">
                        Retry now
                      </SubmitButton>
                    </form>
                  </div>
                )}
              </td>
            </tr>
          ))}
        />
        <Pager label="Pages of the outbox" firstHref={cursor ? "/mail" : null} nextHref={nextCursor ? `/mail?cursor=${encodeURIComponent(nextCursor)}` : null} firstText="Newest" nextText="Older" />
      </Card>
    </div>
  );
}
