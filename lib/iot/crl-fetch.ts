/**
 * Fetching and checking the certificate revocation list (CRL) that a device CA names
 * in its CRL distribution points: http/https only, a time limit for the whole fetch,
 * a size cap enforced while the body streams in, redirects followed by hand (few, and
 * only to http/https), then parsed (DER or PEM), its signature checked against the CA
 * certificate, and its dates against the clock.
 */
import { AppError } from "../errors/app-error.ts";
import { readBoundedBody } from "../http/bounded-body.ts";
import { toBuffer } from "../pki/bytes.ts";
import { derChildren, derOid, readDer, type DerElement } from "../pki/csr.ts";
import { derToPem, looksLikePem, pemToDer } from "../pki/pem.ts";
import { x509 } from "../pki/setup.ts";

export const CRL_FETCH_TIMEOUT_MS = 5_000;
export const CRL_MAX_BYTES = 1024 * 1024;
export const CRL_MAX_REDIRECTS = 3;
/** A CRL issued on a machine whose clock runs slightly ahead is still accepted. */
const CLOCK_SKEW_MS = 5 * 60 * 1000;

export type FetchLike = (input: string | URL, init?: RequestInit) => Promise<Response>;

export interface FetchCrlOptions {
  now?: Date;
  /** Replaces the global fetch (tests). */
  fetch?: FetchLike;
  timeoutMs?: number;
  maxBytes?: number;
  /** The field of the AppErrors thrown; "certificate" by default, since the CRL is the certificate's. */
  field?: string;
}

export interface VerifiedCrl {
  /** The URL the certificate names (before any redirect). */
  url: string;
  /** The URL the CRL was finally read from. */
  finalUrl: string;
  crl: x509.X509Crl;
  der: Buffer;
  pem: string;
  issuer: string;
  thisUpdate: Date;
  nextUpdate: Date | null;
  revokedCount: number;
}

/** True for an absolute http: or https: URL. */
export function isHttpUrl(value: string): boolean {
  try {
    const u = new URL(value);
    return u.protocol === "http:" || u.protocol === "https:";
  } catch {
    return false;
  }
}

/**
 * Fetches the CRL at `url` and checks it was signed by `ca` and is current. Every failure
 * is an AppError("validation_failed") naming the URL and the reason, e.g. "The CRL at
 * http://… could not be fetched: connection refused".
 */
export async function fetchVerifiedCrl(url: string, ca: x509.X509Certificate, opts: FetchCrlOptions = {}): Promise<VerifiedCrl> {
  const fetched = await fetchCrlBytes(url, opts);
  const field = opts.field ?? "certificate";
  const fail = (reason: string) => new AppError("validation_failed", `The CRL at ${url} ${reason}`, { field });
  const crl = parseCrl(fetched.body, url, field);
  await verifyCrl(crl, ca, url, { now: opts.now, field });
  const der = toBuffer(crl.rawData);
  let revokedCount: number;
  try {
    revokedCount = crl.entries.length;
  } catch {
    throw fail("could not be read: its list of revoked certificates is malformed");
  }
  return {
    url,
    finalUrl: fetched.finalUrl,
    crl,
    der,
    pem: derToPem(der, "X509 CRL"),
    issuer: crl.issuer,
    thisUpdate: crl.thisUpdate,
    nextUpdate: crl.nextUpdate ?? null,
    revokedCount,
  };
}

