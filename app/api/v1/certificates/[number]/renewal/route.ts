import { route, readJson, json } from "@/app/_server/http.ts";
import { limitCsrSubmission } from "@/app/_server/csr-rate-limit.ts";
import { submitRequest } from "@/lib/ca/requests.ts";
import { AppError } from "@/lib/errors/app-error.ts";
import { env } from "@/lib/env.ts";

/**
 * POST /api/v1/certificates/{number}/renewal {csr, contact, hostname?, instance?, filename?}
 * → 201 {id, status: "pending", renewalOf, sha1Fingerprint}. Public like any submission:
 * the administrator verifies before issuing. The CSR's common name must be the original's.
 */
export const POST = route<{ params: Promise<{ number: string }> }>(async (req, { params }) => {
  const raw = (await params).number;
  if (!/^\d{1,9}$/.test(raw)) throw new AppError("not_found", `No certificate number ${raw.slice(0, 20)}`);
  const ip = await limitCsrSubmission(req);
  const body = await readJson(req);
  const r = await submitRequest(body, { ip, portalUrl: env().PORTCULLIS_PUBLIC_URL ?? new URL(req.url).origin, renewalOf: Number(raw) });
  return json({ id: r.id, status: r.status, renewalOf: r.renewalOf, sha1Fingerprint: r.sha1Fingerprint, sha256Fingerprint: r.sha256Fingerprint }, 201);
});
