import type { Metadata } from "next";
import { requireAdminPage } from "@/app/_server/session.ts";
import { findCaSettings } from "@/lib/ca/settings/update-settings.ts";
import { PageHeader, Card } from "@/components/ui/card";
import { Breadcrumb, HOME_CRUMB } from "@/components/ui/breadcrumb";
import { Alert } from "@/components/ui/alert";
import { ServerNotConfigured } from "@/components/ca-server/server-not-configured";
import { CaSettingsForm } from "@/components/ca-server/settings-form";
import { caSettingsAction } from "./actions.ts";

export const metadata: Metadata = { title: "CA server settings" };
export const dynamic = "force-dynamic";

const TITLE = "Certificate Authority server settings";
const breadcrumb = <Breadcrumb links={[HOME_CRUMB, { href: "/ca-server", label: "Certificate Authority Server" }]} current="Settings" />;

type SearchParams = Record<string, string | string[] | undefined>;

export default async function CaSettingsPage({ searchParams }: { searchParams: Promise<SearchParams> }) {
  await requireAdminPage("/ca-server/settings");
  const sp = await searchParams;
  const settings = await findCaSettings();
  if (!settings) {
    return (
      <div>
        <PageHeader title={TITLE} breadcrumb={breadcrumb} />
        <ServerNotConfigured reason="The settings exist once it is." />
      </div>
    );
  }
  const saved = typeof sp.saved === "string" ? Number(sp.saved) : null;
  return (
    <div className="space-y-6">
      <PageHeader title={TITLE} breadcrumb={breadcrumb} description="The validity of the certificates this CA issues and its e-mail settings. The CA key, certificate and subject stay as configured; to change those, reinitialize." />
      {saved !== null ? (
        <Alert tone="success" title={<span data-testid="ca-settings-saved">{saved > 0 ? "Settings saved." : "Nothing changed."}</span>} />
      ) : null}
      <Card title="Settings">
        <CaSettingsForm action={caSettingsAction} settings={settings} />
      </Card>
    </div>
  );
}
