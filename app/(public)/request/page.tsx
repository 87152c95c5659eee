import type { Metadata } from "next";
import Link from "next/link";
import { findPublicCa } from "../public-ca.ts";
import { PageHeader, Card } from "@/components/ui/card";
import { Breadcrumb } from "@/components/ui/breadcrumb";
import { Alert } from "@/components/ui/alert";
import { RequestForm } from "@/components/public/request-form";
import { submitPublicRequestAction } from "./actions.ts";

export const metadata: Metadata = { title: "Request a certificate" };
export const dynamic = "force-dynamic";

export default async function RequestPage() {
  const ca = await findPublicCa();
  return (
    <div className="space-y-6">
      <PageHeader
        title="Request a certificate"
        breadcrumb={<Breadcrumb current="Request a certificate" />}
        description="Submit a Certificate Signing Request to this Certificate Authority without running your own Portcullis instance: paste or upload a CSR, or let this page generate the key pair in your browser."
      />
      {ca ? (
        <>
          <p className="text-sm text-slate-600">
            Certificate Authority: <span className="font-medium text-slate-900 [overflow-wrap:anywhere]">{ca.subject}</span> ·{" "}
            <Link href="/certificates" className="text-brand-700 underline">
              CA certificate and issued certificates
            </Link>
          </p>
          <Card>
            <RequestForm action={submitPublicRequestAction} />
          </Card>
        </>
      ) : (
        <Alert tone="warning" title="This Certificate Authority is not configured">
          Certificate Signing Requests cannot be submitted here yet: the Certificate Authority server of this instance has not been set up. Contact the administrator of this portal.
        </Alert>
      )}
    </div>
  );
}
