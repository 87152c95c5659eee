import type { Metadata } from "next";
import Link from "next/link";
import { notFound } from "next/navigation";
import { requireAdminPage } from "@/app/_server/session.ts";
import { isAppError } from "@/lib/errors/app-error.ts";
import { findCaClient } from "@/lib/client/configure-client.ts";
import { bundleAvailability, type BundleAvailability } from "@/lib/bundles/availability.ts";
import type { FoundCertificate } from "@/lib/bundles/find-certificate.ts";
import { isUsage, usageLabel } from "@/lib/pki/profiles.ts";
import { Card, DefinitionList } from "@/components/ui/card";
import { Alert } from "@/components/ui/alert";
import { ClientNotConfigured, ClientPageHeader } from "@/components/ca-client/client-page-header";
import { CertificateStatusBadge } from "@/components/certificates/status-badge";
import { DeploymentBundles } from "@/components/bundles/deployment-bundles";

export const metadata: Metadata = { title: "Certificate" };
export const dynamic = "force-dynamic";

const WORDS = "[word-break:normal] [overflow-wrap:anywhere]";

function utcSecond(d: Date): string {
  return d.toISOString().replace("T", " ").replace(/\.\d+Z$/, " UTC");
}

/** One certificate of the CA server this instance's CA client uses, with its deployment bundles. */
export default async function ClientCertificatePage({ params }: { params: Promise<{ number: string }> }) {
  const raw = (await params).number;
  await requireAdminPage(`/ca-client/certificates/${encodeURIComponent(raw)}`);
  if (!/^\d{1,9}$/.test(raw) || Number(raw) < 1) notFound();
  const number = Number(raw);
  const client = await findCaClient();
  let found: { certificate: FoundCertificate; bundles: BundleAvailability } | null = null;
  let error: string | null = null;
  if (client) {
    try {
      found = await bundleAvailability(number, "client");
    } catch (e) {
      if (!isAppError(e)) throw e;
      error = e.message;
    }
  }
  const c = found?.certificate;
  return (
    <div className="space-y-6">
      <ClientPageHeader
        current="/ca-client/certificates"
        title={`Certificate number ${number}`}
        description={c ? <span className={WORDS}>{c.subject}</span> : "A certificate issued by the Certificate Authority server, and the files to deploy it."}
      />
      <p className="text-sm">
        <Link href="/ca-client/certificates" className="text-brand-700 underline">
          All certificates
        </Link>
      </p>
      {!client ? (
        <ClientNotConfigured after="first: certificates are fetched from its Certificate Authority server." />
      ) : error || !c || !found ? (
        <Alert tone="error" title="The certificate could not be read">
          <p data-testid="certificate-error">{error}</p>
        </Alert>
      ) : (
        <>
          <Card title="Certificate" description={<>From <code>{client.serverUrl}</code>.</>}>
            <DefinitionList
              items={[
                { term: "Status", value: <CertificateStatusBadge status={c.status} notAfter={c.notAfter.toISOString()} /> },
                { term: "Subject", value: <span data-testid="certificate-subject" className={WORDS}>{c.subject}</span> },
                { term: "Serial number", value: <code className="text-xs">{c.serial}</code> },
                { term: "Valid from", value: utcSecond(c.notBefore) },
                { term: "Valid until", value: utcSecond(c.notAfter) },
                { term: "Usage", value: isUsage(c.usage) ? usageLabel(c.usage) : c.usage || "—" },
                { term: "SHA-1 fingerprint", value: <code className="text-xs">{c.sha1Fingerprint}</code> },
                {
                  term: "Issued by",
                  value: (
                    <ol className="space-y-0.5">
                      {c.chainSubjects.map((s, i) => (
                        <li key={i} className={WORDS}>
                          {s}
                        </li>
                      ))}
                    </ol>
                  ),
                },
                {
                  term: "Private key",
                  value: found.bundles.keyFile ? (
                    <span data-testid="key-file">
                      {found.bundles.keyFile.fileNameRoot}.key on this instance{found.bundles.keyFile.encrypted ? " (encrypted)" : ""}
                    </span>
                  ) : (
                    "Not generated on this instance"
                  ),
                },
              ]}
            />
          </Card>
          <Card title="Deployment bundles" description="The files a server needs, ready to install. Bundles with the private key exist only for keys this instance generated.">
            <DeploymentBundles bundles={found.bundles} />
          </Card>
        </>
      )}
    </div>
  );
}
