import { createHash, type KeyObject } from "node:crypto";
import { AppError } from "../errors/app-error.ts";
import { toBuffer } from "./bytes.ts";
import { isCaCertificate } from "./certificates.ts";
import { derChildren, formatIpAddress, isDnsName, parseIpAddress, readDer, sanExtension, type ParsedCsr, type San } from "./csr.ts";
import { fingerprints } from "./fingerprint.ts";
import { importSigningKey, keyMatchesCertificate } from "./keys.ts";
import { derToPem } from "./pem.ts";
import { EKU_OIDS, findDeviceIdentity, isUsage, profileFor, usageLabel, type KeyUsageName, type Usage } from "./profiles.ts";
import { randomSerialHex } from "./serial.ts";
import { x509 } from "./setup.ts";

const DAY_MS = 24 * 60 * 60 * 1000;
// Backdating tolerates relying parties whose clocks run a little behind ours.
const CLOCK_SKEW_MS = 5 * 60 * 1000;
// As for CA certificates (certificates.ts): beyond 100 years a number is a typo.
const MAX_VALIDITY_DAYS = 36_500;

const KEY_USAGE_FLAGS: Record<KeyUsageName, x509.KeyUsageFlags> = {
  digitalSignature: x509.KeyUsageFlags.digitalSignature,
  keyEncipherment: x509.KeyUsageFlags.keyEncipherment,
  keyCertSign: x509.KeyUsageFlags.keyCertSign,
  cRLSign: x509.KeyUsageFlags.cRLSign,
};

export interface IssuingCa {
  certificate: x509.X509Certificate;
  privateKey: KeyObject;
}

export interface IssueOptions {
  csr: ParsedCsr;
  usage: Usage;
  ca: IssuingCa;
  /** Days from now; the certificate never outlives the CA certificate. */
  validityDays: number;
  now?: Date;
  /** X.509 serial as hex (tests, imports); a fresh random one by default. */
  serialHex?: string;
  /** Where relying parties fetch the CA's CRL: a cRLDistributionPoints extension (non-critical). */
  crlUrl?: string;
  /** The OCSP responder: authorityInfoAccess id-ad-ocsp (non-critical). */
  ocspUrl?: string;
  /** Where the CA certificate is downloaded (DER): authorityInfoAccess id-ad-caIssuers (non-critical). */
  caIssuersUrl?: string;
}

export interface IssuedCertificate {
  certificate: x509.X509Certificate;
  pem: string;
  der: Buffer;
  /** Upper-case hex without colons or a leading 00, as `openssl x509 -serial` prints it. */
  serial: string;
  notBefore: Date;
  notAfter: Date;
  sha1Fingerprint: string;
  sha256Fingerprint: string;
}

/**
 * Signs a certificate for a checked request (see parseCsr) with the CA's key, in the
 * profile of `usage` (profiles.ts): X.509 v3, the CSR's subject and the CA's subject
 * copied byte for byte, a random serial, valid from five minutes ago for
 * `validityDays` but never past the CA's notAfter, basicConstraints and keyUsage
 * (critical), extendedKeyUsage, SKI (SHA-1 of the key, RFC 5280 method 1), AKI (the
 * CA's SKI), the CSR's SANs, and when given the CRL distribution point and the
 * authorityInfoAccess (OCSP, caIssuers) URLs, non-critical. Requested extensions other than SANs are ignored.
 *
 * Refuses: a TLS server request without a host name (usage "tls": a DNS/IP SAN, or a
 * CN that is one, which is then added as a SAN; "cockroach-node": DNS/IP SANs in the
 * request), a common name the usage does not allow (CockroachDB: "node", or a SQL user
 * name), an IoT request without a device identity, a CA certificate that is not a CA, not yet or no longer valid, or whose
 * path length forbids the usage, and a CA key that is not the certificate's.
 */
