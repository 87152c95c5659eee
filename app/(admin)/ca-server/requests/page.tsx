import type { Metadata } from "next";
import Link from "next/link";
import { requireAdminPage } from "@/app/_server/session.ts";
import { findCaServerView } from "@/lib/ca/get-server.ts";
import { getRequest, listPendingRequests, type Page, type RequestView } from "@/lib/ca/requests.ts";
import { isAppError } from "@/lib/errors/app-error.ts";
import { PageHeader, Card } from "@/components/ui/card";
import { Breadcrumb } from "@/components/ui/breadcrumb";
import { ServerNotConfigured } from "@/components/ca-server/server-not-configured";
import { Alert } from "@/components/ui/alert";
import { buttonClass } from "@/components/ui/button-styles";
import { DataTable, utcMinute } from "@/components/ui/table";
import { Pager } from "@/components/ui/pager";
import { DeleteRequestButton } from "@/components/queue/delete-request-button";
import { BulkCheckbox, BulkIssueForm, BulkSelection } from "@/components/ca-server/bulk-issue";
import { bulkIssueAction, deleteRequestAction } from "./actions.ts";
import { pendingIdsOfBatch } from "@/lib/ca/bulk-issue.ts";

export const metadata: Metadata = { title: "Process pending Certificate Signing Requests" };
export const dynamic = "force-dynamic";

/** Requests per page of the queue. */
const PAGE_SIZE = 20;

type SearchParams = Record<string, string | string[] | undefined>;

function one(sp: SearchParams, key: string): string | undefined {
  const v = sp[key];
  return typeof v === "string" && v.length <= 400 ? v : undefined;
}

async function requestOrNull(id: string | undefined): Promise<RequestView | null> {
  if (!id) return null;
  return getRequest(id).catch(() => null);
}

const breadcrumb = <Breadcrumb current="Certificate Authority Server" />;

const TITLE = "Process pending Certificate Signing Requests";

