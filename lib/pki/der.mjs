/**
 * A lean DER writer and the certificate assembly of the fast issuance engine
 * (fast-issue.ts, fast-pool.ts, fast-worker.mjs). Plain JavaScript with only node:
 * imports, so worker threads load it under plain Node as well as under Next and vitest.
 *
 * The layout follows issue.ts (the reference): X.509 v3, extensions in the order
 * basicConstraints, keyUsage (both critical), extendedKeyUsage, SKI, AKI, SAN,
 * cRLDistributionPoints, authorityInfoAccess. The equivalence test (fast-issue.test.ts)
 * compares the two engines' to-be-signed bytes for every usage.
 */
import { createHash, createPublicKey, randomBytes, sign as nodeSign, verify as nodeVerify } from "node:crypto";
import { isIP } from "node:net";

// ---------------------------------------------------------------------------------
// Writing.

function lengthBytes(n) {
  if (n < 0x80) return Buffer.from([n]);
  const out = [];
  for (let v = n; v > 0; v = Math.floor(v / 256)) out.unshift(v & 0xff);
  return Buffer.from([0x80 | out.length, ...out]);
}

/** One TLV: `tag` (one identifier octet) around `content` (a Buffer or the Buffers to concatenate). */
export function tlv(tag, content) {
  const body = Array.isArray(content) ? Buffer.concat(content) : content;
  return Buffer.concat([Buffer.from([tag]), lengthBytes(body.length), body]);
}

export const seq = (...parts) => tlv(0x30, parts);
export const set = (...parts) => tlv(0x31, parts);
export const octetString = (bytes) => tlv(0x04, bytes);
export const bool = (value) => tlv(0x01, Buffer.from([value ? 0xff : 0x00]));
export const nullValue = () => Buffer.from([0x05, 0x00]);
/** A BIT STRING of whole octets (signatures, keys). */
export const bitString = (bytes, unusedBits = 0) => tlv(0x03, [Buffer.from([unusedBits]), bytes]);
/** A context-specific tag [n]: constructed (explicit, or implicit on a constructed type) or primitive (implicit). */
export const ctx = (n, content, constructed = true) => tlv((constructed ? 0xa0 : 0x80) | n, content);

/** A non-negative INTEGER from a small number. */
export function smallInteger(n) {
  const bytes = [];
  let v = n;
  do {
    bytes.unshift(v & 0xff);
    v = Math.floor(v / 256);
  } while (v > 0);
  if (bytes[0] & 0x80) bytes.unshift(0);
  return tlv(0x02, Buffer.from(bytes));
}

/** A positive INTEGER from hex: leading zero octets dropped, a 00 prepended when the top bit is set. */
export function integerFromHex(hex) {
  let bytes = Buffer.from(hex.length % 2 ? `0${hex}` : hex, "hex");
  let i = 0;
  while (i < bytes.length - 1 && bytes[i] === 0) i++;
  bytes = bytes.subarray(i);
  if (bytes.length === 0) bytes = Buffer.from([0]);
  if (bytes[0] & 0x80) bytes = Buffer.concat([Buffer.from([0]), bytes]);
  return tlv(0x02, bytes);
}

const oidCache = new Map();
/** An OBJECT IDENTIFIER from its dotted form (cached: the engine uses a handful). */
export function oid(dotted) {
  let der = oidCache.get(dotted);
  if (der) return der;
  const arcs = dotted.split(".").map(Number);
  const out = [];
  const push = (n) => {
    const chunk = [n & 0x7f];
    for (let v = Math.floor(n / 128); v > 0; v = Math.floor(v / 128)) chunk.unshift(0x80 | (v & 0x7f));
    out.push(...chunk);
  };
  push(arcs[0] * 40 + arcs[1]);
  for (const arc of arcs.slice(2)) push(arc);
  der = tlv(0x06, Buffer.from(out));
  oidCache.set(dotted, der);
  return der;
}

