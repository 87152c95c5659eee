/**
 * Messaging server certificates (DESIGN.md, "Device security (IoT)"): the TLS server
 * certificates an MQTT broker presents to devices. A default certificate exists from
 * the first start (self-signed, the instance's host names as SANs); administrators
 * upload certificate + private key, or generate a CSR here (the key never leaves the
 * server) and later attach the signed certificate to that row; one certificate is the
 * default, and the default can be exported with its key for a broker's configuration.
 *
 * Private keys are kept as unencrypted PKCS#8 PEM sealed with the server secret
 * (secret-box.ts), bound to their row id; nothing here returns a key except the export.
 */
import { createPrivateKey, randomUUID, type KeyObject } from "node:crypto";
import { hostname as machineHostname } from "node:os";
import { getDb, type Db } from "../db/index.ts";
import { AppError } from "../errors/app-error.ts";
import { decodeTimeCursor, encodeTimeCursor } from "../pagination/time-cursor.ts";
import { env } from "../env.ts";
import { open, seal } from "../crypto/secret-box.ts";
import { toBuffer } from "../pki/bytes.ts";
import { certificateToPem, describeCertificate, isCaCertificate, parseCertificate, signSelf } from "../pki/certificates.ts";
import { formatIpAddress, isDnsName, parseCsr, parseIpAddress, sanExtension, sanToString, type San } from "../pki/csr.ts";
import { describePublicKey, generateKeyPair, keyMatchesCertificate } from "../pki/keys.ts";
import { decryptPrivateKey, isEncryptedPrivateKeyPem, unencryptedPkcs8Pem } from "../pki/pkcs8.ts";
import { derToPem, looksLikePem } from "../pki/pem.ts";
import { subjectToName, type SubjectInput } from "../pki/names.ts";
import { EKU_OIDS } from "../pki/profiles.ts";
import { x509 } from "../pki/setup.ts";
import { recordAudit } from "../audit/audit-log.ts";
import { createCsr, parseSanList } from "../client/create-csr.ts";
import { isUniqueViolation } from "../db/unique-violation.ts";

/** Validity of the default certificate: the CA/Browser Forum's former maximum. */
export const DEFAULT_VALIDITY_DAYS = 825;
/** Largest certificate or key text accepted (a chain file of a few certificates is far smaller). */
export const MAX_INPUT_BYTES = 64 * 1024;
const MAX_DESCRIPTION = 200;
const DEFAULT_SLOT = 1;
const ANY_EKU = "2.5.29.37.0";

export type MessagingCertificateKind = "certificate" | "csr";
export type MessagingCertificateSource = "default" | "uploaded" | "csr";

/** One row of the table: a certificate or a CSR awaiting its certificate. Never a key. */
export interface MessagingCertificateView {
  id: string;
  kind: MessagingCertificateKind;
  /** "default" (created at first start), "uploaded", or "csr" (generated here; still a CSR, or its attached certificate). */
  source: MessagingCertificateSource;
  description: string;
  subject: string;
  /** "DNS:…", "IP:…" */
  sans: string[];
  /** ecdsa-p256, ecdsa-p384, rsa-2048 … (the API's names), or the key type for other keys. */
  keyAlgorithm: string;
  /** Certificates only. */
  issuer: string | null;
  serial: string | null;
  selfSigned: boolean | null;
  sha1Fingerprint: string | null;
  sha256Fingerprint: string | null;
  notBefore: string | null;
  notAfter: string | null;
  default: boolean;
  /** PEM of the certificate (kind "certificate"). */
  certificate: string | null;
  /** PEM of the CSR (kind "csr", and kept on a row whose certificate was attached). */
  csr: string | null;
  createdAt: string;
  updatedAt: string;
  createdBy: string | null;
}

type Row = Awaited<ReturnType<Db["messagingCertificate"]["findUniqueOrThrow"]>>;
type RowWithoutKey = Omit<Row, "privateKeyEnc">;

const keyContext = (id: string) => `messaging-certificate:${id}`;

function parseSans(json: string): string[] {
  try {
    const v: unknown = JSON.parse(json);
    return Array.isArray(v) ? v.filter((s): s is string => typeof s === "string") : [];
  } catch {
    return [];
  }
}

