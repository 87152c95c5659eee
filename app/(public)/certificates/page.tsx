import type { Metadata } from "next";
import { searchCertificates, serialCandidates, type CertificateView } from "@/lib/ca/certificates.ts";
import { usageLabel, type Usage } from "@/lib/pki/profiles.ts";
import { isAppError } from "@/lib/errors/app-error.ts";
import { PageHeader, Card, DefinitionList } from "@/components/ui/card";
import { Breadcrumb } from "@/components/ui/breadcrumb";
import { Alert } from "@/components/ui/alert";
import { Field } from "@/components/ui/field";
import { ButtonLink, PlainSubmit } from "@/components/public/button-link";
import { SearchForm } from "@/components/public/search-form";
import { DataTable } from "@/components/ui/table";
import { headers } from "next/headers";
import { env } from "@/lib/env.ts";
import { findPublicCa, utcDate } from "../public-ca.ts";
import { Pager } from "@/components/ui/pager";

export const metadata: Metadata = { title: "Certificates" };
export const dynamic = "force-dynamic";

const FILTERS = ["serial", "number", "hostname", "instance", "filename"] as const;
type Filter = (typeof FILTERS)[number];
type Query = Partial<Record<Filter | "cursor" | "limit", string>>;

function first(v: string | string[] | undefined): string | undefined {
  const s = Array.isArray(v) ? v[0] : v;
  return s === undefined ? undefined : s.slice(0, 300);
}

/** Field messages for search input the search itself would refuse or misread. */
function checkQuery(q: Query): Record<string, string> {
  const errors: Record<string, string> = {};
  const number = q.number?.trim();
  if (number && !/^\d{1,9}$/.test(number)) errors.number = "Enter a certificate number such as 3";
  else if (number && Number(number) < 1) errors.number = "Certificate numbers start at 1";
  const serial = q.serial?.trim();
  if (serial && serialCandidates(serial).length === 0) errors.serial = "Enter the serial number in hexadecimal (colons allowed, e.g. 5A:0C:…) or in decimal";
  return errors;
}

function href(q: Query, extra: Query = {}): string {
  const p = new URLSearchParams();
  for (const [k, v] of Object.entries({ ...q, ...extra })) if (v && v.trim()) p.set(k, v.trim());
  const s = p.toString();
  return s ? `/certificates?${s}` : "/certificates";
}

function Status({ c, now }: { c: CertificateView; now: Date }) {
  if (c.status !== "valid") return <span className="rounded-full bg-red-100 px-2 py-0.5 text-xs font-semibold text-red-900">{c.status === "revoked" ? "Revoked" : c.status}</span>;
  if (new Date(c.notAfter) < now) return <span className="rounded-full bg-slate-200 px-2 py-0.5 text-xs font-semibold text-slate-800">Expired</span>;
  return <span className="rounded-full bg-emerald-100 px-2 py-0.5 text-xs font-semibold text-emerald-900">Valid</span>;
}

/** A host name that may wrap after its dots, never inside a label. */
function HostName({ name }: { name: string }) {
  const labels = name.split(".");
  return (
    <span className="whitespace-nowrap">
      {labels.map((l, i) => (
        <span key={i}>
          {l}
          {i < labels.length - 1 ? (
            <>
              .<wbr />
            </>
          ) : null}
        </span>
      ))}
    </span>
  );
}

function ValidUntil({ iso }: { iso: string }) {
  const [date, time] = utcDate(iso).split(" ");
  return (
    <>
      {date}
      <span className="block text-xs text-slate-500">{time} UTC</span>
    </>
  );
}

function GetLinks({ c, vertical }: { c: CertificateView; vertical?: boolean }) {
  const get = (format: string) => `/api/v1/certificates/${c.number}?format=${format}`;
  const links = [
    { format: "pem", text: "PEM (.cer)", label: `Get certificate ${c.number} as PEM (${c.filename}.cer)` },
    { format: "der", text: "DER", label: `Get certificate ${c.number} as DER` },
    { format: "chain", text: "chain", label: `Get certificate ${c.number} with the CA certificate (chain)` },
  ];
  return (
    <span className={vertical ? "flex flex-col gap-0.5" : "flex flex-wrap gap-x-3"}>
      {vertical ? null : <span className="font-medium text-slate-600">Get:</span>}
      {links.map((l) => (
        <a key={l.format} className="text-brand-700 underline" href={get(l.format)} aria-label={l.label}>
          {l.text}
        </a>
      ))}
    </span>
  );
}

