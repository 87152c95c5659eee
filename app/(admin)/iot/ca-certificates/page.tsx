import type { Metadata } from "next";
import Link from "next/link";
import { requireAdminPage } from "@/app/_server/session.ts";
import { findCaServerView } from "@/lib/ca/get-server.ts";
import { getIotCaCertificate, listIotCaCertificates, type IotCaCertificateView } from "@/lib/iot/ca-certificates.ts";
import { isAppError } from "@/lib/errors/app-error.ts";
import { PageHeader, Card } from "@/components/ui/card";
import { Breadcrumb } from "@/components/ui/breadcrumb";
import { Alert } from "@/components/ui/alert";
import { SubmitButton } from "@/components/ui/button";
import { DataTable, utcMinute } from "@/components/ui/table";
import { AddCaCertificateForm } from "@/components/iot/add-ca-certificate-form";
import { CaCertificateRowActions } from "@/components/iot/ca-certificate-actions";
import { listAudit } from "@/lib/audit/audit-log.ts";
import { isHttpUrl } from "@/lib/iot/crl-fetch.ts";
import { addCaCertificateAction, deleteCaCertificateAction, refreshCrlAction, registerLocalCaAction, setActiveAction } from "./actions.ts";
import { Pager } from "@/components/ui/pager";

export const metadata: Metadata = { title: "CA certificates for device authentication" };
export const dynamic = "force-dynamic";

const TITLE = "CA certificates for device authentication";
const PAGE_SIZE = 50;

type SearchParams = Record<string, string | string[] | undefined>;

function one(sp: SearchParams, key: string): string | undefined {
  const v = sp[key];
  return typeof v === "string" && v.length <= 400 ? v : undefined;
}

async function byId(id: string | undefined): Promise<IotCaCertificateView | null> {
  if (!id) return null;
  return getIotCaCertificate(id).catch(() => null);
}

/** Outcomes of the one-click actions, by error code (only the code travels in the URL). */
const PROBLEMS: Record<string, string> = {
  conflict: "This CA certificate is already registered, or was changed meanwhile.",
  not_found: "That CA certificate no longer exists.",
  not_configured: "This instance is not configured as a Certificate Authority server.",
  validation_failed: "This instance's CA certificate is not valid now (expired or not yet valid), or its CRL could not be verified.",
  not_a_ca: "This instance's CA certificate is not a CA certificate.",
};

