import type { Metadata } from "next";
import { requireAdminPage } from "@/app/_server/session.ts";
import { findCaClient } from "@/lib/client/configure-client.ts";
import { listClientRequests } from "@/lib/client/submit-request.ts";
import { clientDirectory } from "@/lib/client/client-files.ts";
import { Card } from "@/components/ui/card";
import { ClientNotConfigured, ClientPageHeader } from "@/components/ca-client/client-page-header";
import { SubmitCsrForm } from "@/components/ca-client/submit-csr-form";
import { ClientRequestsTable } from "@/components/ca-client/client-requests-table";
import { resubmitAction, submitCsrAction } from "./actions.ts";

export const metadata: Metadata = { title: "Submit Certificate Signing Request" };
export const dynamic = "force-dynamic";

export default async function SubmitCsrPage() {
  await requireAdminPage("/ca-client/submit");
  const [client, requests] = await Promise.all([findCaClient(), listClientRequests()]);
  return (
    <div className="space-y-6">
      <ClientPageHeader
        current="/ca-client/submit"
        title="Submit Certificate Signing Request to Certificate Authority server"
        description="A new key pair is generated on this instance; its private key and the Certificate Signing Request are saved here, and the request is sent to the Certificate Authority server with your contact details."
      />
      {!client ? (
        <ClientNotConfigured before="Requests are sent to the configured Certificate Authority server." after="first." />
      ) : (
        <Card
          title="New Certificate Signing Request"
          description={
            <>
              Sent to <code>{client.serverUrl}</code> for the instance <strong>{client.instanceName}</strong>, technical contact {client.contactName}. Files are saved in <code className="break-all">{clientDirectory()}</code>.
            </>
          }
        >
          <SubmitCsrForm action={submitCsrAction} serverUrl={client.serverUrl} />
        </Card>
      )}
      <Card title="Requests from this instance" description="A request whose submission failed keeps its key and CSR files; submit it again once the server is reachable.">
        <ClientRequestsTable action={resubmitAction} rows={requests.map((r) => ({ id: r.id, fileNameRoot: r.fileNameRoot, subject: r.subject, sans: r.sans, sha1Fingerprint: r.sha1Fingerprint, serverUrl: r.serverUrl, keyEncrypted: r.keyEncrypted, status: r.status, error: r.error, submittedAt: r.submittedAt }))} />
      </Card>
    </div>
  );
}
