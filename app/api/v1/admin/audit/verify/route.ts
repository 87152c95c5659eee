import { route, json, requireAdminApi } from "@/app/_server/http.ts";
import { verifyAuditChain } from "@/lib/audit/audit-log.ts";

/** POST /api/v1/admin/audit/verify → {ok, entries, headSeq, headHash, problem?}: walks the whole hash chain. */
export const POST = route(async (req) => {
  await requireAdminApi(req);
  return json(await verifyAuditChain());
});