function toView(r: RowWithoutKey): MessagingCertificateView {
  let issuer: string | null = null;
  let serial: string | null = null;
  let selfSigned: boolean | null = null;
  if (r.kind === "certificate" && r.certificatePem) {
    try {
      const d = describeCertificate(parseCertificate(r.certificatePem));
      issuer = d.issuer;
      serial = d.serial;
      selfSigned = d.issuer === d.subject;
    } catch {
      // A stored certificate always parses; a view must not fail on one that does not.
    }
  }
  return {
    id: r.id,
    kind: r.kind === "csr" ? "csr" : "certificate",
    source: r.source === "default" || r.source === "csr" ? r.source : "uploaded",
    description: r.description,
    subject: r.subject,
    sans: parseSans(r.sans),
    keyAlgorithm: r.keyAlgorithm,
    issuer,
    serial,
    selfSigned,
    sha1Fingerprint: r.sha1Fingerprint,
    sha256Fingerprint: r.sha256Fingerprint,
    notBefore: r.notBefore?.toISOString() ?? null,
    notAfter: r.notAfter?.toISOString() ?? null,
    default: r.defaultSlot === DEFAULT_SLOT,
    certificate: r.kind === "certificate" ? r.certificatePem : null,
    csr: r.csrPem,
    createdAt: r.createdAt.toISOString(),
    updatedAt: r.updatedAt.toISOString(),
    createdBy: r.createdBy,
  };
}


/** The API's key algorithm name for a key, or its label for keys outside that list. */
function keyAlgorithmName(key: KeyObject | x509.PublicKey): string {
  const d = describePublicKey(key);
  if (d.algorithm === "ECDSA" && (d.curve === "P-256" || d.curve === "P-384")) return `ecdsa-${d.curve.toLowerCase().replace("-", "")}`;
  if (d.algorithm === "RSA" && d.bits) return `rsa-${d.bits}`;
  return d.label;
}

/** "DNS:…"/"IP:…" strings of a certificate's subjectAltName. */
function certificateSans(cert: x509.X509Certificate): string[] {
  const ext = cert.getExtension("2.5.29.17");
  if (!ext) return [];
  try {
    const names = new x509.SubjectAlternativeNameExtension(new Uint8Array(ext.rawData)).names.items;
    return names.flatMap((n) => {
      if (n.type === "dns") return [`DNS:${n.value}`];
      if (n.type === "ip") {
        const bytes = parseIpAddress(n.value);
        return [`IP:${bytes ? formatIpAddress(bytes) : n.value}`];
      }
      if (n.type === "email") return [`email:${n.value}`];
      if (n.type === "url") return [`URI:${n.value}`];
      return [];
    });
  } catch {
    return [];
  }
}

// ---------------------------------------------------------------------------------
// Reading what administrators send.

function tooLarge(field: string): AppError {
  return new AppError("payload_too_large", `The ${field === "privateKey" ? "private key" : "certificate"} is larger than ${MAX_INPUT_BYTES / 1024} KB`, { field });
}

/** A certificate from PEM text, DER bytes, or DER as base64 text. */
function readCertificate(input: unknown, field = "certificate"): x509.X509Certificate {
  if (input instanceof Uint8Array) {
    if (input.byteLength > MAX_INPUT_BYTES) throw tooLarge(field);
    if (input.byteLength === 0) throw new AppError("validation_failed", "Choose the certificate file", { field });
    return parseCertificate(input, field);
  }
  if (input === undefined || input === null || (typeof input === "string" && input.trim() === "")) {
    throw new AppError("validation_failed", "Choose the certificate file or paste the certificate", { field });
  }
  if (typeof input !== "string") throw new AppError("bad_request", "The certificate must be PEM text, or DER as base64", { field });
  if (input.length > MAX_INPUT_BYTES * 2) throw tooLarge(field);
  if (looksLikePem(input)) {
    if (/-----BEGIN [A-Z ]*PRIVATE KEY-----/.test(input) && !/-----BEGIN CERTIFICATE-----/.test(input)) {
      throw new AppError("bad_request", "This is a private key, not a certificate: put it in the private key field", { field });
    }
    return parseCertificate(input, field);
  }
  const der = base64Bytes(input);
  if (!der) throw new AppError("bad_request", "The certificate is neither PEM text (-----BEGIN CERTIFICATE-----) nor DER as base64", { field });
  if (der.length > MAX_INPUT_BYTES) throw tooLarge(field);
  return parseCertificate(der, field);
}

function base64Bytes(text: string): Buffer | null {
  const b64 = text.replace(/\s+/g, "");
  if (b64 === "" || b64.length % 4 !== 0 || !/^[A-Za-z0-9+/]*={0,2}$/.test(b64)) return null;
  return Buffer.from(b64, "base64");
}

