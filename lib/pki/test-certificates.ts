/**
 * Hand-built certificates and CRLs for the lint tests: take a real certificate apart,
 * change one field (a negative serial, a GeneralizedTime in 2030, a missing SAN…) and
 * sign the result again with the CA key, so each broken certificate is broken in
 * exactly one way. Not used by application code.
 */
import { sign, type KeyObject } from "node:crypto";
import { toBuffer } from "./bytes.ts";
import { derChildren, readDer, type DerElement } from "./csr.ts";

function lengthOctets(n: number): Buffer {
  if (n < 0x80) return Buffer.from([n]);
  const bytes: number[] = [];
  for (let v = n; v > 0; v = Math.floor(v / 256)) bytes.unshift(v % 256);
  return Buffer.from([0x80 | bytes.length, ...bytes]);
}

/** One DER TLV. */
export function tlv(tag: number, content: Buffer): Buffer {
  return Buffer.concat([Buffer.from([tag]), lengthOctets(content.length), content]);
}

export const seq = (...items: Buffer[]) => tlv(0x30, Buffer.concat(items));
export const set = (...items: Buffer[]) => tlv(0x31, Buffer.concat(items));
export const octets = (b: Buffer) => tlv(0x04, b);

/** An OBJECT IDENTIFIER from its dotted form. */
export function oid(dotted: string): Buffer {
  const arcs = dotted.split(".").map(BigInt);
  const body: number[] = [];
  const push = (v: bigint) => {
    const chunk: number[] = [Number(v & 0x7fn)];
    for (v >>= 7n; v > 0n; v >>= 7n) chunk.unshift(Number(v & 0x7fn) | 0x80);
    body.push(...chunk);
  };
  push(arcs[0] * 40n + arcs[1]);
  arcs.slice(2).forEach(push);
  return tlv(0x06, Buffer.from(body));
}

/** An Extension: extnID, critical (only when TRUE, as DER wants), extnValue. */
export function extension(id: string, critical: boolean, value: Buffer): Buffer {
  return seq(oid(id), ...(critical ? [Buffer.from([0x01, 0x01, 0xff])] : []), octets(value));
}

/** A Name of single-attribute RDNs: [oid, string tag, text]. */
export function name(...attributes: [string, number, string][]): Buffer {
  return seq(...attributes.map(([type, tag, text]) => set(seq(oid(type), tlv(tag, Buffer.from(text, tag === 0x0c ? "utf8" : "latin1"))))));
}

/** UTCTime (through 2049) or GeneralizedTime, as RFC 5280 wants; `force` picks the type regardless. */
export function time(d: Date, force?: "utc" | "generalized"): Buffer {
  const iso = d.toISOString().replace(/[-:T]/g, "").slice(0, 14);
  const useUtc = force ? force === "utc" : d.getUTCFullYear() < 2050;
  return useUtc ? tlv(0x17, Buffer.from(`${iso.slice(2)}Z`, "latin1")) : tlv(0x18, Buffer.from(`${iso}Z`, "latin1"));
}

export interface CertificateParts {
  /** 2 for v3; null leaves the version out (v1). */
  version: number | null;
  /** The serial INTEGER's content octets. */
  serial: Buffer;
  signatureAlgorithm: Buffer;
  /** The outer algorithm; the inner one by default. */
  outerSignatureAlgorithm?: Buffer;
  issuer: Buffer;
  notBefore: Buffer;
  notAfter: Buffer;
  subject: Buffer;
  spki: Buffer;
  /** Raw [1]/[2] unique identifiers to add. */
  uniqueIds?: Buffer[];
  /** Each Extension's DER; null leaves the extensions field out. */
  extensions: Buffer[] | null;
}

