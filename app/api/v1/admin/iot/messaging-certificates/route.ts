import { route, readJson, json, requireAdminApi } from "@/app/_server/http.ts";
import { addMessagingCertificate, listMessagingCertificates } from "@/lib/iot/messaging-certificates.ts";

/** GET /api/v1/admin/iot/messaging-certificates?cursor=&limit= — certificates and CSRs (never a key), oldest first. */
export const GET = route(async (req) => {
  await requireAdminApi(req);
  const p = new URL(req.url).searchParams;
  return json(await listMessagingCertificates({ cursor: p.get("cursor"), take: p.get("limit") ? Number(p.get("limit")) : undefined }));
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
