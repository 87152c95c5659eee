import { route, requireAdminApi } from "@/app/_server/http.ts";
import { exportAudit } from "@/lib/audit/audit-log.ts";

/** GET /api/v1/admin/audit/export → the whole audit log as JSON Lines, oldest first (streamed). */
export const GET = route(async (req) => {
  await requireAdminApi(req);
  const lines = exportAudit();
  const encoder = new TextEncoder();
  const body = new ReadableStream<Uint8Array>({
    async pull(controller) {
      const next = await lines.next();
      if (next.done) controller.close();
      else controller.enqueue(encoder.encode(next.value));
    },
    async cancel() {
      await lines.return(undefined);
    },
  });
  const stamp = new Date().toISOString().slice(0, 19).replace(/[:T]/g, "-");
  return new Response(body, {
    headers: {
      "Content-Type": "application/x-ndjson; charset=utf-8",
      "Content-Disposition": `attachment; filename="portcullis-audit-${stamp}.jsonl"`,
      "Cache-Control": "no-store",
    },
  });
});
