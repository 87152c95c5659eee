import { route, readJson, json, requireAdminApi } from "@/app/_server/http.ts";
import { registerLocalCa } from "@/lib/iot/ca-certificates.ts";

/** POST /api/v1/admin/iot/ca-certificates/local {description?} — register this instance's CA certificate → 201. */
export const POST = route(async (req) => {
  const caller = await requireAdminApi(req);
  const hasBody = /^application\/(.+\+)?json\b/i.test(req.headers.get("content-type") ?? "") && req.headers.get("content-length") !== "0";
  const body = hasBody ? await readJson(req) : {};
  const description = typeof body.description === "string" ? body.description : undefined;
  return json(await registerLocalCa({ actor: caller.admin.username, description }), 201);
});
