/**
 * Certificate and CRL linting: the checks a careful CA runs on what it is about to sign
 * (RFC 5280, and the CA/Browser Forum baseline rules that make sense for a private CA),
 * read from the DER itself — time and string types, criticality flags and encodings
 * that @peculiar/x509 smooths over. Pure functions: no I/O, no signing.
 *
 * Every finding has a stable `code` (for programs and tests) and a `message` (for
 * people). Errors refuse an issuance; warnings are shown.
 */
import { createHash } from "node:crypto";
import { toBuffer } from "./bytes.ts";
import { derChildren, derOid, formatIpAddress, isEmailSan, isUriSan, parseIpAddress, readDer, type DerElement } from "./csr.ts";
import { caKeyIdentifier } from "./issue.ts";
import { ISO_3166_ALPHA2 } from "./names.ts";
import { EKU_OIDS, findDeviceIdentity, PROFILES, usageLabel, type Usage } from "./profiles.ts";
import { isDnsName } from "./san-rules.ts";
import { x509 } from "./setup.ts";

export interface Finding {
  /** Stable identifier, e.g. "serial_not_positive", "cn_not_in_san". */
  code: string;
  message: string;
}

export interface LintResult {
  errors: Finding[];
  warnings: Finding[];
}

/**
 * What a certificate is meant to be: one of the issuance usages (profiles.ts), "ca"
 * for a CA certificate Portcullis uses to sign (self-signed root, or an intermediate
 * when `issuer` is given), or "ocsp-responder" for the delegated OCSP signer.
 */
export type LintTarget = Usage | "ca" | "ocsp-responder";

export interface CertificateLintContext {
  /** The CA certificate that signs it; for a self-signed "ca", omit it (the certificate is its own issuer). */
  issuer?: x509.X509Certificate;
  usage: LintTarget;
  /** The moment of issuance (default: now). */
  now?: Date;
}

export interface CrlLintContext {
  /** The CA certificate whose key signs the CRL. */
  issuer: x509.X509Certificate;
  now?: Date;
}

// ---------------------------------------------------------------------------------
// Object identifiers and names.

const OID = {
  rsaEncryption: "1.2.840.113549.1.1.1",
  rsassaPss: "1.2.840.113549.1.1.10",
  ecPublicKey: "1.2.840.10045.2.1",
  ed25519: "1.3.101.112",
  p256: "1.2.840.10045.3.1.7",
  p384: "1.3.132.0.34",
  p521: "1.3.132.0.35",
  ski: "2.5.29.14",
  keyUsage: "2.5.29.15",
  san: "2.5.29.17",
  ian: "2.5.29.18",
  basicConstraints: "2.5.29.19",
  crlNumber: "2.5.29.20",
  reasonCode: "2.5.29.21",
  invalidityDate: "2.5.29.24",
  deltaCrlIndicator: "2.5.29.27",
  issuingDistributionPoint: "2.5.29.28",
  certificateIssuer: "2.5.29.29",
  nameConstraints: "2.5.29.30",
  cdp: "2.5.29.31",
  certificatePolicies: "2.5.29.32",
  policyMappings: "2.5.29.33",
  aki: "2.5.29.35",
  policyConstraints: "2.5.29.36",
  eku: "2.5.29.37",
  freshestCrl: "2.5.29.46",
  inhibitAnyPolicy: "2.5.29.54",
  subjectDirectoryAttributes: "2.5.29.9",
  aia: "1.3.6.1.5.5.7.1.1",
  sia: "1.3.6.1.5.5.7.1.11",
  tlsFeature: "1.3.6.1.5.5.7.1.24",
  ocspNoCheck: "1.3.6.1.5.5.7.48.1.5",
  adOcsp: "1.3.6.1.5.5.7.48.1",
  adCaIssuers: "1.3.6.1.5.5.7.48.2",
  anyEku: "2.5.29.37.0",
  ocspSigning: "1.3.6.1.5.5.7.3.9",
} as const;

const EXTENSION_NAMES: Record<string, string> = {
  [OID.ski]: "subjectKeyIdentifier",
  [OID.keyUsage]: "keyUsage",
  [OID.san]: "subjectAltName",
  [OID.ian]: "issuerAltName",
  [OID.basicConstraints]: "basicConstraints",
  [OID.crlNumber]: "cRLNumber",
  [OID.reasonCode]: "reasonCode",
  [OID.invalidityDate]: "invalidityDate",
  [OID.deltaCrlIndicator]: "deltaCRLIndicator",
  [OID.issuingDistributionPoint]: "issuingDistributionPoint",
  [OID.certificateIssuer]: "certificateIssuer",
  [OID.nameConstraints]: "nameConstraints",
  [OID.cdp]: "cRLDistributionPoints",
  [OID.certificatePolicies]: "certificatePolicies",
  [OID.policyMappings]: "policyMappings",
  [OID.aki]: "authorityKeyIdentifier",
  [OID.policyConstraints]: "policyConstraints",
  [OID.eku]: "extendedKeyUsage",
  [OID.freshestCrl]: "freshestCRL",
  [OID.inhibitAnyPolicy]: "inhibitAnyPolicy",
  [OID.subjectDirectoryAttributes]: "subjectDirectoryAttributes",
  [OID.aia]: "authorityInfoAccess",
  [OID.sia]: "subjectInfoAccess",
  [OID.tlsFeature]: "tlsFeature",
  [OID.ocspNoCheck]: "ocspNoCheck",
};

/** Certificate extensions a relying party following RFC 5280 understands (a critical unknown one breaks validation). */
const KNOWN_CERT_EXTENSIONS = new Set<string>([
  OID.ski, OID.keyUsage, OID.san, OID.ian, OID.basicConstraints, OID.nameConstraints, OID.cdp, OID.certificatePolicies,
  OID.policyMappings, OID.aki, OID.policyConstraints, OID.eku, OID.freshestCrl, OID.inhibitAnyPolicy,
  OID.subjectDirectoryAttributes, OID.aia, OID.sia, OID.tlsFeature, OID.ocspNoCheck,
]);

const KNOWN_CRL_EXTENSIONS = new Set<string>([OID.aki, OID.ian, OID.crlNumber, OID.deltaCrlIndicator, OID.issuingDistributionPoint, OID.freshestCrl, OID.aia]);
const KNOWN_CRL_ENTRY_EXTENSIONS = new Set<string>([OID.reasonCode, OID.invalidityDate, OID.certificateIssuer]);

const EKU_NAMES: Record<string, string> = {
  [EKU_OIDS.serverAuth]: "serverAuth",
  [EKU_OIDS.clientAuth]: "clientAuth",
  [EKU_OIDS.codeSigning]: "codeSigning",
  "1.3.6.1.5.5.7.3.4": "emailProtection",
  "1.3.6.1.5.5.7.3.8": "timeStamping",
  [OID.ocspSigning]: "OCSPSigning",
  [OID.anyEku]: "anyExtendedKeyUsage",
};

/** Signature algorithms: family, hash, and whether parameters are NULL (RSA PKCS#1) or absent. */
const SIGNATURES: Record<string, { name: string; family: "RSA" | "ECDSA" | "Ed25519"; hash?: string; params: "null" | "absent" | "pss"; weak?: boolean }> = {
  "1.2.840.113549.1.1.4": { name: "md5WithRSAEncryption", family: "RSA", hash: "MD5", params: "null", weak: true },
  "1.2.840.113549.1.1.5": { name: "sha1WithRSAEncryption", family: "RSA", hash: "SHA-1", params: "null", weak: true },
  "1.2.840.113549.1.1.11": { name: "sha256WithRSAEncryption", family: "RSA", hash: "SHA-256", params: "null" },
  "1.2.840.113549.1.1.12": { name: "sha384WithRSAEncryption", family: "RSA", hash: "SHA-384", params: "null" },
  "1.2.840.113549.1.1.13": { name: "sha512WithRSAEncryption", family: "RSA", hash: "SHA-512", params: "null" },
  [OID.rsassaPss]: { name: "RSASSA-PSS", family: "RSA", params: "pss" },
  "1.2.840.10045.4.1": { name: "ecdsa-with-SHA1", family: "ECDSA", hash: "SHA-1", params: "absent", weak: true },
  "1.2.840.10045.4.3.2": { name: "ecdsa-with-SHA256", family: "ECDSA", hash: "SHA-256", params: "absent" },
  "1.2.840.10045.4.3.3": { name: "ecdsa-with-SHA384", family: "ECDSA", hash: "SHA-384", params: "absent" },
  "1.2.840.10045.4.3.4": { name: "ecdsa-with-SHA512", family: "ECDSA", hash: "SHA-512", params: "absent" },
  [OID.ed25519]: { name: "Ed25519", family: "Ed25519", params: "absent" },
};

const CURVES: Record<string, { name: string; hash: string }> = {
  [OID.p256]: { name: "P-256", hash: "SHA-256" },
  [OID.p384]: { name: "P-384", hash: "SHA-384" },
  [OID.p521]: { name: "P-521", hash: "SHA-512" },
};

