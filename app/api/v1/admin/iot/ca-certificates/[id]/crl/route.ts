import { route, json, requireAdminApi } from "@/app/_server/http.ts";
import { refreshIotCaCrl } from "@/lib/iot/ca-certificates.ts";

type Ctx = { params: Promise<{ id: string }> };

/**
 * POST /api/v1/admin/iot/ca-certificates/{id}/crl — fetch the CA's CRL again from its
 * distribution points, verify it and store it → 200 with the CA (its `crl` dates). 422 when
 * it names no http(s) CRL or none verifies, 409 when the CRL served is older than the one
 * stored; the reason is also kept with the CA (`crlRefresh.error`).
 */
export const POST = route<Ctx>(async (req, { params }) => {
  const caller = await requireAdminApi(req);
  return json(await refreshIotCaCrl((await params).id, { actor: caller.admin.username }));
});
