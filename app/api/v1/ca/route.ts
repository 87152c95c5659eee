import { route, json } from "@/app/_server/http.ts";
import { getPublicCaCertificate } from "@/lib/ca/get-server.ts";

/**
 * GET /api/v1/ca — the CA certificate and its fingerprints; `chainPem` holds the CA's
 * issuers (nearest first, root last), "" for a self-signed CA. 404 when not configured.
 */
export const GET = route(async () => {
  const c = await getPublicCaCertificate();
  return json({ subject: c.subject, pem: c.pem, sha1Fingerprint: c.sha1Fingerprint, sha256Fingerprint: c.sha256Fingerprint, notBefore: c.notBefore, notAfter: c.notAfter, chainPem: c.chainPem });
});