/** Subject attributes: short name, upper bound (RFC 5280 appendix A), and the string type the attribute must use. */
const ATTRIBUTES: Record<string, { name: string; max?: number; type?: "printable" | "ia5" }> = {
  "2.5.4.3": { name: "CN", max: 64 },
  "2.5.4.6": { name: "C", type: "printable" },
  "2.5.4.7": { name: "L", max: 128 },
  "2.5.4.8": { name: "ST", max: 128 },
  "2.5.4.9": { name: "street", max: 128 },
  "2.5.4.10": { name: "O", max: 64 },
  "2.5.4.11": { name: "OU", max: 64 },
  "2.5.4.5": { name: "serialNumber", max: 64, type: "printable" },
  "2.5.4.12": { name: "title", max: 64 },
  "2.5.4.17": { name: "postalCode", max: 16 },
  "2.5.4.42": { name: "givenName", max: 32768 },
  "2.5.4.4": { name: "SN", max: 32768 },
  "2.5.4.46": { name: "dnQualifier", type: "printable" },
  "2.5.4.65": { name: "pseudonym", max: 128 },
  "1.2.840.113549.1.9.1": { name: "emailAddress", max: 255, type: "ia5" },
  "0.9.2342.19200300.100.1.25": { name: "DC", type: "ia5" },
  "0.9.2342.19200300.100.1.1": { name: "UID" },
};

const OID_CN = "2.5.4.3";
const OID_C = "2.5.4.6";

const KEY_USAGE_BITS = ["digitalSignature", "nonRepudiation", "keyEncipherment", "dataEncipherment", "keyAgreement", "keyCertSign", "cRLSign", "encipherOnly", "decipherOnly"] as const;
type KeyUsageBit = (typeof KEY_USAGE_BITS)[number];

const TAG = { BOOLEAN: 0x01, INTEGER: 0x02, BIT_STRING: 0x03, OCTET_STRING: 0x04, NULL: 0x05, OID: 0x06, ENUMERATED: 0x0a, UTF8: 0x0c, PRINTABLE: 0x13, TELETEX: 0x14, IA5: 0x16, UTC_TIME: 0x17, GENERALIZED_TIME: 0x18, UNIVERSAL: 0x1c, BMP: 0x1e, SEQUENCE: 0x30, SET: 0x31 } as const;

const DAY_MS = 86_400_000;
/** CA/Browser Forum's cap for TLS server certificates (and what browsers enforce for public roots). */
const TLS_MAX_VALIDITY_DAYS = 398;

// ---------------------------------------------------------------------------------
// Findings.

class Findings {
  readonly errors: Finding[] = [];
  readonly warnings: Finding[] = [];
  error(code: string, message: string): void {
    if (!this.errors.some((f) => f.code === code && f.message === message)) this.errors.push({ code, message });
  }
  warn(code: string, message: string): void {
    if (!this.warnings.some((f) => f.code === code && f.message === message)) this.warnings.push({ code, message });
  }
  result(): LintResult {
    return { errors: [...this.errors], warnings: [...this.warnings] };
  }
}

/** Thrown inside a rule when a structure cannot be read; turned into one finding. */
class Malformed extends Error {}

function expect(el: DerElement | undefined, tag: number, what: string): DerElement {
  if (!el || el.tag !== tag) throw new Malformed(what);
  return el;
}

function children(el: DerElement, what: string): DerElement[] {
  try {
    return derChildren(el);
  } catch {
    throw new Malformed(what);
  }
}

function oidOf(el: DerElement | undefined, what: string): string {
  try {
    return derOid(expect(el, TAG.OID, what));
  } catch {
    throw new Malformed(what);
  }
}

function extName(oid: string): string {
  return EXTENSION_NAMES[oid] ?? oid;
}

// ---------------------------------------------------------------------------------
// Shared readers.

interface RawExtension {
  oid: string;
  critical: boolean;
  /** The extnValue OCTET STRING's content: the extension's own DER. */
  value: Buffer;
}

/** Extensions ::= SEQUENCE OF Extension, with DER and duplicate checks. */
function readExtensions(seq: DerElement, out: Findings, where: string): RawExtension[] {
  const list: RawExtension[] = [];
  const items = children(expect(seq, TAG.SEQUENCE, `${where} extensions`), `${where} extensions`);
  if (items.length === 0) {
    const message = `The ${where} has an empty extensions list; RFC 5280 wants at least one extension, or the field left out`;
    // @peculiar/x509 writes CRL entries without extensions this way; every relying party tested (OpenSSL, GnuTLS, NSS, zlint) accepts it.
    if (where === "CRL entry") out.warn("crl_entry_extensions_empty", message);
    else out.error("extensions_empty", message);
  }
  const seen = new Set<string>();
  for (const item of items) {
    const parts = children(expect(item, TAG.SEQUENCE, "extension"), "extension");
    const oid = oidOf(parts[0], "extension identifier");
    let critical = false;
    let i = 1;
    if (parts[1]?.tag === TAG.BOOLEAN) {
      if (parts[1].content.length !== 1) throw new Malformed(`${extName(oid)} critical flag`);
      if (parts[1].content[0] === 0x00) {
        out.error("extension_encoding", `The ${extName(oid)} extension encodes "critical FALSE", which DER leaves out (it is the default)`);
      } else if (parts[1].content[0] !== 0xff) {
        out.error("extension_encoding", `The ${extName(oid)} extension's critical flag is not DER (TRUE is 0xFF)`);
        critical = true;
      } else {
        critical = true;
      }
      i = 2;
    }
    const value = expect(parts[i], TAG.OCTET_STRING, `${extName(oid)} value`);
    if (parts.length !== i + 1) throw new Malformed(`${extName(oid)} extension`);
    if (seen.has(oid)) out.error("extension_duplicate", `The ${extName(oid)} extension appears more than once (RFC 5280 4.2)`);
    seen.add(oid);
    list.push({ oid, critical, value: Buffer.from(value.content) });
  }
  return list;
}

/** The value of one extension as a DER element, or a malformed finding. */
function extValue(ext: RawExtension): DerElement {
  try {
    return readDer(ext.value);
  } catch {
    throw new Malformed(`${extName(ext.oid)} extension value`);
  }
}

interface IntegerInfo {
  value: bigint;
  negative: boolean;
  /** Octets as DER encodes them. */
  octets: number;
  minimal: boolean;
}

function readInteger(el: DerElement): IntegerInfo {
  const c = el.content;
  if (c.length === 0) return { value: 0n, negative: false, octets: 0, minimal: false };
  const minimal = c.length === 1 || !((c[0] === 0x00 && c[1] < 0x80) || (c[0] === 0xff && c[1] >= 0x80));
  const negative = (c[0] & 0x80) !== 0;
  let value = BigInt(`0x${c.toString("hex")}`);
  if (negative) value -= 1n << BigInt(c.length * 8);
  return { value, negative, octets: c.length, minimal };
}

/** A Time (UTCTime or GeneralizedTime) checked against RFC 5280 4.1.2.5; null when unreadable. */
function readTime(el: DerElement | undefined, label: string, out: Findings): Date | null {
  if (!el || (el.tag !== TAG.UTC_TIME && el.tag !== TAG.GENERALIZED_TIME)) {
    out.error("time_format", `${label} is not a UTCTime or GeneralizedTime`);
    return null;
  }
  const s = el.content.toString("latin1");
  let year: number;
  let rest: string;
  if (el.tag === TAG.UTC_TIME) {
    const m = /^(\d{2})(\d{10})Z$/.exec(s);
    if (!m) {
      out.error("time_format", `${label} (UTCTime "${s}") must be YYMMDDHHMMSSZ: with seconds, in UTC (RFC 5280 4.1.2.5.1)`);
      return null;
    }
    const yy = Number(m[1]);
    year = yy >= 50 ? 1900 + yy : 2000 + yy;
    rest = m[2];
  } else {
    const m = /^(\d{4})(\d{10})Z$/.exec(s);
    if (!m) {
      out.error("time_format", `${label} (GeneralizedTime "${s}") must be YYYYMMDDHHMMSSZ: with seconds, no fraction, in UTC (RFC 5280 4.1.2.5.2)`);
      return null;
    }
    year = Number(m[1]);
    rest = m[2];
    if (year < 2050) out.error("time_encoding", `${label} is in ${year}: dates through 2049 must be encoded as UTCTime, not GeneralizedTime (RFC 5280 4.1.2.5)`);
  }
  const [mo, d, h, mi, se] = [0, 2, 4, 6, 8].map((i) => Number(rest.slice(i, i + 2)));
  const ms = Date.UTC(year, mo - 1, d, h, mi, se);
  const date = new Date(ms);
  if (date.getUTCFullYear() !== year || date.getUTCMonth() !== mo - 1 || date.getUTCDate() !== d || h > 23 || mi > 59 || se > 59) {
    out.error("time_format", `${label} ("${s}") is not a valid date and time`);
    return null;
  }
  return date;
}

