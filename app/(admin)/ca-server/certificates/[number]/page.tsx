import type { Metadata } from "next";
import Link from "next/link";
import { notFound } from "next/navigation";
import { requireAdminPage } from "@/app/_server/session.ts";
import { certificateSans, getCertificateDetails, type CertificateDetails } from "@/lib/ca/certificates.ts";
import { revocationReasonLabel } from "@/lib/ca/revocation-reasons.ts";
import { isUsage, usageLabel } from "@/lib/pki/profiles.ts";
import { isAppError } from "@/lib/errors/app-error.ts";
import { PageHeader, Card, DefinitionList } from "@/components/ui/card";
import { Breadcrumb, HOME_CRUMB } from "@/components/ui/breadcrumb";
import { Alert } from "@/components/ui/alert";
import { CertificateStatusBadge } from "@/components/certificates/status-badge";
import { RevokeForm } from "@/components/certificates/revoke-form";
import { DeploymentBundles } from "@/components/bundles/deployment-bundles";
import { bundleAvailability, type BundleAvailability } from "@/lib/bundles/availability.ts";
import { revokeCertificateAction } from "./actions.ts";

export const metadata: Metadata = { title: "Certificate" };
export const dynamic = "force-dynamic";

type SearchParams = Record<string, string | string[] | undefined>;

const WORDS = "[word-break:normal] [overflow-wrap:anywhere]";

function utcSecond(iso: string): string {
  return iso.replace("T", " ").replace(/\.\d+Z$/, " UTC").replace(/Z$/, " UTC");
}

const CHANNEL_LABELS: Record<string, string> = { phone: "Phone", "in-person": "In person", other: "Other" };

export default async function CertificatePage({ params, searchParams }: { params: Promise<{ number: string }>; searchParams: Promise<SearchParams> }) {
  const raw = (await params).number;
  await requireAdminPage(`/ca-server/certificates/${encodeURIComponent(raw)}`);
  if (!/^\d{1,9}$/.test(raw)) notFound();
  const number = Number(raw);
  const sp = await searchParams;
  let c: CertificateDetails;
  try {
    c = await getCertificateDetails(number);
  } catch (e) {
    if (isAppError(e) && e.code === "not_found") notFound();
    throw e;
  }
  const sans = certificateSans(c.pem);
  let bundles: BundleAvailability | null = null;
  let bundlesError: string | null = null;
  try {
    bundles = (await bundleAvailability(number, "server")).bundles;
  } catch (e) {
    if (!isAppError(e)) throw e;
    bundlesError = e.message;
  }
  const link = "font-medium text-brand-700 underline";
  const reason = c.revocationReason ? revocationReasonLabel(c.revocationReason) : null;

  return (
    <div className="space-y-6">
      <PageHeader
        title={`Certificate number ${c.number}`}
        breadcrumb={<Breadcrumb links={[HOME_CRUMB, { href: "/ca-server/requests", label: "Process pending Certificate Signing Requests" }]} />}
        description={<span className={WORDS}>{c.subject}</span>}
      />

      {c.status === "revoked" ? (
        <Alert tone={sp.revoked ? "success" : "warning"} title={<span data-testid="revoked-message">{`Certificate number ${c.number} revoked (${c.revocationReason ?? "unspecified"})`}</span>}>
          <p>
            {reason ? `${reason}. ` : ""}Revoked{c.revokedAt ? ` on ${utcSecond(c.revokedAt)}` : ""}
            {c.revokedBy ? ` by ${c.revokedBy}` : ""}. The certificate revocation list names it from now on.
          </p>
        </Alert>
      ) : null}

      <div className="grid gap-6 lg:grid-cols-2">
        <Card title="Certificate">
          <DefinitionList
            items={[
              { term: "Status", value: <CertificateStatusBadge status={c.status} notAfter={c.notAfter} /> },
              { term: "Subject", value: <span data-testid="certificate-subject" className={WORDS}>{c.subject}</span> },
              {
                term: "Subject alternative names",
                value: sans.length ? (
                  <ul className="space-y-0.5">
                    {sans.map((s) => (
                      <li key={s} className="font-mono text-xs break-all">
                        {s}
                      </li>
                    ))}
                  </ul>
                ) : (
                  "None"
                ),
              },
              { term: "Serial number", value: <code className="text-xs">{c.serial}</code> },
              { term: "Valid from", value: utcSecond(c.notBefore) },
              { term: "Valid until", value: utcSecond(c.notAfter) },
              { term: "Usage", value: isUsage(c.usage) ? usageLabel(c.usage) : c.usage },
              { term: "Issuer", value: <span className={WORDS}>{c.issuer}</span> },
              { term: "SHA-1 fingerprint", value: <code className="text-xs">{c.sha1Fingerprint}</code> },
              { term: "SHA-256 fingerprint", value: <code className="text-xs">{c.sha256Fingerprint}</code> },
            ]}
          />
        </Card>
        <Card title="Record">
          <DefinitionList
            items={[
              { term: "Hostname", value: c.hostname ?? "—" },
              { term: "Instance", value: c.instance ?? "—" },
              { term: "File name", value: <span className="font-mono text-xs">{c.filename}</span> },
              { term: "Technical contact", value: <span className={WORDS}>{c.contact.email ? `${c.contact.name} <${c.contact.email}>` : c.contact.name}</span> },
              { term: "Issued", value: `${utcSecond(c.issuedAt)} by ${c.issuedBy}` },
              { term: "Verified by", value: <span data-testid="verified-by">{c.verifiedBy}</span> },
              { term: "Verified at", value: utcSecond(c.verifiedAt) },
              { term: "Verified through", value: CHANNEL_LABELS[c.verifiedChannel] ?? c.verifiedChannel },
              { term: "Verification note", value: <span className={WORDS}>{c.verifiedNote ?? "—"}</span> },
              {
                term: "Request",
                value: (
                  <Link className={link} href={`/ca-server/requests/${c.requestId}`}>
                    Certificate Signing Request &quot;{c.filename}&quot;
                  </Link>
                ),
              },
            ]}
          />
        </Card>
      </div>

      <Card title="Download">
        <span className="flex flex-wrap gap-x-4 gap-y-1 text-sm">
          <a className={link} href={`/api/v1/certificates/${c.number}?format=pem`}>
            PEM ({c.filename}.cer)
          </a>
          <a className={link} href={`/api/v1/certificates/${c.number}?format=der`}>
            DER
          </a>
          <a className={link} href={`/api/v1/certificates/${c.number}?format=chain`}>
            Chain (certificate and CA, PEM)
          </a>
        </span>
      </Card>

      <Card title="Deployment bundles" description="The files a server needs, ready to install. Bundles with the private key exist only for keys this instance generated as a CA client.">
        {bundles ? (
          <DeploymentBundles bundles={bundles} />
        ) : (
          <Alert tone="error">
            <p data-testid="bundles-error">{bundlesError}</p>
          </Alert>
        )}
      </Card>

      {c.status === "valid" ? (
        <Card title="Revoke" description="Revoke the certificate when its key is compromised or it is no longer needed. The new CRL is signed at once with the CA key.">
          <RevokeForm action={revokeCertificateAction.bind(null, c.number)} number={c.number} subject={c.subject} />
        </Card>
      ) : null}
    </div>
  );
}
