import { route, json, readJson, requireAdminApi } from "@/app/_server/http.ts";
import { startBulkIssue } from "@/lib/ca/bulk-issue.ts";
import { env } from "@/lib/env.ts";
import { requestOrigin } from "@/app/_server/origin.ts";

/**
 * POST /api/v1/admin/csrs/bulk-issue {ids?: string[] (at most 1000) | all?: true (+ instance?, hostname?, contactEmail?) | batchId,
 * usage, caKeyPassword, fingerprintVerified: true, verificationChannel?, verificationNote?}
 * → 200 {requested, issued: [{id, number}], skipped: [{id, reason}], failed: [{id, code, message}]}
 */
export const POST = route(async (req) => {
  const caller = await requireAdminApi(req);
  const body = await readJson(req);
  const r = await startBulkIssue(body, { actor: caller.admin.username, portalUrl: env().PORTCULLIS_PUBLIC_URL ?? requestOrigin(req) });
  return json(r, 200);
});
