/**
 * A small HTTP client for another Portcullis's JSON API (the CA server's web service,
 * as IRIS's CA client calls PKI.CAServer). Global fetch with a time limit and a cap on
 * the size of every answer; every failure becomes a RemoteCaError whose message says
 * what went wrong in words a technical contact can act on:
 * - nothing listens / the name does not resolve / no answer in time,
 * - TLS failed (untrusted certificate, TLS spoken to a plain HTTP port, …),
 * - something answered that is not a Portcullis CA (HTML, a redirect, odd JSON),
 * - the CA server refused the call: its own `{error:{code,message,fields}}`, passed through.
 */
import { isIPv6 } from "node:net";
import { AppError, type AppErrorCode, type FieldErrors } from "../errors/app-error.ts";
import { declaredLength, readBoundedBody } from "../http/bounded-body.ts";

export const DEFAULT_TIMEOUT_MS = 10_000;
/** Largest answer read (a page of 200 certificates is about 150 KB). */
export const MAX_RESPONSE_BYTES = 2 * 1024 * 1024;

/** Where the CA server's API lives. */
export interface ServerLocation {
  host: string;
  port: number;
  /** Starts with "/", no trailing "/" (e.g. "/api/v1"). */
  path: string;
  useTls: boolean;
}

export interface CallOptions {
  timeoutMs?: number;
  maxBytes?: number;
}

export type RemoteFailure = "unreachable" | "timeout" | "tls" | "not_portcullis" | "too_large" | "refused";

const KNOWN_CODES = new Set<AppErrorCode>([
  "bad_request",
  "validation_failed",
  "unauthorized",
  "forbidden",
  "not_found",
  "conflict",
  "too_many_requests",
  "payload_too_large",
  "unsupported_media_type",
  "not_configured",
]);

/**
 * A failure talking to the CA server. `reason` says which kind; for "refused" the
 * server's own code, message and field errors are kept (`remoteStatus`, `remoteFields`).
 * Network-level failures answer 502 when they reach an HTTP caller of this instance.
 */
export class RemoteCaError extends AppError {
  readonly reason: RemoteFailure;
  readonly remoteStatus?: number;
  readonly remoteFields?: FieldErrors;

  constructor(reason: RemoteFailure, code: AppErrorCode, message: string, opts: { remoteStatus?: number; remoteFields?: FieldErrors; cause?: unknown; retryAfterSeconds?: number } = {}) {
    super(code, message, { cause: opts.cause, retryAfterSeconds: opts.retryAfterSeconds });
    this.name = "RemoteCaError";
    this.reason = reason;
    this.remoteStatus = opts.remoteStatus;
    this.remoteFields = opts.remoteFields;
  }
}

/** The host as a URL wants it: IPv6 addresses in brackets. */
export function urlHost(host: string): string {
  return isIPv6(host) ? `[${host}]` : host;
}

/** `http(s)://host:port/path` of the CA server's API. */
export function serverBaseUrl(loc: ServerLocation): string {
  const path = loc.path === "/" ? "" : loc.path.replace(/\/+$/, "");
  return `${loc.useTls ? "https" : "http"}://${urlHost(loc.host)}:${loc.port}${path}`;
}

/** "127.0.0.1:3107" — how messages name the server. */
function serverName(loc: ServerLocation): string {
  return `${urlHost(loc.host)}:${loc.port}`;
}

const UNREACHABLE: Record<string, string> = {
  ECONNREFUSED: "the connection was refused (nothing is listening on that port)",
  ECONNRESET: "the connection was reset",
  EHOSTUNREACH: "the host is unreachable",
  ENETUNREACH: "the network is unreachable",
  EHOSTDOWN: "the host is down",
  EPIPE: "the connection was closed",
  EADDRNOTAVAIL: "the address is not available",
  UND_ERR_SOCKET: "the connection was closed unexpectedly",
  UND_ERR_CLOSED: "the connection was closed unexpectedly",
};

const DNS = new Set(["ENOTFOUND", "EAI_AGAIN", "EAI_NONAME", "EAI_FAIL", "EAI_NODATA"]);
const TIMEOUT = new Set(["UND_ERR_CONNECT_TIMEOUT", "UND_ERR_HEADERS_TIMEOUT", "UND_ERR_BODY_TIMEOUT", "ETIMEDOUT"]);

