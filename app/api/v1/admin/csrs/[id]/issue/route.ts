import { route, json, readJson, requireAdminApi } from "@/app/_server/http.ts";
import { issueRequest } from "@/lib/ca/issue-request.ts";
import { env } from "@/lib/env.ts";
import { requestOrigin } from "@/app/_server/origin.ts";

/** POST /api/v1/admin/csrs/{id}/issue {usage, caKeyPassword, fingerprintVerified: true, verificationChannel?, verificationNote?} */
export const POST = route<{ params: Promise<{ id: string }> }>(async (req, { params }) => {
  const caller = await requireAdminApi(req);
  const body = await readJson(req);
  const r = await issueRequest((await params).id, body, { actor: caller.admin.username, portalUrl: env().PORTCULLIS_PUBLIC_URL ?? requestOrigin(req) });
  return json(r, 201);
});
