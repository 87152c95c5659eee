import { createPublicKey, KeyObject, verify as nodeVerify } from "node:crypto";
import { publicKeyFromSpki } from "./der.mjs";
import { isIPv6 } from "node:net";
import { AppError } from "../errors/app-error.ts";
import { toBuffer } from "./bytes.ts";
import { fingerprints } from "./fingerprint.ts";
import { describePublicKey, type PublicKeyDescription } from "./keys.ts";
import { countPemBlocks, derToPem, looksLikePem, pemToDer } from "./pem.ts";
import { DEVICE_IDENTITY } from "./profiles.ts";
import { isDnsName, MAX_SANS } from "./san-rules.ts";
import { x509 } from "./setup.ts";

export { isDnsName, MAX_SANS };

/** Largest CSR accepted, PEM or DER (a 16384-bit RSA CSR with 100 SANs is far smaller). */
export const MAX_CSR_BYTES = 64 * 1024;
/** Largest subject Name, DER-encoded. */
export const MAX_SUBJECT_DER_BYTES = 1024;
/** Longest subject attribute value, in characters (RFC 5280's ub-common-name and friends). */
export const MAX_ATTRIBUTE_LENGTH = 64;

const MAX_URI_LENGTH = 2048;
const MAX_EMAIL_LENGTH = 254;

/** A subject alternative name Portcullis validates and copies into certificates. */
export interface San {
  type: "dns" | "ip" | "email" | "uri";
  value: string;
}

/** An extension the requester asked for (other than subjectAltName). Shown, never copied. */
export interface RequestedExtension {
  oid: string;
  name: string;
  critical: boolean;
}

export interface ParsedCsr {
  /** The CSR exactly as received, DER. */
  der: Buffer;
  /** The same, as PEM ("CERTIFICATE REQUEST", 64-character lines). */
  pem: string;
  /** RFC 4514 string as @peculiar/x509 prints names (DER order, e.g. "C=DE, O=Acme, CN=x"). */
  subject: string;
  /** The subject's DER bytes, copied unchanged into the certificate. */
  subjectDer: Buffer;
  /** Attributes in DER order; `type` is @peculiar/x509's short name (CN, O, …) or the OID. */
  subjectAttributes: { type: string; oid: string; value: string }[];
  commonName: string | null;
  publicKey: PublicKeyDescription;
  spkiDer: Buffer;
  sans: San[];
  requestedExtensions: RequestedExtension[];
  /** OpenSSL's name of the CSR's signature algorithm, e.g. "ecdsa-with-SHA256", or the OID. */
  signatureAlgorithm: string;
  signatureValid: true;
  /** Of the CSR's DER, upper-case colon hex. */
  sha1Fingerprint: string;
  sha256Fingerprint: string;
}

// ---------------------------------------------------------------------------------
// A strict DER reader: definite, minimal lengths, low tag numbers, nothing trailing.

/** One DER TLV inside a buffer. */
export interface DerElement {
  /** The identifier octet (class, constructed bit and tag number). */
  tag: number;
  /** The whole TLV. */
  bytes: Buffer;
  /** The value octets. */
  content: Buffer;
}

class DerError extends Error {}

function readElement(buf: Buffer, offset: number): DerElement {
  if (offset + 2 > buf.length) throw new DerError("truncated");
  const tag = buf[offset];
  if ((tag & 0x1f) === 0x1f) throw new DerError("high tag number");
  const first = buf[offset + 1];
  let length: number;
  let header: number;
  if (first < 0x80) {
    length = first;
    header = 2;
  } else {
    const n = first & 0x7f;
    // 0x80 is BER's indefinite length; DER lengths fit in 4 octets here and have no leading zero.
    if (n === 0 || n > 4 || offset + 2 + n > buf.length || buf[offset + 2] === 0) throw new DerError("bad length");
    length = 0;
    for (let i = 0; i < n; i++) length = length * 256 + buf[offset + 2 + i];
    if (length < 0x80) throw new DerError("non-minimal length");
    header = 2 + n;
  }
  const end = offset + header + length;
  if (end > buf.length) throw new DerError("truncated");
  return { tag, bytes: buf.subarray(offset, end), content: buf.subarray(offset + header, end) };
}

/** The one DER element that `buf` holds; throws when anything is malformed or trails it. */
export function readDer(buf: Buffer): DerElement {
  const el = readElement(buf, 0);
  if (el.bytes.length !== buf.length) throw new DerError("trailing data");
  return el;
}

/** The elements inside a constructed element (SEQUENCE, SET, constructed context tags). */
export function derChildren(el: DerElement): DerElement[] {
  if ((el.tag & 0x20) === 0) throw new DerError("not constructed");
  const out: DerElement[] = [];
  let offset = 0;
  while (offset < el.content.length) {
    const child = readElement(el.content, offset);
    out.push(child);
    offset += child.bytes.length;
  }
  return out;
}

