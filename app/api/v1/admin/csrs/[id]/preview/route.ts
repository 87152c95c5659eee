import { route, json, requireAdminApi } from "@/app/_server/http.ts";
import { requestOrigin } from "@/app/_server/origin.ts";
import { previewRequest } from "@/lib/ca/preview-request.ts";
import { env } from "@/lib/env.ts";

/** GET /api/v1/admin/csrs/{id}/preview?usage=… — what issuing would produce, with the lint findings. */
export const GET = route<{ params: Promise<{ id: string }> }>(async (req, { params }) => {
  await requireAdminApi(req);
  const usage = new URL(req.url).searchParams.get("usage") ?? "tls";
  return json(await previewRequest((await params).id, usage, { portalUrl: env().PORTCULLIS_PUBLIC_URL ?? requestOrigin(req) }));
});