/** The parts of a certificate, to change and reassemble. */
export function certificateParts(der: Uint8Array): CertificateParts {
  const [tbs, sigAlg] = derChildren(readDer(toBuffer(der)));
  const fields = derChildren(tbs);
  const hasVersion = fields[0].tag === 0xa0;
  const at = (i: number): DerElement => fields[i + (hasVersion ? 1 : 0)];
  const [notBefore, notAfter] = derChildren(at(3));
  const extField = fields.find((f) => f.tag === 0xa3);
  return {
    version: hasVersion ? derChildren(fields[0])[0].content[0] : null,
    serial: Buffer.from(at(0).content),
    signatureAlgorithm: Buffer.from(at(1).bytes),
    outerSignatureAlgorithm: Buffer.from(sigAlg.bytes),
    issuer: Buffer.from(at(2).bytes),
    notBefore: Buffer.from(notBefore.bytes),
    notAfter: Buffer.from(notAfter.bytes),
    subject: Buffer.from(at(4).bytes),
    spki: Buffer.from(at(5).bytes),
    extensions: extField ? derChildren(derChildren(extField)[0]).map((e) => Buffer.from(e.bytes)) : null,
  };
}

/** The OID of an Extension's DER. */
export function extensionOid(ext: Buffer): string {
  const [id] = derChildren(readDer(ext));
  const c = id.content;
  const arcs: number[] = [];
  let v = 0;
  for (const b of c) {
    v = v * 128 + (b & 0x7f);
    if ((b & 0x80) === 0) {
      arcs.push(v);
      v = 0;
    }
  }
  const first = arcs[0] < 40 ? 0 : arcs[0] < 80 ? 1 : 2;
  return [first, arcs[0] - first * 40, ...arcs.slice(1)].join(".");
}

/** The hash to sign with for a CA key, as issuance picks it. */
function hashFor(key: KeyObject): string | null {
  if (key.asymmetricKeyType === "ed25519") return null;
  if (key.asymmetricKeyType === "ec") return { prime256v1: "sha256", secp384r1: "sha384", secp521r1: "sha512" }[key.asymmetricKeyDetails?.namedCurve ?? ""] ?? "sha256";
  return "sha256";
}

/** Assembles and signs a certificate from parts. */
export function buildCertificate(parts: CertificateParts, caKey: KeyObject): Buffer {
  const tbs = seq(
    ...(parts.version === null ? [] : [tlv(0xa0, tlv(0x02, Buffer.from([parts.version])))]),
    tlv(0x02, parts.serial),
    parts.signatureAlgorithm,
    parts.issuer,
    seq(parts.notBefore, parts.notAfter),
    parts.subject,
    parts.spki,
    ...(parts.uniqueIds ?? []),
    ...(parts.extensions === null ? [] : [tlv(0xa3, seq(...parts.extensions))]),
  );
  const signature = sign(hashFor(caKey), tbs, caKey);
  return seq(tbs, parts.outerSignatureAlgorithm ?? parts.signatureAlgorithm, tlv(0x03, Buffer.concat([Buffer.from([0]), signature])));
}

export interface CrlParts {
  signatureAlgorithm: Buffer;
  issuer: Buffer;
  thisUpdate: Buffer;
  nextUpdate: Buffer | null;
  /** [serial content, revocation date, entry extensions DER or null]. */
  entries: [Buffer, Buffer, Buffer[] | null][];
  extensions: Buffer[];
}

/** Assembles and signs a v2 CRL from parts. */
export function buildCrl(parts: CrlParts, caKey: KeyObject): Buffer {
  const entries = parts.entries.map(([serial, date, exts]) => seq(tlv(0x02, serial), date, ...(exts ? [seq(...exts)] : [])));
  const tbs = seq(
    tlv(0x02, Buffer.from([1])),
    parts.signatureAlgorithm,
    parts.issuer,
    parts.thisUpdate,
    ...(parts.nextUpdate ? [parts.nextUpdate] : []),
    ...(entries.length ? [seq(...entries)] : []),
    ...(parts.extensions.length ? [tlv(0xa0, seq(...parts.extensions))] : []),
  );
  const signature = sign(hashFor(caKey), tbs, caKey);
  return seq(tbs, parts.signatureAlgorithm, tlv(0x03, Buffer.concat([Buffer.from([0]), signature])));
}
