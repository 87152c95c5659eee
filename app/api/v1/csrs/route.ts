import { route, readJson, json } from "@/app/_server/http.ts";
import { limitCsrSubmission } from "@/app/_server/csr-rate-limit.ts";
import { submitRequest } from "@/lib/ca/requests.ts";
import { env } from "@/lib/env.ts";

/** POST /api/v1/csrs — anyone submits a CSR; anonymous callers are rate limited per address. */
export const POST = route(async (req) => {
  const ip = await limitCsrSubmission(req);
  const body = await readJson(req);
  const r = await submitRequest(body, { ip, portalUrl: env().PORTCULLIS_PUBLIC_URL ?? new URL(req.url).origin });
  return json({ id: r.id, status: r.status, sha1Fingerprint: r.sha1Fingerprint, sha256Fingerprint: r.sha256Fingerprint }, 201);
});
