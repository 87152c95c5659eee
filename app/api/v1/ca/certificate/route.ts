import { route } from "@/app/_server/http.ts";
import { caCertificateDer, getPublicCaCertificate } from "@/lib/ca/get-server.ts";
import { AppError } from "@/lib/errors/app-error.ts";

/** GET /api/v1/ca/certificate?format=pem|der — the CA certificate file, named `<root>.cer`. */
export const GET = route(async (req) => {
  const format = new URL(req.url).searchParams.get("format") ?? "pem";
  if (format !== "pem" && format !== "der") throw new AppError("bad_request", "format must be pem or der");
  const c = await getPublicCaCertificate();
  if (format === "der") {
    return new Response(new Uint8Array(caCertificateDer(c.pem)), {
      headers: { "Content-Type": "application/pkix-cert", "Content-Disposition": `attachment; filename="${c.fileNameRoot}.der"`, "Cache-Control": "no-cache" },
    });
  }
  return new Response(c.pem, {
    headers: { "Content-Type": "application/x-pem-file", "Content-Disposition": `attachment; filename="${c.fileNameRoot}.cer"`, "Cache-Control": "no-cache" },
  });
});
