import { route, readJson, json, requireAdminApi } from "@/app/_server/http.ts";
import { AppError } from "@/lib/errors/app-error.ts";
import { generateMessagingCsr } from "@/lib/iot/messaging-certificates.ts";

/** POST /api/v1/admin/iot/messaging-certificates/csr — `{subject: {C, ST, L, O, OU, CN}, sans, keyAlgorithm, description?}` → 201 `{id, csr}`. */
export const POST = route(async (req) => {
  const caller = await requireAdminApi(req);
  const body = await readJson(req);
  const subject = body.subject;
  if (subject !== undefined && subject !== null && (typeof subject !== "object" || Array.isArray(subject))) {
    throw new AppError("validation_failed", "subject must be an object such as {\"CN\": \"mqtt.example.com\"}", { field: "subject" });
  }
  const created = await generateMessagingCsr(
    { subject: (subject ?? {}) as Record<string, string>, sans: body.sans, keyAlgorithm: body.keyAlgorithm, description: body.description },
    { actor: caller.admin.username },
  );
  return json({ id: created.id, csr: created.csr }, 201);
});
