/**
 * CA certificates for device authentication (DESIGN.md, "Device security (IoT)"): the
 * registry of CAs whose device certificates are trusted — preview, add (exactly one
 * certificate, currently valid, a CA, and its CRL fetched and verified when it names an
 * http(s) distribution point), list, activate/deactivate, delete — and the trust bundle
 * (PEM of the active ones) that brokers and gateways load.
 */
import { randomUUID } from "node:crypto";
import type { Prisma } from "../db/generated/sqlite/client.ts";
import { getDb } from "../db/index.ts";
import { isUniqueViolation } from "../db/unique-violation.ts";
import { AppError } from "../errors/app-error.ts";
import { decodeTimeCursor, encodeTimeCursor } from "../pagination/time-cursor.ts";
import { getPublicCaCertificate } from "../ca/get-server.ts";
import { certificateToPem, describeCertificate, parseCertificate } from "../pki/certificates.ts";
import { countPemBlocks, looksLikePem } from "../pki/pem.ts";
import { x509 } from "../pki/setup.ts";
import { fetchVerifiedCrl, isHttpUrl, type FetchLike, type VerifiedCrl } from "./crl-fetch.ts";
import { appendAudit } from "../audit/audit-log.ts";
import { env } from "../env.ts";
import { startScheduledJob, type ScheduledJob } from "../jobs/scheduler.ts";

/** Largest certificate input accepted (PEM text or DER bytes). */
export const MAX_CERTIFICATE_BYTES = 64 * 1024;
export const MAX_DESCRIPTION_LENGTH = 200;

const CONTROL = /[\u0000-\u001f\u007f-\u009f]/;
// Not text: no UTF-8 encoder (nor the database) takes half of a surrogate pair.
const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;

// ---------------------------------------------------------------------------------
// Reading certificates from what people and scripts send.

/**
 * One certificate from a form value or JSON: PEM text, DER bytes, or (in JSON) base64 DER
 * as a string. Missing input and input that is not exactly one certificate are
 * bad_request; more than 64 KB is payload_too_large.
 */
export function readCertificateInput(input: unknown, field = "certificate"): x509.X509Certificate {
  return parseCertificate(certificateBytesOrText(input, field), field);
}

/** The PEM text or DER bytes of a certificate input, before parsing. */
export function certificateBytesOrText(input: unknown, field = "certificate"): string | Uint8Array {
  if (input === undefined || input === null || input === "") {
    throw new AppError("bad_request", "Send the certificate: PEM text, or DER as base64", { field });
  }
  if (typeof input !== "string" && !(input instanceof Uint8Array)) {
    throw new AppError("bad_request", "The certificate must be PEM text or base64-encoded DER", { field });
  }
  const size = typeof input === "string" ? Buffer.byteLength(input, "utf8") : input.byteLength;
  if (size > MAX_CERTIFICATE_BYTES) {
    throw new AppError("payload_too_large", `The certificate file is ${Math.ceil(size / 1024)} KB; at most ${MAX_CERTIFICATE_BYTES / 1024} KB is accepted`, { field });
  }
  if (typeof input !== "string") return input;
  const compact = input.replace(/\s+/g, "");
  // Base64 DER without PEM armour (JSON has no bytes).
  if (!looksLikePem(input) && compact.length > 0 && /^[A-Za-z0-9+/]+={0,2}$/.test(compact) && compact.length % 4 === 0) {
    return new Uint8Array(Buffer.from(compact, "base64"));
  }
  return input;
}

/** The URIs of the certificate's CRL distribution points (every scheme), in order, without repeats. */
export function crlDistributionPoints(cert: x509.X509Certificate): string[] {
  let ext: x509.CRLDistributionPointsExtension | null;
  try {
    ext = cert.getExtension(x509.CRLDistributionPointsExtension);
  } catch {
    return [];
  }
  const urls: string[] = [];
  for (const dp of ext?.distributionPoints ?? []) {
    for (const name of dp.distributionPoint?.fullName ?? []) {
      const uri = name.uniformResourceIdentifier;
      if (uri && !urls.includes(uri)) urls.push(uri);
    }
  }
  return urls;
}