export default async function IotCaCertificatesPage({ searchParams }: { searchParams: Promise<SearchParams> }) {
  await requireAdminPage("/iot/ca-certificates");
  const sp = await searchParams;
  const showAll = one(sp, "show") === "all";
  const cursor = one(sp, "cursor");
  let page: { items: IotCaCertificateView[]; nextCursor: string | null } | null = null;
  let cursorProblem: string | null = null;
  try {
    page = await listIotCaCertificates({ active: showAll ? null : true, cursor, take: PAGE_SIZE });
  } catch (e) {
    if (!isAppError(e)) throw e;
    cursorProblem = e.message;
  }
  const [ca, everything, added, activated, deactivated, crlRefreshed, crlFailed] = await Promise.all([
    findCaServerView(),
    listIotCaCertificates({ take: 200 }),
    byId(one(sp, "added")),
    byId(one(sp, "activated")),
    byId(one(sp, "deactivated")),
    byId(one(sp, "crl-refreshed")),
    byId(one(sp, "crl-failed")),
  ]);
  const now = Date.now();
  const inactiveCount = everything.items.filter((c) => !c.active).length;
  const localRegistered = ca ? everything.items.find((c) => c.sha256Fingerprint === ca.sha256Fingerprint) : undefined;
  const deletedId = one(sp, "deleted");
  // The subject comes from the audit entry of the deletion, never from the URL.
  const deleted = deletedId ? (await listAudit({ action: "iot.ca.delete", target: `iot-ca:${deletedId}`, take: 1 })).items[0]?.details.subject : undefined;
  const problem = PROBLEMS[one(sp, "problem") ?? ""] ?? (one(sp, "problem") ? "The change could not be made." : undefined);
  const listHref = (all: boolean) => (all ? "/iot/ca-certificates?show=all" : "/iot/ca-certificates");

  return (
    <div className="space-y-6">
      <PageHeader
        title={TITLE}
        breadcrumb={<Breadcrumb current="Device security (IoT)" />}
        description="Devices authenticate with certificates issued by these Certificate Authorities. Only active ones are trusted: they make up the trust bundle brokers and gateways load."
      />
      {added ? (
        <Alert tone="success" title="CA certificate added">
          <span data-testid="added-message">{`"${added.subject}" is registered and active.`}</span>
        </Alert>
      ) : null}
      {activated ? <Alert tone="success">{`"${activated.subject}" is active: devices it issued are accepted.`}</Alert> : null}
      {deactivated ? <Alert tone="success">{`"${deactivated.subject}" is deactivated: devices it issued are refused, and it left the trust bundle.`}</Alert> : null}
      {typeof deleted === "string" ? <Alert tone="success">{`"${deleted}" was deleted.`}</Alert> : null}
      {crlRefreshed?.crl ? (
        <Alert tone="success" title="CRL refreshed">
          <span data-testid="crl-refreshed-message">{`The CRL of "${crlRefreshed.subject}" was fetched and verified${crlRefreshed.crl.nextUpdate ? `; next update ${utcMinute(new Date(crlRefreshed.crl.nextUpdate))}` : ""}.`}</span>
        </Alert>
      ) : null}
      {crlFailed ? (
        <Alert tone="error" title="CRL not refreshed">
          <span data-testid="crl-failed-message">{`The CRL of "${crlFailed.subject}" could not be refreshed: ${crlFailed.crlRefresh?.error ?? "try again"}. The CRL stored before is kept.`}</span>
        </Alert>
      ) : null}
      {problem ? <Alert tone="error" title="Not done">{problem}</Alert> : null}

      <Card
        title={showAll ? "All registered CA certificates" : "Active CA certificates"}
        actions={
          <div className="flex flex-wrap items-center gap-3 text-sm">
            {showAll ? (
              <Link href={listHref(false)} className="font-medium text-brand-700 underline">
                Show active only
              </Link>
            ) : (
              <Link href={listHref(true)} className="font-medium text-brand-700 underline">
                Show inactive too{inactiveCount ? ` (${inactiveCount} inactive)` : ""}
              </Link>
            )}
            <a href="/api/v1/iot/trust-bundle" className="font-medium text-brand-700 underline" download="trust-bundle.pem">
              Download trust bundle
            </a>
          </div>
        }
      >
        {cursorProblem || !page ? (
          <Alert tone="error" title="This page of the list cannot be shown">
            {cursorProblem}{" "}
            <Link href={listHref(showAll)} className="font-medium underline">
              First page
            </Link>
          </Alert>
        ) : (
          <>
            <DataTable
              columns={["Subject and description", "Validity", "Fingerprints", "Status", "Actions"]}
              empty={
                <span data-testid="ca-list-empty">
                  {showAll ? "No CA certificates are registered." : "No active CA certificates: no device is accepted."} Add one below{ca && !localRegistered ? ", or register this instance's CA" : ""}.
                </span>
              }
              rows={page.items.map((c) => (
                <tr key={c.id} data-testid="ca-row" data-id={c.id} data-active={c.active ? "true" : "false"} className="align-top">
                  <td className="min-w-48 max-w-80 py-2 pr-4 break-words">
                    <span className="block font-medium text-slate-900" data-testid="ca-subject">
                      {c.subject}
                    </span>
                    {c.description && c.description !== c.subject ? <span className="block text-xs text-slate-600">{c.description}</span> : null}
                    {c.crlDistributionPoints.length ? (
                      <span className="block break-all text-xs text-slate-500" data-testid="ca-crl">
                        CRL: {c.crlDistributionPoints.join(", ")}
                        {c.crl ? ` (fetched ${utcMinute(new Date(c.crl.fetchedAt))}${c.crl.nextUpdate ? `, next update ${utcMinute(new Date(c.crl.nextUpdate))}` : ""})` : ""}
                        {c.crl?.nextUpdate && new Date(c.crl.nextUpdate).getTime() < now ? (
                          <span data-testid="ca-crl-expired" className="ml-1 rounded-full bg-red-100 px-2 py-0.5 font-semibold text-red-900">
                            expired
                          </span>
                        ) : null}
                      </span>
                    ) : null}
                    {c.crlRefresh?.error ? (
                      <span className="block text-xs break-words text-red-800" data-testid="ca-crl-error">
                        {`Last refresh ${utcMinute(new Date(c.crlRefresh.checkedAt))} failed: ${c.crlRefresh.error}`}
                      </span>
                    ) : null}
                  </td>
                  <td className="py-2 pr-4 text-xs whitespace-nowrap">
                    {utcMinute(new Date(c.notBefore))}
                    <br />→ {utcMinute(new Date(c.notAfter))}
                  </td>
                  <td className="min-w-48 max-w-64 py-2 pr-4 font-mono text-xs break-all">
                    <span className="block">SHA-1 {c.sha1Fingerprint}</span>
                    <span className="block text-slate-500">SHA-256 {c.sha256Fingerprint}</span>
                  </td>
                  <td className="py-2 pr-4">
                    {c.active ? (
                      <span data-testid="ca-status" className="rounded-full bg-emerald-100 px-2 py-0.5 text-xs font-semibold text-emerald-900">
                        Active
                      </span>
                    ) : (
                      <span data-testid="ca-status" className="rounded-full bg-slate-200 px-2 py-0.5 text-xs font-semibold text-slate-700">
                        Inactive
                      </span>
                    )}
                  </td>
                  <td className="py-2">
                    <CaCertificateRowActions
                      id={c.id}
                      subject={c.subject}
                      active={c.active}
                      show={showAll ? "all" : undefined}
                      setActive={setActiveAction}
                      remove={deleteCaCertificateAction}
                      refreshCrl={c.crlDistributionPoints.some(isHttpUrl) ? refreshCrlAction : undefined}
                    />
                  </td>
                </tr>
              ))}
            />
            <Pager
              label="Pages of the list"
              firstHref={cursor ? listHref(showAll) : null}
              nextHref={page.nextCursor ? `${listHref(showAll)}${showAll ? "&" : "?"}cursor=${encodeURIComponent(page.nextCursor)}` : null}
            />
          </>
        )}
      </Card>

      {ca && !localRegistered ? (
        <Card title="This instance's Certificate Authority" description="Devices issued here with the “IoT device” usage are accepted once this CA is registered.">
          <form action={registerLocalCaAction} className="flex flex-wrap items-center gap-3">
            <span className="min-w-0 text-sm break-words text-slate-700">{ca.subject}</span>
            <SubmitButton pendingText="Registering…">Register this instance&apos;s CA certificate</SubmitButton>
          </form>
        </Card>
      ) : null}

      <Card title="Add Certificate" description="A CA certificate file (PEM or DER; drag and drop or browse) or the certificate pasted as PEM. Preview it, then Save.">
        <AddCaCertificateForm action={addCaCertificateAction} />
      </Card>

      <p className="text-sm text-slate-600">
        <Link href="/iot/device-check" className="font-medium text-brand-700 underline">
          Check a device certificate
        </Link>{" "}
        against the active CA certificates.
      </p>
    </div>
  );
}