const TAG = { BOOLEAN: 0x01, INTEGER: 0x02, BIT_STRING: 0x03, OCTET_STRING: 0x04, NULL: 0x05, OID: 0x06, SEQUENCE: 0x30, SET: 0x31 } as const;

function expectTag(el: DerElement | undefined, tag: number): DerElement {
  if (!el || el.tag !== tag) throw new DerError(`expected tag ${tag}`);
  return el;
}

/** Dotted form of an OBJECT IDENTIFIER element. */
export function derOid(el: DerElement): string {
  expectTag(el, TAG.OID);
  const c = el.content;
  if (c.length === 0 || c[c.length - 1] & 0x80) throw new DerError("bad OID");
  const arcs: bigint[] = [];
  let value = 0n;
  for (let i = 0; i < c.length; i++) {
    if (value === 0n && c[i] === 0x80) throw new DerError("non-minimal OID arc");
    value = (value << 7n) | BigInt(c[i] & 0x7f);
    if ((c[i] & 0x80) === 0) {
      arcs.push(value);
      value = 0n;
    }
  }
  const first = arcs[0] < 40n ? 0n : arcs[0] < 80n ? 1n : 2n;
  return [first, arcs[0] - first * 40n, ...arcs.slice(1)].join(".");
}

// ---------------------------------------------------------------------------------
// Names of things, for people.

const ATTRIBUTE_NAMES: Record<string, string> = {
  // @peculiar/x509's short names, so subjectAttributes agree with `subject`.
  "2.5.4.3": "CN",
  "2.5.4.7": "L",
  "2.5.4.8": "ST",
  "2.5.4.10": "O",
  "2.5.4.11": "OU",
  "2.5.4.6": "C",
  "0.9.2342.19200300.100.1.25": "DC",
  "1.2.840.113549.1.9.1": "E",
  "2.5.4.42": "G",
  "2.5.4.43": "I",
  "2.5.4.4": "SN",
  "2.5.4.12": "T",
};

const EXTENSION_NAMES: Record<string, string> = {
  "2.5.29.9": "Subject Directory Attributes",
  "2.5.29.14": "Subject Key Identifier",
  "2.5.29.15": "Key Usage",
  "2.5.29.16": "Private Key Usage Period",
  "2.5.29.17": "Subject Alternative Name",
  "2.5.29.18": "Issuer Alternative Name",
  "2.5.29.19": "Basic Constraints",
  "2.5.29.30": "Name Constraints",
  "2.5.29.31": "CRL Distribution Points",
  "2.5.29.32": "Certificate Policies",
  "2.5.29.33": "Policy Mappings",
  "2.5.29.35": "Authority Key Identifier",
  "2.5.29.36": "Policy Constraints",
  "2.5.29.37": "Extended Key Usage",
  "2.5.29.46": "Freshest CRL",
  "2.5.29.54": "Inhibit Any Policy",
  "1.3.6.1.5.5.7.1.1": "Authority Information Access",
  "1.3.6.1.5.5.7.1.11": "Subject Information Access",
  "1.3.6.1.5.5.7.1.24": "TLS Feature",
  "1.3.6.1.5.5.7.48.1.5": "OCSP No Check",
  "1.3.6.1.4.1.11129.2.4.3": "CT Precertificate Poison",
  "1.2.840.113549.1.9.15": "S/MIME Capabilities",
  "2.16.840.1.113730.1.1": "Netscape Cert Type",
  "2.16.840.1.113730.1.13": "Netscape Comment",
  "1.3.6.1.4.1.311.20.2": "Microsoft Certificate Template Name",
  "1.3.6.1.4.1.311.21.7": "Microsoft Certificate Template",
  "1.3.6.1.4.1.311.21.10": "Microsoft Application Policies",
};

// OpenSSL's names (`openssl req -text`), so what the portal shows matches the CLI.
const SIGNATURE_ALGORITHMS: Record<string, string> = {
  "1.2.840.113549.1.1.4": "md5WithRSAEncryption",
  "1.2.840.113549.1.1.5": "sha1WithRSAEncryption",
  "1.2.840.113549.1.1.10": "rsassaPss",
  "1.2.840.113549.1.1.11": "sha256WithRSAEncryption",
  "1.2.840.113549.1.1.12": "sha384WithRSAEncryption",
  "1.2.840.113549.1.1.13": "sha512WithRSAEncryption",
  "1.2.840.113549.1.1.14": "sha224WithRSAEncryption",
  "1.2.840.10045.4.1": "ecdsa-with-SHA1",
  "1.2.840.10045.4.3.1": "ecdsa-with-SHA224",
  "1.2.840.10045.4.3.2": "ecdsa-with-SHA256",
  "1.2.840.10045.4.3.3": "ecdsa-with-SHA384",
  "1.2.840.10045.4.3.4": "ecdsa-with-SHA512",
  "1.3.101.112": "ED25519",
  "1.3.101.113": "ED448",
};

