import type { ReactNode } from "react";
import Link from "next/link";
import { PageHeader } from "@/components/ui/card";
import { Alert } from "@/components/ui/alert";
import { Breadcrumb } from "@/components/ui/breadcrumb";
import { ClientNav, type ClientTab } from "./client-nav";

/** The top of a CA client page: its heading and trail, then the tabs of the CA client tasks. */
export function ClientPageHeader({ title, description, current }: { title: string; description: ReactNode; current: ClientTab }) {
  return (
    <>
      <PageHeader title={title} breadcrumb={<Breadcrumb current="Certificate Authority Client" />} description={description} />
      <ClientNav current={current} />
    </>
  );
}

/**
 * What a CA client page shows until the client is configured: a link to configure it,
 * with `before` and `after` it the page's own words.
 */
export function ClientNotConfigured({ before, after }: { before?: string; after: string }) {
  return (
    <Alert tone="warning" title="The Certificate Authority client is not configured">
      <p data-testid="not-configured">
        {before ? `${before} ` : null}
        <Link href="/ca-client" className="font-medium underline">
          Configure the local Certificate Authority client
        </Link>{" "}
        {after}
      </p>
    </Alert>
  );
}
