import type { Metadata } from "next";
import Link from "next/link";
import { requireAdminPage } from "@/app/_server/session.ts";
import { findCaClient, defaultInstanceName, systemHostname, CONFIGURED_MESSAGE, DEFAULT_SERVER_PATH } from "@/lib/client/configure-client.ts";
import { Card, DefinitionList } from "@/components/ui/card";
import { Alert } from "@/components/ui/alert";
import { ConfigureClientForm } from "@/components/ca-client/configure-client-form";
import { ClientPageHeader } from "@/components/ca-client/client-page-header";
import { configureClientAction } from "./actions.ts";

export const metadata: Metadata = { title: "Configure local Certificate Authority client" };
export const dynamic = "force-dynamic";

export default async function CaClientPage({ searchParams }: { searchParams: Promise<Record<string, string | string[] | undefined>> }) {
  await requireAdminPage("/ca-client");
  const sp = await searchParams;
  const client = await findCaClient();
  return (
    <div className="space-y-6">
      <ClientPageHeader current="/ca-client" title="Configure local Certificate Authority client" description="Where the Certificate Authority server is, and who the local technical contact is. The CA server must be configured before any instance can be its client." />
      {sp.configured && client ? (
        <Alert tone="success" title={CONFIGURED_MESSAGE}>
          <p data-testid="configure-message">
            Certificate Authority server: <code>{client.serverUrl}</code>. Next,{" "}
            <Link href="/ca-client/certificates" className="font-medium underline">
              get the Certificate Authority Certificate
            </Link>{" "}
            and{" "}
            <Link href="/ca-client/submit" className="font-medium underline">
              submit a Certificate Signing Request
            </Link>
            .
          </p>
        </Alert>
      ) : null}
      {client ? (
        <Card title="Current configuration">
          <DefinitionList
            items={[
              { term: "Certificate Authority server", value: <code>{client.serverUrl}</code> },
              { term: "Instance name", value: client.instanceName },
              { term: "Host name sent", value: client.effectiveHostname ?? "None (the system's host name is not a valid DNS name)" },
              { term: "Technical contact", value: [client.contactName, client.contactPhone, client.contactEmail].filter(Boolean).join(", ") },
              { term: "Certificate Authority certificate", value: client.ca ? <span><code className="text-xs">{client.ca.sha1Fingerprint}</code> in <code className="text-xs">{client.ca.file}</code></span> : <Link href="/ca-client/certificates" className="text-brand-700 underline">Not saved yet</Link> },
            ]}
          />
        </Card>
      ) : null}
      <Card title={client ? "Change the configuration" : undefined}>
        <ConfigureClientForm
          action={configureClientAction}
          systemHostname={systemHostname()}
          defaults={{
            serverHost: client?.serverHost ?? "",
            serverPort: client ? String(client.serverPort) : "",
            serverPath: client?.serverPath ?? DEFAULT_SERVER_PATH,
            useTls: client?.useTls ?? false,
            instanceName: client?.instanceName ?? defaultInstanceName(),
            hostname: client?.hostname ?? "",
            contactName: client?.contactName ?? "",
            contactPhone: client?.contactPhone ?? "",
            contactEmail: client?.contactEmail ?? "",
          }}
        />
      </Card>
    </div>
  );
}
