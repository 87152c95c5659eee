import { route, readJson, json, requireAdminApi } from "@/app/_server/http.ts";
import { deleteIotCaCertificate, getIotCaCertificate, setIotCaCertificateActive } from "@/lib/iot/ca-certificates.ts";

type Ctx = { params: Promise<{ id: string }> };

/** GET /api/v1/admin/iot/ca-certificates/{id} — one registered device CA, with its PEM and stored CRL. */
export const GET = route<Ctx>(async (req, { params }) => {
  await requireAdminApi(req);
  return json(await getIotCaCertificate((await params).id));
});

/** PATCH /api/v1/admin/iot/ca-certificates/{id} {active} — activate or deactivate → 200. */
export const PATCH = route<Ctx>(async (req, { params }) => {
  const caller = await requireAdminApi(req);
  const body = await readJson(req);
  return json(await setIotCaCertificateActive((await params).id, body.active, { actor: caller.admin.username }));
});

/** DELETE /api/v1/admin/iot/ca-certificates/{id} — remove it from the registry → 200. */
export const DELETE = route<Ctx>(async (req, { params }) => {
  const caller = await requireAdminApi(req);
  return json({ deleted: true, certificate: await deleteIotCaCertificate((await params).id, { actor: caller.admin.username }) });
});