const pad = (n, w = 2) => String(n).padStart(w, "0");
/** RFC 5280 4.1.2.5: UTCTime for 1950–2049, GeneralizedTime otherwise; whole seconds, "Z". */
export function time(date) {
  const y = date.getUTCFullYear();
  const rest = `${pad(date.getUTCMonth() + 1)}${pad(date.getUTCDate())}${pad(date.getUTCHours())}${pad(date.getUTCMinutes())}${pad(date.getUTCSeconds())}Z`;
  if (y >= 1950 && y <= 2049) return tlv(0x17, Buffer.from(`${pad(y % 100)}${rest}`, "ascii"));
  return tlv(0x18, Buffer.from(`${pad(y, 4)}${rest}`, "ascii"));
}

/** An Extension: extnID, critical only when true (DEFAULT FALSE), extnValue. */
export function extension(dottedOid, critical, value) {
  return critical ? seq(oid(dottedOid), bool(true), octetString(value)) : seq(oid(dottedOid), octetString(value));
}

// ---------------------------------------------------------------------------------
// Certificate parts.

export const OIDS = Object.freeze({
  basicConstraints: "2.5.29.19",
  keyUsage: "2.5.29.15",
  extKeyUsage: "2.5.29.37",
  subjectKeyIdentifier: "2.5.29.14",
  authorityKeyIdentifier: "2.5.29.35",
  subjectAltName: "2.5.29.17",
  cRLDistributionPoints: "2.5.29.31",
  authorityInfoAccess: "1.3.6.1.5.5.7.1.1",
  ocsp: "1.3.6.1.5.5.7.48.1",
  caIssuers: "1.3.6.1.5.5.7.48.2",
  extensionRequest: "1.2.840.113549.1.9.14",
  commonName: "2.5.4.3",
});

/** RFC 5280 keyUsage bit numbers. */
const KEY_USAGE_BITS = { digitalSignature: 0, nonRepudiation: 1, keyEncipherment: 2, dataEncipherment: 3, keyAgreement: 4, keyCertSign: 5, cRLSign: 6 };

/** keyUsage BIT STRING in DER: named bits, trailing zero bits dropped. */
export function keyUsageValue(names) {
  let bits = 0;
  let highest = -1;
  for (const name of names) {
    const bit = KEY_USAGE_BITS[name];
    if (bit === undefined) throw new Error(`Unknown key usage ${name}`);
    bits |= 0x8000 >> bit;
    highest = Math.max(highest, bit);
  }
  if (highest < 0) return tlv(0x03, Buffer.from([0]));
  const octets = highest < 8 ? [bits >> 8] : [bits >> 8, bits & 0xff];
  const last = octets[octets.length - 1];
  let unused = 0;
  while (unused < 7 && (last & (1 << unused)) === 0) unused++;
  return tlv(0x03, Buffer.from([unused, ...octets]));
}

/** basicConstraints value: cA only when true (DEFAULT FALSE), pathLenConstraint when given. */
export function basicConstraintsValue(ca, pathLength) {
  const parts = [];
  if (ca) parts.push(bool(true));
  if (ca && pathLength !== undefined && pathLength !== null) parts.push(smallInteger(pathLength));
  return seq(...parts);
}

/** The SHA-1 of the subjectPublicKey BIT STRING's value (RFC 5280 4.2.1.2 method 1). */
export function keyIdentifier(spkiDer) {
  const [, bits] = children(read(spkiDer));
  if (!bits || bits.tag !== 0x03 || bits.content.length < 1) throw new Error("not a SubjectPublicKeyInfo");
  return createHash("sha1").update(bits.content.subarray(1)).digest();
}

const GENERAL_NAME_TAGS = { email: 0x81, dns: 0x82, uri: 0x86, ip: 0x87 };

/** A GeneralName for a SAN { type, value }; IP values as text (IPv4 or IPv6). */
export function generalName(san) {
  const tag = GENERAL_NAME_TAGS[san.type];
  if (!tag) throw new Error(`Unsupported SAN type ${san.type}`);
  return tlv(tag, san.type === "ip" ? ipBytes(san.value) : Buffer.from(san.value, "ascii"));
}