/** Checks an AlgorithmIdentifier of a signature; answers its description. */
function checkSignatureAlgorithm(el: DerElement, out: Findings, what: string): (typeof SIGNATURES)[string] | null {
  const parts = children(expect(el, TAG.SEQUENCE, `${what} signature algorithm`), `${what} signature algorithm`);
  const oid = oidOf(parts[0], `${what} signature algorithm`);
  const sig = SIGNATURES[oid];
  if (!sig) {
    out.error("signature_algorithm_unknown", `The ${what} is signed with an unsupported algorithm (${oid})`);
    return null;
  }
  const params = parts[1];
  if (parts.length > 2) out.error("signature_algorithm_encoding", `The ${what}'s ${sig.name} algorithm identifier has extra fields`);
  if (sig.params === "null" && !(params && params.tag === TAG.NULL && params.content.length === 0)) {
    out.error("signature_algorithm_encoding", `The ${what}'s ${sig.name} algorithm identifier must have NULL parameters (RFC 4055)`);
  }
  if (sig.params === "absent" && params) {
    out.error("signature_algorithm_encoding", `The ${what}'s ${sig.name} algorithm identifier must have no parameters (RFC 5758, RFC 8410)`);
  }
  if (sig.weak) out.error("signature_weak_hash", `The ${what} is signed with ${sig.name}: ${sig.hash} is too weak; use SHA-256 or stronger`);
  return sig;
}

interface KeyFacts {
  family: "RSA" | "ECDSA" | "Ed25519" | "other";
  label: string;
  curve?: string;
  bits?: number;
}

/** The CA key's family and curve, for the signature algorithm check. */
function keyFactsOfSpki(spki: Buffer): KeyFacts {
  try {
    const [alg] = derChildren(readDer(spki));
    const [algOid, params] = derChildren(alg);
    const oid = derOid(algOid);
    if (oid === OID.rsaEncryption || oid === OID.rsassaPss) return { family: "RSA", label: "RSA" };
    if (oid === OID.ecPublicKey) {
      const curveOid = params?.tag === TAG.OID ? derOid(params) : "";
      const curve = CURVES[curveOid]?.name ?? (curveOid || "explicit parameters");
      return { family: "ECDSA", curve, label: `ECDSA ${curve}` };
    }
    if (oid === OID.ed25519) return { family: "Ed25519", label: "Ed25519" };
    return { family: "other", label: oid };
  } catch {
    return { family: "other", label: "unreadable key" };
  }
}

function checkSignedWithCaKey(sig: (typeof SIGNATURES)[string] | null, caKey: KeyFacts, out: Findings, what: string): void {
  if (!sig || caKey.family === "other") return;
  if (sig.family !== caKey.family) {
    out.error("signature_algorithm_not_ca_key", `The ${what} says it is signed with ${sig.name}, but the CA's key is ${caKey.label}`);
    return;
  }
  if (caKey.family === "ECDSA") {
    const expected = Object.values(CURVES).find((c) => c.name === caKey.curve)?.hash;
    if (expected && sig.hash !== expected) out.warn("signature_hash_not_curve", `The ${what} uses ${sig.name} with a ${caKey.curve} key; ${caKey.curve} pairs with ${expected}`);
  }
}

/** keyIdentifier of an AuthorityKeyIdentifier; null when absent. Warns about issuer/serial fields. */
function readAki(ext: RawExtension, out: Findings, what: string): Buffer | null {
  const parts = children(expect(extValue(ext), TAG.SEQUENCE, "authorityKeyIdentifier"), "authorityKeyIdentifier");
  let keyId: Buffer | null = null;
  for (const p of parts) {
    if (p.tag === 0x80) keyId = Buffer.from(p.content);
    else if (p.tag === 0xa1 || p.tag === 0x82) {
      out.warn("aki_issuer_serial", `The ${what}'s authorityKeyIdentifier names the CA's issuer and serial number; the key identifier alone is robust when the CA is re-issued`);
    } else throw new Malformed("authorityKeyIdentifier");
  }
  return keyId;
}

// ---------------------------------------------------------------------------------
// Names.

const PRINTABLE = /^[A-Za-z0-9 '()+,\-./:=?]*$/;
const CONTROL = /[\u0000-\u001F\u007F-\u009F]/;

/** Text of a string value and whether its bytes are valid for its declared type. */
function decodeString(el: DerElement): { text: string | null; type: string } {
  const c = el.content;
  switch (el.tag) {
    case TAG.UTF8:
      try {
        return { text: new TextDecoder("utf-8", { fatal: true, ignoreBOM: true }).decode(c), type: "UTF8String" };
      } catch {
        return { text: null, type: "UTF8String" };
      }
    case TAG.PRINTABLE: {
      const s = c.toString("latin1");
      return { text: PRINTABLE.test(s) ? s : null, type: "PrintableString" };
    }
    case TAG.IA5:
      return { text: c.every((b) => b < 0x80) ? c.toString("latin1") : null, type: "IA5String" };
    case TAG.TELETEX:
      return { text: c.toString("latin1"), type: "TeletexString" };
    case TAG.BMP: {
      if (c.length % 2 !== 0) return { text: null, type: "BMPString" };
      return { text: Buffer.from(c).swap16().toString("utf16le"), type: "BMPString" };
    }
    case TAG.UNIVERSAL: {
      if (c.length % 4 !== 0) return { text: null, type: "UniversalString" };
      let s = "";
      for (let i = 0; i < c.length; i += 4) {
        const cp = c.readUInt32BE(i);
        if (cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff)) return { text: null, type: "UniversalString" };
        s += String.fromCodePoint(cp);
      }
      return { text: s, type: "UniversalString" };
    }
    default:
      return { text: null, type: `a non-string type (tag ${el.tag})` };
  }
}

interface NameAttribute {
  oid: string;
  name: string;
  value: string | null;
}

/** The attributes of a Name, with the DirectoryString rules of RFC 5280 4.1.2.4/4.1.2.6 checked on the subject. */
function readName(name: DerElement, out: Findings, which: "subject" | "issuer", check: boolean): NameAttribute[] {
  const attributes: NameAttribute[] = [];
  for (const rdn of children(expect(name, TAG.SEQUENCE, which), which)) {
    const avas = children(expect(rdn, TAG.SET, `${which} RDN`), `${which} RDN`);
    if (avas.length === 0) throw new Malformed(`${which} RDN`);
    if (avas.length > 1 && check) out.warn("subject_multi_valued_rdn", `The ${which} has an RDN with ${avas.length} attributes; software often mishandles multi-valued RDNs`);
    for (const ava of avas) {
      const [typeEl, valueEl, ...more] = children(expect(ava, TAG.SEQUENCE, `${which} attribute`), `${which} attribute`);
      if (!valueEl || more.length) throw new Malformed(`${which} attribute`);
      const oid = oidOf(typeEl, `${which} attribute type`);
      const spec = ATTRIBUTES[oid];
      const label = spec?.name ?? oid;
      const { text, type } = decodeString(valueEl);
      attributes.push({ oid, name: label, value: text });
      if (!check) continue;
      if (text === null) {
        const code = valueEl.tag === TAG.PRINTABLE ? "printable_string_invalid" : valueEl.tag === TAG.UTF8 ? "utf8_string_invalid" : valueEl.tag === TAG.IA5 ? "ia5_string_invalid" : "string_encoding_invalid";
        const why = valueEl.tag === TAG.PRINTABLE ? "holds characters outside PrintableString's set (letters, digits, space and ' ( ) + , - . / : = ?)" : `is not valid ${type}`;
        out.error(code, `The ${which} attribute ${label} ${why}`);
        continue;
      }
      if (spec?.type === "printable" && valueEl.tag !== TAG.PRINTABLE) {
        out.error("printable_string_required", `The ${which} attribute ${label} must be a PrintableString (RFC 5280 appendix A), not ${type}`);
      } else if (spec?.type === "ia5" && valueEl.tag !== TAG.IA5) {
        out.error("ia5_string_required", `The ${which} attribute ${label} must be an IA5String, not ${type}`);
      } else if (!spec?.type && valueEl.tag !== TAG.PRINTABLE && valueEl.tag !== TAG.UTF8) {
        out.warn("directory_string_legacy", `The ${which} attribute ${label} is a ${type}; new certificates use PrintableString or UTF8String (RFC 5280 4.1.2.6)`);
      }
      if (text === "") out.error("subject_attribute_empty", `The ${which} attribute ${label} is empty`);
      if (CONTROL.test(text)) out.error("subject_control_characters", `The ${which} attribute ${label} contains control characters`);
      if (text !== text.trim()) out.warn("subject_attribute_whitespace", `The ${which} attribute ${label} starts or ends with white space`);
      const length = [...text].length;
      if (spec?.max !== undefined && length > spec.max) out.error("subject_attribute_too_long", `The ${which} attribute ${label} is ${length} characters long; at most ${spec.max} are allowed (RFC 5280 appendix A)`);
      if (oid === OID_C) {
        if (!/^[A-Za-z]{2}$/.test(text)) out.error("country_not_two_letters", `The ${which} country (C) "${text}" is not a two-letter ISO 3166 code`);
        else if (text.toUpperCase() !== "XX" && !ISO_3166_ALPHA2.has(text.toUpperCase())) out.error("country_not_iso", `The ${which} country (C) "${text}" is not an ISO 3166 country code`);
        else if (text !== text.toUpperCase()) out.warn("country_lower_case", `The ${which} country (C) "${text}" is written in lower case; ISO 3166 codes are upper case`);
      }
    }
  }
  return attributes;
}