const TLS_HINTS: Record<string, string> = {
  DEPTH_ZERO_SELF_SIGNED_CERT: "its certificate is self-signed and not trusted here",
  SELF_SIGNED_CERT_IN_CHAIN: "its certificate chains to a CA that is not trusted here",
  UNABLE_TO_GET_ISSUER_CERT_LOCALLY: "its certificate was issued by a CA that is not trusted here",
  UNABLE_TO_VERIFY_LEAF_SIGNATURE: "its certificate cannot be verified against a trusted CA",
  CERT_HAS_EXPIRED: "its certificate has expired",
  CERT_NOT_YET_VALID: "its certificate is not valid yet",
  ERR_TLS_CERT_ALTNAME_INVALID: "its certificate does not name this host",
  ERR_SSL_WRONG_VERSION_NUMBER: "it does not speak TLS on that port (turn TLS off, or use its HTTPS port)",
};

function errorChain(e: unknown): { code?: string; message: string; name?: string }[] {
  const out: { code?: string; message: string; name?: string }[] = [];
  let cur: unknown = e;
  for (let i = 0; i < 6 && cur; i++) {
    const err = cur as { code?: unknown; message?: unknown; name?: unknown; cause?: unknown; errors?: unknown };
    out.push({ code: typeof err.code === "string" ? err.code : undefined, message: typeof err.message === "string" ? err.message : String(cur), name: typeof err.name === "string" ? err.name : undefined });
    // AggregateError (several addresses tried): look at the first.
    cur = err.cause ?? (Array.isArray(err.errors) ? err.errors[0] : undefined);
  }
  return out;
}

/** Turns what fetch threw into a RemoteCaError that says what happened. */
export function networkError(e: unknown, loc: ServerLocation, timeoutMs: number): RemoteCaError {
  const where = `the Certificate Authority server at ${serverBaseUrl(loc)}`;
  const chain = errorChain(e);
  if (chain.some((c) => c.name === "TimeoutError" || (c.code && TIMEOUT.has(c.code)))) {
    return new RemoteCaError("timeout", "upstream_failed", `No answer from ${where} within ${Math.round(timeoutMs / 1000)} seconds. Check that it is running and that the host name and port are right.`, { cause: e });
  }
  for (const c of chain) {
    if (!c.code) continue;
    if (DNS.has(c.code)) {
      return new RemoteCaError("unreachable", "upstream_failed", `Cannot reach ${where}: the host name ${loc.host} cannot be resolved (${c.code}). Check the Certificate Authority server hostname in the client configuration.`, { cause: e });
    }
    if (UNREACHABLE[c.code]) {
      return new RemoteCaError("unreachable", "upstream_failed", `Cannot reach ${where}: ${UNREACHABLE[c.code]} (${c.code}). Check that it is running and that the host name and port are right.`, { cause: e });
    }
    if (TLS_HINTS[c.code] || /^(ERR_TLS_|ERR_SSL_|CERT_|UNABLE_TO_)/.test(c.code) || /ssl|tls/i.test(c.message)) {
      const hint = TLS_HINTS[c.code] ?? c.message;
      const trust = /TRUST|SELF_SIGNED|ISSUER|VERIFY/.test(c.code) ? " To trust a private CA, start Portcullis with NODE_EXTRA_CA_CERTS pointing at its certificate." : "";
      return new RemoteCaError("tls", "upstream_failed", `The TLS connection to ${where} failed: ${hint} (${c.code}).${trust}`, { cause: e });
    }
  }
  const eproto = chain.find((c) => c.code === "EPROTO" || /wrong version number|packet length too long/i.test(c.message));
  if (eproto) {
    return new RemoteCaError("tls", "upstream_failed", `The TLS connection to ${where} failed: it does not speak TLS on port ${loc.port} (turn TLS off, or use its HTTPS port).`, { cause: e });
  }
  const last = chain[chain.length - 1];
  return new RemoteCaError("unreachable", "upstream_failed", `Cannot reach ${where}: ${last?.code ? `${last.code}, ` : ""}${last?.message ?? "unknown error"}`, { cause: e });
}

