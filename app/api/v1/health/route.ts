import { route, json } from "@/app/_server/http.ts";
import { getDb } from "@/lib/db/index.ts";

/** GET /api/v1/health — the process is up and its database answers. */
export const GET = route(async () => {
  const db = await getDb();
  await db.admin.count();
  return json({ status: "ok" });
});
