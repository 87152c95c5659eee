import type { Metadata } from "next";
import Link from "next/link";
import { requireAdminPage } from "@/app/_server/session.ts";
import { isAppError } from "@/lib/errors/app-error.ts";
import { findCaClient } from "@/lib/client/configure-client.ts";
import { searchServerCertificates } from "@/lib/client/get-certificates.ts";
import type { RemoteCertificate } from "@/lib/client/ca-server-api.ts";
import { Card, DefinitionList } from "@/components/ui/card";
import { Alert } from "@/components/ui/alert";
import { Field } from "@/components/ui/field";
import { buttonClass } from "@/components/ui/button-styles";
import { ClientNotConfigured, ClientPageHeader } from "@/components/ca-client/client-page-header";
import { CertificatesTable, GetCaCertificate } from "@/components/ca-client/get-certificates";
import { getCaCertificateAction, getCertificateAction } from "./actions.ts";
import { Pager } from "@/components/ui/pager";

export const metadata: Metadata = { title: "Get Certificate(s) from Certificate Authority server" };
export const dynamic = "force-dynamic";

const FILTERS = ["serial", "number", "hostname", "instance", "filename"] as const;

function one(v: string | string[] | undefined): string {
  return (Array.isArray(v) ? v[0] : v) ?? "";
}

export default async function GetCertificatesPage({ searchParams }: { searchParams: Promise<Record<string, string | string[] | undefined>> }) {
  await requireAdminPage("/ca-client/certificates");
  const sp = await searchParams;
  const client = await findCaClient();
  const q = Object.fromEntries(FILTERS.map((k) => [k, one(sp[k]).trim()])) as Record<(typeof FILTERS)[number], string>;
  const mine = one(sp.mine) === "1";
  const cursor = one(sp.cursor);
  let page: { items: RemoteCertificate[]; nextCursor: string | null } | null = null;
  let error: string | null = null;
  if (client) {
    try {
      page = await searchServerCertificates({ ...q, cursor, thisInstance: mine });
    } catch (e) {
      if (!isAppError(e)) throw e;
      error = e.message;
    }
  }
  const filters = { ...Object.fromEntries(Object.entries(q).filter(([, v]) => v)), ...(mine ? { mine: "1" } : {}) };
  const firstQuery = new URLSearchParams(filters).toString();
  const firstHref = `/ca-client/certificates${firstQuery ? `?${firstQuery}` : ""}`;
  const nextHref = page?.nextCursor ? `/ca-client/certificates?${new URLSearchParams({ ...filters, cursor: page.nextCursor })}` : null;
  return (
    <div className="space-y-6">
      <ClientPageHeader
        current="/ca-client/certificates"
        title="Get Certificate(s) from Certificate Authority server"
        description="Download the Certificate Authority's certificate, this instance's certificates, and any other certificate the Certificate Authority issued. Files are saved on this instance and offered to your browser."
      />
      {!client ? (
        <ClientNotConfigured after="first: certificates are fetched from its Certificate Authority server." />
      ) : (
        <>
          <Card title="Certificate Authority certificate" description={<>From <code>{client.serverUrl}</code>. You need it to verify the certificates the Certificate Authority issues.</>}>
            <div className="space-y-4">
              {client.ca ? (
                <DefinitionList
                  items={[
                    { term: "Saved", value: <code className="text-xs">{client.ca.file}</code> },
                    { term: "SHA-1 fingerprint", value: <code className="text-xs" data-testid="saved-ca-sha1">{client.ca.sha1Fingerprint}</code> },
                  ]}
                />
              ) : (
                <p className="text-sm text-slate-600">Not saved on this instance yet.</p>
              )}
              <GetCaCertificate action={getCaCertificateAction} />
            </div>
          </Card>
          <Card title={mine ? `Certificates for this instance (${client.instanceName})` : "Certificates issued by the Certificate Authority"}>
            <div className="space-y-5">
              <form method="get" action="/ca-client/certificates" className="grid gap-3 sm:grid-cols-3 lg:grid-cols-6 lg:items-end" role="search" aria-label="Search certificates">
                <Field name="serial" label="Serial number" defaultValue={q.serial} autoComplete="off" spellCheck={false} placeholder="hex or decimal" />
                <Field name="number" label="Number" inputMode="numeric" defaultValue={q.number} autoComplete="off" />
                <Field name="hostname" label="Hostname" defaultValue={q.hostname} autoComplete="off" spellCheck={false} />
                <Field name="instance" label="Instance" defaultValue={mine ? "" : q.instance} autoComplete="off" />
                <Field name="filename" label="Filename" defaultValue={q.filename} autoComplete="off" spellCheck={false} />
                <div className="flex gap-2">
                  <button type="submit" className={buttonClass("primary")}>
                    Search
                  </button>
                </div>
              </form>
              <div className="flex flex-wrap items-center gap-3 text-sm">
                <Link href="/ca-client/certificates?mine=1" className={buttonClass(mine ? "primary" : "secondary")} aria-current={mine ? "true" : undefined}>
                  Show Certificates for This Instance
                </Link>
                {mine || FILTERS.some((k) => q[k]) ? (
                  <Link href="/ca-client/certificates" className="text-brand-700 underline">
                    Show all certificates
                  </Link>
                ) : null}
              </div>
              {error ? (
                <Alert tone="error" title="The certificates could not be listed">
                  <p data-testid="list-error">{error}</p>
                </Alert>
              ) : page ? (
                <>
                  <CertificatesTable
                    action={getCertificateAction}
                    compact={mine}
                    rows={page.items.map((c) => ({ number: c.number, serial: c.serial, subject: c.subject, hostname: c.hostname, instance: c.instance, filename: c.filename, usage: c.usage, notAfter: c.notAfter, status: c.status }))}
                  />
                  <Pager label="Pages of certificates" divided={false} firstHref={cursor ? firstHref : null} nextHref={nextHref} />
                </>
              ) : null}
            </div>
          </Card>
        </>
      )}
    </div>
  );
}