/** Problems that keep `cert` from being registered as a device CA at `now` (validity, CA flag). */
export function caCertificateProblems(cert: x509.X509Certificate, now: Date): { code: "validation_failed" | "not_a_ca"; message: string }[] {
  const problems: { code: "validation_failed" | "not_a_ca"; message: string }[] = [];
  if (cert.notBefore.getTime() > now.getTime()) {
    problems.push({ code: "validation_failed", message: `The certificate is not valid yet: its validity starts on ${cert.notBefore.toISOString()}` });
  }
  if (cert.notAfter.getTime() < now.getTime()) {
    problems.push({ code: "validation_failed", message: `The certificate has expired: its validity ended on ${cert.notAfter.toISOString()}` });
  }
  let bc: x509.BasicConstraintsExtension | null = null;
  let ku: x509.KeyUsagesExtension | null = null;
  try {
    bc = cert.getExtension(x509.BasicConstraintsExtension);
    ku = cert.getExtension(x509.KeyUsagesExtension);
  } catch {
    problems.push({ code: "not_a_ca", message: "The certificate's basic constraints or key usage extension cannot be read" });
    return problems;
  }
  if (bc?.ca !== true) {
    problems.push({
      code: "not_a_ca",
      message: "The certificate is not a CA certificate (basicConstraints CA:TRUE is missing): register the CA certificate that signs the device certificates, not a device certificate",
    });
  } else if (ku && (ku.usages & x509.KeyUsageFlags.keyCertSign) === 0) {
    problems.push({ code: "not_a_ca", message: "The certificate's key usage does not allow signing certificates (keyCertSign is missing)" });
  }
  return problems;
}

// ---------------------------------------------------------------------------------
// Preview.

export interface IotCaPreview {
  subject: string;
  issuer: string;
  /** Upper-case hex without colons. */
  serial: string;
  notBefore: string;
  notAfter: string;
  sha1Fingerprint: string;
  sha256Fingerprint: string;
  isCa: boolean;
  pathLength: number | null;
  selfSigned: boolean;
  keyLabel: string;
  /** Every URI the certificate names as a CRL distribution point; the http(s) ones are fetched on Save. */
  crlDistributionPoints: string[];
  /** When `checkCrl` was asked: the CRL that was fetched and verified, or null. */
  crl?: { url: string; thisUpdate: string; nextUpdate: string | null; revokedCount: number } | null;
  /** Why Save would refuse it; empty when it would be accepted (the CRL is only checked with `checkCrl`). */
  problems: string[];
  /** The registered copy of this certificate, when there is one. */
  registered: { id: string; active: boolean; description: string } | null;
}

/**
 * The details of a CA certificate before it is saved, and the problems that would keep
 * it from being saved. Input that is not exactly one certificate throws bad_request.
 * The CRL is fetched only with `checkCrl` (a network round trip of up to 5 seconds).
 */
export async function previewIotCaCertificate(
  input: string | Uint8Array,
  opts: { now?: Date; checkCrl?: boolean; fetch?: FetchLike } = {},
): Promise<IotCaPreview> {
  const now = opts.now ?? new Date();
  const cert = readCertificateInput(input);
  const d = describeCertificate(cert);
  const problems = caCertificateProblems(cert, now).map((p) => p.message);
  const db = await getDb();
  const existing = await db.iotCaCertificate.findUnique({ where: { sha256Fingerprint: d.sha256Fingerprint }, select: { id: true, active: true, description: true } });
  if (existing) problems.push(alreadyRegisteredMessage(existing));
  let selfSigned = false;
  try {
    selfSigned = await cert.isSelfSigned();
  } catch {
    selfSigned = false;
  }
  let pathLength: number | null = null;
  try {
    pathLength = cert.getExtension(x509.BasicConstraintsExtension)?.pathLength ?? null;
  } catch {
    pathLength = null;
  }
  const preview: IotCaPreview = {
    subject: d.subject,
    issuer: d.issuer,
    serial: d.serial,
    notBefore: d.notBefore.toISOString(),
    notAfter: d.notAfter.toISOString(),
    sha1Fingerprint: d.sha1Fingerprint,
    sha256Fingerprint: d.sha256Fingerprint,
    isCa: d.isCa,
    pathLength,
    selfSigned,
    keyLabel: d.keyLabel,
    crlDistributionPoints: crlDistributionPoints(cert),
    problems,
    registered: existing,
  };
  if (opts.checkCrl) {
    try {
      const crl = await fetchCrlOfCertificate(cert, { now, fetch: opts.fetch });
      preview.crl = crl ? { url: crl.url, thisUpdate: crl.thisUpdate.toISOString(), nextUpdate: crl.nextUpdate?.toISOString() ?? null, revokedCount: crl.revokedCount } : null;
    } catch (e) {
      if (!(e instanceof AppError)) throw e;
      preview.crl = null;
      problems.push(e.message);
    }
  }
  return preview;
}

