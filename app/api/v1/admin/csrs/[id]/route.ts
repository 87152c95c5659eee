import { route, json, requireAdminApi } from "@/app/_server/http.ts";
import { deleteRequest } from "@/lib/ca/requests.ts";

/** DELETE /api/v1/admin/csrs/{id} — delete (reject) a pending request. */
export const DELETE = route<{ params: Promise<{ id: string }> }>(async (req, { params }) => {
  const caller = await requireAdminApi(req);
  return json(await deleteRequest((await params).id, caller.admin.username));
});