export async function issueCertificate(opts: IssueOptions): Promise<IssuedCertificate> {
  const { csr, usage, ca, validityDays } = opts;
  if (!isUsage(usage)) throw new AppError("bad_request", `Unknown certificate usage "${String(usage)}"`, { field: "usage" });
  checkValidityDays(validityDays);
  const serial = normalizeSerial(opts.serialHex);
  const now = (opts.now ?? new Date()).getTime();
  const profile = profileFor(usage);

  checkCa(ca);
  const { sans, notBefore, notAfter } = planCertificate({
    csr,
    usage,
    validityDays,
    now,
    caNotBefore: ca.certificate.notBefore,
    caNotAfter: ca.certificate.notAfter,
    caSpkiDer: toBuffer(ca.certificate.publicKey.rawData),
    caPathLengthZero: ca.certificate.getExtension(x509.BasicConstraintsExtension)?.pathLength === 0,
  });

  const keyUsage = profile.keyUsage(csr.publicKey.algorithm).reduce((flags, name) => flags | KEY_USAGE_FLAGS[name], 0);
  const extensions: x509.Extension[] = [
    new x509.BasicConstraintsExtension(profile.basicConstraints.ca, profile.basicConstraints.pathLength, true),
    new x509.KeyUsagesExtension(keyUsage, true),
  ];
  if (profile.extendedKeyUsage.length > 0) {
    extensions.push(new x509.ExtendedKeyUsageExtension(profile.extendedKeyUsage.map((n) => EKU_OIDS[n]), false));
  }
  extensions.push(
    new x509.SubjectKeyIdentifierExtension(keyIdentifier(csr.spkiDer).toString("hex")),
    new x509.AuthorityKeyIdentifierExtension(caKeyIdentifier(ca.certificate), false),
  );
  if (sans.length > 0) extensions.push(sanExtension(sans));
  const crlUrl = checkUrl(opts.crlUrl, "crlUrl");
  const ocspUrl = checkUrl(opts.ocspUrl, "ocspUrl");
  const caIssuersUrl = checkUrl(opts.caIssuersUrl, "caIssuersUrl");
  if (crlUrl) extensions.push(new x509.CRLDistributionPointsExtension([crlUrl], false));
  if (ocspUrl || caIssuersUrl) {
    extensions.push(new x509.AuthorityInfoAccessExtension({ ...(ocspUrl ? { ocsp: [ocspUrl] } : {}), ...(caIssuersUrl ? { caIssuers: [caIssuersUrl] } : {}) }, false));
  }

  const signing = await importSigningKey(ca.privateKey);
  const certificate = await x509.X509CertificateGenerator.create({
    serialNumber: serial,
    subject: new x509.Name(new Uint8Array(csr.subjectDer)),
    issuer: new x509.Name(new Uint8Array(tbsFields(toBuffer(ca.certificate.rawData)).subject)),
    notBefore,
    notAfter,
    publicKey: new Uint8Array(csr.spkiDer),
    signingKey: signing.privateKey,
    signingAlgorithm: signing.signingAlgorithm,
    extensions,
  });

  const der = toBuffer(certificate.rawData);
  // @peculiar/x509 re-encodes names and keys on the way; make sure nothing changed.
  const written = tbsFields(der);
  const caFields = tbsFields(toBuffer(ca.certificate.rawData));
  if (!written.subject.equals(csr.subjectDer) || !written.issuer.equals(caFields.subject) || !written.spki.equals(csr.spkiDer)) {
    throw new AppError("internal_error", "The certificate's subject, issuer or key did not come out as requested");
  }
  if (!(await certificate.verify({ publicKey: ca.certificate.publicKey, signatureOnly: true }))) {
    throw new AppError("internal_error", "The new certificate's signature does not verify with the CA certificate");
  }
  const fp = fingerprints(der);
  return {
    certificate,
    pem: derToPem(der, "CERTIFICATE"),
    der,
    serial: certificate.serialNumber.toUpperCase(),
    notBefore: certificate.notBefore,
    notAfter: certificate.notAfter,
    sha1Fingerprint: fp.sha1,
    sha256Fingerprint: fp.sha256,
  };
}

function checkValidityDays(validityDays: number): void {
  if (!Number.isInteger(validityDays) || validityDays < 1 || validityDays > MAX_VALIDITY_DAYS) {
    throw new AppError("validation_failed", `Validity must be a whole number of days from 1 to ${MAX_VALIDITY_DAYS}`, { field: "validityDays" });
  }
}

