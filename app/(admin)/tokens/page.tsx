import type { Metadata } from "next";
import { requireAdminPage } from "@/app/_server/session.ts";
import { listApiTokens } from "@/lib/auth/api-tokens.ts";
import { PageHeader, Card } from "@/components/ui/card";
import { ConfirmDialog } from "@/components/ui/confirm-dialog";
import { DataTable, utcMinute } from "@/components/ui/table";
import { CreateTokenForm } from "@/components/tokens/create-token-form";
import { createTokenAction, revokeTokenAction } from "./actions.ts";

export const metadata: Metadata = { title: "API tokens" };
export const dynamic = "force-dynamic";


export default async function TokensPage() {
  const admin = await requireAdminPage("/tokens");
  const tokens = await listApiTokens(admin.id);
  return (
    <div className="space-y-6">
      <PageHeader title="API tokens" description="Tokens let scripts call the admin API (Authorization: Bearer …) as you. A token is shown once, when it is created; revoke it when it is no longer needed." />
      <Card title="Create a token">
        <CreateTokenForm action={createTokenAction} />
      </Card>
      <Card title="Your tokens">
        <DataTable
          columns={["Name", "Token", "Created", "Last used", "Expires", "Status"]}
          empty="No tokens yet."
          rows={tokens.map((t) => {
            const expired = t.expiresAt && t.expiresAt <= new Date();
            return (
              <tr key={t.id}>
                <td className="py-2 pr-4 font-medium">{t.name}</td>
                <td className="py-2 pr-4 font-mono text-xs">{t.prefix}…</td>
                <td className="py-2 pr-4">{utcMinute(t.createdAt)}</td>
                <td className="py-2 pr-4">{utcMinute(t.lastUsedAt)}</td>
                <td className="py-2 pr-4">{t.expiresAt ? utcMinute(t.expiresAt) : "Never"}</td>
                <td className="py-2">
                  {t.revokedAt ? (
                    <span className="text-slate-500">Revoked {utcMinute(t.revokedAt)}</span>
                  ) : expired ? (
                    <span className="text-slate-500">Expired</span>
                  ) : (
                    <ConfirmDialog trigger="Revoke" title={`Revoke the token “${t.name}”?`} confirmLabel="Revoke token" pendingLabel="Revoking…" action={revokeTokenAction} hidden={{ id: t.id }}>
                      Scripts using this token will be refused from now on. This cannot be undone.
                    </ConfirmDialog>
                  )}
                </td>
              </tr>
            );
          })}
        />
      </Card>
    </div>
  );
}
