import { route, json, requireAdminApi } from "@/app/_server/http.ts";
import { searchCertificates } from "@/lib/ca/certificates.ts";
import { listExpiringCertificates } from "@/lib/ca/expiring.ts";

/**
 * GET /api/v1/admin/certificates?expiringWithinDays=60&cursor= → valid, unrevoked certificates
 * expiring within that many days (1–3650), soonest first, each with daysLeft.
 * Without expiringWithinDays: every certificate, filtered like GET /api/v1/certificates.
 */
export const GET = route(async (req) => {
  await requireAdminApi(req);
  const p = new URL(req.url).searchParams;
  const limit = p.get("limit") ? Number(p.get("limit")) : undefined;
  if (p.has("expiringWithinDays")) {
    return json(await listExpiringCertificates({ withinDays: p.get("expiringWithinDays") ?? "", cursor: p.get("cursor"), take: limit }));
  }
  return json(await searchCertificates({ serial: p.get("serial"), number: p.get("number"), hostname: p.get("hostname"), instance: p.get("instance"), filename: p.get("filename"), cursor: p.get("cursor"), take: limit }));
});
