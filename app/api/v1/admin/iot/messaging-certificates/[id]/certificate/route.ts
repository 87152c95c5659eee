import { route, readJson, json, requireAdminApi } from "@/app/_server/http.ts";
import { attachSignedCertificate } from "@/lib/iot/messaging-certificates.ts";

/** POST /api/v1/admin/iot/messaging-certificates/{id}/certificate — `{certificate}`: the signed certificate for a CSR row → 200. */
export const POST = route<{ params: Promise<{ id: string }> }>(async (req, { params }) => {
  const caller = await requireAdminApi(req);
  const body = await readJson(req);
  return json(await attachSignedCertificate((await params).id, { certificate: body.certificate }, { actor: caller.admin.username }));
});