async function readLimited(res: Response, maxBytes: number, loc: ServerLocation): Promise<Buffer> {
  const tooLarge = () => new RemoteCaError("too_large", "upstream_failed", `The answer of the server at ${serverName(loc)} is larger than ${Math.round(maxBytes / 1024)} KB; it is not a Portcullis CA, or the request asked for too much.`);
  if (declaredLength(res.headers) > maxBytes) {
    await res.body?.cancel().catch(() => undefined);
    throw tooLarge();
  }
  if (!res.body) return Buffer.alloc(0);
  return readBoundedBody(res.body, maxBytes, tooLarge);
}

function mediaType(res: Response): string {
  return (res.headers.get("content-type") ?? "").split(";")[0].trim().toLowerCase() || "no content type";
}

function notPortcullis(loc: ServerLocation, res: Response, detail?: string): RemoteCaError {
  return new RemoteCaError(
    "not_portcullis",
    "upstream_failed",
    `The server at ${serverName(loc)} did not answer like a Portcullis CA (HTTP ${res.status}, ${mediaType(res)})${detail ? `: ${detail}` : ""}. Check the port and the path (${loc.path}) in the client configuration.`,
  );
}

function isErrorEnvelope(x: unknown): x is { error: { code: string; message: string; fields?: Record<string, unknown> } } {
  const err = (x as { error?: unknown } | null)?.error as { code?: unknown; message?: unknown } | undefined;
  return !!err && typeof err === "object" && typeof err.code === "string" && typeof err.message === "string";
}

function refused(loc: ServerLocation, res: Response, body: { error: { code: string; message: string; fields?: Record<string, unknown> } }): RemoteCaError {
  const fields: FieldErrors = {};
  if (body.error.fields && typeof body.error.fields === "object") {
    for (const [k, v] of Object.entries(body.error.fields)) if (typeof v === "string") fields[k.slice(0, 100)] = v.slice(0, 500);
  }
  const code = (KNOWN_CODES.has(body.error.code as AppErrorCode) ? body.error.code : "bad_request") as AppErrorCode;
  const message = body.error.message.slice(0, 1000);
  const retry = Number(res.headers.get("retry-after"));
  return new RemoteCaError("refused", code, `The Certificate Authority server at ${serverName(loc)} refused the request: ${message}`, {
    remoteStatus: res.status,
    remoteFields: Object.keys(fields).length ? fields : undefined,
    retryAfterSeconds: Number.isFinite(retry) && retry > 0 ? retry : undefined,
  });
}

interface RawAnswer {
  res: Response;
  body: Buffer;
}

async function send(loc: ServerLocation, method: "GET" | "POST", subpath: string, opts: CallOptions & { query?: Record<string, string | null | undefined>; json?: unknown; accept: string }): Promise<RawAnswer> {
  const timeoutMs = opts.timeoutMs ?? DEFAULT_TIMEOUT_MS;
  const url = new URL(serverBaseUrl(loc) + subpath);
  for (const [k, v] of Object.entries(opts.query ?? {})) if (v != null && v !== "") url.searchParams.set(k, v);
  const signal = AbortSignal.timeout(timeoutMs);
  let res: Response;
  try {
    res = await fetch(url, {
      method,
      headers: { accept: opts.accept, ...(opts.json !== undefined ? { "content-type": "application/json" } : {}), "user-agent": "Portcullis CA client" },
      body: opts.json !== undefined ? JSON.stringify(opts.json) : undefined,
      redirect: "manual",
      signal,
      cache: "no-store",
    });
  } catch (e) {
    throw networkError(e, loc, timeoutMs);
  }
  if (res.status >= 300 && res.status < 400) {
    await res.body?.cancel().catch(() => undefined);
    const to = res.headers.get("location");
    throw notPortcullis(loc, res, `it redirects${to ? ` to ${to.slice(0, 200)}` : ""}`);
  }
  let body: Buffer;
  try {
    body = await readLimited(res, opts.maxBytes ?? MAX_RESPONSE_BYTES, loc);
  } catch (e) {
    if (e instanceof RemoteCaError) throw e;
    throw networkError(e, loc, timeoutMs);
  }
  return { res, body };
}

function parseJson(answer: RawAnswer, loc: ServerLocation): unknown {
  const { res, body } = answer;
  if (!/^application\/(.+\+)?json$/.test(mediaType(res))) throw notPortcullis(loc, res);
  try {
    return JSON.parse(body.toString("utf8"));
  } catch {
    throw notPortcullis(loc, res, "the JSON is invalid");
  }
}