// Proof of possession only, but a CA that accepts SHA-1 here invites collision games.
const WEAK_SIGNATURES = new Set(["1.2.840.113549.1.1.4", "1.2.840.113549.1.1.5", "1.2.840.10045.4.1"]);
// What @peculiar/x509 verifies on Node's WebCrypto (no SHA-224 there).
const VERIFIABLE_SIGNATURES = new Set([
  "1.2.840.113549.1.1.10",
  "1.2.840.113549.1.1.11",
  "1.2.840.113549.1.1.12",
  "1.2.840.113549.1.1.13",
  "1.2.840.10045.4.3.2",
  "1.2.840.10045.4.3.3",
  "1.2.840.10045.4.3.4",
  "1.3.101.112",
]);

const OID_CN = "2.5.4.3";
const OID_C = "2.5.4.6";
const OID_EXTENSION_REQUEST = "1.2.840.113549.1.9.14";
const OID_SAN = "2.5.29.17";
const OID_RSASSA_PSS = "1.2.840.113549.1.1.10";

// ---------------------------------------------------------------------------------
// Host names, addresses, e-mail, URIs.

/** The 4 or 16 bytes of an IPv4 (dotted decimal, no leading zeros) or IPv6 address; null otherwise. */
export function parseIpAddress(text: string): Buffer | null {
  const v4 = /^(0|[1-9][0-9]{0,2})\.(0|[1-9][0-9]{0,2})\.(0|[1-9][0-9]{0,2})\.(0|[1-9][0-9]{0,2})$/.exec(text);
  if (v4) {
    const parts = v4.slice(1).map(Number);
    return parts.every((p) => p <= 255) ? Buffer.from(parts) : null;
  }
  if (!isIPv6(text) || text.includes("%")) return null;
  let head = text;
  let tail: number[] = [];
  const dotted = /:(\d+\.\d+\.\d+\.\d+)$/.exec(text);
  if (dotted) {
    const b = parseIpAddress(dotted[1]);
    if (!b) return null;
    tail = [(b[0] << 8) | b[1], (b[2] << 8) | b[3]];
    head = text.slice(0, dotted.index + 1) + "0"; // placeholder group, dropped below
  }
  const groupsOf = (s: string) => (s === "" ? [] : s.split(":").map((g) => parseInt(g, 16)));
  let groups: number[];
  const gap = head.indexOf("::");
  if (gap >= 0) {
    const left = groupsOf(head.slice(0, gap));
    const right = groupsOf(head.slice(gap + 2));
    if (dotted) right.pop();
    groups = [...left, ...new Array(8 - tail.length - left.length - right.length).fill(0), ...right];
  } else {
    groups = groupsOf(head);
    if (dotted) groups.pop();
  }
  groups = [...groups, ...tail];
  if (groups.length !== 8 || groups.some((g) => !(g >= 0 && g <= 0xffff))) return null;
  const out = Buffer.alloc(16);
  groups.forEach((g, i) => out.writeUInt16BE(g, i * 2));
  return out;
}

/** IPv4 dotted decimal, or IPv6 in RFC 5952's canonical form ("2001:db8::1"). */
export function formatIpAddress(bytes: Uint8Array): string {
  if (bytes.length === 4) return Array.from(bytes).join(".");
  if (bytes.length !== 16) throw new Error("An IP address has 4 or 16 bytes");
  const groups = Array.from({ length: 8 }, (_, i) => (bytes[2 * i] << 8) | bytes[2 * i + 1]);
  // The longest run of two or more zero groups (the first one on a tie) becomes "::".
  let best = -1;
  let bestLength = 1;
  for (let i = 0; i < 8; ) {
    if (groups[i] !== 0) {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && groups[j] === 0) j++;
    if (j - i > bestLength) {
      best = i;
      bestLength = j - i;
    }
    i = j;
  }
  const hex = (gs: number[]) => gs.map((g) => g.toString(16)).join(":");
  if (best < 0) return hex(groups);
  return `${hex(groups.slice(0, best))}::${hex(groups.slice(best + bestLength))}`;
}