const KEY_BLOCK = /-----BEGIN (ENCRYPTED PRIVATE KEY|PRIVATE KEY|RSA PRIVATE KEY|EC PRIVATE KEY|DSA PRIVATE KEY)-----[\s\S]*?-----END \1-----/g;

/**
 * The private key of an upload: PEM (PKCS#8, encrypted PKCS#8, PKCS#1, SEC1, or
 * OpenSSL's legacy encrypted PEM), DER bytes, or DER as base64. An encrypted key needs
 * the passphrase (wrong one: wrong_password on "passphrase"); a passphrase given for
 * an unencrypted key is refused too, so a mix-up of files is noticed.
 */
export function readUploadedPrivateKey(input: unknown, passphrase: unknown): KeyObject {
  const field = "privateKey";
  if (passphrase !== undefined && passphrase !== null && typeof passphrase !== "string") {
    throw new AppError("bad_request", "The passphrase must be text", { field: "passphrase" });
  }
  const pass = typeof passphrase === "string" ? passphrase : "";
  let pem: string;
  if (input instanceof Uint8Array) {
    if (input.byteLength > MAX_INPUT_BYTES) throw tooLarge(field);
    const bytes = toBuffer(input);
    pem = looksLikePem(bytes.toString("latin1")) ? bytes.toString("latin1") : derKeyToPem(bytes);
  } else if (input === undefined || input === null || (typeof input === "string" && input.trim() === "")) {
    throw new AppError("validation_failed", "Choose the private key file or paste the private key", { field });
  } else if (typeof input !== "string") {
    throw new AppError("bad_request", "The private key must be PEM text, or DER as base64", { field });
  } else {
    if (input.length > MAX_INPUT_BYTES * 2) throw tooLarge(field);
    if (looksLikePem(input)) {
      pem = input;
    } else {
      const der = base64Bytes(input);
      if (!der) throw new AppError("bad_request", "The private key is neither PEM text (-----BEGIN PRIVATE KEY-----) nor DER as base64", { field });
      pem = derKeyToPem(der);
    }
  }

  const blocks = Array.from(pem.matchAll(KEY_BLOCK), (m) => m[0]);
  if (blocks.length === 0) {
    if (/-----BEGIN CERTIFICATE-----/.test(pem)) throw new AppError("bad_request", "This is a certificate, not a private key: put it in the certificate field", { field });
    throw new AppError("bad_request", "The file is not a PEM private key (-----BEGIN PRIVATE KEY-----)", { field });
  }
  if (blocks.length > 1) throw new AppError("bad_request", `The file holds ${blocks.length} private keys; exactly one is expected`, { field });
  const block = blocks[0];

  if (isEncryptedPrivateKeyPem(block)) {
    if (pass === "") {
      throw new AppError("validation_failed", "The private key is encrypted: enter its passphrase", { field: "passphrase" });
    }
    try {
      return decryptPrivateKey(block, pass, "passphrase");
    } catch (e) {
      if (e instanceof AppError && e.code !== "wrong_password") throw new AppError(e.code, e.message, { field, cause: e });
      throw e;
    }
  }
  if (pass !== "") {
    throw new AppError("validation_failed", "The private key is not encrypted, but a passphrase was given: leave the passphrase empty, or choose the encrypted key file", {
      field: "passphrase",
    });
  }
  return readUnencryptedKey(block, field);
}

/** An unencrypted PKCS#8, PKCS#1 (RSA) or SEC1 (EC) PEM private key. */
function readUnencryptedKey(pem: string, field: string): KeyObject {
  let key: KeyObject;
  try {
    key = createPrivateKey({ key: pem, format: "pem" });
  } catch (e) {
    throw new AppError("bad_request", "The private key cannot be read (its PEM block is damaged or of an unknown kind)", { field, cause: e });
  }
  if (key.type !== "private") throw new AppError("bad_request", "The file is not a private key", { field });
  return key;
}

/** PEM for a DER key: EncryptedPrivateKeyInfo starts with a SEQUENCE, the plain forms with an INTEGER. */
function derKeyToPem(der: Buffer): string {
  const bad = () => new AppError("bad_request", "The private key is neither PEM nor DER (PKCS#8, PKCS#1 or SEC1)", { field: "privateKey" });
  if (der.length < 4 || der[0] !== 0x30) throw bad();
  const headerLength = der[1] < 0x80 ? 2 : 2 + (der[1] & 0x7f);
  const firstTag = der[headerLength];
  if (firstTag === 0x30) return derToPem(der, "ENCRYPTED PRIVATE KEY");
  for (const type of ["pkcs8", "pkcs1", "sec1"] as const) {
    try {
      const key = createPrivateKey({ key: der, format: "der", type });
      return unencryptedPkcs8Pem(key);
    } catch {
      // try the next form
    }
  }
  throw bad();
}