function alreadyRegisteredMessage(existing: { id: string; active: boolean; description: string }): string {
  return `This CA certificate is already registered${existing.description ? ` as "${existing.description}"` : ""} (${existing.active ? "active" : "deactivated"}, id ${existing.id})`;
}

/**
 * The CRL of `cert` when it names http(s) distribution points: they are tried in order
 * (alternative locations of one CRL) and the first CRL that is fetched, parses, is signed
 * by `cert` and is current wins. Null when it names none; when none works, throws the
 * reason (each location's reason when there are several).
 */
export async function fetchCrlOfCertificate(cert: x509.X509Certificate, opts: { now?: Date; fetch?: FetchLike } = {}): Promise<VerifiedCrl | null> {
  const urls = crlDistributionPoints(cert).filter(isHttpUrl);
  if (urls.length === 0) return null;
  const failures: AppError[] = [];
  for (const url of urls) {
    try {
      return await fetchVerifiedCrl(url, cert, { now: opts.now, fetch: opts.fetch, field: "certificate" });
    } catch (e) {
      if (!(e instanceof AppError)) throw e;
      failures.push(e);
    }
  }
  if (failures.length === 1) throw failures[0];
  throw new AppError("validation_failed", `None of the certificate's ${failures.length} CRL distribution points gave a valid CRL: ${failures.map((f) => f.message).join("; ")}`, {
    field: "certificate",
  });
}

// ---------------------------------------------------------------------------------
// Add.

export interface AddIotCaInput {
  certificate?: unknown;
  description?: unknown;
}

export interface AddedIotCa {
  id: string;
  subject: string;
  sha1Fingerprint: string;
  sha256Fingerprint: string;
  notBefore: string;
  notAfter: string;
  active: true;
}

/** The subject as a description: what a typed one may be (no control characters, 200 characters at most). */
function defaultDescription(subject: string): string {
  const s = subject.replace(/[\u0000-\u001f\u007f-\u009f]/g, "?");
  return s.length > MAX_DESCRIPTION_LENGTH ? `${s.slice(0, MAX_DESCRIPTION_LENGTH - 1)}…` : s;
}

function validDescription(v: unknown): string {
  if (v !== undefined && v !== null && typeof v !== "string") throw new AppError("validation_failed", "The description must be text", { field: "description" });
  const s = (v ?? "").trim();
  if (s.length > MAX_DESCRIPTION_LENGTH || CONTROL.test(s) || LONE_SURROGATE.test(s)) {
    throw new AppError("validation_failed", `Use at most ${MAX_DESCRIPTION_LENGTH} characters for the description, without control characters`, { field: "description" });
  }
  return s;
}

/**
 * Registers a CA certificate for device authentication. Refused with the reason:
 * not exactly one certificate (bad_request), not currently valid (validation_failed), not
 * a CA (not_a_ca), a CRL distribution point whose CRL cannot be fetched, parsed, verified
 * against this certificate or is not current (validation_failed), already registered
 * (conflict). Saved active, with the verified CRL. An empty description becomes the
 * certificate's subject.
 */
