import { route, readJson, json } from "@/app/_server/http.ts";
import { clientIp } from "@/app/_server/origin.ts";
import { authenticate } from "@/lib/auth/authenticate.ts";
import { RateLimiter } from "@/lib/auth/rate-limit.ts";
import { submitRequest } from "@/lib/ca/requests.ts";
import { env } from "@/lib/env.ts";

const limiter = new RateLimiter(Number(process.env.PORTCULLIS_CSR_RATE_LIMIT ?? 30), 10 * 60_000);

/** POST /api/v1/csrs — anyone submits a CSR; anonymous callers are rate limited per address. */
export const POST = route(async (req) => {
  const ip = clientIp(req.headers);
  const auth = req.headers.get("authorization");
  const admin = auth ? await authenticate({ authorization: auth }) : null;
  if (!admin) limiter.hit(ip ?? "unknown");
  const body = await readJson(req);
  const r = await submitRequest(body, { ip, portalUrl: env().PORTCULLIS_PUBLIC_URL ?? new URL(req.url).origin });
  return json({ id: r.id, status: r.status, sha1Fingerprint: r.sha1Fingerprint, sha256Fingerprint: r.sha256Fingerprint }, 201);
});