/** The body of the CRL at `url`, with redirects followed by hand. */
export async function fetchCrlBytes(url: string, opts: FetchCrlOptions = {}): Promise<{ body: Buffer; finalUrl: string }> {
  const field = opts.field ?? "certificate";
  const timeoutMs = opts.timeoutMs ?? CRL_FETCH_TIMEOUT_MS;
  const maxBytes = opts.maxBytes ?? CRL_MAX_BYTES;
  const doFetch: FetchLike = opts.fetch ?? fetch;
  const cannot = (reason: string) => new AppError("validation_failed", `The CRL at ${url} could not be fetched: ${reason}`, { field });

  if (!isHttpUrl(url)) throw new AppError("validation_failed", `The CRL distribution point ${url} is not an http or https URL`, { field });
  // One deadline for everything: connecting, every redirect and reading the body.
  const controller = new AbortController();
  const timer = setTimeout(() => controller.abort(new TimeoutError()), timeoutMs);
  const seconds = timeoutMs % 1000 === 0 ? `${timeoutMs / 1000} seconds` : `${timeoutMs} ms`;
  try {
    let current = url;
    for (let redirects = 0; ; redirects++) {
      let res: Response;
      try {
        res = await doFetch(current, {
          method: "GET",
          redirect: "manual",
          signal: controller.signal,
          headers: { Accept: "application/pkix-crl, application/x-pkcs7-crl, */*;q=0.5", "User-Agent": "Portcullis CRL fetch" },
          cache: "no-store",
        });
      } catch (e) {
        throw cannot(controller.signal.aborted ? `no answer within ${seconds}` : networkReason(e));
      }
      if (res.status >= 300 && res.status < 400 && res.status !== 304) {
        await res.body?.cancel().catch(() => undefined);
        const location = res.headers.get("location");
        if (!location) throw cannot(`HTTP ${res.status} redirect without a Location header`);
        let next: URL;
        try {
          next = new URL(location, current);
        } catch {
          throw cannot(`it redirects to "${location.slice(0, 200)}", which is not a URL`);
        }
        if (next.protocol !== "http:" && next.protocol !== "https:") {
          throw cannot(`it redirects to ${next.href.slice(0, 200)}, which is not an http or https URL`);
        }
        if (redirects >= CRL_MAX_REDIRECTS) throw cannot(`more than ${CRL_MAX_REDIRECTS} redirects`);
        current = next.href;
        continue;
      }
      if (res.status !== 200) {
        await res.body?.cancel().catch(() => undefined);
        throw cannot(`the server answered HTTP ${res.status}${res.statusText ? ` ${res.statusText}` : ""}`);
      }
      const tooLarge = () => cannot(`it is larger than ${formatBytes(maxBytes)}`);
      const declared = Number(res.headers.get("content-length") ?? "0");
      if (declared > maxBytes) {
        await res.body?.cancel().catch(() => undefined);
        throw tooLarge();
      }
      if (!res.body) throw cannot("the answer has no body");
      let body: Buffer;
      try {
        body = await readBoundedBody(res.body, maxBytes, tooLarge);
      } catch (e) {
        if (e instanceof AppError) throw e;
        throw cannot(controller.signal.aborted ? `no answer within ${seconds}` : networkReason(e));
      }
      if (body.length === 0) throw cannot("the answer is empty");
      return { body, finalUrl: current };
    }
  } finally {
    clearTimeout(timer);
  }
}

class TimeoutError extends Error {
  constructor() {
    super("timeout");
    this.name = "TimeoutError";
  }
}

const NETWORK_REASONS: Record<string, string> = {
  ECONNREFUSED: "connection refused",
  ECONNRESET: "the connection was reset",
  ENOTFOUND: "host not found",
  EAI_AGAIN: "host name lookup failed",
  EHOSTUNREACH: "host unreachable",
  ENETUNREACH: "network unreachable",
  ETIMEDOUT: "the connection timed out",
  UND_ERR_CONNECT_TIMEOUT: "the connection timed out",
  UND_ERR_SOCKET: "the connection was closed",
  UND_ERR_HEADERS_TIMEOUT: "no answer in time",
  UND_ERR_BODY_TIMEOUT: "the answer stopped arriving",
  CERT_HAS_EXPIRED: "the server's TLS certificate has expired",
  DEPTH_ZERO_SELF_SIGNED_CERT: "the server's TLS certificate is self-signed",
  SELF_SIGNED_CERT_IN_CHAIN: "the server's TLS certificate is not trusted (self-signed in chain)",
  UNABLE_TO_VERIFY_LEAF_SIGNATURE: "the server's TLS certificate is not trusted",
  ERR_TLS_CERT_ALTNAME_INVALID: "the server's TLS certificate does not match its host name",
};

/** A short reason for a failed fetch, from the error undici throws (TypeError "fetch failed" with a cause). */
function networkReason(e: unknown): string {
  let err: unknown = e;
  for (let depth = 0; err && depth < 5; depth++) {
    const code = (err as { code?: unknown }).code;
    if (typeof code === "string" && NETWORK_REASONS[code]) return NETWORK_REASONS[code];
    const cause = (err as { cause?: unknown }).cause;
    if (!cause) break;
    err = cause;
  }
  const code = (err as { code?: unknown })?.code;
  const message = err instanceof Error ? err.message : String(err);
  return typeof code === "string" ? `${code} (${message.slice(0, 200)})` : message.slice(0, 200) || "network error";
}