/** The octets of an IPv4 or IPv6 address. */
export function ipBytes(text) {
  const kind = isIP(text);
  if (kind === 4) return Buffer.from(text.split(".").map(Number));
  if (kind !== 6) throw new Error(`"${text}" is not an IP address`);
  let s = text;
  // An embedded IPv4 tail (::ffff:1.2.3.4) becomes two groups.
  const v4 = /(\d+)\.(\d+)\.(\d+)\.(\d+)$/.exec(s);
  if (v4) s = `${s.slice(0, v4.index)}${((+v4[1] << 8) | +v4[2]).toString(16)}:${((+v4[3] << 8) | +v4[4]).toString(16)}`;
  const [head, tail] = s.includes("::") ? s.split("::") : [s, undefined];
  const h = head ? head.split(":") : [];
  const t = tail ? tail.split(":") : [];
  const groups = tail === undefined ? h : [...h, ...Array(8 - h.length - t.length).fill("0"), ...t];
  const out = Buffer.alloc(16);
  groups.forEach((g, i) => out.writeUInt16BE(parseInt(g, 16), i * 2));
  return out;
}

/** Signature AlgorithmIdentifier DER and the digest for crypto.sign, for a CA private key (as issue.ts signs). */
export function signatureAlgorithmFor(privateKey) {
  const type = privateKey.asymmetricKeyType;
  if (type === "ec") {
    const curve = privateKey.asymmetricKeyDetails?.namedCurve;
    const byCurve = { prime256v1: ["1.2.840.10045.4.3.2", "sha256"], secp384r1: ["1.2.840.10045.4.3.3", "sha384"], secp521r1: ["1.2.840.10045.4.3.4", "sha512"] }[curve];
    if (!byCurve) throw new Error(`EC keys on curve ${curve} are not supported for signing`);
    return { algorithmDer: seq(oid(byCurve[0])), digest: byCurve[1] };
  }
  if (type === "rsa") return { algorithmDer: seq(oid("1.2.840.113549.1.1.11"), nullValue()), digest: "sha256" };
  if (type === "ed25519") return { algorithmDer: seq(oid("1.3.101.112")), digest: null };
  throw new Error(`${type ?? "This"} keys are not supported for signing`);
}

/**
 * The per-certificate extensions, in issue.ts's order, around the issuer's constant
 * parts. `spec`: { ca, pathLength, keyUsage: names, ekuOids }; `sans` final (CN added).
 */
export function buildExtensions(issuer, spec, spkiDer, sans) {
  const exts = [
    extension(OIDS.basicConstraints, true, basicConstraintsValue(spec.ca, spec.pathLength)),
    extension(OIDS.keyUsage, true, keyUsageValue(spec.keyUsage)),
  ];
  if (spec.ekuOids.length > 0) exts.push(extension(OIDS.extKeyUsage, false, seq(...spec.ekuOids.map(oid))));
  exts.push(extension(OIDS.subjectKeyIdentifier, false, octetString(keyIdentifier(spkiDer))));
  exts.push(issuer.akiDer);
  if (sans.length > 0) exts.push(extension(OIDS.subjectAltName, false, seq(...sans.map(generalName))));
  if (issuer.cdpDer) exts.push(issuer.cdpDer);
  if (issuer.aiaDer) exts.push(issuer.aiaDer);
  return exts;
}

/**
 * The TBSCertificate. `issuer`: { issuerNameDer, signatureAlgorithmDer, akiDer, cdpDer?, aiaDer? }
 * (Buffers); `cert`: { serialHex, notBefore, notAfter, subjectDer, spkiDer, sans, spec }.
 */
export function buildTbs(issuer, cert) {
  return seq(
    ctx(0, smallInteger(2)),
    integerFromHex(cert.serialHex),
    issuer.signatureAlgorithmDer,
    issuer.issuerNameDer,
    seq(time(cert.notBefore), time(cert.notAfter)),
    cert.subjectDer,
    cert.spkiDer,
    ctx(3, seq(...buildExtensions(issuer, cert.spec, cert.spkiDer, cert.sans))),
  );
}