export async function addIotCaCertificate(input: AddIotCaInput, opts: { actor?: string | null; now?: Date; fetch?: FetchLike } = {}): Promise<AddedIotCa> {
  const now = opts.now ?? new Date();
  const description = validDescription(input.description);
  const cert = readCertificateInput(input.certificate);
  const problems = caCertificateProblems(cert, now);
  if (problems.length) throw new AppError(problems[0].code, problems.map((p) => p.message).join(". "), { field: "certificate" });
  const d = describeCertificate(cert);
  const db = await getDb();
  const duplicate = () => db.iotCaCertificate.findUnique({ where: { sha256Fingerprint: d.sha256Fingerprint }, select: { id: true, active: true, description: true } });
  const conflict = (existing: { id: string; active: boolean; description: string } | null) =>
    new AppError("conflict", existing ? alreadyRegisteredMessage(existing) : "This CA certificate is already registered", { field: "certificate" });
  const before = await duplicate();
  if (before) throw conflict(before);

  // Network I/O stays outside the transaction.
  const crl = await fetchCrlOfCertificate(cert, { now, fetch: opts.fetch });
  const id = randomUUID();
  try {
    await db.$transaction(async (tx) => {
      const existing = await tx.iotCaCertificate.findUnique({ where: { sha256Fingerprint: d.sha256Fingerprint }, select: { id: true, active: true, description: true } });
      if (existing) throw conflict(existing);
      await tx.iotCaCertificate.create({
        data: {
          id,
          description: description || defaultDescription(d.subject),
          subject: d.subject,
          issuer: d.issuer,
          serial: d.serial,
          pem: certificateToPem(cert),
          sha1Fingerprint: d.sha1Fingerprint,
          sha256Fingerprint: d.sha256Fingerprint,
          notBefore: d.notBefore,
          notAfter: d.notAfter,
          crlUrls: JSON.stringify(crlDistributionPoints(cert)),
          crlPem: crl?.pem ?? null,
          crlFetchedAt: crl ? now : null,
          crlNextUpdate: crl?.nextUpdate ?? null,
          active: true,
          createdAt: now,
          createdBy: opts.actor ?? null,
        },
      });
      await appendAudit(tx, { action: "iot.ca.register", actor: opts.actor ?? "system", target: `iot-ca:${id}`, details: { subject: d.subject, sha256: d.sha256Fingerprint }, at: now });
    });
  } catch (e) {
    if (isUniqueViolation(e)) throw conflict(await duplicate());
    throw e;
  }
  return {
    id,
    subject: d.subject,
    sha1Fingerprint: d.sha1Fingerprint,
    sha256Fingerprint: d.sha256Fingerprint,
    notBefore: d.notBefore.toISOString(),
    notAfter: d.notAfter.toISOString(),
    active: true,
  };
}


/**
 * Registers this instance's CA server certificate (the one `GET /api/v1/ca` serves) as a
 * device CA, so devices issued with the "IoT device" usage are accepted. not_configured
 * when this instance is no CA server; conflict when it is registered already.
 */
export async function registerLocalCa(opts: { actor?: string | null; description?: string; now?: Date; fetch?: FetchLike } = {}): Promise<AddedIotCa> {
  const ca = await getPublicCaCertificate();
  return addIotCaCertificate(
    { certificate: ca.pem, description: opts.description?.trim() || `This Portcullis instance's CA (${ca.fileNameRoot})` },
    { actor: opts.actor, now: opts.now, fetch: opts.fetch },
  );
}

// ---------------------------------------------------------------------------------
// List, read, activate/deactivate, delete.

export interface IotCaCertificateView {
  id: string;
  description: string;
  subject: string;
  issuer: string;
  serial: string;
  sha1Fingerprint: string;
  sha256Fingerprint: string;
  notBefore: string;
  notAfter: string;
  active: boolean;
  crlDistributionPoints: string[];
  /** The CRL last fetched and verified (when added, then again by hand or on schedule); null when none was. */
  crl: { fetchedAt: string; nextUpdate: string | null } | null;
  /** The last attempt to fetch the CRL again, and why it failed (null when it worked). */
  crlRefresh: { checkedAt: string; error: string | null } | null;
  createdAt: string;
  createdBy: string | null;
}

const VIEW_SELECT = {
  id: true,
  description: true,
  subject: true,
  issuer: true,
  serial: true,
  sha1Fingerprint: true,
  sha256Fingerprint: true,
  notBefore: true,
  notAfter: true,
  active: true,
  crlUrls: true,
  crlFetchedAt: true,
  crlNextUpdate: true,
  crlCheckedAt: true,
  crlError: true,
  createdAt: true,
  createdBy: true,
} as const;

type ViewRow = Prisma.IotCaCertificateGetPayload<{ select: typeof VIEW_SELECT }>;