/** Calls a JSON endpoint: the parsed body on 2xx, a RemoteCaError otherwise. */
export async function callJson(loc: ServerLocation, method: "GET" | "POST", subpath: string, opts: CallOptions & { query?: Record<string, string | null | undefined>; json?: unknown } = {}): Promise<unknown> {
  const answer = await send(loc, method, subpath, { ...opts, accept: "application/json" });
  const parsed = parseJson(answer, loc);
  if (answer.res.ok) return parsed;
  if (isErrorEnvelope(parsed)) throw refused(loc, answer.res, parsed);
  throw notPortcullis(loc, answer.res, "the error answer has no {error:{code,message}}");
}

/** Fetches a file (certificate) from the API: the bytes and headers on 2xx, a RemoteCaError otherwise. */
export async function callFile(loc: ServerLocation, subpath: string, opts: CallOptions & { query?: Record<string, string | null | undefined> } = {}): Promise<{ body: Buffer; contentType: string; filename: string | null }> {
  const answer = await send(loc, "GET", subpath, { ...opts, accept: "application/x-pem-file, application/pkix-cert, application/json;q=0.5" });
  if (!answer.res.ok) {
    const parsed = parseJson(answer, loc);
    if (isErrorEnvelope(parsed)) throw refused(loc, answer.res, parsed);
    throw notPortcullis(loc, answer.res, "the error answer has no {error:{code,message}}");
  }
  const type = mediaType(answer.res);
  if (type === "text/html") throw notPortcullis(loc, answer.res);
  const cd = answer.res.headers.get("content-disposition") ?? "";
  const m = /filename="([^"]{1,200})"/.exec(cd);
  return { body: answer.body, contentType: type, filename: m ? m[1] : null };
}

// ---------------------------------------------------------------------------------
// The endpoints, with their answers checked for the shape the contract promises.

export interface RemoteCa {
  subject: string;
  pem: string;
  sha1Fingerprint: string;
  sha256Fingerprint: string;
  notBefore: string;
  notAfter: string;
  /** The CA's file name root, when the server says it. */
  fileNameRoot: string | null;
}

function isStr(x: unknown): x is string {
  return typeof x === "string";
}

/** GET /ca — the CA certificate and its fingerprints. */
export async function fetchCa(loc: ServerLocation, opts: CallOptions = {}): Promise<RemoteCa> {
  const answer = await send(loc, "GET", "/ca", { ...opts, accept: "application/json" });
  const body = parseJson(answer, loc) as Record<string, unknown>;
  if (!answer.res.ok) {
    if (isErrorEnvelope(body)) {
      const e = refused(loc, answer.res, body);
      if (body.error.code === "not_configured") {
        throw new RemoteCaError("refused", "not_configured", `The server at ${serverName(loc)} is a Portcullis instance, but it is not configured as a Certificate Authority server yet.`, { remoteStatus: answer.res.status });
      }
      throw e;
    }
    throw notPortcullis(loc, answer.res, "the error answer has no {error:{code,message}}");
  }
  if (!body || typeof body !== "object" || !isStr(body.pem) || !isStr(body.sha1Fingerprint) || !isStr(body.subject)) {
    throw notPortcullis(loc, answer.res, "the answer has no CA certificate (pem, sha1Fingerprint, subject)");
  }
  return {
    subject: body.subject,
    pem: body.pem,
    sha1Fingerprint: body.sha1Fingerprint,
    sha256Fingerprint: isStr(body.sha256Fingerprint) ? body.sha256Fingerprint : "",
    notBefore: isStr(body.notBefore) ? body.notBefore : "",
    notAfter: isStr(body.notAfter) ? body.notAfter : "",
    fileNameRoot: isStr(body.fileNameRoot) ? body.fileNameRoot : null,
  };
}

/** The CA's file name root from the download's Content-Disposition (`<root>.cer`), or null. */
export async function fetchCaFileNameRoot(loc: ServerLocation, opts: CallOptions = {}): Promise<string | null> {
  try {
    const f = await callFile(loc, "/ca/certificate", { ...opts, query: { format: "pem" }, maxBytes: 256 * 1024 });
    const m = f.filename ? /^(.+)\.cer$/.exec(f.filename) : null;
    return m ? m[1] : null;
  } catch {
    return null;
  }
}

export interface SubmitCsrBody {
  csr: string;
  contact: { name: string; phone?: string | null; email?: string | null };
  hostname?: string | null;
  instance?: string | null;
  filename: string;
}