// ---------------------------------------------------------------------------------
// General names.

interface GeneralNames {
  dns: string[];
  ip: string[];
  email: string[];
  uri: string[];
  other: number;
}

function readGeneralNames(el: DerElement, out: Findings, what: string, check: boolean): GeneralNames {
  const names: GeneralNames = { dns: [], ip: [], email: [], uri: [], other: 0 };
  const items = children(expect(el, TAG.SEQUENCE, what), what);
  if (items.length === 0 && check) out.error("san_empty", `The ${what} extension holds no names (RFC 5280 4.2.1.6)`);
  const seen = new Set<string>();
  for (const item of items) {
    const ascii = item.content.every((b) => b >= 0x20 && b < 0x7f) ? item.content.toString("latin1") : null;
    let key: string | null = null;
    switch (item.tag) {
      case 0x82: {
        if (check && (ascii === null || !isDnsName(ascii))) out.error("san_dns_invalid", `The ${what} DNS name "${ascii ?? item.content.toString("latin1")}" is not a valid host name (letters, digits, inner hyphens; a wildcard only as the whole first label)`);
        if (ascii !== null) names.dns.push(ascii);
        key = `dns:${(ascii ?? "").toLowerCase()}`;
        break;
      }
      case 0x81: {
        if (check && (ascii === null || !isEmailSan(ascii))) out.error("san_email_invalid", `The ${what} e-mail address "${ascii ?? "(not ASCII)"}" is not a valid address`);
        if (ascii !== null) names.email.push(ascii);
        key = `email:${ascii}`;
        break;
      }
      case 0x86: {
        if (check && (ascii === null || !isUriSan(ascii))) out.error("san_uri_invalid", `The ${what} URI "${ascii ?? "(not ASCII)"}" is not an absolute URI`);
        if (ascii !== null) names.uri.push(ascii);
        key = `uri:${ascii}`;
        break;
      }
      case 0x87: {
        if (item.content.length !== 4 && item.content.length !== 16) {
          if (check) out.error("san_ip_invalid", `A ${what} IP address has ${item.content.length} bytes; IPv4 has 4 and IPv6 16`);
        } else {
          const ip = formatIpAddress(item.content);
          names.ip.push(ip);
          key = `ip:${ip}`;
        }
        break;
      }
      default:
        names.other++;
        if (check) out.warn("san_other_name_type", `The ${what} holds a name of a type Portcullis does not issue (tag ${item.tag & 0x1f})`);
    }
    if (key && check) {
      if (seen.has(key)) out.warn("san_duplicate", `The ${what} lists ${key.replace(/^(\w+):/, (m) => m.toUpperCase())} more than once`);
      seen.add(key);
    }
  }
  return names;
}

/** URIs of a cRLDistributionPoints extension. */
function readCdpUris(ext: RawExtension): string[] {
  const uris: string[] = [];
  for (const dp of children(expect(extValue(ext), TAG.SEQUENCE, "cRLDistributionPoints"), "cRLDistributionPoints")) {
    const fields = children(expect(dp, TAG.SEQUENCE, "DistributionPoint"), "DistributionPoint");
    const name = fields.find((f) => f.tag === 0xa0);
    if (!name) throw new Malformed("DistributionPoint without a name");
    const full = children(name, "distributionPoint").find((f) => f.tag === 0xa0);
    if (!full) continue;
    for (const gn of children(full, "fullName")) if (gn.tag === 0x86) uris.push(gn.content.toString("latin1"));
  }
  return uris;
}

/** (accessMethod, URI) pairs of an authorityInfoAccess extension. */
function readAia(ext: RawExtension): { method: string; uri: string | null }[] {
  return children(expect(extValue(ext), TAG.SEQUENCE, "authorityInfoAccess"), "authorityInfoAccess").map((ad) => {
    const [method, location] = children(expect(ad, TAG.SEQUENCE, "AccessDescription"), "AccessDescription");
    return { method: oidOf(method, "accessMethod"), uri: location?.tag === 0x86 ? location.content.toString("latin1") : null };
  });
}

// ---------------------------------------------------------------------------------
// Keys.

function checkSubjectKey(spki: DerElement, out: Findings): KeyFacts {
  const [alg, bits, ...more] = children(expect(spki, TAG.SEQUENCE, "subjectPublicKeyInfo"), "subjectPublicKeyInfo");
  if (!bits || bits.tag !== TAG.BIT_STRING || more.length) throw new Malformed("subjectPublicKeyInfo");
  const [algOid, params, ...algMore] = children(expect(alg, TAG.SEQUENCE, "key algorithm"), "key algorithm");
  const oid = oidOf(algOid, "key algorithm");
  if (bits.content[0] !== 0) throw new Malformed("subjectPublicKey bit string");
  const key = bits.content.subarray(1);
  if (oid === OID.rsaEncryption) {
    if (!(params && params.tag === TAG.NULL && params.content.length === 0) || algMore.length) {
      out.error("spki_encoding", "The RSA key's algorithm identifier must have NULL parameters (RFC 3279)");
    }
    const [n, e] = children(expect(readDerOr(key, "RSA public key"), TAG.SEQUENCE, "RSA public key"), "RSA public key").map((x) => readInteger(expect(x, TAG.INTEGER, "RSA public key")));
    if (!n || !e) throw new Malformed("RSA public key");
    const modulusBits = n.value > 0n ? n.value.toString(2).length : 0;
    if (modulusBits < 2048) out.error("rsa_key_too_small", `The RSA key has ${modulusBits} bits; at least 2048 are required`);
    if (modulusBits % 8 !== 0) out.error("rsa_modulus_not_multiple_of_8", `The RSA modulus has ${modulusBits} bits, not a multiple of 8`);
    if (n.value % 2n === 0n) out.error("rsa_modulus_even", "The RSA modulus is even");
    if (e.value < 3n || e.value % 2n === 0n) out.error("rsa_exponent_invalid", `The RSA public exponent ${e.value} must be odd and at least 3`);
    else if (e.value < 65537n) out.warn("rsa_exponent_small", `The RSA public exponent ${e.value} is below 65537`);
    return { family: "RSA", label: `RSA ${modulusBits}`, bits: modulusBits };
  }
  if (oid === OID.ecPublicKey) {
    if (!params || params.tag !== TAG.OID || algMore.length) {
      out.error("ec_explicit_parameters", "The EC key must name its curve (namedCurve), not carry explicit parameters (RFC 5480)");
      return { family: "ECDSA", label: "ECDSA (explicit parameters)" };
    }
    const curveOid = oidOf(params, "curve");
    const curve = CURVES[curveOid];
    if (!curve) out.error("ec_curve_not_allowed", `The EC key is on the curve ${curveOid}; only P-256, P-384 and P-521 are allowed`);
    const coordinate = { "P-256": 32, "P-384": 48, "P-521": 66 }[curve?.name ?? ""] as number | undefined;
    if (coordinate) {
      if (key[0] === 0x04 && key.length === 2 * coordinate + 1) {
        // Uncompressed: what every client reads.
      } else if ((key[0] === 0x02 || key[0] === 0x03) && key.length === coordinate + 1) {
        out.warn("ec_point_compressed", `The ${curve!.name} public key is a compressed point; some clients read only uncompressed points`);
      } else {
        out.error("ec_point_encoding", `The ${curve!.name} public key is not a valid point encoding`);
      }
    }
    return { family: "ECDSA", curve: curve?.name ?? curveOid, label: `ECDSA ${curve?.name ?? curveOid}` };
  }
  if (oid === OID.ed25519) {
    if (params) out.error("spki_encoding", "The Ed25519 key's algorithm identifier must have no parameters (RFC 8410)");
    if (key.length !== 32) out.error("spki_encoding", `The Ed25519 key has ${key.length} bytes; it has 32`);
    return { family: "Ed25519", label: "Ed25519" };
  }
  if (oid === OID.rsassaPss) {
    out.error("key_algorithm_not_allowed", "The key is tagged RSASSA-PSS; certificates carry RSA keys as rsaEncryption");
    return { family: "RSA", label: "RSA-PSS" };
  }
  out.error("key_algorithm_not_allowed", `The key algorithm ${oid} is not allowed; use RSA (2048 bits or more), ECDSA P-256/P-384/P-521, or Ed25519`);
  return { family: "other", label: oid };
}

