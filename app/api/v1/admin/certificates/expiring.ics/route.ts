import { route, requireAdminApi } from "@/app/_server/http.ts";
import { expiryCalendar } from "@/lib/ca/expiring.ts";

/** GET /api/v1/admin/certificates/expiring.ics → the expiry dates of valid certificates (from 30 days ago on, the 5,000 soonest) as an iCalendar feed. */
export const GET = route(async (req) => {
  await requireAdminApi(req);
  return new Response(await expiryCalendar(), {
    headers: {
      "Content-Type": "text/calendar; charset=utf-8",
      "Content-Disposition": 'attachment; filename="portcullis-expiry.ics"',
      "Cache-Control": "no-store",
    },
  });
});