/** Signs a TBSCertificate with Node's native crypto: the Certificate DER. */
export function signTbs(tbs, signatureAlgorithmDer, digest, privateKey) {
  const signature = nodeSign(digest, tbs, privateKey);
  return seq(tbs, signatureAlgorithmDer, bitString(signature));
}

/** PEM with 64-character lines. */
export function toPem(der, label = "CERTIFICATE") {
  const b64 = der.toString("base64");
  const lines = [];
  for (let i = 0; i < b64.length; i += 64) lines.push(b64.slice(i, i + 64));
  return `-----BEGIN ${label}-----\n${lines.join("\n")}\n-----END ${label}-----\n`;
}

/** A fresh serial as issue.ts makes them (serial.ts): 16 random octets, first in 0x40–0x7F. */
export function randomSerialHex() {
  const bytes = randomBytes(16);
  bytes[0] = (bytes[0] & 0x3f) | 0x40;
  return bytes.toString("hex").toUpperCase();
}

const DAY_MS = 24 * 60 * 60 * 1000;
const CLOCK_SKEW_MS = 5 * 60 * 1000;
/** issue.ts's validity: from five minutes ago (not before the CA) for `days` (not past the CA), whole seconds. */
export function validityFor(nowMs, days, caNotBeforeMs, caNotAfterMs) {
  const second = (ms) => new Date(Math.floor(ms / 1000) * 1000);
  return {
    notBefore: second(Math.max(nowMs - CLOCK_SKEW_MS, caNotBeforeMs)),
    notAfter: second(Math.min(nowMs + days * DAY_MS, caNotAfterMs)),
  };
}

// ---------------------------------------------------------------------------------
// Reading (a CSR in a worker thread): strict DER, low tags, definite minimal lengths.

function readAt(buf, offset) {
  if (offset + 2 > buf.length) throw new Error("truncated");
  const tag = buf[offset];
  if ((tag & 0x1f) === 0x1f) throw new Error("high tag number");
  const first = buf[offset + 1];
  let length = first;
  let header = 2;
  if (first >= 0x80) {
    const n = first & 0x7f;
    if (n === 0 || n > 4 || offset + 2 + n > buf.length || buf[offset + 2] === 0) throw new Error("bad length");
    length = 0;
    for (let i = 0; i < n; i++) length = length * 256 + buf[offset + 2 + i];
    if (length < 0x80) throw new Error("non-minimal length");
    header = 2 + n;
  }
  const end = offset + header + length;
  if (end > buf.length) throw new Error("truncated");
  return { tag, bytes: buf.subarray(offset, end), content: buf.subarray(offset + header, end) };
}

export function read(buf) {
  const el = readAt(buf, 0);
  if (el.bytes.length !== buf.length) throw new Error("trailing data");
  return el;
}

export function children(el) {
  if ((el.tag & 0x20) === 0) throw new Error("not constructed");
  const out = [];
  for (let o = 0; o < el.content.length; ) {
    const c = readAt(el.content, o);
    out.push(c);
    o += c.bytes.length;
  }
  return out;
}

const CSR_SIGNATURES = {
  "1.2.840.10045.4.3.2": "sha256",
  "1.2.840.10045.4.3.3": "sha384",
  "1.2.840.10045.4.3.4": "sha512",
  "1.2.840.113549.1.1.11": "sha256",
  "1.2.840.113549.1.1.12": "sha384",
  "1.2.840.113549.1.1.13": "sha512",
  "1.3.101.112": null,
};
const SAN_TYPES = { 0x81: "email", 0x82: "dns", 0x86: "uri", 0x87: "ip" };

