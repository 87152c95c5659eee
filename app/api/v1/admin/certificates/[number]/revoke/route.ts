import { route, json, readJson, requireAdminApi } from "@/app/_server/http.ts";
import { revokeCertificate } from "@/lib/ca/revoke-certificate.ts";
import { AppError } from "@/lib/errors/app-error.ts";

/** POST /api/v1/admin/certificates/{number}/revoke {reason, caKeyPassword} → 200 {number, revokedAt, reason} */
export const POST = route<{ params: Promise<{ number: string }> }>(async (req, { params }) => {
  const caller = await requireAdminApi(req);
  const raw = (await params).number;
  if (!/^\d{1,9}$/.test(raw)) throw new AppError("not_found", `No certificate number ${raw.slice(0, 20)}`);
  const body = await readJson(req);
  return json(await revokeCertificate(Number(raw), body, { actor: caller.admin.username }));
});
