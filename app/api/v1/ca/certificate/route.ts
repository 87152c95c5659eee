import { route } from "@/app/_server/http.ts";
import { caCertificateDer, getPublicCaCertificate } from "@/lib/ca/get-server.ts";
import { AppError } from "@/lib/errors/app-error.ts";

/**
 * GET /api/v1/ca/certificate?format=pem|der|chain — the CA certificate file, named
 * `<root>.cer` (`<root>.der`); `chain` is `<root>_chain.pem`, the CA certificate followed
 * by its issuers up to the root (only the CA certificate for a self-signed CA).
 */
export const GET = route(async (req) => {
  const format = new URL(req.url).searchParams.get("format") ?? "pem";
  if (format !== "pem" && format !== "der" && format !== "chain") throw new AppError("bad_request", "format must be pem, der or chain");
  const c = await getPublicCaCertificate();
  if (format === "der") {
    return new Response(new Uint8Array(caCertificateDer(c.pem)), {
      headers: { "Content-Type": "application/pkix-cert", "Content-Disposition": `attachment; filename="${c.fileNameRoot}.der"`, "Cache-Control": "no-cache" },
    });
  }
  const chain = format === "chain";
  return new Response(chain ? c.pem + c.chainPem : c.pem, {
    headers: { "Content-Type": "application/x-pem-file", "Content-Disposition": `attachment; filename="${c.fileNameRoot}${chain ? "_chain.pem" : ".cer"}"`, "Cache-Control": "no-cache" },
  });
});
