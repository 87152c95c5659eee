import type { Metadata } from "next";
import type { ReactNode } from "react";
import Link from "next/link";
import { notFound } from "next/navigation";
import { requireAdminPage } from "@/app/_server/session.ts";
import { findCaServerView } from "@/lib/ca/get-server.ts";
import { getRequestDetails, type RequestDetails } from "@/lib/ca/requests.ts";
import { certificateSans, getCertificate, getCertificateDetails } from "@/lib/ca/certificates.ts";
import { CertificateStatusBadge } from "@/components/certificates/status-badge";
import { sanToString } from "@/lib/pki/csr.ts";
import { isUsage, usageLabel } from "@/lib/pki/profiles.ts";
import { isAppError } from "@/lib/errors/app-error.ts";
import { PageHeader, Card, DefinitionList } from "@/components/ui/card";
import { Breadcrumb, HOME_CRUMB } from "@/components/ui/breadcrumb";
import { ServerNotConfigured } from "@/components/ca-server/server-not-configured";
import { Alert } from "@/components/ui/alert";
import { GroupedFingerprint } from "@/components/queue/fingerprint";
import { DeleteRequestButton } from "@/components/queue/delete-request-button";
import { previewRequest, type RequestPreview } from "@/lib/ca/preview-request.ts";
import { env } from "@/lib/env.ts";
import { headers } from "next/headers";
import { deleteRequestAction, issueRequestAction } from "../actions.ts";
import { IssuePanel } from "./issue-panel";

export const metadata: Metadata = { title: "Process Certificate Signing Request" };
export const dynamic = "force-dynamic";

type SearchParams = Record<string, string | string[] | undefined>;

/** Text that wraps between words (DefinitionList breaks anywhere, which suits hex, not names). */
const WORDS = "[word-break:normal] [overflow-wrap:anywhere]";

function utcSecond(iso: string): string {
  return iso.replace("T", " ").replace(/\.\d+Z$/, " UTC").replace(/Z$/, " UTC");
}

async function portalUrl(): Promise<string | undefined> {
  if (env().PORTCULLIS_PUBLIC_URL) return env().PORTCULLIS_PUBLIC_URL;
  const h = await headers();
  const host = h.get("host");
  return host ? `${h.get("x-forwarded-proto") ?? "http"}://${host}` : undefined;
}

function telHref(phone: string): string {
  const ext = /x\s*(\d+)\s*$/i.exec(phone);
  const main = phone.replace(/x\s*\d+\s*$/i, "").replace(/[^0-9+]/g, "");
  return `tel:${main}${ext ? `;ext=${ext[1]}` : ""}`;
}

function Downloads({ number }: { number: number }) {
  const link = "font-medium text-brand-700 underline";
  return (
    <span className="flex flex-wrap gap-x-4 gap-y-1">
      <a className={link} href={`/api/v1/certificates/${number}?format=pem`}>
        PEM
      </a>
      <a className={link} href={`/api/v1/certificates/${number}?format=der`}>
        DER
      </a>
      <a className={link} href={`/api/v1/certificates/${number}?format=chain`}>
        Chain (certificate and CA, PEM)
      </a>
    </span>
  );
}

