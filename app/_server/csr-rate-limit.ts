/**
 * One limit for every public submission of a CSR (new requests and renewals), per
 * client address; administrators are not limited. Kept on globalThis so every route
 * bundle of the process counts against the same window.
 */
import { clientIp } from "@/app/_server/origin.ts";
import { authenticate } from "@/lib/auth/authenticate.ts";
import { RateLimiter } from "@/lib/auth/rate-limit.ts";

const KEY = Symbol.for("portcullis.csrRateLimiter");

function limiter(): RateLimiter {
  const g = globalThis as unknown as Record<symbol, RateLimiter | undefined>;
  return (g[KEY] ??= new RateLimiter(Number(process.env.PORTCULLIS_CSR_RATE_LIMIT ?? 30), 10 * 60_000));
}

/** Counts the submission of an anonymous caller (throws 429 over the limit); returns the client's address. */
export async function limitCsrSubmission(req: Request): Promise<string | null> {
  const ip = clientIp(req.headers);
  const auth = req.headers.get("authorization");
  const admin = auth ? await authenticate({ authorization: auth }) : null;
  if (!admin) limiter().hit(ip ?? "unknown");
  return ip;
}