export interface PlanInput {
  csr: Pick<ParsedCsr, "spkiDer" | "commonName" | "sans">;
  usage: Usage;
  validityDays: number;
  /** Milliseconds since the epoch. */
  now: number;
  caNotBefore: Date;
  caNotAfter: Date;
  caSpkiDer: Buffer;
  /** Whether the CA's path length (0) forbids issuing intermediate CAs. */
  caPathLengthZero: boolean;
}

export interface CertificatePlan {
  /** The certificate's SANs, final: a TLS server's CN added when the request has no DNS/IP SAN. */
  sans: San[];
  notBefore: Date;
  notAfter: Date;
}

/**
 * What every issuance decides for a request, whichever engine signs (this file or
 * fast-issue.ts): the checks of the CA's validity and path length, the request's key, the
 * usage's CN rule, host names and device identity; the SANs; the validity, from five
 * minutes back for `validityDays` but never past the CA's notAfter, in whole seconds.
 */
export function planCertificate(o: PlanInput): CertificatePlan {
  const { csr, usage, now } = o;
  if (!isUsage(usage)) throw new AppError("bad_request", `Unknown certificate usage "${String(usage)}"`, { field: "usage" });
  checkValidityDays(o.validityDays);
  if (now < o.caNotBefore.getTime()) throw new AppError("validation_failed", `The CA certificate is not valid until ${o.caNotBefore.toISOString()}`);
  if (now > o.caNotAfter.getTime()) throw new AppError("validation_failed", `The CA certificate expired on ${o.caNotAfter.toISOString()}`);
  const profile = profileFor(usage);
  if (profile.basicConstraints.ca && o.caPathLengthZero) {
    throw new AppError("validation_failed", "The CA certificate's path length constraint (0) does not allow issuing intermediate CAs", { field: "usage" });
  }
  if (o.caSpkiDer.equals(csr.spkiDer)) throw new AppError("validation_failed", "The request's public key is the CA's own key", { field: "csr" });
  const cnProblem = profile.commonNameProblem?.(csr.commonName);
  if (cnProblem) throw new AppError("validation_failed", cnProblem, { field: "usage" });
  const sans = sansFor(csr, usage);
  if (profile.requiresDeviceIdentity && !findDeviceIdentity({ commonName: csr.commonName, sans })) {
    throw new AppError(
      "validation_failed",
      'An IoT device certificate needs the device identity in the request: CN=d:<type>:<id> or the SAN email:d:<type>:<id> (type and id 1–36 letters, digits, "-", "_" or ".")',
      { field: "usage" },
    );
  }
  // Whole seconds: certificate times have no fractions, and stored dates should equal encoded ones.
  const second = (ms: number) => new Date(Math.floor(ms / 1000) * 1000);
  return {
    sans,
    notBefore: second(Math.max(now - CLOCK_SKEW_MS, o.caNotBefore.getTime())),
    notAfter: second(Math.min(now + o.validityDays * DAY_MS, o.caNotAfter.getTime())),
  };
}

/** An http(s) URL for a certificate extension, or undefined when none is given. */
function checkUrl(url: string | undefined, field: string): string | undefined {
  if (url === undefined || url === "") return undefined;
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw new AppError("bad_request", `${field} must be an absolute http or https URL`, { field });
  }
  if (parsed.protocol !== "http:" && parsed.protocol !== "https:") throw new AppError("bad_request", `${field} must be an absolute http or https URL`, { field });
  return url;
}

function checkCa(ca: IssuingCa): void {
  const cert = ca.certificate;
  if (!isCaCertificate(cert)) throw new AppError("not_a_ca", "The CA certificate is not a CA certificate (basicConstraints CA:TRUE is missing)");
  const ku = cert.getExtension(x509.KeyUsagesExtension);
  if (ku && (ku.usages & x509.KeyUsageFlags.keyCertSign) === 0) {
    throw new AppError("not_a_ca", "The CA certificate's key usage does not allow signing certificates (keyCertSign)");
  }
  if (!keyMatchesCertificate(ca.privateKey, cert)) {
    throw new AppError("key_mismatch", "The CA private key does not match the CA certificate");
  }
}

/**
 * The request's SANs, plus for a TLS server certificate its CN as a DNS or IP SAN
 * when the request has neither kind (refused when the CN is not a host name either).
 */