/** Renewal asks for a new certificate with the same common name; a revoked one is not renewed. */
function RenewLink({ c }: { c: CertificateView }) {
  if (c.status !== "valid") return null;
  return (
    <a className="mt-1 block text-brand-700 underline" href={`/certificates/${c.number}/renew`} aria-label={`Renew certificate ${c.number}`}>
      Renew
    </a>
  );
}

export default async function CertificatesPage({ searchParams }: { searchParams: Promise<Record<string, string | string[] | undefined>> }) {
  const sp = await searchParams;
  const q: Query = {};
  for (const k of [...FILTERS, "cursor", "limit"] as const) {
    const v = first(sp[k]);
    if (v !== undefined && v.trim() !== "") q[k] = v;
  }
  const filtered = FILTERS.some((k) => q[k]);
  const ca = await findPublicCa();
  const fieldErrors = checkQuery(q);
  let result: Awaited<ReturnType<typeof searchCertificates>> | null = null;
  let problem: string | null = null;
  if (Object.keys(fieldErrors).length === 0) {
    const limit = q.limit && /^\d{1,3}$/.test(q.limit) ? Number(q.limit) : undefined;
    try {
      result = await searchCertificates({ ...q, take: limit });
    } catch (e) {
      if (!isAppError(e) || e.status >= 500) throw e;
      problem = e.message;
    }
  }
  const now = new Date();
  const items = result?.items ?? [];
  const cell = "py-2 pr-4 align-top";
  const rows = items.map((c) => (
    <tr key={c.number} data-testid={`certificate-${c.number}`}>
      <td className={`${cell} font-semibold`}>{c.number}</td>
      <td className={`${cell} min-w-44 [overflow-wrap:anywhere]`}>
        {c.subject}
        <span className="block break-all font-mono text-xs text-slate-500" title="Serial number">
          {c.serial}
        </span>
      </td>
      <td className={`${cell} min-w-24`}>{usageLabel(c.usage as Usage)}</td>
      <td className={cell}>{c.hostname ? <HostName name={c.hostname} /> : "—"}</td>
      <td className={`${cell} whitespace-nowrap`}>{c.instance ?? "—"}</td>
      <td className={`${cell} whitespace-nowrap`}>{c.filename}</td>
      <td className={`${cell} whitespace-nowrap`}>
        <ValidUntil iso={c.notAfter} />
      </td>
      <td className={cell}>
        <Status c={c} now={now} />
      </td>
      <td className={`${cell} whitespace-nowrap`}>
        <GetLinks c={c} vertical />
        <RenewLink c={c} />
      </td>
    </tr>
  ));
  // Phones get one card per certificate instead of a table to scroll sideways.
  const cards = items.map((c) => (
    <li key={c.number} data-testid={`certificate-card-${c.number}`} className="space-y-1 py-3 text-sm">
      <p className="flex items-center justify-between gap-2">
        <span className="font-semibold">Certificate {c.number}</span>
        <Status c={c} now={now} />
      </p>
      <p className="[overflow-wrap:anywhere]">{c.subject}</p>
      <p className="break-all font-mono text-xs text-slate-500">Serial {c.serial}</p>
      <p className="text-slate-600 [overflow-wrap:anywhere]">
        {[usageLabel(c.usage as Usage), c.hostname, c.instance, `file ${c.filename}`].filter(Boolean).join(" · ")}
      </p>
      <p className="text-slate-600">Valid until {utcDate(c.notAfter)}</p>
      <p>
        <GetLinks c={c} />
      </p>
      <RenewLink c={c} />
    </li>
  ));
  const h = await headers();
  const origin = env().PORTCULLIS_PUBLIC_URL?.replace(/\/+$/, "") ?? (h.get("host") ? `${h.get("x-forwarded-proto") ?? "http"}://${h.get("host")}` : "");
  const apiQuery = origin + href({ ...q, cursor: undefined, limit: undefined }).replace(/^\/certificates/, "/api/v1/certificates");

  return (
    <div className="space-y-6">
      <PageHeader
        title="Certificates"
        breadcrumb={<Breadcrumb current="Certificates" />}
        description="The Certificate Authority's certificate and the certificates it issued, by serial number, certificate number, host name, instance or file name. Scripts can use the same search over HTTP."
      />

      <Card title="Certificate Authority certificate">
        {ca ? (
          <DefinitionList
            items={[
              { term: "Subject", value: <span data-testid="ca-subject" className="break-normal [overflow-wrap:anywhere]">{ca.subject}</span> },
              { term: "SHA-1 fingerprint", value: <code data-testid="ca-sha1">{ca.sha1Fingerprint}</code> },
              { term: "Valid", value: <span className="break-normal">{`${utcDate(ca.notBefore)} to ${utcDate(ca.notAfter)}`}</span> },
              {
                term: "Download",
                value: (
                  <span className="flex flex-wrap gap-x-4 gap-y-1">
                    <a className="text-brand-700 underline" href="/api/v1/ca/certificate?format=pem" aria-label={`Download the CA certificate as PEM (${ca.fileNameRoot}.cer)`}>
                      PEM ({ca.fileNameRoot}.cer)
                    </a>
                    <a className="text-brand-700 underline" href="/api/v1/ca/certificate?format=der" aria-label="Download the CA certificate as DER">
                      DER
                    </a>
                    {ca.chainPem ? (
                      <a className="text-brand-700 underline" href="/api/v1/ca/certificate?format=chain" aria-label={`Download the CA certificate and its issuers as PEM (${ca.fileNameRoot}_chain.pem)`}>
                        Chain ({ca.fileNameRoot}_chain.pem)
                      </a>
                    ) : null}
                  </span>
                ),
              },
            ]}
          />
        ) : (
          <p className="text-sm text-slate-600">This instance&rsquo;s Certificate Authority server is not configured, so there is no CA certificate to download.</p>
        )}
      </Card>

      <Card title="Find certificates" description="Every field you fill must match. Leave them all empty to list every certificate.">
        <SearchForm key={href(q)} action="/certificates" className="space-y-4" label="Certificates">
          <div className="grid gap-4 sm:grid-cols-2 lg:grid-cols-3">
            <Field name="serial" label="Serial number" defaultValue={q.serial} error={fieldErrors.serial} hint="Hexadecimal with or without colons, or decimal." autoComplete="off" spellCheck={false} />
            <Field name="number" label="Certificate number" inputMode="numeric" defaultValue={q.number} error={fieldErrors.number} autoComplete="off" />
            <Field name="hostname" label="Host name" defaultValue={q.hostname} autoComplete="off" spellCheck={false} />
            <Field name="instance" label="Instance" defaultValue={q.instance} autoComplete="off" spellCheck={false} />
            <Field name="filename" label="File name" defaultValue={q.filename} autoComplete="off" spellCheck={false} />
          </div>
          <div className="flex flex-wrap items-center gap-3">
            <PlainSubmit>Search</PlainSubmit>
            {filtered ? <ButtonLink href="/certificates">Show all</ButtonLink> : null}
          </div>
        </SearchForm>
      </Card>

      <Card title={filtered ? "Matching certificates" : "Issued certificates"}>
        <div className="space-y-4" data-testid="results">
          {Object.keys(fieldErrors).length ? (
            <Alert tone="error" title="Nothing was searched">
              {Object.values(fieldErrors).join(" ")}
            </Alert>
          ) : null}
          {problem ? (
            <Alert tone="error" title="Nothing was searched">
              {problem}
            </Alert>
          ) : null}
          {result && items.length === 0 ? <p className="text-sm text-slate-600">{filtered ? "No certificate matches this search." : q.cursor ? "No more certificates." : "No certificate has been issued yet."}</p> : null}
          {items.length ? (
            <>
              <ul className="divide-y divide-slate-100 sm:hidden">{cards}</ul>
              <div className="hidden sm:block">
                <DataTable columns={["Number", "Subject", "Usage", "Host name", "Instance", "File name", "Valid until", "Status", "Get"]} rows={rows} empty={null} />
              </div>
            </>
          ) : null}
          <Pager label="Pages" divided={false} firstHref={q.cursor ? href(q, { cursor: "" }) : null} nextHref={result?.nextCursor ? href(q, { cursor: result.nextCursor }) : null} />
          <p className="text-xs text-slate-500">
            For scripts: <code className="break-all">curl -s &apos;{apiQuery}&apos;</code> lists the same as JSON (<code>items</code>, <code>nextCursor</code>); <code className="break-all">/api/v1/certificates/&lt;number&gt;?format=pem|der|chain</code> downloads one.
          </p>
        </div>
      </Card>
    </div>
  );
}
