import { route, readJson, json, requireAdminApi } from "@/app/_server/http.ts";
import { AppError } from "@/lib/errors/app-error.ts";
import { setDefaultMessagingCertificate } from "@/lib/iot/messaging-certificates.ts";

/** PUT /api/v1/admin/iot/messaging-certificates/default — `{id}` → 200, the new default. */
export const PUT = route(async (req) => {
  const caller = await requireAdminApi(req);
  const body = await readJson(req);
  if (typeof body.id !== "string" || body.id === "") throw new AppError("validation_failed", "Choose the certificate to make the default (id)", { field: "id" });
  return json(await setDefaultMessagingCertificate(body.id, { actor: caller.admin.username }));
});
