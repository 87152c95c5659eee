import { route, json, readJson, requireAdminApi } from "@/app/_server/http.ts";
import { lockCa, unlockCaForCrlSigning } from "@/lib/ca/ca-key-holder.ts";

/**
 * POST /api/v1/admin/ca/unlock {caKeyPassword} → 200 {unlocked: true, until: "restart"}: keeps the CA key in this
 * process's memory so the CRL is re-signed on schedule (PORTCULLIS_CA_KEEP_UNLOCKED=true; otherwise 409).
 */
export const POST = route(async (req) => {
  const caller = await requireAdminApi(req);
  const body = await readJson(req);
  const { unlocked, until } = await unlockCaForCrlSigning(body, { actor: caller.admin.username });
  return json({ unlocked, until });
});

/** DELETE /api/v1/admin/ca/unlock → 200 {unlocked: false}: forgets the key. */
export const DELETE = route(async (req) => {
  const caller = await requireAdminApi(req);
  return json(await lockCa({ actor: caller.admin.username }));
});