function oidText(el) {
  if (el.tag !== 0x06) throw new Error("expected an OID");
  const c = el.content;
  const arcs = [];
  let v = 0;
  for (const b of c) {
    v = v * 128 + (b & 0x7f);
    if ((b & 0x80) === 0) {
      if (arcs.length === 0) arcs.push(v < 80 ? Math.floor(v / 40) : 2, v < 80 ? v % 40 : v - 80);
      else arcs.push(v);
      v = 0;
    }
  }
  return arcs.join(".");
}

function ipText(bytes) {
  if (bytes.length === 4) return [...bytes].join(".");
  if (bytes.length !== 16) throw new Error("bad IP SAN");
  const groups = [];
  for (let i = 0; i < 16; i += 2) groups.push(bytes.readUInt16BE(i).toString(16));
  return groups.join(":");
}

const EC_CURVES = { "1.2.840.10045.3.1.7": ["P-256", 32], "1.3.132.0.34": ["P-384", 48], "1.3.132.0.35": ["P-521", 66] };

/**
 * A KeyObject for a SubjectPublicKeyInfo. Uncompressed EC points go in as JWK, which
 * Node imports in about half the time of OpenSSL's SPKI decoder; the rest as DER.
 */
function publicKeyOf(spki) {
  const parts = children(spki);
  const [alg, bits] = parts;
  const algParts = alg.tag === 0x30 ? children(alg) : [];
  const [algOid, params] = algParts;
  // Only a SubjectPublicKeyInfo of exactly the expected shape takes the JWK way; anything else is OpenSSL's to judge.
  if (parts.length === 2 && algParts.length === 2 && bits.tag === 0x03 && algOid.tag === 0x06 && oidText(algOid) === "1.2.840.10045.2.1" && params.tag === 0x06) {
    const curve = EC_CURVES[oidText(params)];
    const point = bits.content.subarray(1);
    if (curve && bits.content[0] === 0 && point.length === 1 + 2 * curve[1] && point[0] === 0x04) {
      const n = curve[1];
      return createPublicKey({ key: { kty: "EC", crv: curve[0], x: point.subarray(1, 1 + n).toString("base64url"), y: point.subarray(1 + n).toString("base64url") }, format: "jwk" });
    }
  }
  return createPublicKey({ key: spki.bytes, format: "der", type: "spki" });
}

/** A KeyObject for SubjectPublicKeyInfo DER (uncompressed EC points through JWK, as above). */
export function publicKeyFromSpki(der) {
  const spki = read(der);
  if (spki.bytes.length !== der.length || spki.tag !== 0x30) return createPublicKey({ key: der, format: "der", type: "spki" });
  return publicKeyOf(spki);
}

/**
 * The parts of a PKCS#10 request the fast path needs, with its signature verified by
 * Node's native crypto: { subjectDer, spkiDer, keyType, commonName, sans }. Throws on
 * anything malformed, a bad signature, or SANs of other types. The portal's own
 * checks (csr.ts parseCsr: key sizes, string types, lengths) are not repeated here.
 */
export function leanParseCsr(der) {
  return leanRead(der, true);
}

/**
 * The same parts of a CSR the portal accepted earlier (parseCsr checked it in full, its
 * signature included) and has kept since: read without checking the signature again. The
 * caller makes sure these are the bytes that were checked (their fingerprint).
 */
export function leanReadAcceptedCsr(der) {
  return leanRead(der, false);
}

function leanRead(der, verifySignature) {
  try {
    return parseCsrParts(der, verifySignature);
  } catch (e) {
    if (e instanceof CsrError) throw e;
    // Reading past a malformed structure, or OpenSSL refusing the key: one plain answer.
    throw new CsrError("The request is not a well-formed PKCS#10 certificate signing request with a usable key");
  }
}

class CsrError extends Error {}

/** Key types by SubjectPublicKeyInfo algorithm, as KeyObject.asymmetricKeyType names them. */
const KEY_TYPES = { "1.2.840.10045.2.1": "ec", "1.2.840.113549.1.1.1": "rsa", "1.3.101.112": "ed25519", "1.3.101.113": "ed448" };

