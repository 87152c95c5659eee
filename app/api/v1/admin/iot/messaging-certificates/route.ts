import { route, readJson, json, requireAdminApi } from "@/app/_server/http.ts";
import { addMessagingCertificate, listMessagingCertificates } from "@/lib/iot/messaging-certificates.ts";

/** GET /api/v1/admin/iot/messaging-certificates — certificates and CSRs (never a key). */
export const GET = route(async (req) => {
  await requireAdminApi(req);
  return json({ items: await listMessagingCertificates(), nextCursor: null });
});

/** POST /api/v1/admin/iot/messaging-certificates — `{certificate, privateKey, passphrase?, description}` → 201. */
export const POST = route(async (req) => {
  const caller = await requireAdminApi(req);
  const body = await readJson(req);
  const created = await addMessagingCertificate(
    { certificate: body.certificate, privateKey: body.privateKey, passphrase: body.passphrase, description: body.description },
    { actor: caller.admin.username },
  );
  return json(created, 201);
});
