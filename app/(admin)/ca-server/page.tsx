import type { Metadata } from "next";
import { requireAdminPage } from "@/app/_server/session.ts";
import { findCaServerView } from "@/lib/ca/get-server.ts";
import { PageHeader, Card, DefinitionList } from "@/components/ui/card";
import { Breadcrumb } from "@/components/ui/breadcrumb";
import { Alert } from "@/components/ui/alert";
import { ConfirmDialog } from "@/components/ui/confirm-dialog";
import { DataTable } from "@/components/ui/table";
import { CaServerWizard } from "@/components/ca-server/ca-server-wizard";
import { caServerWizardAction, reinitializeAction } from "./actions.ts";

export const metadata: Metadata = { title: "Configure local Certificate Authority server" };
export const dynamic = "force-dynamic";

function date(iso: string): string {
  return iso.replace("T", " ").replace(/\.\d+Z$/, " UTC");
}

export default async function CaServerPage({ searchParams }: { searchParams: Promise<Record<string, string | string[] | undefined>> }) {
  await requireAdminPage("/ca-server");
  const sp = await searchParams;
  const view = await findCaServerView();
  const breadcrumb = <Breadcrumb current="Certificate Authority Server" />;
  if (!view) {
    return (
      <div>
        <PageHeader title="Configure local Certificate Authority server" breadcrumb={breadcrumb} description="Give the file name root and the directory of the CA's certificate and private key. Existing files are used; otherwise new ones are created." />
        {sp.reinitialized ? (
          <div className="mb-4">
            <Alert tone="info" title="The Certificate Authority server was reinitialized.">
              Its configuration was deleted. The key, certificate and SRL files were kept: enter the same file name root and directory to use them again.
            </Alert>
          </div>
        ) : null}
        <Card>
          <CaServerWizard action={caServerWizardAction} />
        </Card>
      </div>
    );
  }
  return (
    <div className="space-y-6">
      <PageHeader title="Local Certificate Authority server" breadcrumb={breadcrumb} description="This instance is configured as a Certificate Authority server." />
      {sp.configured && view.resultMessage.length ? (
        <Alert tone={view.resultMessage.some((l) => l.includes("could not be sent")) ? "warning" : "success"} title={view.resultMessage[0]}>
          <pre className="mt-2 whitespace-pre-wrap break-all font-mono text-xs" data-testid="configure-message">
            {view.resultMessage.slice(1).join("\n")}
          </pre>
          <p className="mt-3">
            Store the private key on removable media that can be physically secured, and keep its password apart from it. Portcullis never stores the password: it is asked each time a certificate is issued.
          </p>
        </Alert>
      ) : null}
      <Card title="Certificate Authority certificate">
        <DefinitionList
          items={[
            { term: "Subject", value: view.subject },
            { term: "SHA-1 fingerprint", value: <code data-testid="ca-sha1">{view.sha1Fingerprint}</code> },
            { term: "SHA-256 fingerprint", value: <code className="text-xs">{view.sha256Fingerprint}</code> },
            { term: "Valid", value: `${date(view.notBefore)} to ${date(view.notAfter)}` },
            { term: "Key algorithm", value: view.keyAlgorithm },
            { term: "Download", value: (
              <span className="space-x-3">
                <a className="text-brand-700 underline" href="/api/v1/ca/certificate?format=pem">PEM</a>
                <a className="text-brand-700 underline" href="/api/v1/ca/certificate?format=der">DER</a>
                {view.chain.length > 1 ? (
                  <a className="text-brand-700 underline" href="/api/v1/ca/certificate?format=chain" data-testid="ca-chain-download">
                    Chain (PEM, {view.chain.length} certificates)
                  </a>
                ) : null}
              </span>
            ) },
          ]}
        />
      </Card>
      <Card
        title="Certificate chain"
        description={
          view.chain.length > 1
            ? `This CA is an intermediate CA: relying parties verify its certificates through ${view.chain.length - 1 === 1 ? "its issuer" : `its ${view.chain.length - 1} issuers`} up to the root. Chain downloads of issued certificates include them.`
            : "This CA certificate is self-signed: it is the root of its chain."
        }
      >
        <DataTable
          columns={["", "Subject", "Issuer", "SHA-1 fingerprint", "Valid until"]}
          empty="No certificate."
          rows={view.chain.map((l, i) => (
            <tr key={l.sha1Fingerprint + i} data-testid="chain-link">
              <td className="py-2 pr-4 align-top text-xs text-slate-500">{i === 0 ? "This CA" : l.selfSigned ? "Root" : `Issuer ${i}`}</td>
              <td className="py-2 pr-4 align-top break-words">{l.subject}</td>
              <td className="py-2 pr-4 align-top break-words">{l.selfSigned ? <span className="text-slate-500">self-signed</span> : l.issuer}</td>
              <td className="py-2 pr-4 align-top">
                <code className="break-all text-xs">{l.sha1Fingerprint}</code>
              </td>
              <td className="py-2 align-top whitespace-nowrap">{date(l.notAfter)}</td>
            </tr>
          ))}
        />
        {view.files.chain ? (
          <p className="mt-3 text-xs text-slate-500">
            Saved as <code className="break-all">{view.files.chain}</code> (this CA certificate, then its issuers).
          </p>
        ) : null}
      </Card>
      <Card
        title="Configuration"
        actions={
          <a className="text-sm font-medium text-brand-700 underline" href="/ca-server/settings" data-testid="ca-settings-link">
            Edit settings (validity, e-mail)
          </a>
        }
      >
        <DefinitionList
          items={[
            { term: "Files", value: <code className="text-xs">{view.files.cer}, {view.files.key}, {view.files.srl}</code> },
            { term: "Created from", value: view.mode === "new" ? "A new key and certificate" : "An existing key and certificate" },
            { term: "Validity of issued certificates", value: `${view.issuedValidityDays} days` },
            { term: "Next certificate number", value: view.nextCertificateNumber },
            { term: "Certificate revocation list", value: <a className="text-brand-700 underline" href="/ca-server/crl" data-testid="crl-page-link">CRL: re-sign, next update period, unlock for scheduled signing</a> },
            { term: "SMTP server", value: view.smtp.host ? `${view.smtp.host}:${view.smtp.port}${view.smtp.secure ? " (TLS)" : ""}${view.smtp.username ? `, user ${view.smtp.username}` : ""}` : "Not configured: no e-mail is sent" },
            { term: "Administrator's e-mail", value: view.adminEmail },
            { term: "Configured", value: `${date(view.configuredAt)}${view.configuredBy ? ` by ${view.configuredBy}` : ""}` },
          ]}
        />
      </Card>
      <Card title="Reinitialize" description="Deletes the configuration of the CA server, its issued-certificate records and its pending requests. The key, certificate and SRL files are never deleted.">
        <ConfirmDialog trigger="Reinitialize…" title="Reinitialize the Certificate Authority server?" confirmLabel="Reinitialize" pendingLabel="Reinitializing…" action={reinitializeAction}>
          <p>
            The configuration of the CA server <strong>{view.subject}</strong> will be deleted, with its issued-certificate records and pending requests. The files <code className="break-all">{view.files.cer}</code>, .key and .srl stay on disk.
          </p>
        </ConfirmDialog>
      </Card>
    </div>
  );
}
