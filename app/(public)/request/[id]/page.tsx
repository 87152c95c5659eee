import type { Metadata } from "next";
import type { ReactNode } from "react";
import { notFound } from "next/navigation";
import { getRequest, type RequestView } from "@/lib/ca/requests.ts";
import { getCertificate } from "@/lib/ca/certificates.ts";
import { usageLabel, type Usage } from "@/lib/pki/profiles.ts";
import { isAppError } from "@/lib/errors/app-error.ts";
import { PageHeader, Card, DefinitionList } from "@/components/ui/card";
import { Breadcrumb } from "@/components/ui/breadcrumb";
import { Alert } from "@/components/ui/alert";
import { GroupedFingerprint } from "@/components/public/fingerprint";
import { utcDate } from "../../public-ca.ts";

export const metadata: Metadata = { title: "Certificate request status", robots: { index: false } };
export const dynamic = "force-dynamic";

async function load(id: string): Promise<RequestView> {
  try {
    return await getRequest(id);
  } catch (e) {
    if (isAppError(e) && e.code === "not_found") notFound();
    throw e;
  }
}

async function issuedCertificate(number: number | undefined) {
  if (number === undefined) return null;
  try {
    return await getCertificate(number);
  } catch (e) {
    if (isAppError(e) && e.code === "not_found") return null;
    throw e;
  }
}

/** Text in a DefinitionList value (which breaks anywhere, for fingerprints) that should wrap at word ends first. */
function Prose({ children, testId }: { children: ReactNode; testId?: string }) {
  return (
    <span data-testid={testId} className="break-normal [overflow-wrap:anywhere]">
      {children}
    </span>
  );
}

const STATUS = {
  pending: { label: "Pending", className: "bg-amber-100 text-amber-900" },
  issued: { label: "Issued", className: "bg-emerald-100 text-emerald-900" },
  deleted: { label: "Deleted", className: "bg-slate-200 text-slate-800" },
} as const;

export default async function RequestStatusPage({ params }: { params: Promise<{ id: string }> }) {
  const { id } = await params;
  const r = await load(id);
  const cert = r.status === "issued" ? await issuedCertificate(r.certificateNumber) : null;
  const status = STATUS[r.status] ?? { label: r.status, className: "bg-slate-200 text-slate-800" };
  const get = (format: "pem" | "der" | "chain") => `/api/v1/certificates/${r.certificateNumber}?format=${format}`;
  return (
    <div className="space-y-6">
      <PageHeader
        title={`Certificate Signing Request “${r.filename}”`}
        breadcrumb={<Breadcrumb links={[{ href: "/request", label: "Request a certificate" }]} current="Status" />}
      />
      <p className="flex flex-wrap items-center gap-2 text-sm">
        <span className="font-medium">Status:</span>
        <span data-testid="request-status" className={`rounded-full px-3 py-0.5 text-sm font-semibold ${status.className}`}>
          {status.label}
        </span>
      </p>
      {r.status === "pending" ? (
        <Alert tone="info" title="Waiting for the Certificate Authority administrator">
          The administrator will contact {r.contact.name} to verify the SHA-1 fingerprint below, then issue the certificate. This page then shows its number and the download links.
        </Alert>
      ) : null}
      {r.status === "deleted" ? (
        <Alert tone="warning" title="The request was deleted">
          The Certificate Authority administrator deleted this request without issuing a certificate. Contact them, or submit a new request.
        </Alert>
      ) : null}
      {r.status === "issued" ? (
        <Alert tone="success" title={`Certificate number ${r.certificateNumber} issued for Certificate Signing Request “${r.filename}”`}>
          {cert ? (
            <span className="flex flex-wrap gap-x-4 gap-y-1">
              <span>Download:</span>
              <a className="font-medium underline" href={get("pem")} aria-label={`Download certificate ${r.certificateNumber} as PEM (${r.filename}.cer)`}>
                PEM ({r.filename}.cer)
              </a>
              <a className="font-medium underline" href={get("der")} aria-label={`Download certificate ${r.certificateNumber} as DER`}>
                DER
              </a>
              <a className="font-medium underline" href={get("chain")} aria-label={`Download certificate ${r.certificateNumber} with the CA certificate (chain)`}>
                Chain (with the CA certificate)
              </a>
            </span>
          ) : (
            "The certificate record is no longer available."
          )}
        </Alert>
      ) : null}

      {cert ? (
        <Card title={`Certificate number ${cert.number}`}>
          <DefinitionList
            items={[
              { term: "Serial number", value: <code data-testid="certificate-serial">{cert.serial}</code> },
              { term: "Subject", value: <Prose>{cert.subject}</Prose> },
              { term: "Issuer", value: <Prose>{cert.issuer}</Prose> },
              { term: "Usage", value: usageLabel(cert.usage as Usage) },
              { term: "Valid", value: <span className="break-normal">{`${utcDate(cert.notBefore)} to ${utcDate(cert.notAfter)}`}</span> },
              { term: "Status", value: cert.status === "valid" ? "Valid" : cert.status },
              { term: "SHA-1 fingerprint", value: <code className="text-xs">{cert.sha1Fingerprint}</code> },
            ]}
          />
        </Card>
      ) : null}

      <Card title="Request">
        <DefinitionList
          items={[
            { term: "Subject", value: <Prose testId="request-subject">{r.subject}</Prose> },
            { term: "SHA-1 fingerprint", value: <GroupedFingerprint value={r.sha1Fingerprint} size="small" testId="request-sha1" /> },
            { term: "SHA-256 fingerprint", value: <GroupedFingerprint value={r.sha256Fingerprint} size="small" /> },
            { term: "File name", value: r.filename },
            { term: "Technical contact", value: <Prose>{r.contact.name}</Prose> },
            { term: "Host name", value: r.hostname ?? "—" },
            { term: "Instance", value: r.instance ?? "—" },
            { term: "Received", value: <span className="break-normal">{utcDate(r.receivedAt)}</span> },
          ]}
        />
      </Card>
    </div>
  );
}
