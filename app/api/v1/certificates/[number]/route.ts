import { route } from "@/app/_server/http.ts";
import { certificateFile } from "@/lib/ca/certificates.ts";
import { AppError } from "@/lib/errors/app-error.ts";

/** GET /api/v1/certificates/{number}?format=pem|der|chain — the certificate file. */
export const GET = route<{ params: Promise<{ number: string }> }>(async (req, { params }) => {
  const raw = (await params).number;
  if (!/^\d{1,9}$/.test(raw)) throw new AppError("not_found", `No certificate number ${raw.slice(0, 20)}`);
  const f = await certificateFile(Number(raw), new URL(req.url).searchParams.get("format") ?? "pem");
  return new Response(typeof f.body === "string" ? f.body : new Uint8Array(f.body), {
    headers: { "Content-Type": f.contentType, "Content-Disposition": `attachment; filename="${f.filename}"`, "Cache-Control": "no-cache" },
  });
});
