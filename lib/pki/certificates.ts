import { X509Certificate as NodeX509Certificate } from "node:crypto";
import { AppError } from "../errors/app-error.ts";
import { toBuffer } from "./bytes.ts";
import { fingerprints } from "./fingerprint.ts";
import { describePublicKey, importSigningKey, spkiDer, type KeyPair } from "./keys.ts";
import { subjectToName, type SubjectInput } from "./names.ts";
import { countPemBlocks, derToPem, looksLikePem, pemToDer } from "./pem.ts";
import { randomSerialHex } from "./serial.ts";
import { x509 } from "./setup.ts";

const DAY_MS = 24 * 60 * 60 * 1000;
// Backdating tolerates clients whose clocks run a little behind ours.
const CLOCK_SKEW_MS = 5 * 60 * 1000;
// 100 years; beyond that a date is a typo, not a policy.
const MAX_VALIDITY_DAYS = 36_500;

export interface CertificateResult {
  certificate: x509.X509Certificate;
  pem: string;
  der: Buffer;
}

/**
 * A self-signed root CA certificate (X.509 v3): random serial, valid from five minutes
 * ago for `validityDays`, basicConstraints CA:TRUE (critical, no path length limit),
 * keyUsage keyCertSign + cRLSign + digitalSignature (critical), SKI and AKI (keyid).
 */
export async function createSelfSignedCa(opts: {
  subject: SubjectInput;
  keys: KeyPair;
  validityDays: number;
  now?: Date;
}): Promise<CertificateResult> {
  const { validityDays } = opts;
  if (!Number.isInteger(validityDays) || validityDays < 1 || validityDays > MAX_VALIDITY_DAYS) {
    throw new AppError("validation_failed", `Validity must be a whole number of days from 1 to ${MAX_VALIDITY_DAYS}`, { field: "validityDays" });
  }
  const name = subjectToName(opts.subject);
  if (!spkiDer(opts.keys.privateKey).equals(spkiDer(opts.keys.publicKey))) {
    throw new AppError("key_mismatch", "The public key does not belong to the private key");
  }
  return signSelf({
    name,
    privateKey: opts.keys.privateKey,
    validityDays,
    now: opts.now,
    leading: [
      new x509.BasicConstraintsExtension(true, undefined, true),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign | x509.KeyUsageFlags.digitalSignature, true),
    ],
  });
}

/**
 * A certificate `privateKey` signs for itself: a random serial, valid from five minutes ago
 * for `validityDays` (whole seconds), the `leading` extensions, then SKI and AKI (its own
 * key identifier), then the `trailing` ones.
 */
export async function signSelf(o: { name: x509.Name; privateKey: KeyPair["privateKey"]; validityDays: number; now?: Date; leading: x509.Extension[]; trailing?: x509.Extension[] }): Promise<CertificateResult> {
  const signing = await importSigningKey(o.privateKey);
  const now = (o.now ?? new Date()).getTime();
  // Whole seconds: certificate times have no fractions, and the stored dates should equal the encoded ones.
  const second = (ms: number) => new Date(Math.floor(ms / 1000) * 1000);
  const ski = await x509.SubjectKeyIdentifierExtension.create(signing.publicKey);
  const certificate = await x509.X509CertificateGenerator.createSelfSigned({
    serialNumber: randomSerialHex(),
    name: o.name,
    notBefore: second(now - CLOCK_SKEW_MS),
    notAfter: second(now + o.validityDays * DAY_MS),
    signingAlgorithm: signing.signingAlgorithm,
    keys: { privateKey: signing.privateKey, publicKey: signing.publicKey },
    extensions: [...o.leading, ski, new x509.AuthorityKeyIdentifierExtension(ski.keyId, false), ...(o.trailing ?? [])],
  });
  const der = toBuffer(certificate.rawData);
  return { certificate, pem: derToPem(der, "CERTIFICATE"), der };
}

/**
 * One X.509 certificate from PEM text (exactly one CERTIFICATE block) or DER bytes.
 * Bytes that are PEM text are read as PEM. Anything else is bad_request.
 */
export function parseCertificate(input: string | Uint8Array, field = "certificate"): x509.X509Certificate {
  const notACertificate = () => new AppError("bad_request", "The file is not an X.509 certificate (PEM or DER)", { field });
  let der: Buffer;
  const text = typeof input === "string" ? input : looksLikePemBytes(input) ? toBuffer(input).toString("latin1") : undefined;
  if (text !== undefined) {
    if (!looksLikePem(text)) throw notACertificate();
    const n = countPemBlocks(text, "CERTIFICATE");
    if (n !== 1) {
      throw new AppError(
        "bad_request",
        n === 0 ? "The file holds no certificate (no -----BEGIN CERTIFICATE----- block)" : `The file holds ${n} certificates; exactly one is expected`,
        { field },
      );
    }
    der = pemToDer(text, "CERTIFICATE", field);
  } else {
    der = toBuffer(input as Uint8Array);
  }
  if (!isSingleDerSequence(der) || !tbsLayoutOk(der)) throw notACertificate();
  try {
    // OpenSSL's reader as well: @peculiar/x509 overlooks malformed parts (extra elements in
    // a name, say) that would make the certificate unusable to OpenSSL-based relying parties.
    new NodeX509Certificate(der);
    const cert = new x509.X509Certificate(new Uint8Array(der));
    // Parsing is lazy in places; touch what every caller reads so errors surface here.
    const touch = [cert.subject, cert.issuer, cert.notBefore, cert.notAfter, cert.serialNumber, cert.publicKey, cert.extensions];
    if (touch.some((v) => v === undefined)) throw notACertificate();
    return cert;
  } catch {
    throw notACertificate();
  }
}