export default async function RequestQueuePage({ searchParams }: { searchParams: Promise<SearchParams> }) {
  await requireAdminPage("/ca-server/requests");
  const sp = await searchParams;
  const ca = await findCaServerView();
  if (!ca) {
    return (
      <div>
        <PageHeader title={TITLE} breadcrumb={breadcrumb} />
        <ServerNotConfigured reason="There is no queue of Certificate Signing Requests until it is." />
      </div>
    );
  }

  const cursor = one(sp, "cursor");
  const batchId = one(sp, "batch");
  const here = (extra: Record<string, string>) => `/ca-server/requests?${new URLSearchParams({ ...(batchId ? { batch: batchId } : {}), ...extra })}`;
  let page: Page<RequestView> | null = null;
  let cursorProblem: string | null = null;
  try {
    page = await listPendingRequests({ cursor, take: PAGE_SIZE, batchId });
  } catch (e) {
    if (!isAppError(e)) throw e;
    cursorProblem = e.message;
  }
  const batchIds = batchId && page ? await pendingIdsOfBatch(batchId) : [];
  const [deleted, notDeleted] = await Promise.all([requestOrNull(one(sp, "deleted")), requestOrNull(one(sp, "notDeleted"))]);

  return (
    <div className="space-y-6">
      <PageHeader
        title={TITLE}
        breadcrumb={breadcrumb}
        description="Requests this Certificate Authority received and has not processed or deleted, oldest first. Process a request to see its contents, verify it with the technical contact, and issue the certificate."
      />
      {deleted && deleted.status === "deleted" ? <Alert tone="success">Certificate Signing Request &quot;{deleted.filename}&quot; deleted.</Alert> : null}
      {notDeleted && notDeleted.status !== "pending" ? (
        <Alert tone="warning" title={`Certificate Signing Request "${notDeleted.filename}" was not deleted`}>
          It was already {notDeleted.status}
          {notDeleted.certificateNumber ? ` (certificate number ${notDeleted.certificateNumber})` : ""}.
        </Alert>
      ) : null}
      {batchId && page ? (
        <Alert tone="info" title={`Submission batch ${batchId}`}>
          <span data-testid="batch-filter">
            {page.total === 0 ? "No request of this batch is pending." : `Showing the ${page.totalCapped ? `${page.total.toLocaleString("en-US")}+` : page.total.toLocaleString("en-US")} pending ${page.total === 1 ? "request" : "requests"} of this batch.`}{" "}
            <Link href="/ca-server/requests" className="font-medium underline">
              Show the whole queue
            </Link>
          </span>
        </Alert>
      ) : null}
      {cursorProblem || !page ? (
        <Alert tone="error" title="This page of the queue cannot be shown">
          {cursorProblem}{" "}
          <Link href="/ca-server/requests" className="font-medium underline">
            First page
          </Link>
        </Alert>
      ) : (
        <BulkSelection ids={page.items.map((r) => r.id)}>
          <Card
            title="Pending requests"
            actions={
              <p data-testid="pending-count" className="text-sm font-medium text-slate-700">
                {page.totalCapped ? `${page.total.toLocaleString("en-US")}+ pending requests` : `${page.total.toLocaleString("en-US")} pending ${page.total === 1 ? "request" : "requests"}`}
              </p>
            }
          >
            <DataTable
              columns={["Select", "Subject", "Technical contact", "Hostname", "Instance", "File name", "Received", "Actions"]}
              empty={
                batchId && page.total === 0 ? (
                  <span data-testid="queue-empty">No request of this submission batch is waiting.</span>
                ) : page.total === 0 ? (
                  <span data-testid="queue-empty">No Certificate Signing Requests are waiting. CA clients submit them from their “Submit Certificate Signing Request to Certificate Authority server” page or with POST /api/v1/csrs.</span>
                ) : (
                  <span data-testid="queue-empty">
                    No more requests after this point.{" "}
                    <Link href="/ca-server/requests" className="font-medium text-brand-700 underline">
                      First page
                    </Link>
                  </span>
                )
              }
              rows={page.items.map((r) => (
                <tr key={r.id} data-testid="request-row" data-request-id={r.id} className="align-top">
                  <td className="py-2 pr-2">
                    <BulkCheckbox id={r.id} label={r.filename} />
                  </td>
                  <td className="min-w-48 max-w-80 py-2 pr-4 break-words">
                    {r.subject}
                    {r.batchId && r.batchId !== batchId ? (
                      <Link href={`/ca-server/requests?batch=${encodeURIComponent(r.batchId)}`} data-testid="batch-link" className="mt-1 block w-fit rounded-full bg-violet-100 px-2 py-0.5 text-xs font-semibold text-violet-900 hover:underline">
                        Submission batch
                      </Link>
                    ) : null}
                    {r.renewalOf !== undefined ? (
                      <span data-testid="renewal-badge" className="mt-1 block w-fit rounded-full bg-sky-100 px-2 py-0.5 text-xs font-semibold text-sky-900">
                        Renewal of certificate {r.renewalOf}
                      </span>
                    ) : null}
                  </td>
                  <td className="min-w-36 py-2 pr-4">
                    <span className="block break-words">{r.contact.name}</span>
                    {r.contact.email ? <span className="block break-all text-xs text-slate-500">{r.contact.email}</span> : null}
                  </td>
                  <td className="py-2 pr-4 break-all">{r.hostname ?? "—"}</td>
                  <td className="py-2 pr-4 break-words">{r.instance ?? "—"}</td>
                  <td className="py-2 pr-4 font-mono text-xs break-all">{r.filename}</td>
                  <td className="py-2 pr-4 whitespace-nowrap">{utcMinute(new Date(r.receivedAt))}</td>
                  <td className="py-2">
                    {/* relative: the sr-only spans are absolutely positioned; contained here, they cannot widen the page past the scrolling table. */}
                    <div className="relative flex items-center gap-2">
                      <Link href={`/ca-server/requests/${r.id}`} className={buttonClass("primary")}>
                        Process<span className="sr-only"> {r.filename}</span>
                      </Link>
                      <DeleteRequestButton id={r.id} filename={r.filename} subject={r.subject} from="queue" cursor={cursor} action={deleteRequestAction} />
                    </div>
                  </td>
                </tr>
              ))}
            />
            <Pager
              label="Pages of the queue"
              firstHref={cursor ? here({}) : null}
              nextHref={page.nextCursor ? here({ cursor: page.nextCursor }) : null}
              summary={`${page.items.length} on this page, ${PAGE_SIZE} per page`}
            />
          </Card>
          {batchId ? (
            <div className="mt-6">
              <Card title="Issue this batch" description="Verify the batch with its technical contact, then issue every pending request of it with one entry of the CA key password. If the run is interrupted, issue the batch again: what was issued has left the queue.">
                <BulkIssueForm action={bulkIssueAction} batch={{ id: batchId, ids: batchIds }} />
              </Card>
            </div>
          ) : null}
          {!batchId && page.items.length ? (
            <div className="mt-6">
              <Card title="Issue several requests at once" description="Select requests above, verify each with its technical contact, then issue them all with one entry of the CA key password. If the run is interrupted, select what is still pending and issue again.">
                <BulkIssueForm action={bulkIssueAction} />
              </Card>
            </div>
          ) : null}
        </BulkSelection>
      )}
    </div>
  );
}