function toView(r: ViewRow): IotCaCertificateView {
  const urls = crlUrlsOf(r.crlUrls);
  return {
    id: r.id,
    description: r.description,
    subject: r.subject,
    issuer: r.issuer,
    serial: r.serial,
    sha1Fingerprint: r.sha1Fingerprint,
    sha256Fingerprint: r.sha256Fingerprint,
    notBefore: r.notBefore.toISOString(),
    notAfter: r.notAfter.toISOString(),
    active: r.active,
    crlDistributionPoints: urls,
    crl: r.crlFetchedAt ? { fetchedAt: r.crlFetchedAt.toISOString(), nextUpdate: r.crlNextUpdate?.toISOString() ?? null } : null,
    crlRefresh: r.crlCheckedAt ? { checkedAt: r.crlCheckedAt.toISOString(), error: r.crlError } : null,
    createdAt: r.createdAt.toISOString(),
    createdBy: r.createdBy,
  };
}

function encodeCursor(createdAt: Date, id: string): string {
  return encodeTimeCursor(createdAt, id);
}

function decodeCursor(cursor: string): { createdAt: Date; id: string } {
  const { at, id } = decodeTimeCursor(cursor);
  return { createdAt: at, id };
}

/**
 * Registered CA certificates in the order they were added (oldest first), keyset-paginated;
 * all of them, or only the active (`active: true`) or deactivated (`active: false`) ones.
 */
export async function listIotCaCertificates(
  opts: { active?: boolean | null; cursor?: string | null; take?: number } = {},
): Promise<{ items: IotCaCertificateView[]; nextCursor: string | null }> {
  const take = Math.min(Math.max(Math.trunc(Number.isFinite(opts.take) ? opts.take! : 50), 1), 200);
  const after = opts.cursor ? decodeCursor(opts.cursor) : null;
  const where = {
    ...(typeof opts.active === "boolean" ? { active: opts.active } : {}),
    // `createdAt >= a AND (createdAt > a OR id > b)`: an index range that starts at the cursor (see listPendingRequests).
    ...(after ? { createdAt: { gte: after.createdAt }, OR: [{ createdAt: { gt: after.createdAt } }, { id: { gt: after.id } }] } : {}),
  };
  const db = await getDb();
  const rows = await db.iotCaCertificate.findMany({ where, select: VIEW_SELECT, orderBy: [{ createdAt: "asc" }, { id: "asc" }], take: take + 1 });
  const more = rows.length > take;
  const items = rows.slice(0, take);
  const last = items.at(-1);
  return { items: items.map(toView), nextCursor: more && last ? encodeCursor(last.createdAt, last.id) : null };
}

const ID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const notFound = () => new AppError("not_found", "No such CA certificate");

/** One registered CA certificate, with its PEM and the stored CRL (PEM) when there is one. */
export async function getIotCaCertificate(id: string): Promise<IotCaCertificateView & { pem: string; crlPem: string | null }> {
  if (!ID.test(id)) throw notFound();
  const db = await getDb();
  const r = await db.iotCaCertificate.findUnique({ where: { id }, select: { ...VIEW_SELECT, pem: true, crlPem: true } });
  if (!r) throw notFound();
  return { ...toView(r), pem: r.pem, crlPem: r.crlPem };
}

/** Activates or deactivates a registered CA certificate; answers it as it is now. */
export async function setIotCaCertificateActive(id: string, active: unknown, ctx: { actor?: string | null } = {}): Promise<IotCaCertificateView> {
  if (typeof active !== "boolean") throw new AppError("validation_failed", "active must be true or false", { field: "active" });
  if (!ID.test(id)) throw notFound();
  const db = await getDb();
  return db.$transaction(async (tx) => {
    const before = await tx.iotCaCertificate.findUnique({ where: { id }, select: { active: true } });
    const r = await tx.iotCaCertificate.updateMany({ where: { id }, data: { active } });
    if (r.count === 0 || !before) throw notFound();
    const row = await tx.iotCaCertificate.findUniqueOrThrow({ where: { id }, select: VIEW_SELECT });
    if (before.active !== active) {
      await appendAudit(tx, { action: active ? "iot.ca.activate" : "iot.ca.deactivate", actor: ctx.actor ?? "system", target: `iot-ca:${id}`, details: { subject: row.subject } });
    }
    return toView(row);
  });
}

