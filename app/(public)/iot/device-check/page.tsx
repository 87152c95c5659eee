import type { Metadata } from "next";
import { PageHeader, Card } from "@/components/ui/card";
import { Breadcrumb } from "@/components/ui/breadcrumb";
import { DeviceCheckForm } from "@/components/iot/device-check-form";
import { deviceCheckAction } from "./actions.ts";

export const metadata: Metadata = { title: "Check a device certificate" };
export const dynamic = "force-dynamic";

export default function DeviceCheckPage() {
  return (
    <div className="space-y-6">
      <PageHeader
        title="Check a device certificate"
        breadcrumb={<Breadcrumb current="Device security (IoT)" />}
        description="Would the messaging server accept this device? A device certificate is accepted when it chains to an active registered CA certificate, is within its validity period, is not revoked, and names the device as CN=d:<type>:<id> or as the e-mail SAN d:<type>:<id>. Nothing is stored."
      />
      <Card>
        <DeviceCheckForm action={deviceCheckAction} />
      </Card>
      <p className="text-xs text-slate-500">
        Scripts: <code>POST /api/v1/iot/device-check</code> with <code>{"{certificate, chain?}"}</code>. Brokers and gateways load the active CA certificates from{" "}
        <a href="/api/v1/iot/trust-bundle" className="underline">
          /api/v1/iot/trust-bundle
        </a>
        .
      </p>
    </div>
  );
}