async function IssuedNotice({ request, mail, smtpConfigured }: { request: RequestDetails; mail: string | undefined; smtpConfigured: boolean }) {
  const number = request.certificateNumber!;
  const cert = await getCertificate(number).catch(() => null);
  const email = request.contact.email;
  const mailLine = !email
    ? "The technical contact has no e-mail address: tell them the certificate number so they can download it."
    : mail === "sent"
      ? `An e-mail with the certificate number and how to download it was sent to the technical contact, ${email}.`
      : !smtpConfigured
        ? `E-mail is not configured on this CA server: no e-mail was sent to ${email}. Tell the technical contact the certificate number.`
        : `The e-mail to the technical contact, ${email}, could not be sent yet: it waits in the outbox and is retried (see E-mail).`;
  return (
    <Alert tone={email && mail !== "sent" ? "warning" : "success"} title={<span data-testid="issued-message">{`Certificate number ${number} issued for Certificate Signing Request "${request.filename}"`}</span>}>
      <div className="mt-2 space-y-2">
        <p data-testid="issued-mail">{mailLine}</p>
        {cert ? (
          <p className="break-all">
            Usage: {isUsage(cert.usage) ? usageLabel(cert.usage) : cert.usage}. Serial number <code className="text-xs">{cert.serial}</code>, valid until {utcSecond(cert.notAfter)}.
          </p>
        ) : null}
        <div className="flex flex-wrap items-center gap-x-3 gap-y-1">
          <span>Download:</span>
          <Downloads number={number} />
        </div>
        <p>
          <Link href={`/ca-server/certificates/${number}`} className="font-medium underline" data-testid="certificate-page-link">
            Certificate number {number}: details and revocation
          </Link>
        </p>
        <p>
          Store the media holding the CA&apos;s private key in a secure location again.{" "}
          <Link href="/ca-server/requests" className="font-medium underline">
            Back to the pending requests
          </Link>
        </p>
      </div>
    </Alert>
  );
}

/** A renewal: the original certificate and the new request side by side. */
async function RenewalComparison({ number, request }: { number: number; request: RequestDetails }) {
  const original = await getCertificateDetails(number).catch(() => null);
  const newSans = request.csr.sans.map(sanToString);
  const row = (label: string, before: ReactNode, after: ReactNode) => (
    <tr className="align-top">
      <th scope="row" className="py-2 pr-4 text-left font-medium text-slate-600">
        {label}
      </th>
      <td className="py-2 pr-4 [overflow-wrap:anywhere]">{before}</td>
      <td className="py-2 [overflow-wrap:anywhere]">{after}</td>
    </tr>
  );
  const list = (items: string[]) =>
    items.length ? (
      <ul className="space-y-0.5">
        {items.map((s) => (
          <li key={s} className="font-mono text-xs break-all">
            {s}
          </li>
        ))}
      </ul>
    ) : (
      "None"
    );
  return (
    <Card
      title={<span data-testid="renewal-of">{`Renewal of certificate ${number}`}</span>}
      description="The technical contact asks to renew this certificate with a new key. The common name is the same; compare the rest before issuing."
    >
      {original ? (
        <div className="overflow-x-auto">
          <table className="w-full text-sm" data-testid="renewal-comparison">
            <thead className="text-xs uppercase text-slate-500">
              <tr>
                <th scope="col" className="py-2 pr-4 text-left"></th>
                <th scope="col" className="py-2 pr-4 text-left">
                  <Link href={`/ca-server/certificates/${number}`} className="text-brand-700 underline">
                    Certificate {number}
                  </Link>
                </th>
                <th scope="col" className="py-2 text-left">This request</th>
              </tr>
            </thead>
            <tbody className="divide-y divide-slate-100">
              {row("Subject", original.subject, request.csr.subject)}
              {row("Subject alternative names", list(certificateSans(original.pem)), list(newSans))}
              {row("Valid until", <span data-testid="original-expiry">{utcSecond(original.notAfter)}</span>, "Set at issuance")}
              {row("Status", <CertificateStatusBadge status={original.status} notAfter={original.notAfter} />, request.status)}
              {row("Hostname", original.hostname ?? "—", request.hostname ?? "—")}
              {row("Instance", original.instance ?? "—", request.instance ?? "—")}
              {row("File name", original.filename, request.filename)}
            </tbody>
          </table>
        </div>
      ) : (
        <p className="text-sm">Certificate {number} is no longer in the record (the CA server may have been reinitialized).</p>
      )}
    </Card>
  );
}