function readDescription(input: unknown): string {
  if (input === undefined || input === null) return "";
  if (typeof input !== "string") throw new AppError("validation_failed", "The description must be text", { field: "description" });
  const d = input.trim();
  if ([...d].length > MAX_DESCRIPTION) throw new AppError("validation_failed", `The description must be at most ${MAX_DESCRIPTION} characters`, { field: "description" });
  if (/[\u0000-\u001f\u007f-\u009f]/.test(d)) throw new AppError("validation_failed", "The description must not contain control characters", { field: "description" });
  return d;
}

/**
 * What a broker's server certificate must be: within its validity period, not a CA
 * certificate, and usable for TLS server authentication when it restricts its usage.
 */
function checkServerCertificate(cert: x509.X509Certificate, now: Date, field = "certificate"): void {
  const invalid = (message: string) => new AppError("validation_failed", message, { field });
  if (now.getTime() < cert.notBefore.getTime()) throw invalid(`The certificate is not valid yet: it becomes valid on ${cert.notBefore.toISOString()}`);
  if (now.getTime() > cert.notAfter.getTime()) throw invalid(`The certificate expired on ${cert.notAfter.toISOString()}`);
  if (isCaCertificate(cert)) {
    throw invalid("This is a CA certificate (basicConstraints CA:TRUE), not a server certificate; CA certificates for device authentication are added under CA certificates");
  }
  const ekuExt = cert.getExtension("2.5.29.37");
  if (ekuExt) {
    const usages = new x509.ExtendedKeyUsageExtension(new Uint8Array(ekuExt.rawData)).usages.map(String);
    if (!usages.includes(EKU_OIDS.serverAuth) && !usages.includes(ANY_EKU)) {
      throw invalid("The certificate's extended key usage does not allow TLS server authentication (serverAuth)");
    }
  }
}

// ---------------------------------------------------------------------------------
// The default certificate.

export interface EnsureDefaultOptions {
  /** Host names for the certificate, first one as CN; default: the machine's host name. */
  hostnames?: string[];
  now?: Date;
}

/**
 * The SANs of the default certificate: the given host names (default: the machine's),
 * localhost, 127.0.0.1, ::1 and the host of PORTCULLIS_PUBLIC_URL; names that are not
 * valid DNS names or IP addresses are left out, repeats dropped.
 */
export function defaultCertificateSans(hostnames?: string[]): San[] {
  const candidates = [...(hostnames ?? [machineHostname()]), "localhost", "127.0.0.1", "::1"];
  const publicUrl = env().PORTCULLIS_PUBLIC_URL;
  if (publicUrl) {
    try {
      candidates.push(new URL(publicUrl).hostname.replace(/^\[(.*)\]$/, "$1"));
    } catch {
      // env() validated it as a URL already
    }
  }
  const sans: San[] = [];
  const seen = new Set<string>();
  for (const raw of candidates) {
    const name = raw.trim();
    const ip = parseIpAddress(name);
    let san: San | null = null;
    if (ip) san = { type: "ip", value: formatIpAddress(ip) };
    else if (isDnsName(name, { wildcard: false })) san = { type: "dns", value: name.toLowerCase() };
    if (!san) continue;
    const key = sanToString(san);
    if (!seen.has(key)) {
      seen.add(key);
      sans.push(san);
    }
  }
  return sans;
}

/**
 * Creates the default messaging server certificate when there is no default yet (at
 * first start): self-signed, ECDSA P-256, CN = the first host name, SANs from
 * defaultCertificateSans, keyUsage digitalSignature, extendedKeyUsage serverAuth,
 * basicConstraints CA:FALSE, 825 days; key sealed at rest. Idempotent; of concurrent
 * calls (several processes on one database) exactly one creates it (unique defaultSlot).
 * Answers the default certificate.
 */
