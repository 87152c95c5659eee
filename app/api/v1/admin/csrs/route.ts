import { route, json, requireAdminApi } from "@/app/_server/http.ts";
import { listPendingRequests } from "@/lib/ca/requests.ts";

/** GET /api/v1/admin/csrs?cursor=&limit=&batch= — the pending queue (or one submission batch of it), oldest first. */
export const GET = route(async (req) => {
  await requireAdminApi(req);
  const p = new URL(req.url).searchParams;
  return json(await listPendingRequests({ cursor: p.get("cursor"), take: p.get("limit") ? Number(p.get("limit")) : undefined, batchId: p.get("batch") }));
});
