/**
 * The issuers of a CA certificate fetched from the authorityInfoAccess caIssuers URLs
 * they name (RFC 5280 4.2.2.1), up to a self-signed root: what a relying party does
 * when it lacks an intermediate, used when an intermediate CA is configured without its
 * chain. Only http(s), a short time limit and a small size limit per answer; the chain
 * found is validated by the caller exactly like one given by hand.
 */
import { declaredLength, readBoundedBody } from "../http/bounded-body.ts";
import { parseCertificate } from "../pki/certificates.ts";
import { isSelfSigned, MAX_CHAIN_CERTIFICATES } from "../pki/chain.ts";
import { x509 } from "../pki/setup.ts";

export const CA_ISSUERS_TIMEOUT_MS = 5_000;
export const CA_ISSUERS_MAX_BYTES = 64 * 1024;

/** The http(s) caIssuers URLs of a certificate's authorityInfoAccess extension. */
export function caIssuersUrls(cert: x509.X509Certificate): string[] {
  const ext = cert.getExtension("1.3.6.1.5.5.7.1.1");
  if (!ext) return [];
  try {
    const aia = new x509.AuthorityInfoAccessExtension(new Uint8Array(ext.rawData));
    return aia.caIssuers.filter((n) => n.type === "url" && /^https?:\/\//i.test(n.value)).map((n) => n.value);
  } catch {
    return [];
  }
}

async function fetchOne(url: string, timeoutMs: number): Promise<x509.X509Certificate> {
  let res: Response;
  try {
    res = await fetch(url, { redirect: "follow", signal: AbortSignal.timeout(timeoutMs), headers: { accept: "application/pkix-cert, application/x-pem-file, */*;q=0.5" } });
  } catch (e) {
    const name = (e as Error).name;
    const code = ((e as { cause?: { code?: string } }).cause?.code ?? "") || name;
    throw new Error(name === "TimeoutError" ? `no answer within ${timeoutMs / 1000} s` : `it cannot be reached (${code})`);
  }
  if (!res.ok || !res.body) {
    await res.body?.cancel().catch(() => undefined);
    throw new Error(`it answered HTTP ${res.status}`);
  }
  const tooLarge = () => new Error(`the answer is larger than ${CA_ISSUERS_MAX_BYTES / 1024} KB`);
  if (declaredLength(res.headers) > CA_ISSUERS_MAX_BYTES) {
    await res.body.cancel().catch(() => undefined);
    throw tooLarge();
  }
  const body = await readBoundedBody(res.body, CA_ISSUERS_MAX_BYTES, tooLarge);
  try {
    return parseCertificate(new Uint8Array(body), "chainPem");
  } catch (e) {
    // A PKCS#7 "certs-only" bundle is allowed by RFC 5280 but not read here.
    throw new Error(`the answer is not one X.509 certificate (${(e as Error).message})`);
  }
}

/**
 * Follows caIssuers from `cert` until a self-signed certificate (or no URL, or a
 * failure). Answers the certificates fetched, nearest first, and the URLs used; on a
 * failure, `problem` says which URL and why.
 */
export async function fetchIssuersFromAia(cert: x509.X509Certificate, opts: { timeoutMs?: number } = {}): Promise<{ issuers: x509.X509Certificate[]; urls: string[]; problem?: string }> {
  const issuers: x509.X509Certificate[] = [];
  const urls: string[] = [];
  let current = cert;
  while (!isSelfSigned(current) && issuers.length < MAX_CHAIN_CERTIFICATES) {
    const url = caIssuersUrls(current)[0];
    if (!url) break;
    urls.push(url);
    try {
      current = await fetchOne(url, opts.timeoutMs ?? CA_ISSUERS_TIMEOUT_MS);
    } catch (e) {
      return { issuers, urls, problem: `Fetching it from ${url} (named in ${current.subject}) failed: ${(e as Error).message}.` };
    }
    issuers.push(current);
  }
  return { issuers, urls };
}
