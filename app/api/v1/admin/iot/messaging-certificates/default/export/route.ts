import { route, json, requireAdminApi } from "@/app/_server/http.ts";
import { exportDefaultMessagingCertificate } from "@/lib/iot/messaging-certificates.ts";

/**
 * GET /api/v1/admin/iot/messaging-certificates/default/export (admin) — `{certificate, privateKey}`,
 * the key as unencrypted PKCS#8 PEM for a broker's configuration. Never cached.
 */
export const GET = route(async (req) => {
  const caller = await requireAdminApi(req);
  const { certificate, privateKey } = await exportDefaultMessagingCertificate({ actor: caller.admin.username });
  return json({ certificate, privateKey }, 200, { "Cache-Control": "no-store", Pragma: "no-cache" });
});
