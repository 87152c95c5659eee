import type { Metadata } from "next";
import Link from "next/link";
import { notFound } from "next/navigation";
import { getCertificateDetails, type CertificateDetails } from "@/lib/ca/certificates.ts";
import { isAppError } from "@/lib/errors/app-error.ts";
import { PageHeader, Card, DefinitionList } from "@/components/ui/card";
import { Breadcrumb, HOME_CRUMB } from "@/components/ui/breadcrumb";
import { Alert } from "@/components/ui/alert";
import { RequestForm } from "@/components/public/request-form";
import { renewPublicRequestAction } from "../../../request/actions.ts";
import { utcDate } from "../../../public-ca.ts";

export const metadata: Metadata = { title: "Renew a certificate" };
export const dynamic = "force-dynamic";

export default async function RenewCertificatePage({ params }: { params: Promise<{ number: string }> }) {
  const raw = (await params).number;
  if (!/^\d{1,9}$/.test(raw)) notFound();
  let c: CertificateDetails;
  try {
    c = await getCertificateDetails(Number(raw));
  } catch (e) {
    if (isAppError(e) && e.code === "not_found") notFound();
    throw e;
  }
  return (
    <div className="space-y-6">
      <PageHeader
        title={`Renew certificate number ${c.number}`}
        breadcrumb={<Breadcrumb links={[HOME_CRUMB, { href: "/certificates", label: "Certificates" }]} current="Renew" />}
        description="Ask for a new certificate to replace this one, with a new Certificate Signing Request. The common name must stay exactly the same; the administrator verifies the request with you before issuing it."
      />
      <Card title="The certificate to renew">
        <DefinitionList
          items={[
            { term: "Subject", value: <span className="[word-break:normal] [overflow-wrap:anywhere]">{c.subject}</span> },
            { term: "Common name", value: <code data-testid="renew-common-name">{c.commonName ?? "—"}</code> },
            { term: "Valid until", value: utcDate(c.notAfter) },
            { term: "File name", value: c.filename },
          ]}
        />
      </Card>
      {c.status === "revoked" ? (
        <Alert tone="warning" title={`Certificate number ${c.number} is revoked`}>
          A revoked certificate cannot be renewed.{" "}
          <Link href="/request" className="font-medium underline">
            Request a new certificate
          </Link>{" "}
          instead.
        </Alert>
      ) : (
        <Card>
          <RequestForm action={renewPublicRequestAction.bind(null, c.number)} initialValues={{ filename: c.filename, hostname: c.hostname ?? "", instance: c.instance ?? "" }} />
        </Card>
      )}
    </div>
  );
}