function formatBytes(n: number): string {
  if (n % (1024 * 1024) === 0) return `${n / (1024 * 1024)} MB`;
  if (n % 1024 === 0) return `${n / 1024} KB`;
  return `${n} bytes`;
}

/**
 * A CRL from DER bytes or PEM text ("X509 CRL" block). Throws validation_failed naming
 * `url` (or "the CRL") when it is neither.
 */
export function parseCrl(input: string | Uint8Array, url?: string, field = "certificate"): x509.X509Crl {
  const where = url ? `The CRL at ${url}` : "The CRL";
  const notACrl = () => new AppError("validation_failed", `${where} is not a certificate revocation list (DER or PEM)`, { field });
  let der: Buffer;
  const head = typeof input === "string" ? input : toBuffer(input).subarray(0, 64 * 1024).toString("latin1");
  if (looksLikePem(head)) {
    const text = typeof input === "string" ? input : toBuffer(input).toString("latin1");
    try {
      der = pemToDer(text, "X509 CRL");
    } catch {
      throw notACrl();
    }
  } else if (typeof input === "string") {
    throw notACrl();
  } else {
    der = toBuffer(input);
  }
  try {
    if (!isCertificateList(der)) throw notACrl();
    const crl = new x509.X509Crl(new Uint8Array(der));
    // Touch what the checks read so that malformed parts fail here.
    const touch = [crl.issuer, crl.thisUpdate, crl.signature, crl.signatureAlgorithm];
    if (touch.some((v) => v === undefined) || Number.isNaN(crl.thisUpdate.getTime())) throw notACrl();
    return crl;
  } catch (e) {
    if (e instanceof AppError) throw e;
    throw notACrl();
  }
}

const CRL_EXTENSION_VALUE_TAGS: Record<string, number> = {
  "2.5.29.20": 0x02, // cRLNumber
  "2.5.29.27": 0x02, // deltaCRLIndicator
  "2.5.29.21": 0x0a, // reasonCode
  "2.5.29.24": 0x18, // invalidityDate
  "2.5.29.35": 0x30, // authorityKeyIdentifier
  "2.5.29.28": 0x30, // issuingDistributionPoint
  "2.5.29.29": 0x30, // certificateIssuer
  "2.5.29.46": 0x30, // freshestCRL
  "2.5.29.18": 0x30, // issuerAltName
};

/**
 * The bytes are one DER CertificateList laid out as RFC 5280 5.1 has it — nothing missing,
 * extra or out of place, times of the right form, and the extensions OpenSSL decodes when
 * it loads a CRL well-formed. @peculiar/x509 reads past such defects; OpenSSL refuses them,
 * and a CRL the relying parties cannot load is no CRL.
 */
/** A UTF8String's content must be valid UTF-8: OpenSSL refuses the CRL otherwise. */
function validUtf8(bytes: Buffer): boolean {
  try {
    new TextDecoder("utf-8", { fatal: true }).decode(bytes);
    return true;
  } catch {
    return false;
  }
}