export default async function ProcessRequestPage({ params, searchParams }: { params: Promise<{ id: string }>; searchParams: Promise<SearchParams> }) {
  const { id } = await params;
  await requireAdminPage(`/ca-server/requests/${id}`);
  const sp = await searchParams;
  let request: RequestDetails;
  try {
    request = await getRequestDetails(id);
  } catch (e) {
    if (isAppError(e) && e.code === "not_found") notFound();
    throw e;
  }
  const ca = await findCaServerView();
  const issuedParam = typeof sp.issued === "string" ? Number(sp.issued) : NaN;
  const justIssued = request.status === "issued" && request.certificateNumber !== undefined && request.certificateNumber === issuedParam;
  const caExpired = ca ? new Date(ca.notAfter).getTime() <= Date.now() : false;
  const csr = request.csr;
  const processed = request.processedAt ? ` on ${utcSecond(request.processedAt)}${request.processedBy ? ` by ${request.processedBy}` : ""}` : "";

  const renewed = request.renewalOf;
  // The preview of what the chosen usage (?usage=, TLS by default) would issue; none until the CA server is configured.
  let preview: RequestPreview | null = null;
  if (request.status === "pending" && ca) {
    const usage = typeof sp.usage === "string" && isUsage(sp.usage) ? sp.usage : "tls";
    preview = await previewRequest(request.id, usage, { portalUrl: await portalUrl() });
  }
  const breadcrumb = <Breadcrumb links={[HOME_CRUMB, { href: "/ca-server/requests", label: "Process pending Certificate Signing Requests" }]} />;

  return (
    <div className="space-y-6">
      <PageHeader
        title={
          <>
            Process Certificate Signing Request <span className="break-all font-mono text-xl">&quot;{request.filename}&quot;</span>
          </>
        }
        breadcrumb={breadcrumb}
      />

      {justIssued ? <IssuedNotice request={request} mail={typeof sp.mail === "string" ? sp.mail : undefined} smtpConfigured={Boolean(ca?.smtp.host)} /> : null}
      {!justIssued && request.status === "issued" ? (
        <Alert tone="info" title="This request was already processed">
          <p data-testid="request-status">
            It was issued{processed} as{" "}
            {request.certificateNumber ? (
              <a className="font-medium underline" href={`/api/v1/certificates/${request.certificateNumber}?format=pem`}>
                certificate number {request.certificateNumber}
              </a>
            ) : (
              "a certificate"
            )}
            .
          </p>
          {request.certificateNumber ? (
            <div className="mt-2 flex flex-wrap items-center gap-x-3 gap-y-1">
              <span>Download:</span>
              <Downloads number={request.certificateNumber} />
            </div>
          ) : null}
          {request.certificateNumber ? (
            <p className="mt-2">
              <Link href={`/ca-server/certificates/${request.certificateNumber}`} className="font-medium underline" data-testid="certificate-page-link">
                Certificate number {request.certificateNumber}: details and revocation
              </Link>
            </p>
          ) : null}
        </Alert>
      ) : null}
      {request.status === "deleted" ? (
        <Alert tone={sp.notDeleted ? "warning" : "info"} title={sp.notDeleted ? "This request had already been deleted" : "This request was deleted"}>
          <p data-testid="request-status">It was deleted{processed}: no certificate is issued for it.</p>
        </Alert>
      ) : null}
      {sp.notDeleted && request.status === "issued" ? <Alert tone="warning">The request was not deleted: a certificate had already been issued for it.</Alert> : null}

      {renewed !== undefined ? <RenewalComparison number={renewed} request={request} /> : null}

      <Card title="Fingerprint to verify with the technical contact" description="The SHA-1 fingerprint of the Certificate Signing Request, as it was shown to the requester when they submitted it.">
        <div className="space-y-4">
          <div>
            <p className="text-xs font-semibold uppercase tracking-wide text-slate-500">SHA-1 fingerprint</p>
            <div className="mt-1 rounded-lg bg-slate-50 px-4 py-3">
              <GroupedFingerprint value={request.sha1Fingerprint} testId="sha1-fingerprint" />
            </div>
          </div>
          <div>
            <p className="text-xs font-semibold uppercase tracking-wide text-slate-500">SHA-256 fingerprint</p>
            <div className="mt-1">
              <GroupedFingerprint value={request.sha256Fingerprint} testId="sha256-fingerprint" size="sm" />
            </div>
          </div>
        </div>
      </Card>

      <div className="grid gap-6 lg:grid-cols-2">
        <Card title="Certificate Signing Request">
          <DefinitionList
            items={[
              { term: "Subject", value: <span data-testid="csr-subject" className={WORDS}>{csr.subject}</span> },
              { term: "Public key", value: csr.publicKey.label },
              {
                term: "Subject alternative names",
                value: csr.sans.length ? (
                  <ul data-testid="csr-sans" className="space-y-0.5">
                    {csr.sans.map((s) => (
                      <li key={sanToString(s)} className="font-mono text-xs break-all">
                        {sanToString(s)}
                      </li>
                    ))}
                  </ul>
                ) : (
                  "None"
                ),
              },
              {
                term: "Other requested extensions",
                value: csr.requestedExtensions.length ? (
                  <>
                    <ul className="space-y-0.5">
                      {csr.requestedExtensions.map((x) => (
                        <li key={x.oid}>
                          {x.name} <span className="text-xs text-slate-500">({x.oid}{x.critical ? ", critical" : ""})</span>
                        </li>
                      ))}
                    </ul>
                    <p className="mt-1 text-xs text-slate-500">Shown only: the Certificate Usage decides these extensions.</p>
                  </>
                ) : (
                  "None"
                ),
              },
              {
                term: "Signature",
                value: (
                  <span data-testid="csr-signature">
                    {csr.signatureAlgorithm}, <span className="font-medium text-emerald-800">✓ signature valid</span>
                  </span>
                ),
              },
            ]}
          />
        </Card>
        <Card title="Technical contact and origin">
          <DefinitionList
            items={[
              { term: "Name", value: <span data-testid="contact-name" className={WORDS}>{request.contact.name}</span> },
              {
                term: "Phone",
                value: request.contact.phone ? (
                  <a className="font-medium text-brand-700 underline" href={telHref(request.contact.phone)}>
                    {request.contact.phone}
                  </a>
                ) : (
                  "—"
                ),
              },
              {
                term: "E-mail",
                value: request.contact.email ? (
                  <a className="font-medium text-brand-700 underline" href={`mailto:${request.contact.email}`}>
                    {request.contact.email}
                  </a>
                ) : (
                  "—"
                ),
              },
              { term: "Hostname", value: request.hostname ?? "—" },
              { term: "Instance", value: request.instance ?? "—" },
              { term: "File name", value: <span className="font-mono text-xs">{request.filename}</span> },
              { term: "Received", value: utcSecond(request.receivedAt) },
              { term: "Status", value: request.status },
            ]}
          />
        </Card>
      </div>

      <details className="rounded-xl border border-slate-200 bg-white px-5 py-3 shadow-sm">
        <summary className="cursor-pointer text-sm font-semibold text-slate-900">Certificate Signing Request (PEM)</summary>
        <pre data-testid="csr-pem" className="mt-3 overflow-x-auto rounded bg-slate-50 p-3 font-mono text-xs">
          {request.csrPem}
        </pre>
      </details>

      {request.status === "pending" ? (
        <>
          {preview ? (
            <IssuePanel initial={preview} action={issueRequestAction.bind(null, request.id)} requestId={request.id} filename={request.filename}>
              {caExpired && ca ? <Alert tone="warning" title="The CA certificate has expired">It expired on {utcSecond(ca.notAfter)}: no certificate can be issued with it.</Alert> : null}
            </IssuePanel>
          ) : (
            <Card title="Issue the certificate">
              <ServerNotConfigured />
            </Card>
          )}
          <Card title="Delete" description="Reject this request: it leaves the queue and is kept in the record as deleted.">
            <DeleteRequestButton id={request.id} filename={request.filename} subject={request.subject} from="process" action={deleteRequestAction} />
          </Card>
        </>
      ) : null}
    </div>
  );
}