const EMAIL_LOCAL = /^[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+(?:\.[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+)*$/;

/** An e-mail address (dot-atom local part, host-name domain), or a device identity `d:<type>:<id>`. */
export function isEmailSan(value: string): boolean {
  if (DEVICE_IDENTITY.test(value)) return true;
  if (value.length > MAX_EMAIL_LENGTH) return false;
  const at = value.lastIndexOf("@");
  if (at <= 0) return false;
  const local = value.slice(0, at);
  return local.length <= 64 && EMAIL_LOCAL.test(local) && isDnsName(value.slice(at + 1), { wildcard: false });
}

/** An absolute URI: a scheme, then printable ASCII without spaces, that WHATWG URL parses. */
export function isUriSan(value: string): boolean {
  if (value.length > MAX_URI_LENGTH || !/^[A-Za-z][A-Za-z0-9+.-]*:[\x21-\x7E]+$/.test(value)) return false;
  try {
    new URL(value);
    return true;
  } catch {
    return false;
  }
}

/** A SAN as OpenSSL's configuration spells it: "DNS:…", "IP:…", "email:…", "URI:…". */
export function sanToString(san: San): string {
  const prefix = { dns: "DNS", ip: "IP", email: "email", uri: "URI" }[san.type];
  return `${prefix}:${san.value}`;
}

function lengthOctets(n: number): Buffer {
  if (n < 0x80) return Buffer.from([n]);
  const bytes: number[] = [];
  for (let v = n; v > 0; v = Math.floor(v / 256)) bytes.unshift(v % 256);
  return Buffer.from([0x80 | bytes.length, ...bytes]);
}

function tlv(tag: number, content: Buffer): Buffer {
  return Buffer.concat([Buffer.from([tag]), lengthOctets(content.length), content]);
}

/**
 * A subjectAltName extension holding `sans` in order (encoded here, byte for byte:
 * dNSName, iPAddress, rfc822Name and uniformResourceIdentifier). Critical only when
 * asked, as RFC 5280 wants for certificates with an empty subject.
 */
export function sanExtension(sans: readonly San[], critical = false): x509.Extension {
  const names = sans.map((san) => {
    switch (san.type) {
      case "dns":
        return tlv(0x82, Buffer.from(san.value, "ascii"));
      case "email":
        return tlv(0x81, Buffer.from(san.value, "ascii"));
      case "uri":
        return tlv(0x86, Buffer.from(san.value, "ascii"));
      case "ip": {
        const bytes = parseIpAddress(san.value);
        if (!bytes) throw new AppError("validation_failed", `"${san.value}" is not an IP address`, { field: "sans" });
        return tlv(0x87, bytes);
      }
    }
  });
  return new x509.Extension(OID_SAN, critical, new Uint8Array(tlv(TAG.SEQUENCE, Buffer.concat(names))));
}

// ---------------------------------------------------------------------------------
// Parsing.

/**
 * Reads and checks a PKCS#10 certificate signing request from PEM text ("CERTIFICATE
 * REQUEST" or "NEW CERTIFICATE REQUEST", exactly one PEM block) or DER bytes, and
 * verifies its signature. Refuses (AppError with `field`): more than 64 KB
 * (payload_too_large); anything that is not exactly one CSR (bad_request); a bad
 * signature, a weak or unusual key (RSA 2048–8192 with an odd exponent ≥ 3, ECDSA
 * P-256/P-384, Ed25519), a subject that is empty, over 1024 bytes, has values over 64
 * characters, control characters or bytes invalid for their string type, and SANs
 * that are malformed, of other types, or more than 100 (validation_failed).
 * Requested extensions other than subjectAltName are listed, never trusted.
 */
export async function parseCsr(input: string | Uint8Array, field = "csr"): Promise<ParsedCsr> {
  const size = typeof input === "string" ? Buffer.byteLength(input, "utf8") : input.byteLength;
  if (size > MAX_CSR_BYTES) {
    throw new AppError("payload_too_large", `The certificate signing request is ${Math.ceil(size / 1024)} KB; at most ${MAX_CSR_BYTES / 1024} KB is accepted`, { field });
  }
  const der = csrDer(input, field);
  const bad = (message: string) => new AppError("bad_request", message, { field });
  const invalid = (message: string) => new AppError("validation_failed", message, { field });

  let subjectEl: DerElement;
  let spkiEl: DerElement;
  let criBytes: Buffer;
  let signatureBits: Buffer;
  let attributesEl: DerElement | undefined;
  let signatureOid: string;
  try {
    const [cri, sigAlg, sig, ...rest] = derChildren(expectTag(readDer(der), TAG.SEQUENCE));
    criBytes = Buffer.from(expectTag(cri, TAG.SEQUENCE).bytes);
    signatureBits = Buffer.from(expectTag(sig, TAG.BIT_STRING).content);
    if (rest.length > 0) throw new DerError("extra fields");
    const [algOid, algParams, ...algMore] = derChildren(expectTag(sigAlg, TAG.SEQUENCE));
    signatureOid = derOid(algOid);
    // Parameters are absent or NULL (RSASSA-PSS has its own); OpenSSL refuses anything else.
    if (algMore.length > 0 || (algParams && signatureOid !== OID_RSASSA_PSS && (algParams.tag !== TAG.NULL || algParams.content.length !== 0))) {
      throw new DerError("bad signature algorithm parameters");
    }
    const [version, subject, spki, attributes, ...more] = derChildren(cri);
    expectTag(version, TAG.INTEGER);
    if (version.content.length !== 1 || version.content[0] !== 0) throw new DerError("unknown version");
    subjectEl = expectTag(subject, TAG.SEQUENCE);
    spkiEl = expectTag(spki, TAG.SEQUENCE);
    // [0] IMPLICIT SET OF Attribute; required by PKCS#10 but left out by some old encoders.
    if (attributes !== undefined) attributesEl = expectTag(attributes, 0xa0);
    if (more.length > 0) throw new DerError("extra fields");
  } catch (e) {
    if (e instanceof DerError) throw bad("The data is not a PKCS#10 certificate signing request (its DER structure is invalid)");
    throw e;
  }

  const signatureAlgorithm = SIGNATURE_ALGORITHMS[signatureOid] ?? signatureOid;

  // The key first: it decides whether the signature can be checked at all.
  const spkiDer = Buffer.from(spkiEl.bytes);
  const keyObject = spkiKeyObject(spkiDer);
  const publicKey = checkPublicKey(keyObject ?? spkiDer, field);

  if (WEAK_SIGNATURES.has(signatureOid)) {
    throw invalid(`The CSR is signed with ${signatureAlgorithm}, which is too weak; sign it with SHA-256 or stronger`);
  }
  if (!VERIFIABLE_SIGNATURES.has(signatureOid)) throw invalid(`The CSR's signature algorithm (${signatureAlgorithm}) is not supported`);
  if (!(await signatureVerifies(der, signatureOid, criBytes, signatureBits, keyObject, publicKey))) throw invalid("The CSR's signature does not verify: the request was altered or not signed with its own key");

  const { subjectAttributes, commonName, plain } = checkSubject(subjectEl, field);
  const subject = plain ? plainSubjectText(subjectAttributes) : peculiarSubjectText(subjectEl.bytes);
  if (subject === null) throw invalid("The CSR's subject uses an encoding Portcullis cannot copy into a certificate exactly");

  const { sans, requestedExtensions } = attributesEl ? readExtensionRequest(attributesEl, field) : { sans: [], requestedExtensions: [] };
  const fp = fingerprints(der);
  return {
    der,
    pem: derToPem(der, "CERTIFICATE REQUEST"),
    subject,
    subjectDer: Buffer.from(subjectEl.bytes),
    subjectAttributes,
    commonName,
    publicKey,
    spkiDer,
    sans,
    requestedExtensions,
    signatureAlgorithm,
    signatureValid: true,
    sha1Fingerprint: fp.sha1,
    sha256Fingerprint: fp.sha256,
  };
}

const CSR_LABELS = ["CERTIFICATE REQUEST", "NEW CERTIFICATE REQUEST"];
const KEY_LABEL = /PRIVATE KEY/;

function csrDer(input: string | Uint8Array, field: string): Buffer {
  let text: string | undefined;
  if (typeof input === "string") {
    text = input;
  } else {
    const bytes = toBuffer(input);
    // DER starts with a SEQUENCE tag (0x30 = "0"); PEM bytes are read as text.
    if (looksLikePem(bytes.toString("latin1"))) text = bytes.toString("latin1");
    else return Buffer.from(bytes);
  }
  if (!looksLikePem(text)) {
    throw new AppError("bad_request", "The CSR is neither PEM text (-----BEGIN CERTIFICATE REQUEST-----) nor DER", { field });
  }
  const labels = Array.from(text.matchAll(/-----BEGIN ([^\r\n-]*)-----/g), (m) => m[1]);
  const total = countPemBlocks(text);
  const csrBlocks = CSR_LABELS.reduce((n, l) => n + countPemBlocks(text, l), 0);
  if (labels.some((l) => KEY_LABEL.test(l))) {
    throw new AppError("bad_request", "The text contains a private key. Never send a private key: submit only the certificate signing request", { field });
  }
  if (total > 1 || labels.length > 1) {
    const n = Math.max(total, labels.length);
    throw new AppError("bad_request", `The text holds ${n} PEM blocks${csrBlocks > 1 ? ` (${csrBlocks} certificate signing requests)` : ""}; exactly one certificate signing request is expected`, { field });
  }
  if (csrBlocks === 0) {
    const label = labels[0];
    if (CSR_LABELS.includes(label)) {
      throw new AppError("bad_request", `The ${label} PEM block is incomplete (no -----END ${label}----- line)`, { field });
    }
    throw new AppError("bad_request", `The PEM block is a ${label.toLowerCase()}, not a certificate signing request`, { field });
  }
  const label = CSR_LABELS.find((l) => countPemBlocks(text, l) === 1)!;
  return pemToDer(text, label, field);
}

/** Signature algorithms Node's crypto checks natively: the digest, and the key type they go with. */
const NATIVE_SIGNATURES: Record<string, { digest: string | null; key: PublicKeyDescription["algorithm"] }> = {
  "1.2.840.10045.4.3.2": { digest: "sha256", key: "ECDSA" },
  "1.2.840.10045.4.3.3": { digest: "sha384", key: "ECDSA" },
  "1.2.840.10045.4.3.4": { digest: "sha512", key: "ECDSA" },
  "1.2.840.113549.1.1.11": { digest: "sha256", key: "RSA" },
  "1.2.840.113549.1.1.12": { digest: "sha384", key: "RSA" },
  "1.2.840.113549.1.1.13": { digest: "sha512", key: "RSA" },
  "1.3.101.112": { digest: null, key: "Ed25519" },
};

/**
 * The CSR's signature over its CertificationRequestInfo, checked with its own key: natively
 * for the common algorithms (a signature algorithm of another key type fails, as OpenSSL
 * fails it), through the library for RSASSA-PSS and its parameters.
 */
async function signatureVerifies(der: Buffer, oid: string, criBytes: Buffer, bits: Buffer, keyObject: KeyObject | null, key: PublicKeyDescription): Promise<boolean> {
  try {
    const native = NATIVE_SIGNATURES[oid];
    if (!native || !keyObject) return await new x509.Pkcs10CertificateRequest(new Uint8Array(der)).verify();
    if (native.key !== key.algorithm || bits.length < 2 || bits[0] !== 0) return false;
    return nodeVerify(native.digest, criBytes, keyObject, bits.subarray(1));
  } catch {
    // A signature that does not even decode (e.g. a corrupted ECDSA DER signature).
    return false;
  }
}

/** The request's key as a KeyObject, or null when Node cannot load it (checkPublicKey then says why). */
function spkiKeyObject(spkiDer: Buffer): KeyObject | null {
  try {
    return publicKeyFromSpki(spkiDer);
  } catch {
    return null;
  }
}

function checkPublicKey(input: Buffer | KeyObject, field: string): PublicKeyDescription {
  const invalid = (message: string) => new AppError("validation_failed", message, { field });
  let key: PublicKeyDescription;
  try {
    key = describePublicKey(input);
  } catch {
    throw invalid("The CSR's public key cannot be read");
  }
  const accepted = "use ECDSA P-256 or P-384, RSA 2048 to 8192 bits, or Ed25519";
  switch (key.algorithm) {
    case "RSA": {
      const bits = key.bits ?? 0;
      if (bits < 2048) throw invalid(`The CSR's RSA key has ${bits} bits; at least 2048 are required`);
      if (bits > 8192) throw invalid(`The CSR's RSA key has ${bits} bits; at most 8192 are accepted`);
      const e = (input instanceof KeyObject ? input : createPublicKey({ key: input, format: "der", type: "spki" })).asymmetricKeyDetails?.publicExponent;
      if (e === undefined || e < 3n || e % 2n === 0n) {
        throw invalid(`The CSR's RSA public exponent (${e ?? "unknown"}) is not acceptable; use 65537`);
      }
      return key;
    }
    case "ECDSA":
      if (key.curve === "P-256" || key.curve === "P-384") return key;
      throw invalid(`The CSR's key is on the elliptic curve ${key.curve ?? "(unnamed)"}, which is not accepted; ${accepted}`);
    case "Ed25519":
      return key;
    default:
      throw invalid(`The CSR's key type (${key.label}) is not accepted; ${accepted}`);
  }
}

const CONTROL = /[\u0000-\u001F\u007F-\u009F]/;
const PRINTABLE = /^[A-Za-z0-9 '()+,\-./:=?]*$/;
const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;

/** The text of a DirectoryString-like value; null when the bytes are invalid for the declared type. */
function decodeString(el: DerElement): string | null {
  const c = el.content;
  switch (el.tag) {
    case 0x0c: // UTF8String
      try {
        return new TextDecoder("utf-8", { fatal: true, ignoreBOM: true }).decode(c);
      } catch {
        return null;
      }
    case 0x13: {
      // PrintableString
      const s = c.toString("latin1");
      return PRINTABLE.test(s) ? s : null;
    }
    case 0x16: // IA5String
      return c.every((b) => b < 0x80) ? c.toString("latin1") : null;
    case 0x12: {
      // NumericString
      const s = c.toString("latin1");
      return /^[0-9 ]*$/.test(s) ? s : null;
    }
    // VisibleString (0x1a) is left out: OpenSSL refuses it in a name ("mstring wrong tag").
    case 0x14: // TeletexString: read as Latin-1, as OpenSSL does
      return c.toString("latin1");
    case 0x1e: {
      // BMPString: UTF-16BE
      if (c.length % 2 !== 0) return null;
      const s = Buffer.from(c).swap16().toString("utf16le");
      return LONE_SURROGATE.test(s) ? null : s;
    }
    case 0x1c: {
      // UniversalString: UTF-32BE
      if (c.length % 4 !== 0) return null;
      let s = "";
      for (let i = 0; i < c.length; i += 4) {
        const cp = c.readUInt32BE(i);
        if (cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff)) return null;
        s += String.fromCodePoint(cp);
      }
      return s;
    }
    default:
      return null;
  }
}

/**
 * The subject as text, the way @peculiar/x509 writes it ("C=US, O=…, CN=…"), when it can
 * re-encode the subject byte for byte: @peculiar/x509 writes the certificates of the
 * reference issuance path, so a subject it would change could not be copied exactly.
 * Null when it would change it (or cannot read it).
 */
export function peculiarSubjectText(subjectDer: Uint8Array): string | null {
  try {
    const name = new x509.Name(new Uint8Array(subjectDer));
    return Buffer.from(name.toArrayBuffer()).equals(subjectDer) ? name.toString() : null;
  } catch {
    return null;
  }
}

/**
 * The same text for a plain subject (see checkSubject), without the round trip through
 * @peculiar/x509, which costs as much as the rest of the CSR's checks: every RDN holds one
 * attribute of a type with a short name, its value printable ASCII in a PrintableString,
 * UTF8String or IA5String that needs no escaping. Such a subject re-encodes to itself (the
 * reader takes minimal lengths and OIDs only); csr.test.ts holds the two ways to the same
 * answers.
 */
export function plainSubjectText(attributes: ParsedCsr["subjectAttributes"]): string {
  return attributes.map((a) => `${a.type}=${a.value}`).join(", ");
}

/** Printable ASCII that @peculiar/x509's escape() leaves as it is. */
const PLAIN_VALUE = /^[^ #,+"\\<>;](?:[^,+"\\<>;]*[^ ,+"\\<>;])?$/;
const PLAIN_TAGS = new Set([0x13, 0x0c, 0x16]);

function isPlainAttribute(oid: string, valueEl: DerElement, value: string): boolean {
  return PLAIN_TAGS.has(valueEl.tag) && ATTRIBUTE_NAMES[oid] !== undefined && /^[\x20-\x7e]+$/.test(value) && PLAIN_VALUE.test(value);
}

function checkSubject(subject: DerElement, field: string): { subjectAttributes: ParsedCsr["subjectAttributes"]; commonName: string | null; plain: boolean } {
  const invalid = (message: string) => new AppError("validation_failed", message, { field });
  if (subject.bytes.length > MAX_SUBJECT_DER_BYTES) {
    throw invalid(`The CSR's subject is ${subject.bytes.length} bytes long; at most ${MAX_SUBJECT_DER_BYTES} are accepted`);
  }
  const attributes: ParsedCsr["subjectAttributes"] = [];
  let plain = true;
  try {
    for (const rdn of derChildren(subject)) {
      const avas = derChildren(expectTag(rdn, TAG.SET));
      if (avas.length === 0) throw new DerError("empty RDN");
      if (avas.length > 1) plain = false;
      for (const ava of avas) {
        const [typeEl, valueEl, ...rest] = derChildren(expectTag(ava, TAG.SEQUENCE));
        if (!valueEl || rest.length > 0) throw new DerError("bad attribute");
        const oid = derOid(typeEl);
        const type = ATTRIBUTE_NAMES[oid] ?? oid;
        const value = decodeString(valueEl);
        if (value === null) throw invalid(`The subject attribute ${type} is not a valid text string for its declared type`);
        if (value === "") throw invalid(`The subject attribute ${type} is empty`);
        if (CONTROL.test(value)) throw invalid(`The subject attribute ${type} contains control characters`);
        if ([...value].length > MAX_ATTRIBUTE_LENGTH) {
          throw invalid(`The subject attribute ${type} is ${[...value].length} characters long; at most ${MAX_ATTRIBUTE_LENGTH} are accepted`);
        }
        if (oid === OID_C && !/^[A-Za-z]{2}$/.test(value)) throw invalid(`The subject's country (C) "${value}" is not a two-letter code`);
        if (plain && !isPlainAttribute(oid, valueEl, value)) plain = false;
        attributes.push({ type, oid, value });
      }
    }
  } catch (e) {
    if (e instanceof DerError) throw new AppError("bad_request", "The CSR's subject is not a valid distinguished name", { field });
    throw e;
  }
  if (attributes.length === 0) throw invalid("The CSR's subject is empty; at least one attribute (such as CN) is required");
  const cns = attributes.filter((a) => a.oid === OID_CN);
  if (cns.length > 1) throw invalid("The CSR's subject has more than one common name (CN)");
  return { subjectAttributes: attributes, commonName: cns[0]?.value ?? null, plain };
}

function readExtensionRequest(attributesEl: DerElement, field: string): { sans: San[]; requestedExtensions: RequestedExtension[] } {
  const bad = () => new AppError("bad_request", "The CSR's attributes (its requested extensions among them) are not validly encoded", { field });
  const invalid = (message: string) => new AppError("validation_failed", message, { field });
  const sans: San[] = [];
  const requestedExtensions: RequestedExtension[] = [];
  try {
    // Every attribute, whatever its type, is SEQUENCE { type OBJECT IDENTIFIER, values SET SIZE (1..MAX) } (RFC 2986).
    const attributes = derChildren(attributesEl).map((attr) => derChildren(expectTag(attr, TAG.SEQUENCE)));
    for (const parts of attributes) {
      if (parts.length !== 2 || derChildren(expectTag(parts[1], TAG.SET)).length === 0) throw new DerError("bad attribute");
      derOid(parts[0]);
    }
    const requests = attributes.filter(([type]) => derOid(type) === OID_EXTENSION_REQUEST);
    if (requests.length > 1) throw invalid("The CSR has more than one extension request attribute");
    if (requests.length === 0) return { sans, requestedExtensions };
    const values = derChildren(expectTag(requests[0][1], TAG.SET));
    if (values.length !== 1 || requests[0].length !== 2) throw new DerError("extensionRequest holds one value");
    const seen = new Set<string>();
    for (const ext of derChildren(expectTag(values[0], TAG.SEQUENCE))) {
      const parts = derChildren(expectTag(ext, TAG.SEQUENCE));
      const oid = derOid(parts[0]);
      let critical = false;
      let valueEl = parts[1];
      if (parts[1]?.tag === TAG.BOOLEAN) {
        // DER leaves out the default FALSE; TRUE is 0xFF.
        if (parts[1].content.length !== 1 || parts[1].content[0] !== 0xff) throw new DerError("bad critical flag");
        critical = true;
        valueEl = parts[2];
      }
      expectTag(valueEl, TAG.OCTET_STRING);
      if (parts.length !== (critical ? 3 : 2)) throw new DerError("bad extension");
      if (seen.has(oid)) throw invalid(`The CSR requests the extension ${EXTENSION_NAMES[oid] ?? oid} more than once`);
      seen.add(oid);
      if (oid === OID_SAN) sans.push(...readSans(readDer(valueEl.content), field));
      else requestedExtensions.push({ oid, name: EXTENSION_NAMES[oid] ?? "Unknown extension", critical });
    }
  } catch (e) {
    if (e instanceof DerError) throw bad();
    throw e;
  }
  return { sans, requestedExtensions };
}

const OTHER_NAME_TYPES: Record<number, string> = {
  0xa0: "otherName",
  0xa3: "x400Address",
  0xa4: "directoryName",
  0xa5: "ediPartyName",
  0x88: "registeredID",
};

function readSans(generalNames: DerElement, field: string): San[] {
  const invalid = (message: string) => new AppError("validation_failed", message, { field });
  const names = derChildren(expectTag(generalNames, TAG.SEQUENCE));
  if (names.length === 0) throw invalid("The CSR's subject alternative name extension is empty");
  if (names.length > MAX_SANS) throw invalid(`The CSR has ${names.length} subject alternative names; at most ${MAX_SANS} are accepted`);
  const sans: San[] = [];
  const seen = new Set<string>();
  for (const name of names) {
    let san: San;
    const ascii = () => {
      if (!name.content.every((b) => b >= 0x20 && b < 0x7f)) throw invalid("A subject alternative name contains characters that are not printable ASCII");
      return name.content.toString("latin1");
    };
    switch (name.tag) {
      case 0x82: {
        const value = ascii();
        if (!isDnsName(value)) throw invalid(`The subject alternative name DNS:${value} is not a valid host name`);
        san = { type: "dns", value };
        break;
      }
      case 0x81: {
        const value = ascii();
        if (!isEmailSan(value)) throw invalid(`The subject alternative name email:${value} is not a valid e-mail address`);
        san = { type: "email", value };
        break;
      }
      case 0x86: {
        const value = ascii();
        if (!isUriSan(value)) throw invalid(`The subject alternative name URI:${value} is not an absolute URI`);
        san = { type: "uri", value };
        break;
      }
      case 0x87:
        if (name.content.length !== 4 && name.content.length !== 16) {
          throw invalid(`A subject alternative IP address has ${name.content.length} bytes; an IPv4 address has 4 and an IPv6 address 16`);
        }
        san = { type: "ip", value: formatIpAddress(name.content) };
        break;
      default:
        throw invalid(
          `The CSR asks for a subject alternative name of type ${OTHER_NAME_TYPES[name.tag] ?? `[${name.tag & 0x1f}]`}; only DNS names, IP addresses, e-mail addresses and URIs are issued`,
        );
    }
    // Repeats add nothing; DNS names compare without case.
    const key = `${san.type}:${san.type === "dns" ? san.value.toLowerCase() : san.value}`;
    if (!seen.has(key)) {
      seen.add(key);
      sans.push(san);
    }
  }
  return sans;
}