function isCertificateList(der: Buffer): boolean {
  const is = (el: DerElement | undefined, tag: number): el is DerElement => el !== undefined && el.tag === tag;
  // An INTEGER in as few octets as it takes (no leading 00 or FF padding), as DER and OpenSSL demand.
  const isInteger = (el: DerElement | undefined): el is DerElement => {
    if (!is(el, 0x02) && !is(el, 0x0a)) return false;
    const c = el.content;
    return c.length > 0 && !(c.length > 1 && ((c[0] === 0x00 && (c[1] & 0x80) === 0) || (c[0] === 0xff && (c[1] & 0x80) !== 0)));
  };
  const isTime = (el: DerElement | undefined): el is DerElement =>
    el !== undefined && ((el.tag === 0x17 && /^\d{12}Z$/.test(el.content.toString("latin1"))) || (el.tag === 0x18 && /^\d{14}Z$/.test(el.content.toString("latin1"))));
  const extensionsOk = (list: DerElement): boolean =>
    is(list, 0x30) &&
    derChildren(list).every((ext) => {
      if (!is(ext, 0x30)) return false;
      const parts = derChildren(ext);
      const [oid, second, third, ...more] = parts;
      if (!is(oid, 0x06) || more.length) return false;
      const dotted = derOid(oid);
      const critical = is(second, 0x01) && second.content.length === 1 ? second : undefined;
      const value = critical ? third : second;
      if (!is(value, 0x04) || (critical === undefined && third !== undefined)) return false;
      const expected = CRL_EXTENSION_VALUE_TAGS[dotted];
      if (expected === undefined) return true;
      const inner = readDer(value.content);
      if (inner.tag !== expected) return false;
      if (expected === 0x30) derChildren(inner); // throws when its elements are malformed
      return (expected !== 0x02 && expected !== 0x0a) || isInteger(inner);
    });
  const nameOk = (name: DerElement): boolean =>
    is(name, 0x30) &&
    derChildren(name).every((rdn) => {
      if (!is(rdn, 0x31)) return false;
      const avas = derChildren(rdn);
      return (
        avas.length > 0 &&
        avas.every((ava) => {
          if (!is(ava, 0x30)) return false;
          const parts = derChildren(ava);
          derOid(parts[0]); // throws unless it is an OBJECT IDENTIFIER
          return parts.length === 2 && (parts[1].tag !== 0x0c || validUtf8(parts[1].content));
        })
      );
    });
  try {
    const top = readDer(der);
    if (!is(top, 0x30)) return false;
    const [tbs, alg, sig, ...rest] = derChildren(top);
    if (!is(tbs, 0x30) || !is(alg, 0x30) || !is(sig, 0x03) || rest.length || sig.content[0] !== 0) return false;
    const f = derChildren(tbs);
    let i = 0;
    if (is(f[i], 0x02)) {
      if (!f[i].content.equals(Buffer.from([1]))) return false;
      i++;
    }
    if (!is(f[i], 0x30) || !f[i].bytes.equals(alg.bytes)) return false;
    i++;
    if (!nameOk(f[i++]) || !isTime(f[i++])) return false;
    if (isTime(f[i])) i++;
    if (is(f[i], 0x30)) {
      const entriesOk = derChildren(f[i++]).every((entry) => {
        if (!is(entry, 0x30)) return false;
        const [serial, date, exts, ...more] = derChildren(entry);
        return is(serial, 0x02) && isInteger(serial) && isTime(date) && !more.length && (exts === undefined || extensionsOk(exts));
      });
      if (!entriesOk) return false;
    }
    if (is(f[i], 0xa0)) {
      const inner = derChildren(f[i++]);
      if (inner.length !== 1 || !extensionsOk(inner[0])) return false;
    }
    return i === f.length;
  } catch {
    return false;
  }
}

/**
 * Checks that `crl` was issued and signed by `ca` and is current at `now`
 * (thisUpdate ≤ now, allowing five minutes of clock skew, and now < nextUpdate when it
 * has one). Throws validation_failed with the reason.
 */
export async function verifyCrl(crl: x509.X509Crl, ca: x509.X509Certificate, url: string | undefined, opts: { now?: Date; field?: string } = {}): Promise<void> {
  const field = opts.field ?? "certificate";
  const where = url ? `The CRL at ${url}` : "The CRL";
  const fail = (reason: string) => new AppError("validation_failed", `${where} ${reason}`, { field });
  if (!sameName(crl.issuer, ca.subject)) {
    throw fail(`is not signed by this certificate: it was issued by "${crl.issuer}", not "${ca.subject}"`);
  }
  let ok = false;
  try {
    ok = await crl.verify({ publicKey: ca });
  } catch {
    ok = false;
  }
  if (!ok) throw fail("is not signed by this certificate: its signature does not verify with this certificate's public key");
  const now = (opts.now ?? new Date()).getTime();
  if (crl.thisUpdate.getTime() - CLOCK_SKEW_MS > now) {
    throw fail(`is not yet valid: its thisUpdate is ${crl.thisUpdate.toISOString()}`);
  }
  const next = crl.nextUpdate;
  if (next && next.getTime() <= now) throw fail(`is stale: its nextUpdate was ${next.toISOString()}`);
}

/** Distinguished names as @peculiar/x509 prints them, compared without regard to case or spacing. */
export function sameName(a: string, b: string): boolean {
  const norm = (s: string) => s.replace(/\s*([,+=])\s*/g, "$1").replace(/\s+/g, " ").trim().toLowerCase();
  return a === b || norm(a) === norm(b);
}