export async function ensureDefaultMessagingCertificate(opts: EnsureDefaultOptions = {}): Promise<MessagingCertificateView> {
  const db = await getDb();
  const existing = await db.messagingCertificate.findUnique({ where: { defaultSlot: DEFAULT_SLOT }, omit: { privateKeyEnc: true } });
  if (existing) return toView(existing);

  const sans = defaultCertificateSans(opts.hostnames);
  const cn = sans.find((s) => s.type === "dns" && s.value.length <= 64)?.value ?? "localhost";
  const name = subjectToName({ CN: cn });
  const keys = await generateKeyPair("ecdsa-p256");
  const { certificate: cert } = await signSelf({
    name,
    privateKey: keys.privateKey,
    validityDays: DEFAULT_VALIDITY_DAYS,
    now: opts.now,
    leading: [
      new x509.BasicConstraintsExtension(false, undefined, true),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature, true),
      new x509.ExtendedKeyUsageExtension([EKU_OIDS.serverAuth], false),
    ],
    trailing: [sanExtension(sans)],
  });
  const d = describeCertificate(cert);
  const id = randomUUID();
  try {
    const row = await db.messagingCertificate.create({
      data: {
        id,
        kind: "certificate",
        source: "default",
        description: "Default certificate (self-signed, created at first start)",
        subject: d.subject,
        sans: JSON.stringify(sans.map(sanToString)),
        keyAlgorithm: "ecdsa-p256",
        certificatePem: certificateToPem(cert),
        privateKeyEnc: seal(unencryptedPkcs8Pem(keys.privateKey), keyContext(id)),
        sha1Fingerprint: d.sha1Fingerprint,
        sha256Fingerprint: d.sha256Fingerprint,
        notBefore: d.notBefore,
        notAfter: d.notAfter,
        defaultSlot: DEFAULT_SLOT,
        createdBy: null,
      },
      omit: { privateKeyEnc: true },
    });
    return toView(row);
  } catch (e) {
    if (!isUniqueViolation(e)) throw e;
    // Another process created it a moment ago.
    const winner = await db.messagingCertificate.findUnique({ where: { defaultSlot: DEFAULT_SLOT }, omit: { privateKeyEnc: true } });
    if (!winner) throw e;
    return toView(winner);
  }
}

// ---------------------------------------------------------------------------------
// Reading.

function encodeCursor(createdAt: Date, id: string): string {
  return encodeTimeCursor(createdAt, id);
}

function decodeCursor(cursor: string): { createdAt: Date; id: string } {
  const { at, id } = decodeTimeCursor(cursor);
  return { createdAt: at, id };
}

/**
 * Messaging certificates and CSRs, oldest first (the default is created first), keyset-paginated
 * on (createdAt, id). Creates the default certificate first when it is missing, so the table is
 * never empty.
 */
export async function listMessagingCertificates(opts: { cursor?: string | null; take?: number } = {}): Promise<{ items: MessagingCertificateView[]; nextCursor: string | null }> {
  const take = Math.min(Math.max(Math.trunc(Number.isFinite(opts.take) ? opts.take! : 50), 1), 200);
  const after = opts.cursor ? decodeCursor(opts.cursor) : null;
  await ensureDefaultMessagingCertificate();
  const db = await getDb();
  const rows = await db.messagingCertificate.findMany({
    // `createdAt >= a AND (createdAt > a OR id > b)`: an index range that starts at the cursor.
    where: after ? { createdAt: { gte: after.createdAt }, OR: [{ createdAt: { gt: after.createdAt } }, { id: { gt: after.id } }] } : {},
    orderBy: [{ createdAt: "asc" }, { id: "asc" }],
    omit: { privateKeyEnc: true },
    take: take + 1,
  });
  const more = rows.length > take;
  const items = rows.slice(0, take);
  const last = items.at(-1);
  return { items: items.map(toView), nextCursor: more && last ? encodeCursor(last.createdAt, last.id) : null };
}

/** The certificates that can become the default (certificates, not CSRs, not yet expired), oldest first, at most `take`. */
export async function listDefaultCandidates(opts: { now?: Date; take?: number } = {}): Promise<MessagingCertificateView[]> {
  const take = Math.min(Math.max(Math.trunc(Number.isFinite(opts.take) ? opts.take! : 200), 1), 200);
  const db = await getDb();
  const rows = await db.messagingCertificate.findMany({
    where: { kind: "certificate", OR: [{ notAfter: null }, { notAfter: { gte: opts.now ?? new Date() } }] },
    orderBy: [{ createdAt: "asc" }, { id: "asc" }],
    omit: { privateKeyEnc: true },
    take,
  });
  return rows.map(toView);
}

