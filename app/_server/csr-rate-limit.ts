/**
 * One limit for every public submission of a CSR (new requests and renewals), per
 * client address; administrators are not limited. The counts are in the database
 * (lib/auth/shared-rate-limit.ts): every instance sharing it counts against one window.
 */
import { clientIp } from "@/app/_server/origin.ts";
import { authenticate } from "@/lib/auth/authenticate.ts";
import { hitSharedLimit } from "@/lib/auth/shared-rate-limit.ts";

export const CSR_RATE_WINDOW_MS = 10 * 60_000;

/** Anonymous CSR submissions allowed per client address and window. */
export function csrRateLimit(): number {
  return Number(process.env.PORTCULLIS_CSR_RATE_LIMIT ?? 30);
}

/** Counts the submission of an anonymous caller (throws 429 over the limit); returns the client's address. */
export async function limitCsrSubmission(req: Request): Promise<string | null> {
  const ip = clientIp(req.headers);
  const auth = req.headers.get("authorization");
  const admin = auth ? await authenticate({ authorization: auth }) : null;
  if (!admin) await hitSharedLimit("csr-api", ip ?? "unknown", csrRateLimit(), CSR_RATE_WINDOW_MS);
  return ip;
}
