import { route, json } from "@/app/_server/http.ts";
import { getRequest } from "@/lib/ca/requests.ts";

/** GET /api/v1/csrs/{id} — the request's status (and certificate number once issued). */
export const GET = route<{ params: Promise<{ id: string }> }>(async (_req, { params }) => {
  return json(await getRequest((await params).id));
});