/** Deletes a registered CA certificate; answers what was deleted. */
export async function deleteIotCaCertificate(id: string, ctx: { actor?: string | null } = {}): Promise<IotCaCertificateView> {
  if (!ID.test(id)) throw notFound();
  const db = await getDb();
  return db.$transaction(async (tx) => {
    const row = await tx.iotCaCertificate.findUnique({ where: { id }, select: VIEW_SELECT });
    if (!row) throw notFound();
    await tx.iotCaCertificate.delete({ where: { id } });
    await appendAudit(tx, { action: "iot.ca.delete", actor: ctx.actor ?? "system", target: `iot-ca:${id}`, details: { subject: row.subject } });
    return toView(row);
  });
}

// ---------------------------------------------------------------------------------
// CRL refresh.

/** A CRL is fetched again this long before its nextUpdate (or once a day when it names none). */
export const CRL_REFRESH_AHEAD_MS = 6 * 3600_000;
const CRL_REFRESH_NO_NEXT_UPDATE_MS = 24 * 3600_000;

/**
 * Fetches a registered CA's CRL again from the distribution points its certificate names,
 * verifies it as at registration (signed by the CA, current), and stores it when it is not
 * older than the stored one (a replayed old CRL could hide revocations). A failure is
 * recorded with the CA (`crlRefresh.error`) and thrown; the stored CRL stays.
 */
export async function refreshIotCaCrl(id: string, opts: { actor?: string | null; now?: Date; fetch?: FetchLike } = {}): Promise<IotCaCertificateView> {
  if (!ID.test(id)) throw notFound();
  const now = opts.now ?? new Date();
  const db = await getDb();
  const row = await db.iotCaCertificate.findUnique({ where: { id }, select: { pem: true, crlPem: true, subject: true } });
  if (!row) throw notFound();
  const cert = new x509.X509Certificate(row.pem);
  let crl: VerifiedCrl | null;
  try {
    crl = await fetchCrlOfCertificate(cert, { now, fetch: opts.fetch });
    if (!crl) throw new AppError("validation_failed", "This CA certificate names no http(s) CRL distribution point: there is no CRL to fetch", { field: "certificate" });
    const stored = storedCrlThisUpdate(row.crlPem);
    if (stored && crl.thisUpdate.getTime() < stored.getTime()) {
      throw new AppError("conflict", `The CRL served now (thisUpdate ${crl.thisUpdate.toISOString()}) is older than the one stored (thisUpdate ${stored.toISOString()}); the stored CRL was kept`, { field: "certificate" });
    }
  } catch (e) {
    if (!(e instanceof AppError)) throw e;
    await db.iotCaCertificate.updateMany({ where: { id }, data: { crlCheckedAt: now, crlError: e.message.slice(0, 1000) } });
    throw e;
  }
  const fetched = crl;
  return db.$transaction(async (tx) => {
    const r = await tx.iotCaCertificate.updateMany({ where: { id }, data: { crlPem: fetched.pem, crlFetchedAt: now, crlNextUpdate: fetched.nextUpdate, crlCheckedAt: now, crlError: null } });
    if (r.count === 0) throw notFound();
    await appendAudit(tx, {
      action: "iot.ca.crl-refresh",
      actor: opts.actor ?? "system",
      target: `iot-ca:${id}`,
      details: { subject: row.subject, url: fetched.url, thisUpdate: fetched.thisUpdate.toISOString(), nextUpdate: fetched.nextUpdate?.toISOString() ?? null, revoked: fetched.revokedCount },
    });
    return toView(await tx.iotCaCertificate.findUniqueOrThrow({ where: { id }, select: VIEW_SELECT }));
  });
}

function storedCrlThisUpdate(pem: string | null): Date | null {
  if (!pem) return null;
  try {
    return new x509.X509Crl(pem).thisUpdate;
  } catch {
    return null;
  }
}

/**
 * The scheduled refresh: every active CA whose certificate names a CRL and whose stored CRL
 * is due (within CRL_REFRESH_AHEAD_MS of its nextUpdate, or past it; a day old when it has
 * no nextUpdate; none stored), unless an attempt failed within the last hour. One CA's
 * failure does not stop the others.
 */
