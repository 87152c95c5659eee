import { route, readJson, json, requireAdminApi } from "@/app/_server/http.ts";
import { AppError } from "@/lib/errors/app-error.ts";
import { addIotCaCertificate, listIotCaCertificates } from "@/lib/iot/ca-certificates.ts";

/** GET /api/v1/admin/iot/ca-certificates?active=true|false&cursor=&limit= — registered device CAs, oldest first. */
export const GET = route(async (req) => {
  await requireAdminApi(req);
  const p = new URL(req.url).searchParams;
  const a = p.get("active");
  if (a !== null && a !== "" && a !== "true" && a !== "false" && a !== "all") throw new AppError("bad_request", "active must be true, false or all");
  return json(
    await listIotCaCertificates({
      active: a === "true" ? true : a === "false" ? false : undefined,
      cursor: p.get("cursor"),
      take: p.get("limit") ? Number(p.get("limit")) : undefined,
    }),
  );
});

/** POST /api/v1/admin/iot/ca-certificates {certificate, description} — register a device CA → 201. */
export const POST = route(async (req) => {
  const caller = await requireAdminApi(req);
  const body = await readJson(req);
  return json(await addIotCaCertificate({ certificate: body.certificate, description: body.description }, { actor: caller.admin.username }), 201);
});