export async function getMessagingCertificate(id: string): Promise<MessagingCertificateView> {
  const db = await getDb();
  const row = typeof id === "string" && id !== "" ? await db.messagingCertificate.findUnique({ where: { id }, omit: { privateKeyEnc: true } }) : null;
  if (!row) throw new AppError("not_found", "No messaging server certificate or CSR has this id");
  return toView(row);
}

// ---------------------------------------------------------------------------------
// Adding a certificate with its key.

export interface AddMessagingCertificateInput {
  /** PEM text, DER bytes, or DER as base64. */
  certificate?: unknown;
  /** PEM text (PKCS#8, encrypted PKCS#8, PKCS#1, SEC1), DER bytes, or DER as base64. */
  privateKey?: unknown;
  /** Needed exactly when the key is encrypted. */
  passphrase?: unknown;
  description?: unknown;
}

/**
 * Registers an uploaded server certificate and its private key. Refuses (AppError with
 * field): anything but exactly one certificate; an expired, not yet valid or CA
 * certificate, or one whose EKU excludes serverAuth; a key that is not the
 * certificate's (key_mismatch); a wrong passphrase (wrong_password); a missing
 * passphrase for an encrypted key and a passphrase for an unencrypted one; a
 * certificate already registered (conflict). The key is stored sealed.
 */
export async function addMessagingCertificate(input: AddMessagingCertificateInput, ctx: { actor?: string | null; now?: Date } = {}): Promise<MessagingCertificateView> {
  const description = readDescription(input.description);
  const cert = readCertificate(input.certificate, "certificate");
  const now = ctx.now ?? new Date();
  checkServerCertificate(cert, now);
  const key = readUploadedPrivateKey(input.privateKey, input.passphrase);
  if (!keyMatchesCertificate(key, cert)) {
    throw new AppError("key_mismatch", "The private key does not match the certificate: it is the key of another certificate", { field: "privateKey" });
  }
  const d = describeCertificate(cert);
  const db = await getDb();
  const duplicate = await db.messagingCertificate.findFirst({ where: { sha256Fingerprint: d.sha256Fingerprint }, select: { id: true } });
  if (duplicate) throw new AppError("conflict", "This certificate is already registered as a messaging server certificate", { field: "certificate" });
  const id = randomUUID();
  const row = await db.messagingCertificate.create({
    data: {
      id,
      kind: "certificate",
      source: "uploaded",
      description,
      subject: d.subject,
      sans: JSON.stringify(certificateSans(cert)),
      keyAlgorithm: keyAlgorithmName(key),
      certificatePem: certificateToPem(cert),
      privateKeyEnc: seal(unencryptedPkcs8Pem(key), keyContext(id)),
      sha1Fingerprint: d.sha1Fingerprint,
      sha256Fingerprint: d.sha256Fingerprint,
      notBefore: d.notBefore,
      notAfter: d.notAfter,
      createdBy: ctx.actor ?? null,
    },
    omit: { privateKeyEnc: true },
  });
  await recordAudit({ action: "iot.messaging.upload", actor: ctx.actor ?? "system", target: `messaging:${row.id}`, details: { subject: row.subject, sha256: row.sha256Fingerprint }, at: now });
  return toView(row);
}

// ---------------------------------------------------------------------------------
// CSR round-trip.

export interface GenerateMessagingCsrInput {
  subject?: SubjectInput;
  /** ["DNS:…", "IP:…"] (bare names and addresses too), or text separated by commas or line breaks. */
  sans?: unknown;
  /** ecdsa-p256 (default), ecdsa-p384, rsa-2048, rsa-3072, rsa-4096 */
  keyAlgorithm?: unknown;
  description?: unknown;
}

/**
 * Generates a key pair (kept sealed at rest) and a CSR for a messaging server; the row
 * is listed as a CSR until its signed certificate is attached. Only DNS and IP SANs are
 * taken; with none, a CN that is a host name or IP address is asked for as a SAN, and
 * a request with no host name at all is refused (TLS clients match SANs, not the CN).
 */