function sansFor(csr: Pick<ParsedCsr, "commonName" | "sans">, usage: Usage): San[] {
  const sans = [...csr.sans];
  const profile = profileFor(usage);
  if (!profile.requiresServerName || sans.some((s) => s.type === "dns" || s.type === "ip")) return sans;
  if (!profile.commonNameAsServerName) {
    throw new AppError(
      "validation_failed",
      `A ${usageLabel(usage)} certificate needs the host names or IP addresses it serves as DNS or IP subject alternative names in the request; this request has none`,
      { field: "usage" },
    );
  }
  const cn = csr.commonName;
  const ip = cn === null ? null : parseIpAddress(cn);
  if (ip) return [{ type: "ip", value: formatIpAddress(ip) }, ...sans];
  if (cn !== null && isDnsName(cn)) return [{ type: "dns", value: cn }, ...sans];
  throw new AppError(
    "validation_failed",
    `The request has no host name for a TLS server certificate: it has no DNS or IP subject alternative name, and its common name${cn === null ? " is missing" : ` "${cn}" is not a host name or IP address`}`,
    { field: "usage" },
  );
}

/** RFC 5280 4.2.1.2 method 1: SHA-1 of the subjectPublicKey BIT STRING's value (no unused-bits octet). */
export function keyIdentifier(spkiDer: Buffer): Buffer {
  const [, bitString] = derChildren(readDer(spkiDer));
  if (!bitString || bitString.tag !== 0x03 || bitString.content.length < 1) {
    throw new AppError("bad_request", "The data is not a SubjectPublicKeyInfo");
  }
  return createHash("sha1").update(bitString.content.subarray(1)).digest();
}

/** The CA's SKI as hex (the AKI of everything it signs); computed by method 1 when the CA certificate has none. */
export function caKeyIdentifier(cert: x509.X509Certificate): string {
  let id = caKeyIdentifiers.get(cert);
  if (id === undefined) {
    // By OID: getExtension(Class) finds nothing on some parsed objects (see ENVIRONMENT.md).
    const ski = cert.getExtension("2.5.29.14");
    id = ski ? new x509.SubjectKeyIdentifierExtension(new Uint8Array(ski.rawData)).keyId : keyIdentifier(toBuffer(cert.publicKey.rawData)).toString("hex");
    caKeyIdentifiers.set(cert, id);
  }
  return id;
}

const caKeyIdentifiers = new WeakMap<x509.X509Certificate, string>();

/** A certificate's subject Name, DER exactly as encoded (for issuer fields and OCSP name hashes). */
export function certificateSubjectDer(certDer: Buffer): Buffer {
  return tbsFields(certDer).subject;
}

/** Issuer, subject and SPKI DER of a certificate, exactly as encoded. */
function tbsFields(certDer: Buffer): { issuer: Buffer; subject: Buffer; spki: Buffer } {
  const [tbs] = derChildren(readDer(certDer));
  const fields = derChildren(tbs);
  // version [0] is present in every v3 certificate; v1 certificates start with the serial.
  const i = fields[0].tag === 0xa0 ? 1 : 0;
  return { issuer: fields[i + 2].bytes, subject: fields[i + 4].bytes, spki: fields[i + 5].bytes };
}

/**
 * A caller-given serial as the generator takes it: hex, positive, non-zero, at most
 * 20 octets as DER encodes it (RFC 5280 4.1.2.2). A random one when none is given.
 */
function normalizeSerial(serialHex: string | undefined): string {
  if (serialHex === undefined) return randomSerialHex();
  const invalid = () => new AppError("bad_request", "The serial number must be a positive hexadecimal number of at most 20 octets", { field: "serial" });
  if (!/^[0-9A-Fa-f]+$/.test(serialHex)) throw invalid();
  let hex = serialHex.replace(/^0+/, "").toUpperCase();
  if (hex === "") throw invalid();
  if (hex.length % 2 === 1) hex = `0${hex}`;
  const octets = hex.length / 2 + (parseInt(hex.slice(0, 2), 16) > 0x7f ? 1 : 0);
  if (octets > 20) throw invalid();
  return hex;
}