function readDerOr(buf: Buffer, what: string): DerElement {
  try {
    return readDer(buf);
  } catch {
    throw new Malformed(what);
  }
}

// ---------------------------------------------------------------------------------
// Certificates.

interface ParsedCertificate {
  version: number;
  serial: DerElement;
  tbsSignature: DerElement;
  outerSignature: DerElement;
  issuer: DerElement;
  notBefore: DerElement;
  notAfter: DerElement;
  subject: DerElement;
  spki: DerElement;
  uniqueIds: boolean;
  extensions: DerElement | null;
}

function parseCertificateDer(der: Buffer): ParsedCertificate {
  const [tbs, sigAlg, sig, ...rest] = children(expect(readDerOr(der, "certificate"), TAG.SEQUENCE, "certificate"), "certificate");
  if (!tbs || !sigAlg || !sig || rest.length || sig.tag !== TAG.BIT_STRING) throw new Malformed("certificate");
  const fields = children(expect(tbs, TAG.SEQUENCE, "tbsCertificate"), "tbsCertificate");
  let i = 0;
  let version = 0;
  if (fields[0]?.tag === 0xa0) {
    const [v] = children(fields[0], "version");
    version = Number(readInteger(expect(v, TAG.INTEGER, "version")).value);
    i = 1;
  }
  const [serial, tbsSignature, issuer, validity, subject, spki] = fields.slice(i, i + 6);
  if (!spki) throw new Malformed("tbsCertificate");
  const [notBefore, notAfter, ...more] = children(expect(validity, TAG.SEQUENCE, "validity"), "validity");
  if (!notAfter || more.length) throw new Malformed("validity");
  let uniqueIds = false;
  let extensions: DerElement | null = null;
  for (const f of fields.slice(i + 6)) {
    if (f.tag === 0x81 || f.tag === 0x82 || f.tag === 0xa1 || f.tag === 0xa2) uniqueIds = true;
    else if (f.tag === 0xa3) {
      const inner = children(f, "extensions");
      if (inner.length !== 1) throw new Malformed("extensions");
      extensions = inner[0];
    } else throw new Malformed("tbsCertificate");
  }
  return { version, serial: expect(serial, TAG.INTEGER, "serial number"), tbsSignature, outerSignature: sigAlg, issuer, notBefore, notAfter, subject, spki, uniqueIds, extensions };
}

function keyUsageBits(ext: RawExtension, out: Findings): Set<KeyUsageBit> {
  const el = expect(extValue(ext), TAG.BIT_STRING, "keyUsage");
  const c = el.content;
  if (c.length === 0 || c[0] > 7 || (c.length === 1 && c[0] !== 0)) throw new Malformed("keyUsage");
  const bytes = c.subarray(1);
  const unused = c[0];
  if (bytes.length > 2) out.error("key_usage_encoding", "The keyUsage bit string is longer than its nine defined bits");
  if (bytes.length > 0) {
    const last = bytes[bytes.length - 1];
    // DER: no trailing zero bits, and the unused-bits count says exactly how many padding bits follow.
    if (last === 0 || (last & ((1 << unused) - 1)) !== 0 || (last & (1 << unused)) === 0) {
      out.error("key_usage_encoding", "The keyUsage bit string is not minimally encoded (DER drops trailing zero bits)");
    }
  }
  const set = new Set<KeyUsageBit>();
  const used = bytes.length * 8 - unused;
  KEY_USAGE_BITS.forEach((name, bit) => {
    if (bit >= used) return;
    const byte = bytes[bit >> 3];
    if (byte !== undefined && (byte & (0x80 >> (bit & 7))) !== 0) set.add(name);
  });
  return set;
}

const sameSet = (a: Iterable<string>, b: Iterable<string>) => {
  const x = new Set(a);
  const y = new Set(b);
  return x.size === y.size && [...x].every((v) => y.has(v));
};

const list = (items: Iterable<string>) => [...items].join(", ") || "none";

/**
 * Lints a certificate (DER bytes or a parsed certificate) against RFC 5280, the CA/Browser
 * Forum rules that apply to a private CA, and the Portcullis profile of `ctx.usage`:
 * serial (positive, ≤ 20 octets, ≥ 64 bits), signature algorithm (matches the CA key,
 * same inside and outside), issuer (the CA's subject byte for byte), validity (inside
 * the CA's; UTCTime through 2049, GeneralizedTime from 2050), subject strings, key type
 * and size, extensions (no duplicates, criticality, SKI, AKI = the CA's SKI,
 * basicConstraints/keyUsage/extendedKeyUsage as the usage's profile says, SANs well
 * formed, present for TLS servers with the CN among them, a critical SAN when the
 * subject is empty).
 */
export function lintCertificate(input: Uint8Array | x509.X509Certificate, ctx: CertificateLintContext): LintResult {
  const out = new Findings();
  const der = input instanceof x509.X509Certificate ? toBuffer(input.rawData) : toBuffer(input);
  try {
    lintCertificateInto(der, ctx, out);
  } catch (e) {
    if (!(e instanceof Malformed)) throw e;
    out.error("malformed", `The certificate cannot be read: its ${e.message} is not valid DER`);
  }
  return out.result();
}