export async function generateMessagingCsr(input: GenerateMessagingCsrInput, ctx: { actor?: string | null } = {}): Promise<{ id: string; csr: string }> {
  const description = readDescription(input.description);
  const parsed = parseSanList(input.sans);
  if ("problem" in parsed) throw new AppError("validation_failed", parsed.problem, { field: "sans" });
  const other = parsed.sans.find((s) => s.type !== "dns" && s.type !== "ip");
  if (other) {
    throw new AppError("validation_failed", `${sanToString(other)}: a messaging server certificate names DNS host names and IP addresses only`, { field: "sans" });
  }
  let sans = parsed.sans;
  const subject = input.subject && typeof input.subject === "object" ? input.subject : {};
  if (sans.length === 0) {
    const cn = typeof subject.CN === "string" ? subject.CN.trim() : "";
    const ip = cn ? parseIpAddress(cn) : null;
    if (ip) sans = [{ type: "ip", value: formatIpAddress(ip) }];
    else if (cn && isDnsName(cn)) sans = [{ type: "dns", value: cn.toLowerCase() }];
    else {
      throw new AppError("validation_failed", "Give the server's host names or IP addresses as subject alternative names (such as DNS:mqtt.example.com), or a host name as the common name", {
        field: "sans",
      });
    }
  }
  const created = await createCsr({ subject, keyAlgorithm: input.keyAlgorithm, sans: sans.map(sanToString) });
  const db = await getDb();
  const id = randomUUID();
  await db.messagingCertificate.create({
    data: {
      id,
      kind: "csr",
      source: "csr",
      description,
      subject: created.csr.subject,
      sans: JSON.stringify(created.csr.sans.map(sanToString)),
      keyAlgorithm: created.keyAlgorithm,
      csrPem: created.csrPem,
      privateKeyEnc: seal(unencryptedPkcs8Pem(created.privateKey), keyContext(id)),
      createdBy: ctx.actor ?? null,
    },
    select: { id: true },
  });
  await recordAudit({ action: "iot.messaging.csr", actor: ctx.actor ?? "system", target: `messaging:${id}`, details: { subject: created.csr.subject } });
  return { id, csr: created.csrPem };
}

function openKey(row: Pick<Row, "id" | "privateKeyEnc">): KeyObject {
  try {
    return createPrivateKey({ key: open(row.privateKeyEnc, keyContext(row.id)), format: "pem" });
  } catch (e) {
    throw new AppError("internal_error", "The stored private key cannot be opened (was the server secret changed?)", { cause: e });
  }
}

/**
 * Attaches the signed certificate to a CSR row, which then becomes a certificate. The
 * certificate's public key must be the CSR's ("This certificate does not belong to this
 * CSR"; the row it belongs to is named when there is one), and it must be a usable
 * server certificate (checkServerCertificate).
 */
export async function attachSignedCertificate(id: string, input: { certificate?: unknown }, ctx: { actor?: string | null; now?: Date } = {}): Promise<MessagingCertificateView> {
  const db = await getDb();
  const row = typeof id === "string" && id !== "" ? await db.messagingCertificate.findUnique({ where: { id } }) : null;
  if (!row) throw new AppError("not_found", "No messaging server certificate or CSR has this id");
  if (row.kind !== "csr") {
    throw new AppError("conflict", "This row already holds a certificate; a signed certificate is uploaded onto a CSR row", { field: "certificate" });
  }
  const cert = readCertificate(input.certificate, "certificate");
  const key = openKey(row);
  if (!keyMatchesCertificate(key, cert)) {
    let hint = "";
    const certSpki = toBuffer(cert.publicKey.rawData);
    const others = await db.messagingCertificate.findMany({ where: { kind: "csr", NOT: { id } }, select: { id: true, subject: true, csrPem: true } });
    for (const other of others) {
      if (!other.csrPem) continue;
      try {
        if ((await parseCsr(other.csrPem)).spkiDer.equals(certSpki)) {
          hint = ` It belongs to the CSR "${other.subject}" (id ${other.id}): upload it onto that row.`;
          break;
        }
      } catch {
        // a stored CSR always parses
      }
    }
    throw new AppError("key_mismatch", `This certificate does not belong to this CSR: its public key is not the CSR's.${hint}`, { field: "certificate" });
  }
  checkServerCertificate(cert, ctx.now ?? new Date());
  const d = describeCertificate(cert);
  const updated = await db.messagingCertificate.updateMany({
    where: { id, kind: "csr" },
    data: {
      kind: "certificate",
      subject: d.subject,
      sans: JSON.stringify(certificateSans(cert)),
      certificatePem: certificateToPem(cert),
      sha1Fingerprint: d.sha1Fingerprint,
      sha256Fingerprint: d.sha256Fingerprint,
      notBefore: d.notBefore,
      notAfter: d.notAfter,
    },
  });
  if (updated.count === 0) throw new AppError("conflict", "A certificate was attached to this CSR a moment ago", { field: "certificate" });
  await recordAudit({ action: "iot.messaging.attach", actor: ctx.actor ?? "system", target: `messaging:${id}`, details: { subject: row.subject } });
  return getMessagingCertificate(id);
}

