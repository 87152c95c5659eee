import { route, json, requireAdminApi } from "@/app/_server/http.ts";
import { listAudit, parseAuditDate } from "@/lib/audit/audit-log.ts";
import { AppError } from "@/lib/errors/app-error.ts";

/**
 * GET /api/v1/admin/audit?action=&actor=&target=&from=YYYY-MM-DD&to=YYYY-MM-DD&before=<seq>&limit=
 * → {items, nextBefore}: audit entries, newest first; `action` ending in "." or "*" matches a prefix.
 */
export const GET = route(async (req) => {
  await requireAdminApi(req);
  const p = new URL(req.url).searchParams;
  const before = p.get("before");
  if (before !== null && !/^\d{1,10}$/.test(before)) throw new AppError("bad_request", "before: a sequence number is expected");
  const limit = p.get("limit");
  if (limit !== null && !/^\d{1,4}$/.test(limit)) throw new AppError("bad_request", "limit: a number from 1 to 200 is expected");
  return json(
    await listAudit({
      action: p.get("action"),
      actor: p.get("actor"),
      target: p.get("target"),
      from: parseAuditDate(p.get("from"), "from"),
      to: parseAuditDate(p.get("to"), "to"),
      before: before ? Number(before) : null,
      take: limit ? Number(limit) : undefined,
    }),
  );
});