function parseCsrParts(der, verifySignature) {
  const outer = read(der);
  if (outer.tag !== 0x30) throw new CsrError("The data is not a certificate signing request");
  const [info, algorithm, signature, extra] = children(outer);
  if (extra) throw new CsrError("The data is not a certificate signing request");
  if (!info || info.tag !== 0x30 || !algorithm || algorithm.tag !== 0x30 || !signature || signature.tag !== 0x03) throw new CsrError("The data is not a certificate signing request");
  const [version, subject, spki, attributes] = children(info);
  if (!version || version.tag !== 0x02 || !version.content.equals(Buffer.from([0])) || !subject || subject.tag !== 0x30 || !spki || spki.tag !== 0x30) throw new CsrError("The data is not a certificate signing request");
  const sigOid = oidText(children(algorithm)[0]);
  if (!(sigOid in CSR_SIGNATURES)) throw new CsrError(`The request's signature algorithm (${sigOid}) is not supported`);
  if (signature.content[0] !== 0) throw new Error("bad signature BIT STRING");
  let keyType;
  if (verifySignature) {
    const key = publicKeyOf(spki);
    if (!nodeVerify(CSR_SIGNATURES[sigOid], info.bytes, key, signature.content.subarray(1))) throw new CsrError("The request's signature does not verify");
    keyType = key.asymmetricKeyType;
  } else {
    keyType = KEY_TYPES[oidText(children(children(spki)[0])[0])];
    if (!keyType) throw new CsrError("The request's key type is not supported");
  }

  let commonName = null;
  for (const rdn of children(subject)) {
    for (const atv of children(rdn)) {
      const [type, value] = children(atv);
      if (commonName === null && oidText(type) === OIDS.commonName) commonName = value.content.toString("utf8");
    }
  }
  const sans = [];
  if (attributes && attributes.tag === 0xa0) {
    for (const attribute of children(attributes)) {
      const [type, values] = children(attribute);
      if (oidText(type) !== OIDS.extensionRequest) continue;
      for (const ext of children(children(values)[0])) {
        const parts = children(ext);
        if (oidText(parts[0]) !== OIDS.subjectAltName) continue;
        for (const name of children(read(parts[parts.length - 1].content))) {
          const t = SAN_TYPES[name.tag];
          if (!t) throw new CsrError("The request has a subject alternative name of an unsupported type");
          sans.push({ type: t, value: t === "ip" ? ipText(name.content) : name.content.toString("ascii") });
        }
      }
    }
  }
  return { subjectDer: subject.bytes, spkiDer: spki.bytes, keyType, commonName, sans };
}

/** base64 body of one PEM block → DER. */
export function pemBody(pem) {
  const m = /-----BEGIN (?:NEW )?CERTIFICATE REQUEST-----([\s\S]*?)-----END (?:NEW )?CERTIFICATE REQUEST-----/.exec(pem);
  if (!m) throw new Error("not a PEM certificate request");
  return Buffer.from(m[1].replace(/\s+/g, ""), "base64");
}

const DNS_LABEL = /^(?!-)[A-Za-z0-9-]{1,63}(?<!-)$/;
/** A host name for the TLS rule "CN as SAN" (letters, digits, hyphens; dot-separated labels). */
function hostName(name) {
  return name.length <= 253 && name.split(".").every((l) => DNS_LABEL.test(l));
}

/**
 * issue.ts's SAN rule for usages that need a server name: the request's SANs, with the
 * CN put first as an IP or DNS SAN when there is no DNS/IP SAN and the usage allows it.
 * `rules`: { requiresServerName, commonNameAsServerName }.
 */
export function finalSans(rules, commonName, sans) {
  if (!rules.requiresServerName || sans.some((s) => s.type === "dns" || s.type === "ip")) return sans;
  if (rules.commonNameAsServerName && commonName !== null) {
    if (isIP(commonName)) return [{ type: "ip", value: commonName }, ...sans];
    if (hostName(commonName)) return [{ type: "dns", value: commonName }, ...sans];
  }
  throw new Error("The request names no host name or IP address (a DNS or IP subject alternative name) for a server certificate");
}