// ---------------------------------------------------------------------------------
// The default, export, delete.

/**
 * Makes a certificate the default (in one transaction: the old default loses the slot,
 * the new one takes it). CSRs and expired certificates cannot be the default.
 */
export async function setDefaultMessagingCertificate(id: string, ctx: { now?: Date; actor?: string | null } = {}): Promise<MessagingCertificateView> {
  const db = await getDb();
  const row = typeof id === "string" && id !== "" ? await db.messagingCertificate.findUnique({ where: { id }, omit: { privateKeyEnc: true } }) : null;
  if (!row) throw new AppError("not_found", "No messaging server certificate or CSR has this id", { field: "id" });
  if (row.kind !== "certificate") {
    throw new AppError("validation_failed", "A CSR cannot be the default: upload its signed certificate first", { field: "id" });
  }
  if (row.notAfter && row.notAfter.getTime() < (ctx.now ?? new Date()).getTime()) {
    throw new AppError("validation_failed", `This certificate expired on ${row.notAfter.toISOString()} and cannot be the default`, { field: "id" });
  }
  if (row.defaultSlot === DEFAULT_SLOT) return toView(row);
  // Two administrators switching at once on PostgreSQL: the second transaction may not see
  // the first one's new default and then hits the unique slot; it simply tries again.
  for (let attempt = 1; ; attempt++) {
    try {
      await db.$transaction(async (tx) => {
        await tx.messagingCertificate.updateMany({ where: { defaultSlot: DEFAULT_SLOT, NOT: { id } }, data: { defaultSlot: null } });
        const set = await tx.messagingCertificate.updateMany({ where: { id, kind: "certificate" }, data: { defaultSlot: DEFAULT_SLOT } });
        if (set.count === 0) throw new AppError("not_found", "No messaging server certificate has this id (it was deleted a moment ago)", { field: "id" });
      });
      break;
    } catch (e) {
      if (!isUniqueViolation(e) || attempt >= 3) throw e;
    }
  }
  await recordAudit({ action: "iot.messaging.set_default", actor: ctx.actor ?? "system", target: `messaging:${id}`, details: { subject: row.subject } });
  return getMessagingCertificate(id);
}

export interface ExportedMessagingCertificate {
  id: string;
  /** PEM of the default certificate. */
  certificate: string;
  /** Unencrypted PKCS#8 PEM: brokers such as Mosquitto read keys without a passphrase. */
  privateKey: string;
}

/** The default certificate and its key, for a broker's configuration (administrators only). */
export async function exportDefaultMessagingCertificate(ctx: { actor?: string | null } = {}): Promise<ExportedMessagingCertificate> {
  await ensureDefaultMessagingCertificate();
  const db = await getDb();
  const row = await db.messagingCertificate.findUnique({ where: { defaultSlot: DEFAULT_SLOT } });
  if (!row || !row.certificatePem) throw new AppError("not_found", "There is no default messaging server certificate");
  const privateKey = unencryptedPkcs8Pem(openKey(row));
  await recordAudit({ action: "iot.messaging.export_key", actor: ctx.actor ?? "system", target: `messaging:${row.id}`, details: { subject: row.subject } });
  return { id: row.id, certificate: row.certificatePem, privateKey };
}

/** Deletes a certificate or CSR (and its key). The default cannot be deleted. */
export async function deleteMessagingCertificate(id: string, ctx: { actor?: string | null } = {}): Promise<{ id: string; deleted: true }> {
  const db = await getDb();
  const row = typeof id === "string" && id !== "" ? await db.messagingCertificate.findUnique({ where: { id }, select: { id: true, defaultSlot: true } }) : null;
  if (!row) throw new AppError("not_found", "No messaging server certificate or CSR has this id");
  const defaultRefused = () => new AppError("conflict", "The default messaging server certificate cannot be deleted: choose another default first");
  if (row.defaultSlot === DEFAULT_SLOT) throw defaultRefused();
  // Conditional, so a certificate made the default a moment ago is not deleted.
  const r = await db.messagingCertificate.deleteMany({ where: { id, defaultSlot: null } });
  if (r.count === 0) {
    if (await db.messagingCertificate.count({ where: { id } })) throw defaultRefused();
    throw new AppError("not_found", "No messaging server certificate or CSR has this id");
  }
  await recordAudit({ action: "iot.messaging.delete", actor: ctx.actor ?? "system", target: `messaging:${id}` });
  return { id, deleted: true };
}

