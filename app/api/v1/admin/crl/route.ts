import { route, json, readJson, requireAdminApi } from "@/app/_server/http.ts";
import { getCrlStatus, resignCrl, setCrlNextUpdateDays } from "@/lib/ca/crl-signing.ts";
import { caUnlockStatus } from "@/lib/ca/ca-key-holder.ts";

/** GET /api/v1/admin/crl → the current CRL {fileNameRoot, current: {crlNumber, thisUpdate, nextUpdate, entries, state} | null, nextUpdateDays, reminderHours, keepUnlocked}. */
export const GET = route(async (req) => {
  await requireAdminApi(req);
  const s = await getCrlStatus();
  const { enabled, unlocked } = caUnlockStatus();
  return json({ ...s, keepUnlocked: { enabled, unlocked } });
});

/** POST /api/v1/admin/crl {caKeyPassword} → 200 {crlNumber, thisUpdate, nextUpdate}: signs a new CRL now. */
export const POST = route(async (req) => {
  const caller = await requireAdminApi(req);
  const body = await readJson(req);
  const { crlNumber, thisUpdate, nextUpdate } = await resignCrl(body, { actor: caller.admin.username });
  return json({ crlNumber, thisUpdate, nextUpdate });
});

/** PATCH /api/v1/admin/crl {crlNextUpdateDays} (1–10) → 200 {crlNextUpdateDays}: the period of the CRLs signed from now on. */
export const PATCH = route(async (req) => {
  await requireAdminApi(req);
  const body = await readJson(req);
  return json(await setCrlNextUpdateDays(body));
});
