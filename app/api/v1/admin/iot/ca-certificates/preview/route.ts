import { route, readJson, json, requireAdminApi } from "@/app/_server/http.ts";
import { certificateBytesOrText, previewIotCaCertificate } from "@/lib/iot/ca-certificates.ts";

/**
 * POST /api/v1/admin/iot/ca-certificates/preview {certificate, checkCrl?} — the parsed
 * certificate and the problems that would keep it from being saved; nothing is saved.
 */
export const POST = route(async (req) => {
  await requireAdminApi(req);
  const body = await readJson(req);
  return json(await previewIotCaCertificate(certificateBytesOrText(body.certificate), { checkCrl: body.checkCrl === true }));
});