function lintCertificateInto(der: Buffer, ctx: CertificateLintContext, out: Findings): void {
  const c = parseCertificateDer(der);
  const usage = ctx.usage;
  const selfSigned = usage === "ca" && !ctx.issuer;
  const caDer = ctx.issuer ? toBuffer(ctx.issuer.rawData) : der;
  const ca = parseCertificateDer(caDer);
  const now = (ctx.now ?? new Date()).getTime();
  const profile = usage === "ca" || usage === "ocsp-responder" ? null : PROFILES[usage];
  const label = usage === "ca" ? "CA certificate" : usage === "ocsp-responder" ? "OCSP responder certificate" : profile ? `${usageLabel(usage)} certificate` : "certificate";

  // Version, serial.
  if (c.version !== 2) out.error("version_not_v3", `The certificate is X.509 v${c.version + 1}; extensions need v3`);
  if (c.uniqueIds) out.error("unique_identifier_present", "The certificate carries issuer/subject unique identifiers, which CAs must not generate (RFC 5280 4.1.2.8)");
  const serial = readInteger(c.serial);
  if (!serial.minimal) out.error("serial_not_der", "The serial number is not minimally encoded (DER)");
  if (serial.negative || serial.value === 0n) out.error("serial_not_positive", `The serial number must be a positive integer (RFC 5280 4.1.2.2); it is ${serial.value === 0n ? "zero" : "negative"}`);
  if (serial.octets > 20) out.error("serial_too_long", `The serial number is ${serial.octets} octets long; at most 20 are allowed (RFC 5280 4.1.2.2)`);
  const magnitude = serial.octets - (c.serial.content[0] === 0x00 ? 1 : 0);
  if (!serial.negative && serial.value > 0n && magnitude < 8) {
    out.error("serial_low_entropy", `The serial number has ${magnitude} octet${magnitude === 1 ? "" : "s"}; 64 random bits need at least 8 (CA/Browser Forum BR 7.1)`);
  } else if (!serial.negative && magnitude === 8 && c.serial.content[0] !== 0x00) {
    out.warn("serial_may_lack_entropy", "The serial number is 8 octets with its top bit clear: at most 63 random bits, below the 64 the CA/Browser Forum asks for");
  }

  // Signature algorithm.
  const inner = checkSignatureAlgorithm(c.tbsSignature, out, "certificate");
  if (!c.tbsSignature.bytes.equals(c.outerSignature.bytes)) {
    out.error("signature_algorithm_mismatch", "The signature algorithm inside the signed part differs from the one outside it (RFC 5280 4.1.1.2)");
  }
  checkSignedWithCaKey(inner, keyFactsOfSpki(ca.spki.bytes), out, "certificate");

  // Names.
  const issuerAttrs = readName(c.issuer, out, "issuer", false);
  if (issuerAttrs.length === 0) out.error("issuer_empty", "The issuer name is empty (RFC 5280 4.1.2.4)");
  if (!c.issuer.bytes.equals(ca.subject.bytes)) {
    out.error("issuer_not_ca_subject", selfSigned ? "A self-signed CA certificate's issuer must equal its subject" : "The issuer name is not the CA certificate's subject, byte for byte (RFC 5280 4.1.2.4)");
  }
  const subject = readName(c.subject, out, "subject", true);
  const cns = subject.filter((a) => a.oid === OID_CN);
  if (cns.length > 1) out.warn("subject_multiple_cn", `The subject has ${cns.length} common names; most software reads only one`);
  const commonName = cns[0]?.value ?? null;

  // Validity.
  const notBefore = readTime(c.notBefore, "notBefore", out);
  const notAfter = readTime(c.notAfter, "notAfter", out);
  if (notBefore && notAfter) {
    if (notAfter.getTime() <= notBefore.getTime()) out.error("validity_not_positive", `notAfter (${notAfter.toISOString()}) is not after notBefore (${notBefore.toISOString()})`);
    if (notAfter.getTime() < now) out.error("certificate_expired", `The certificate expired on ${notAfter.toISOString()}`);
    if (notBefore.getTime() > now + DAY_MS) out.warn("not_yet_valid", `The certificate only becomes valid on ${notBefore.toISOString()}`);
  }
  if (!selfSigned && notBefore && notAfter) {
    const caNotBefore = readTime(ca.notBefore, "CA notBefore", new Findings());
    const caNotAfter = readTime(ca.notAfter, "CA notAfter", new Findings());
    if ((caNotBefore && notBefore.getTime() < caNotBefore.getTime()) || (caNotAfter && notAfter.getTime() > caNotAfter.getTime())) {
      out.error(
        "validity_exceeds_ca",
        `The validity (${notBefore.toISOString()} to ${notAfter.toISOString()}) is not inside the CA certificate's (${caNotBefore?.toISOString() ?? "?"} to ${caNotAfter?.toISOString() ?? "?"})`,
      );
    }
  }

  // Key.
  const spkiMatchesCa = !selfSigned && c.spki.bytes.equals(ca.spki.bytes);
  if (spkiMatchesCa) out.error("subject_key_is_ca_key", "The certificate's public key is the CA's own key");

  // Extensions.
  const exts = c.extensions ? readExtensions(c.extensions, out, "certificate") : [];
  const byOid = new Map(exts.map((e) => [e.oid, e] as const));
  const get = (oid: string) => byOid.get(oid);
  for (const e of exts) {
    if (e.critical && !KNOWN_CERT_EXTENSIONS.has(e.oid)) out.error("unknown_critical_extension", `The extension ${e.oid} is critical but not one relying parties know; they must reject the certificate`);
  }

  // basicConstraints.
  const bcExt = get(OID.basicConstraints);
  let isCa = false;
  let pathLen: number | undefined;
  if (bcExt) {
    const parts = children(expect(extValue(bcExt), TAG.SEQUENCE, "basicConstraints"), "basicConstraints");
    for (const p of parts) {
      if (p.tag === TAG.BOOLEAN) {
        if (p.content[0] === 0x00) out.error("extension_encoding", 'basicConstraints encodes "cA FALSE", which DER leaves out');
        isCa = p.content[0] !== 0x00;
      } else if (p.tag === TAG.INTEGER) {
        const v = readInteger(p);
        if (v.negative) out.error("path_len_negative", "basicConstraints pathLenConstraint is negative");
        pathLen = Number(v.value);
      } else throw new Malformed("basicConstraints");
    }
  }
  const ku = get(OID.keyUsage) ? keyUsageBits(get(OID.keyUsage)!, out) : null;
  if (isCa) {
    if (!bcExt!.critical) out.error("basic_constraints_not_critical", "A CA certificate's basicConstraints must be critical (RFC 5280 4.2.1.9)");
    if (!ku) out.error("key_usage_missing", "A CA certificate must have a keyUsage extension (RFC 5280 4.2.1.3)");
    else {
      if (!ku.has("keyCertSign")) out.error("ca_without_key_cert_sign", "The certificate is a CA (cA TRUE) but its keyUsage lacks keyCertSign");
      if (!ku.has("cRLSign")) out.error("ca_without_crl_sign", "The CA certificate's keyUsage lacks cRLSign, so its CRLs would not verify");
    }
    if (subject.length === 0) out.error("ca_subject_empty", "A CA certificate must have a non-empty subject (RFC 5280 4.1.2.6)");
  } else if (pathLen !== undefined) {
    out.error("path_len_without_ca", "pathLenConstraint is present but cA is not TRUE (RFC 5280 4.2.1.9)");
  }
  if (pathLen !== undefined && ku && !ku.has("keyCertSign")) out.error("path_len_without_key_cert_sign", "pathLenConstraint is present but keyUsage lacks keyCertSign (RFC 5280 4.2.1.9)");

  // keyUsage.
  const keyFacts = checkSubjectKey(c.spki, out);
  if (ku) {
    const kuExt = get(OID.keyUsage)!;
    if (ku.size === 0) out.error("key_usage_empty", "The keyUsage extension has no bit set (RFC 5280 4.2.1.3)");
    if (!kuExt.critical) {
      if (isCa) out.error("key_usage_not_critical", "A CA certificate's keyUsage must be critical");
      else out.warn("key_usage_not_critical", "keyUsage should be critical (RFC 5280 4.2.1.3)");
    }
    if (ku.has("keyCertSign") && !isCa) out.error("key_cert_sign_without_ca", "keyUsage has keyCertSign but basicConstraints does not say cA TRUE (RFC 5280 4.2.1.3)");
    if (ku.has("cRLSign") && !isCa) out.error("crl_sign_without_ca", "keyUsage has cRLSign on an end-entity certificate");
    if ((ku.has("encipherOnly") || ku.has("decipherOnly")) && !ku.has("keyAgreement")) out.error("key_usage_encipher_only", "encipherOnly/decipherOnly are meaningful only with keyAgreement");
    const notFor = (bits: KeyUsageBit[], key: string) => {
      const bad = bits.filter((b) => ku.has(b));
      if (bad.length) out.error("key_usage_not_for_key", `keyUsage ${bad.join(", ")} cannot be used with ${key} key`);
    };
    if (keyFacts.family === "ECDSA") notFor(["keyEncipherment", "dataEncipherment"], "an ECDSA");
    if (keyFacts.family === "Ed25519") notFor(["keyEncipherment", "dataEncipherment", "keyAgreement", "encipherOnly", "decipherOnly"], "an Ed25519");
    if (keyFacts.family === "RSA") notFor(["keyAgreement", "encipherOnly", "decipherOnly"], "an RSA");
  }

  // extendedKeyUsage.
  const ekuExt = get(OID.eku);
  let ekus: string[] = [];
  if (ekuExt) {
    ekus = children(expect(extValue(ekuExt), TAG.SEQUENCE, "extendedKeyUsage"), "extendedKeyUsage").map((o) => oidOf(o, "extendedKeyUsage"));
    if (ekus.length === 0) out.error("eku_empty", "The extendedKeyUsage extension lists no purpose");
    if (ekus.includes(OID.anyEku)) out.warn("eku_any", "extendedKeyUsage includes anyExtendedKeyUsage, which allows every purpose");
    if (ekuExt.critical) out.warn("eku_critical", "extendedKeyUsage is critical; many clients expect it not to be");
  }
  const ekuName = (o: string) => EKU_NAMES[o] ?? o;
  const serverAuth = ekus.includes(EKU_OIDS.serverAuth);
  if (ku && ekus.length) {
    const needs: Record<string, KeyUsageBit[]> = {
      [EKU_OIDS.serverAuth]: keyFacts.family === "RSA" ? ["digitalSignature", "keyEncipherment"] : ["digitalSignature", "keyAgreement"],
      [EKU_OIDS.clientAuth]: ["digitalSignature", "keyAgreement"],
      [EKU_OIDS.codeSigning]: ["digitalSignature"],
      [OID.ocspSigning]: ["digitalSignature", "nonRepudiation"],
    };
    for (const o of ekus) {
      const allowed = needs[o];
      if (allowed && !allowed.some((b) => ku.has(b))) out.error("key_usage_eku_inconsistent", `extendedKeyUsage ${ekuName(o)} needs keyUsage ${allowed.join(" or ")}`);
    }
  }

  // SKI, AKI.
  const skiExt = get(OID.ski);
  if (!skiExt) out.error("ski_missing", "The certificate has no subjectKeyIdentifier (RFC 5280 4.2.1.2)");
  else {
    if (skiExt.critical) out.error("ski_critical", "subjectKeyIdentifier must not be critical (RFC 5280 4.2.1.2)");
    const ski = expect(extValue(skiExt), TAG.OCTET_STRING, "subjectKeyIdentifier");
    if (ski.content.length === 0) out.error("ski_empty", "The subjectKeyIdentifier is empty");
  }
  const akiExt = get(OID.aki);
  if (!akiExt) {
    if (!selfSigned) out.error("aki_missing", "The certificate has no authorityKeyIdentifier (RFC 5280 4.2.1.1)");
  } else {
    if (akiExt.critical) out.error("aki_critical", "authorityKeyIdentifier must not be critical (RFC 5280 4.2.1.1)");
    const keyId = readAki(akiExt, out, "certificate");
    if (!keyId) {
      if (!selfSigned) out.error("aki_key_id_missing", "The authorityKeyIdentifier has no keyIdentifier (RFC 5280 4.2.1.1)");
    } else {
      const caSki = caSkiOf(ctx.issuer, der);
      if (caSki && !keyId.equals(caSki)) out.error("aki_not_ca_ski", `The authorityKeyIdentifier (${keyId.toString("hex")}) is not the CA's subjectKeyIdentifier (${caSki.toString("hex")})`);
    }
  }

  // Subject alternative names.
  const sanExt = get(OID.san);
  const sans = sanExt ? readGeneralNames(expect(extValue(sanExt), TAG.SEQUENCE, "subjectAltName"), out, "subjectAltName", true) : null;
  if (subject.length === 0) {
    if (!sans) out.error("empty_subject_without_san", "The subject is empty and there is no subjectAltName (RFC 5280 4.2.1.6)");
    else if (!sanExt!.critical) out.error("empty_subject_san_not_critical", "The subject is empty, so subjectAltName must be critical (RFC 5280 4.2.1.6)");
  } else if (sanExt?.critical) {
    out.warn("san_critical_with_subject", "subjectAltName is critical although the subject is not empty (RFC 5280 4.2.1.6: SHOULD NOT)");
  }
  const hostProfile = Boolean(profile?.requiresServerName);
  if (hostProfile || serverAuth) {
    if (!sans) out.error("san_missing_for_tls", "A TLS server certificate needs a subjectAltName with its DNS names or IP addresses");
    else if (sans.dns.length + sans.ip.length === 0) out.error("san_no_host_for_tls", "A TLS server certificate needs at least one DNS name or IP address in its subjectAltName");
    if (commonName !== null && sans) {
      const ip = parseIpAddress(commonName);
      const listed = ip ? sans.ip.includes(formatIpAddress(ip)) : sans.dns.some((d) => d.toLowerCase() === commonName.toLowerCase());
      if (!listed) {
        const message = `The common name "${commonName}" is not among the subjectAltName DNS names and IP addresses`;
        // Where the CN is a fixed identity rather than a host name (CockroachDB's "node"), clients match the SANs only.
        if (profile && !profile.commonNameAsServerName) out.warn("cn_not_in_san", `${message}; clients that match host names use the SANs only`);
        else out.error("cn_not_in_san", message);
      }
    }
    if (keyFacts.family === "Ed25519") out.warn("ed25519_tls_server", "Browsers and many TLS stacks do not accept Ed25519 server certificates (the CA/Browser Forum allows RSA and ECDSA keys only)");
  }
  if (profile?.requiresDeviceIdentity) {
    const identity = findDeviceIdentity({ commonName, sans: sans ? sans.email.map((value) => ({ type: "email", value })) : [] });
    if (!identity) out.error("device_identity_missing", "An IoT device certificate needs the identity CN=d:<type>:<id> or the SAN email:d:<type>:<id>");
  }

  // Distribution points and access information.
  const cdp = get(OID.cdp);
  if (cdp) {
    if (cdp.critical) out.warn("cdp_critical", "cRLDistributionPoints should not be critical (RFC 5280 4.2.1.13)");
    const uris = readCdpUris(cdp);
    if (uris.length === 0) out.warn("cdp_without_uri", "cRLDistributionPoints names no URI");
    for (const u of uris) if (!/^https?:\/\//i.test(u)) out.warn("cdp_not_http", `The CRL distribution point ${u} is not an http(s) URL`);
  }
  const aia = get(OID.aia);
  if (aia) {
    if (aia.critical) out.error("aia_critical", "authorityInfoAccess must not be critical (RFC 5280 4.2.2.1)");
    for (const a of readAia(aia)) {
      if (a.uri === null) out.warn("aia_without_uri", "An authorityInfoAccess entry has no URI");
      else if (!/^https?:\/\//i.test(a.uri)) out.warn("aia_not_http", `The authorityInfoAccess location ${a.uri} is not an http(s) URL`);
    }
  }
  for (const [oid, must] of [
    [OID.nameConstraints, true],
    [OID.policyConstraints, true],
    [OID.inhibitAnyPolicy, true],
    [OID.freshestCrl, false],
    [OID.sia, false],
    [OID.subjectDirectoryAttributes, false],
  ] as const) {
    const e = get(oid);
    if (e && e.critical !== must) out.error(must ? "extension_must_be_critical" : "extension_must_not_be_critical", `${extName(oid)} must ${must ? "" : "not "}be critical (RFC 5280 4.2)`);
  }
  if (get(OID.nameConstraints) && !isCa) out.error("name_constraints_not_in_ca", "nameConstraints may appear only in CA certificates");

  // The usage's profile.
  const expectBits = (bits: string[], who: string) => {
    if (!ku) out.error("key_usage_missing", `The ${who} needs keyUsage ${bits.join(", ")}`);
    else if (!sameSet(ku, bits)) out.error("key_usage_mismatch", `The ${who} needs keyUsage ${list(bits)}; the certificate has ${list(ku)}`);
  };
  const expectEku = (oids: string[], who: string) => {
    if (oids.length === 0) {
      if (ekuExt) out.error("eku_mismatch", `The ${who} has no extendedKeyUsage; the certificate has ${list(ekus.map(ekuName))}`);
    } else if (!ekuExt) out.error("eku_missing", `The ${who} needs extendedKeyUsage ${list(oids.map(ekuName))}`);
    else if (!sameSet(ekus, oids)) out.error("eku_mismatch", `The ${who} needs extendedKeyUsage ${list(oids.map(ekuName))}; the certificate has ${list(ekus.map(ekuName))}`);
  };
  const expectCa = (ca: boolean, path: number | undefined, who: string) => {
    if (!bcExt) out.error("basic_constraints_missing", `The ${who} needs basicConstraints cA ${ca ? "TRUE" : "FALSE"}`);
    else if (isCa !== ca) out.error("basic_constraints_mismatch", `The ${who} needs basicConstraints cA ${ca ? "TRUE" : "FALSE"}; the certificate says cA ${isCa ? "TRUE" : "FALSE"}`);
    else if (ca && path !== pathLen) out.error("path_len_mismatch", `The ${who} needs pathLenConstraint ${path ?? "absent"}; the certificate has ${pathLen ?? "none"}`);
  };
  if (profile) {
    const who = `${usageLabel(profile.usage)} usage`;
    expectCa(profile.basicConstraints.ca, profile.basicConstraints.pathLength, who);
    expectBits(profile.keyUsage(keyFacts.family), who);
    expectEku(profile.extendedKeyUsage.map((n) => EKU_OIDS[n]), who);
  } else if (usage === "ca") {
    expectCa(true, pathLen, label);
    if (!ku) out.error("key_usage_missing", "A CA certificate must have keyUsage keyCertSign and cRLSign");
  } else {
    expectCa(false, undefined, label);
    expectBits(["digitalSignature"], label);
    expectEku([OID.ocspSigning], label);
    if (!get(OID.ocspNoCheck)) out.warn("ocsp_nocheck_missing", "A delegated OCSP responder certificate should carry id-pkix-ocsp-nocheck (RFC 6960 4.2.2.2.1)");
  }

  // TLS server validity: the CA/Browser Forum cap that browsers enforce for public CAs.
  if ((hostProfile || serverAuth) && notBefore && notAfter) {
    const days = (notAfter.getTime() - notBefore.getTime()) / DAY_MS;
    if (days > TLS_MAX_VALIDITY_DAYS) {
      out.warn("validity_over_398_days", `The TLS server certificate is valid for ${Math.ceil(days)} days; browsers refuse more than ${TLS_MAX_VALIDITY_DAYS} from public CAs, and some apply it to every CA`);
    }
  }
}

/** The key identifier the CA's certificates must carry as AKI: its SKI, or the method 1 hash of its key. */
function caSkiOf(issuer: x509.X509Certificate | undefined, selfDer: Buffer): Buffer | null {
  try {
    if (issuer) return Buffer.from(caKeyIdentifier(issuer), "hex");
    const self = new x509.X509Certificate(new Uint8Array(selfDer));
    const ski = self.getExtension(OID.ski);
    if (ski) return Buffer.from(new x509.SubjectKeyIdentifierExtension(new Uint8Array(ski.rawData)).keyId, "hex");
    const [, bits] = derChildren(readDer(toBuffer(self.publicKey.rawData)));
    return createHash("sha1").update(bits.content.subarray(1)).digest();
  } catch {
    return null;
  }
}

/** The OpenSSL name of a certificate's or CRL's signature algorithm (e.g. "ecdsa-with-SHA256"), or its OID. */
export function signatureAlgorithmName(der: Uint8Array): string {
  try {
    const [, sigAlg] = derChildren(readDer(toBuffer(der)));
    const oid = derOid(derChildren(sigAlg)[0]);
    return SIGNATURES[oid]?.name ?? oid;
  } catch {
    return "unknown";
  }
}

// ---------------------------------------------------------------------------------
// CRLs.

const CRL_REASONS = new Set([0, 1, 2, 3, 4, 5, 6, 8, 9, 10]);

/**
 * Lints a CRL (DER bytes or a parsed CRL) signed by `ctx.issuer`: v2, the signature
 * algorithm (the CA key's, the same inside and outside), the issuer (the CA's subject),
 * thisUpdate/nextUpdate (present, in order, time types by date), cRLNumber (present,
 * non-critical, 0 to 20 octets), AKI (present, the CA's SKI), entries (positive unique
 * serials, reason codes as RFC 5280 5.3.1 allows; a warning for unspecified), and that the
 * CA may sign CRLs at all (cRLSign).
 */
export function lintCrl(input: Uint8Array | x509.X509Crl, ctx: CrlLintContext): LintResult {
  const out = new Findings();
  const der = input instanceof x509.X509Crl ? toBuffer(input.rawData) : toBuffer(input);
  try {
    lintCrlInto(der, ctx, out);
  } catch (e) {
    if (!(e instanceof Malformed)) throw e;
    out.error("malformed", `The CRL cannot be read: its ${e.message} is not valid DER`);
  }
  return out.result();
}

function lintCrlInto(der: Buffer, ctx: CrlLintContext, out: Findings): void {
  const now = (ctx.now ?? new Date()).getTime();
  const [tbs, sigAlg, sig, ...rest] = children(expect(readDerOr(der, "CRL"), TAG.SEQUENCE, "CRL"), "CRL");
  if (!tbs || !sigAlg || !sig || rest.length || sig.tag !== TAG.BIT_STRING) throw new Malformed("CRL");
  const fields = children(expect(tbs, TAG.SEQUENCE, "tbsCertList"), "tbsCertList");
  let i = 0;
  let version = 0;
  if (fields[0]?.tag === TAG.INTEGER) {
    version = Number(readInteger(fields[0]).value);
    i = 1;
  }
  const signature = fields[i];
  const issuer = fields[i + 1];
  const thisUpdateEl = fields[i + 2];
  let j = i + 3;
  let nextUpdateEl: DerElement | undefined;
  if (fields[j] && (fields[j].tag === TAG.UTC_TIME || fields[j].tag === TAG.GENERALIZED_TIME)) nextUpdateEl = fields[j++];
  let revoked: DerElement | undefined;
  if (fields[j]?.tag === TAG.SEQUENCE) revoked = fields[j++];
  let extensions: DerElement | undefined;
  if (fields[j]?.tag === 0xa0) {
    const inner = children(fields[j++], "crlExtensions");
    if (inner.length !== 1) throw new Malformed("crlExtensions");
    extensions = inner[0];
  }
  if (j !== fields.length || !issuer) throw new Malformed("tbsCertList");

  const ca = parseCertificateDer(toBuffer(ctx.issuer.rawData));
  if (version !== 1) out.error("crl_version_not_v2", "The CRL must be version 2 (it carries extensions; RFC 5280 5.1.2.1)");
  const inner = checkSignatureAlgorithm(signature, out, "CRL");
  if (!signature.bytes.equals(sigAlg.bytes)) out.error("signature_algorithm_mismatch", "The signature algorithm inside the signed part of the CRL differs from the one outside it (RFC 5280 5.1.1.2)");
  checkSignedWithCaKey(inner, keyFactsOfSpki(ca.spki.bytes), out, "CRL");
  if (!issuer.bytes.equals(ca.subject.bytes)) out.error("crl_issuer_not_ca_subject", "The CRL's issuer is not the CA certificate's subject, byte for byte");

  const caKu = (() => {
    const caExts = ca.extensions ? readExtensions(ca.extensions, new Findings(), "CA certificate") : [];
    const k = caExts.find((e) => e.oid === OID.keyUsage);
    return k ? keyUsageBits(k, new Findings()) : null;
  })();
  if (caKu && !caKu.has("cRLSign")) out.error("ca_without_crl_sign", "The CA certificate's keyUsage lacks cRLSign: relying parties reject CRLs it signs");

  const thisUpdate = readTime(thisUpdateEl, "thisUpdate", out);
  const nextUpdate = nextUpdateEl ? readTime(nextUpdateEl, "nextUpdate", out) : null;
  if (!nextUpdateEl) out.error("crl_next_update_missing", "The CRL has no nextUpdate (RFC 5280 5.1.2.5: conforming CAs MUST include it)");
  if (thisUpdate && nextUpdate && nextUpdate.getTime() <= thisUpdate.getTime()) {
    out.error("crl_next_update_before_this_update", `nextUpdate (${nextUpdate.toISOString()}) is not after thisUpdate (${thisUpdate.toISOString()})`);
  }
  if (thisUpdate && thisUpdate.getTime() > now + 5 * 60_000) out.warn("crl_this_update_future", `thisUpdate (${thisUpdate.toISOString()}) is in the future`);
  if (nextUpdate && nextUpdate.getTime() < now) out.warn("crl_expired", `The CRL's nextUpdate (${nextUpdate.toISOString()}) has passed: relying parties treat it as stale`);

  const exts = extensions ? readExtensions(extensions, out, "CRL") : [];
  for (const e of exts) {
    if (e.critical && !KNOWN_CRL_EXTENSIONS.has(e.oid)) out.error("unknown_critical_extension", `The CRL extension ${e.oid} is critical but not one relying parties know`);
  }
  const number = exts.find((e) => e.oid === OID.crlNumber);
  if (!number) out.error("crl_number_missing", "The CRL has no cRLNumber (RFC 5280 5.2.3: conforming CAs MUST include it)");
  else {
    if (number.critical) out.error("crl_number_critical", "cRLNumber must not be critical (RFC 5280 5.2.3)");
    const n = readInteger(expect(extValue(number), TAG.INTEGER, "cRLNumber"));
    if (n.negative || n.octets > 20 || !n.minimal) out.error("crl_number_invalid", "cRLNumber must be a non-negative integer of at most 20 octets, DER-encoded (RFC 5280 5.2.3)");
  }
  const aki = exts.find((e) => e.oid === OID.aki);
  if (!aki) out.error("crl_aki_missing", "The CRL has no authorityKeyIdentifier (RFC 5280 5.2.1: conforming CAs MUST include it)");
  else {
    if (aki.critical) out.error("aki_critical", "The CRL's authorityKeyIdentifier must not be critical");
    const keyId = readAki(aki, out, "CRL");
    const caSki = caSkiOf(ctx.issuer, Buffer.alloc(0));
    if (!keyId) out.error("aki_key_id_missing", "The CRL's authorityKeyIdentifier has no keyIdentifier");
    else if (caSki && !keyId.equals(caSki)) out.error("crl_aki_not_ca_ski", `The CRL's authorityKeyIdentifier (${keyId.toString("hex")}) is not the CA's subjectKeyIdentifier (${caSki.toString("hex")})`);
  }

  if (revoked) {
    const entries = children(revoked, "revokedCertificates");
    if (entries.length === 0) out.error("crl_empty_revoked_list", "An empty revokedCertificates list must be left out (RFC 5280 5.1.2.6)");
    const serials = new Set<string>();
    for (const entry of entries) {
      const [serialEl, dateEl, extsEl, ...more] = children(expect(entry, TAG.SEQUENCE, "CRL entry"), "CRL entry");
      if (more.length) throw new Malformed("CRL entry");
      const serial = readInteger(expect(serialEl, TAG.INTEGER, "CRL entry serial"));
      const hex = serialEl.content.toString("hex").toUpperCase();
      if (serial.negative || serial.value === 0n) out.error("crl_entry_serial_not_positive", `The CRL entry ${hex} has a serial number that is not positive`);
      if (serial.octets > 20) out.error("crl_entry_serial_too_long", `The CRL entry ${hex} has a serial number over 20 octets`);
      if (serials.has(hex)) out.error("crl_entry_duplicate", `The serial number ${hex} is listed more than once`);
      serials.add(hex);
      const date = readTime(dateEl, `The revocation date of ${hex}`, out);
      if (date && thisUpdate && date.getTime() > thisUpdate.getTime()) out.warn("crl_entry_after_this_update", `${hex} is revoked after the CRL's thisUpdate`);
      if (!extsEl) continue;
      for (const e of readExtensions(extsEl, out, "CRL entry")) {
        if (e.critical && !KNOWN_CRL_ENTRY_EXTENSIONS.has(e.oid)) out.error("unknown_critical_extension", `The CRL entry extension ${e.oid} is critical but not one relying parties know`);
        if (e.oid !== OID.reasonCode) continue;
        if (e.critical) out.error("crl_reason_critical", `The reasonCode of ${hex} must not be critical`);
        const code = readInteger(expect(extValue(e), TAG.ENUMERATED, "reasonCode")).value;
        if (!CRL_REASONS.has(Number(code))) out.error("crl_reason_invalid", `The reasonCode ${code} of ${hex} is not one RFC 5280 5.3.1 defines`);
        else if (code === 0n) out.warn("crl_reason_unspecified", `The reasonCode of ${hex} is unspecified (0); RFC 5280 5.3.1 says to leave the extension out instead`);
      }
    }
  }
}
