import { route, json } from "@/app/_server/http.ts";
import { searchCertificates } from "@/lib/ca/certificates.ts";

/** GET /api/v1/certificates?serial=&number=&hostname=&instance=&filename=&cursor= */
export const GET = route(async (req) => {
  const p = new URL(req.url).searchParams;
  return json(await searchCertificates({ serial: p.get("serial"), number: p.get("number"), hostname: p.get("hostname"), instance: p.get("instance"), filename: p.get("filename"), cursor: p.get("cursor"), take: p.get("limit") ? Number(p.get("limit")) : undefined }));
});
