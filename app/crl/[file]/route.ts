import { route } from "@/app/_server/http.ts";
import { currentCrl } from "@/lib/ca/revoke-certificate.ts";
import { AppError } from "@/lib/errors/app-error.ts";

/** GET /crl/<file name root>.crl (DER, application/pkix-crl) and /crl/<file name root>.pem — the current CRL, public. */
export const GET = route<{ params: Promise<{ file: string }> }>(async (_req, { params }) => {
  const file = (await params).file;
  const m = /^(.+)\.(crl|pem)$/.exec(file);
  const crl = await currentCrl();
  if (!m || m[1] !== crl.fileNameRoot) throw new AppError("not_found", `No CRL named ${file.slice(0, 80)}; this CA publishes /crl/${crl.fileNameRoot}.crl and /crl/${crl.fileNameRoot}.pem`);
  const pem = m[2] === "pem";
  return new Response(pem ? crl.pem : new Uint8Array(crl.der), {
    headers: {
      "Content-Type": pem ? "application/x-pem-file" : "application/pkix-crl",
      "Content-Disposition": `attachment; filename="${crl.fileNameRoot}.${m[2]}"`,
      "Cache-Control": "no-cache",
    },
  });
});
