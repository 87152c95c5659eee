import { route, requireAdminApi } from "@/app/_server/http.ts";
import { readClientFile } from "@/lib/client/client-files.ts";

/**
 * GET /api/v1/client/files/{name} — a certificate (`<root>.cer`) or CSR (`<root>.csr`)
 * saved by the CA client, offered to the administrator's browser. Never a key.
 */
export const GET = route<{ params: Promise<{ name: string }> }>(async (req, { params }) => {
  await requireAdminApi(req);
  const name = (await params).name;
  const f = await readClientFile(name);
  return new Response(new Uint8Array(f.body), {
    headers: {
      "Content-Type": f.kind === "cer" ? "application/x-pem-file" : "application/pkcs10",
      "Content-Disposition": `attachment; filename="${name}"`,
      "Cache-Control": "no-store",
      "X-Content-Type-Options": "nosniff",
    },
  });
});