export async function refreshDueIotCaCrls(now: Date, opts: { fetch?: FetchLike } = {}): Promise<{ refreshed: string[]; failed: { id: string; message: string }[] }> {
  const db = await getDb();
  const rows = await db.iotCaCertificate.findMany({
    where: {
      active: true,
      NOT: { crlUrls: "[]" },
      OR: [{ crlNextUpdate: { lte: new Date(now.getTime() + CRL_REFRESH_AHEAD_MS) } }, { crlNextUpdate: null, OR: [{ crlFetchedAt: null }, { crlFetchedAt: { lte: new Date(now.getTime() - CRL_REFRESH_NO_NEXT_UPDATE_MS) } }] }],
      AND: [{ OR: [{ crlError: null }, { crlCheckedAt: null }, { crlCheckedAt: { lte: new Date(now.getTime() - 3600_000) } }] }],
    },
    select: { id: true, crlUrls: true },
    orderBy: { createdAt: "asc" },
    take: 500,
  });
  const refreshed: string[] = [];
  const failed: { id: string; message: string }[] = [];
  for (const r of rows) {
    if (!crlUrlsOf(r.crlUrls).some(isHttpUrl)) continue;
    try {
      await refreshIotCaCrl(r.id, { now, fetch: opts.fetch });
      refreshed.push(r.id);
    } catch (e) {
      if (!(e instanceof AppError)) throw e;
      failed.push({ id: r.id, message: e.message });
    }
  }
  return { refreshed, failed };
}

function crlUrlsOf(json: string): string[] {
  try {
    const parsed: unknown = JSON.parse(json);
    return Array.isArray(parsed) ? parsed.filter((u): u is string => typeof u === "string") : [];
  } catch {
    return [];
  }
}

export const IOT_CRL_REFRESH_JOB = "iot-crl-refresh";

export function iotCrlRefreshJob(opts: { fetch?: FetchLike } = {}): ScheduledJob {
  return {
    name: IOT_CRL_REFRESH_JOB,
    intervalMs: env().PORTCULLIS_IOT_CRL_REFRESH_MINUTES * 60_000,
    async run(now) {
      const r = await refreshDueIotCaCrls(now, opts);
      if (r.refreshed.length) console.log(`[portcullis] device CA CRLs refreshed: ${r.refreshed.length}`);
      for (const f of r.failed) console.warn(`[portcullis] device CA ${f.id}: the CRL could not be refreshed: ${f.message}`);
    },
  };
}

/** Starts the scheduled refresh in this process (the lease keeps it to one instance per interval). */
export function startIotCrlRefresh(): () => void {
  return startScheduledJob(iotCrlRefreshJob());
}

// ---------------------------------------------------------------------------------
// Trust bundle.

/** A DN or description made safe for one comment line of a PEM file. */
function commentText(s: string): string {
  return s.replace(/[\u0000-\u001f\u007f-\u009f\u2028\u2029]/g, "?").replace(/-{5,}/g, (m) => "- ".repeat(m.length).trim());
}

/**
 * The PEM of every active registered CA certificate, oldest first, each preceded by
 * comment lines naming its subject and SHA-256 fingerprint (OpenSSL, Mosquitto and other
 * PEM readers skip text outside the BEGIN/END lines). With none active, only the header.
 */
export async function trustBundlePem(): Promise<string> {
  const db = await getDb();
  const rows = await db.iotCaCertificate.findMany({
    where: { active: true },
    select: { subject: true, sha256Fingerprint: true, notAfter: true, pem: true },
    orderBy: [{ createdAt: "asc" }, { id: "asc" }],
  });
  const n = rows.length;
  let out = `# Portcullis trust bundle: ${n} active device CA certificate${n === 1 ? "" : "s"}\n`;
  for (const r of rows) {
    // The stored PEM is one block written by this module; re-check rather than trust it blindly.
    if (countPemBlocks(r.pem, "CERTIFICATE") !== 1) continue;
    // Public: the subject and fingerprint only, never the administrators' description.
    out += `\n# Subject: ${commentText(r.subject)}\n# SHA-256: ${r.sha256Fingerprint}\n# Not after: ${r.notAfter.toISOString()}\n`;
    out += r.pem.endsWith("\n") ? r.pem : `${r.pem}\n`;
  }
  return out;
}
