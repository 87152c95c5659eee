import { route, json, requireAdminApi } from "@/app/_server/http.ts";
import { deleteMessagingCertificate, getMessagingCertificate } from "@/lib/iot/messaging-certificates.ts";

type Ctx = { params: Promise<{ id: string }> };

/** GET /api/v1/admin/iot/messaging-certificates/{id} — one certificate or CSR (never a key). */
export const GET = route<Ctx>(async (req, { params }) => {
  await requireAdminApi(req);
  return json(await getMessagingCertificate((await params).id));
});

/** DELETE /api/v1/admin/iot/messaging-certificates/{id} — not the default. */
export const DELETE = route<Ctx>(async (req, { params }) => {
  const caller = await requireAdminApi(req);
  return json(await deleteMessagingCertificate((await params).id, { actor: caller.admin.username }));
});
