import { route, json, readJson, requireAdminApi } from "@/app/_server/http.ts";
import { BATCH_SUBMIT_MAX_BYTES, submitBatch } from "@/lib/ca/batch-submit.ts";
import { env } from "@/lib/env.ts";
import { clientIp, requestOrigin } from "@/app/_server/origin.ts";

/**
 * POST /api/v1/admin/csrs/batch {requests: [{csr, contact?, hostname?, instance?, filename}] (at most 1000),
 * contact?, hostname?, instance? (defaults for every request)} → 201 {batchId, count, requests: [{id, status, filename,
 * sha1Fingerprint, sha256Fingerprint}]}. All or nothing: 422 names every problem by position (`requests[3].csr`).
 */
export const POST = route(async (req) => {
  const caller = await requireAdminApi(req);
  const body = await readJson(req, BATCH_SUBMIT_MAX_BYTES);
  const r = await submitBatch(body, { actor: caller.admin.username, ip: clientIp(req.headers), portalUrl: env().PORTCULLIS_PUBLIC_URL ?? requestOrigin(req) });
  return json(r, 201);
});