export interface SubmittedCsr {
  id: string;
  status: string;
  sha1Fingerprint: string;
  sha256Fingerprint: string;
}

/** POST /csrs — submits a CSR; the server's request id and its fingerprints. */
export async function postCsr(loc: ServerLocation, body: SubmitCsrBody, opts: CallOptions = {}): Promise<SubmittedCsr> {
  const answer = await send(loc, "POST", "/csrs", { ...opts, json: body, accept: "application/json" });
  const parsed = parseJson(answer, loc) as Record<string, unknown>;
  if (!answer.res.ok) {
    if (isErrorEnvelope(parsed)) throw refused(loc, answer.res, parsed);
    throw notPortcullis(loc, answer.res, "the error answer has no {error:{code,message}}");
  }
  if (!parsed || typeof parsed !== "object" || !isStr(parsed.id) || !isStr(parsed.sha1Fingerprint)) {
    throw notPortcullis(loc, answer.res, "the answer has no request id and fingerprint");
  }
  return { id: parsed.id, status: isStr(parsed.status) ? parsed.status : "pending", sha1Fingerprint: parsed.sha1Fingerprint, sha256Fingerprint: isStr(parsed.sha256Fingerprint) ? parsed.sha256Fingerprint : "" };
}

/** A certificate as the server lists it (the fields the client uses). */
export interface RemoteCertificate {
  number: number;
  serial: string;
  subject: string;
  hostname: string | null;
  instance: string | null;
  filename: string;
  usage: string;
  notBefore: string;
  notAfter: string;
  sha1Fingerprint: string;
  status: string;
}

export interface CertificateSearch {
  serial?: string | null;
  number?: string | null;
  hostname?: string | null;
  instance?: string | null;
  filename?: string | null;
  cursor?: string | null;
  limit?: number;
}

function optStr(x: unknown): string | null {
  return typeof x === "string" ? x : null;
}

/** GET /certificates — one page of the server's issued certificates. */
export async function listCertificates(loc: ServerLocation, q: CertificateSearch, opts: CallOptions = {}): Promise<{ items: RemoteCertificate[]; nextCursor: string | null }> {
  const answer = await send(loc, "GET", "/certificates", {
    ...opts,
    accept: "application/json",
    query: { serial: q.serial, number: q.number, hostname: q.hostname, instance: q.instance, filename: q.filename, cursor: q.cursor, limit: q.limit ? String(q.limit) : undefined },
  });
  const parsed = parseJson(answer, loc) as Record<string, unknown>;
  if (!answer.res.ok) {
    if (isErrorEnvelope(parsed)) throw refused(loc, answer.res, parsed);
    throw notPortcullis(loc, answer.res, "the error answer has no {error:{code,message}}");
  }
  if (!parsed || typeof parsed !== "object" || !Array.isArray(parsed.items)) throw notPortcullis(loc, answer.res, "the answer has no items");
  const items: RemoteCertificate[] = [];
  for (const raw of parsed.items as unknown[]) {
    const it = raw as Record<string, unknown>;
    if (!it || typeof it !== "object" || !Number.isSafeInteger(it.number) || !isStr(it.serial) || !isStr(it.filename)) {
      throw notPortcullis(loc, answer.res, "a listed certificate has no number, serial or filename");
    }
    items.push({
      number: it.number as number,
      serial: it.serial,
      subject: optStr(it.subject) ?? "",
      hostname: optStr(it.hostname),
      instance: optStr(it.instance),
      filename: it.filename,
      usage: optStr(it.usage) ?? "",
      notBefore: optStr(it.notBefore) ?? "",
      notAfter: optStr(it.notAfter) ?? "",
      sha1Fingerprint: optStr(it.sha1Fingerprint) ?? "",
      status: optStr(it.status) ?? "",
    });
  }
  const next = parsed.nextCursor;
  return { items, nextCursor: typeof next === "string" && next ? next : typeof next === "number" ? String(next) : null };
}

/** GET /certificates/{number}?format=pem — the certificate's PEM text. */
export async function fetchCertificatePem(loc: ServerLocation, number: number, opts: CallOptions = {}): Promise<string> {
  const f = await callFile(loc, `/certificates/${number}`, { ...opts, query: { format: "pem" }, maxBytes: 256 * 1024 });
  return f.body.toString("utf8");
}