function looksLikePemBytes(bytes: Uint8Array): boolean {
  // DER certificates start with a SEQUENCE tag (0x30 = "0"), never with "-" or text.
  return looksLikePem(toBuffer(bytes).subarray(0, 64 * 1024).toString("latin1"));
}

/** The bytes are one DER SEQUENCE with nothing after it (the parser ignores trailing data). */
function isSingleDerSequence(der: Buffer): boolean {
  if (der.length < 2 || der[0] !== 0x30) return false;
  const first = der[1];
  let length: number;
  let header: number;
  if (first < 0x80) {
    length = first;
    header = 2;
  } else {
    const n = first & 0x7f;
    if (n === 0 || n > 4 || der.length < 2 + n) return false;
    length = 0;
    for (let i = 0; i < n; i++) length = length * 256 + der[2 + i];
    header = 2 + n;
  }
  return header + length === der.length;
}

/** The TLV at `at`: where its content starts and where it ends; null when it overruns `end`. */
function element(der: Buffer, at: number, end: number): { content: number; end: number } | null {
  if (at + 2 > end) return null;
  const first = der[at + 1];
  let length = first;
  let header = 2;
  if (first >= 0x80) {
    const n = first & 0x7f;
    if (n === 0 || n > 4 || at + 2 + n > end) return null;
    length = 0;
    for (let i = 0; i < n; i++) length = length * 256 + der[at + 2 + i];
    header = 2 + n;
  }
  return at + header + length > end ? null : { content: at + header, end: at + header + length };
}

/** A UTCTime or GeneralizedTime as RFC 5280 4.1.2.5 writes it (seconds, "Z"), of a real date. */
function wellFormedTime(der: Buffer, at: number, el: { content: number; end: number }): boolean {
  const text = der.subarray(el.content, el.end).toString("latin1");
  const m = der[at] === 0x17 ? /^(\d{2})(\d{2})(\d{2})(\d{2})(\d{2})(\d{2})Z$/.exec(text) : der[at] === 0x18 ? /^(\d{4})(\d{2})(\d{2})(\d{2})(\d{2})(\d{2})Z$/.exec(text) : null;
  if (!m) return false;
  const [year, month, day, hour, minute, second] = m.slice(1).map(Number);
  const fullYear = der[at] === 0x17 ? (year < 50 ? 2000 + year : 1900 + year) : year;
  const d = new Date(Date.UTC(fullYear, month - 1, day, hour, minute, second));
  return d.getUTCFullYear() === fullYear && d.getUTCMonth() === month - 1 && d.getUTCDate() === day && d.getUTCHours() === hour && d.getUTCMinutes() === minute && d.getUTCSeconds() === second;
}

/**
 * What OpenSSL insists on and @peculiar/x509 reads past: the signature algorithm inside
 * tbsCertificate is the one outside it (RFC 5280 4.1.1.2), and the validity times are
 * well-formed dates (an unreadable time would pass every validity check).
 */
function tbsLayoutOk(der: Buffer): boolean {
  const cert = element(der, 0, der.length);
  const tbs = cert && element(der, cert.content, cert.end);
  const outer = tbs && element(der, tbs.end, cert.end);
  if (!tbs || !outer) return false;
  let at = tbs.content;
  if (der[at] === 0xa0) at = element(der, at, tbs.end)?.end ?? tbs.end; // version
  const serial = element(der, at, tbs.end);
  const inner = serial && element(der, serial.end, tbs.end);
  if (!inner || !der.subarray(serial.end, inner.end).equals(der.subarray(tbs.end, outer.end))) return false;
  const issuer = element(der, inner.end, tbs.end);
  const validity = issuer && element(der, issuer.end, tbs.end);
  if (!validity || der[issuer.end] !== 0x30) return false;
  const notBefore = element(der, validity.content, validity.end);
  const notAfter = notBefore && element(der, notBefore.end, validity.end);
  return !!notAfter && notAfter.end === validity.end && wellFormedTime(der, validity.content, notBefore) && wellFormedTime(der, notBefore.end, notAfter);
}

/** True when basicConstraints is present with cA TRUE. */
export function isCaCertificate(cert: x509.X509Certificate): boolean {
  const bc = cert.getExtension(x509.BasicConstraintsExtension);
  return bc?.ca === true;
}

export interface CertificateDescription {
  subject: string;
  issuer: string;
  /** Upper-case hex without colons or a leading 00, as `openssl x509 -serial` prints it. */
  serial: string;
  notBefore: Date;
  notAfter: Date;
  sha1Fingerprint: string;
  sha256Fingerprint: string;
  isCa: boolean;
  keyLabel: string;
}

/** `s` with each lone surrogate (a BMPString can hold one) replaced by U+FFFD: storable, printable text. */
function wellFormed(s: string): string {
  return s.replace(/[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/g, "\uFFFD");
}

/** The facts about a certificate that pages, e-mails and the API show. */
export function describeCertificate(cert: x509.X509Certificate): CertificateDescription {
  const { sha1, sha256 } = fingerprints(cert.rawData);
  let keyLabel: string;
  try {
    keyLabel = describePublicKey(cert.publicKey.rawData).label;
  } catch {
    keyLabel = "Unknown key type";
  }
  return {
    subject: wellFormed(cert.subject),
    issuer: wellFormed(cert.issuer),
    serial: cert.serialNumber.toUpperCase(),
    notBefore: cert.notBefore,
    notAfter: cert.notAfter,
    sha1Fingerprint: sha1,
    sha256Fingerprint: sha256,
    isCa: isCaCertificate(cert),
    keyLabel,
  };
}

/** PEM text of a certificate (64-character lines, trailing newline). */
export function certificateToPem(cert: x509.X509Certificate): string {
  return derToPem(cert.rawData, "CERTIFICATE");
}
