/**
 * OCSP (RFC 6960) on the wire: reading an OCSPRequest and writing OCSPResponses — a
 * BasicOCSPResponse signed by a delegated responder, or a bare error status. The DER is
 * read with the strict reader of csr.ts and written by hand: the structures are small
 * and their tagging (EXPLICIT module default, IMPLICIT CertStatus) is easy to get
 * exactly right this way.
 */
import { createHash, sign, type KeyObject } from "node:crypto";
import { toBuffer } from "./bytes.ts";
import { derChildren, derOid, readDer, type DerElement } from "./csr.ts";
import { keyIdentifier } from "./issue.ts";
import type { RevocationReason } from "./crl.ts";
import { spkiDer } from "./keys.ts";
import type { x509 } from "./setup.ts";

export const OID_OCSP_BASIC = "1.3.6.1.5.5.7.48.1.1";
export const OID_OCSP_NONCE = "1.3.6.1.5.5.7.48.1.2";
export const OID_SHA1 = "1.3.14.3.2.26";
export const OID_SHA256 = "2.16.840.1.101.3.4.2.1";
/** RFC 8954: a nonce of 1 to 32 octets; we tolerate a little more but not unbounded. */
const MAX_NONCE_EXTENSION_BYTES = 128;
/** More CertIDs than this in one request is not a client, it is a load test. */
export const MAX_CERT_IDS = 32;

export const OCSP_STATUS = {
  successful: 0,
  malformedRequest: 1,
  internalError: 2,
  tryLater: 3,
  sigRequired: 5,
  unauthorized: 6,
} as const;
export type OcspErrorStatus = Exclude<keyof typeof OCSP_STATUS, "successful">;

export type OcspHashAlgorithm = "sha1" | "sha256";

export interface OcspCertId {
  hashAlgorithm: OcspHashAlgorithm;
  issuerNameHash: Buffer;
  issuerKeyHash: Buffer;
  /** Upper-case hex without a leading 00, as certificates' serials are stored. */
  serial: string;
  /** The CertID exactly as the client sent it: echoed in the SingleResponse. */
  raw: Buffer;
}

export interface ParsedOcspRequest {
  certIds: OcspCertId[];
  /** The whole nonce Extension element as sent, to echo byte for byte; null without one. */
  nonceExtension: Buffer | null;
}

export class OcspMalformedError extends Error {}

const HASH_OIDS: Record<string, OcspHashAlgorithm> = { [OID_SHA1]: "sha1", [OID_SHA256]: "sha256" };

function malformed(why: string): never {
  throw new OcspMalformedError(why);
}

/** Reads an OCSPRequest; throws OcspMalformedError for anything that is not one. */
export function parseOcspRequest(der: Uint8Array): ParsedOcspRequest {
  try {
    return parseStrict(toBuffer(der));
  } catch (e) {
    if (e instanceof OcspMalformedError) throw e;
    throw new OcspMalformedError(`not DER: ${(e as Error).message}`);
  }
}

function parseStrict(buf: Buffer): ParsedOcspRequest {
  if (buf.length === 0) malformed("empty request");
  const req = readDer(buf);
  if (req.tag !== 0x30) malformed("OCSPRequest is not a SEQUENCE");
  const [tbs, sig, ...rest] = derChildren(req);
  if (!tbs || tbs.tag !== 0x30 || rest.length > 0 || (sig && sig.tag !== 0xa0)) malformed("bad OCSPRequest");
  const fields = derChildren(tbs);
  let i = 0;
  if (fields[i]?.tag === 0xa0) {
    const [v] = derChildren(fields[i]);
    if (!v || v.tag !== 0x02 || !v.content.equals(Buffer.from([0]))) malformed("unsupported version");
    i++;
  }
  if (fields[i]?.tag === 0xa1) i++; // requestorName: not used
  const list = fields[i++];
  if (!list || list.tag !== 0x30) malformed("no requestList");
  let nonceExtension: Buffer | null = null;
  if (fields[i]?.tag === 0xa2) {
    const [exts] = derChildren(fields[i++]);
    if (!exts || exts.tag !== 0x30) malformed("bad requestExtensions");
    for (const ext of derChildren(exts)) {
      const parts = derChildren(ext);
      if (derOid(parts[0]) === OID_OCSP_NONCE) {
        if (ext.bytes.length > MAX_NONCE_EXTENSION_BYTES) malformed("nonce too long");
        // Echoed byte for byte: it must be an Extension OpenSSL reads back.
        const [, second, third, ...more] = parts;
        const critical = second?.tag === 0x01 && second.content.length === 1;
        const value = critical ? third : second;
        if (ext.tag !== 0x30 || value?.tag !== 0x04 || more.length || (critical && third === undefined) || (!critical && third !== undefined)) malformed("bad nonce extension");
        nonceExtension = Buffer.from(ext.bytes);
      }
    }
  }
  if (i !== fields.length) malformed("unexpected fields in TBSRequest");
  const requests = derChildren(list);
  if (requests.length === 0) malformed("empty requestList");
  if (requests.length > MAX_CERT_IDS) malformed("too many CertIDs");
  const certIds = requests.map((r) => {
    if (r.tag !== 0x30) malformed("Request is not a SEQUENCE");
    const [certId, single, ...more] = derChildren(r);
    if (!certId || certId.tag !== 0x30 || more.length || (single && single.tag !== 0xa0)) malformed("bad Request");
    return parseCertId(certId);
  });
  return { certIds, nonceExtension };
}

function parseCertId(el: DerElement): OcspCertId {
  const [alg, nameHash, keyHash, serial, ...rest] = derChildren(el);
  if (!alg || alg.tag !== 0x30 || !nameHash || nameHash.tag !== 0x04 || !keyHash || keyHash.tag !== 0x04 || !serial || serial.tag !== 0x02 || rest.length) {
    malformed("bad CertID");
  }
  const [oid, params, ...extra] = derChildren(alg);
  // The CertID is echoed byte for byte: what OpenSSL would not read back must not pass.
  if (extra.length || (params && (params.tag !== 0x05 || params.content.length !== 0))) malformed("bad hashAlgorithm");
  const hashAlgorithm = HASH_OIDS[derOid(oid)];
  if (!hashAlgorithm) malformed("unsupported hash algorithm");
  const len = hashAlgorithm === "sha1" ? 20 : 32;
  if (nameHash.content.length !== len || keyHash.content.length !== len) malformed("hash of the wrong length");
  if (serial.content.length === 0 || serial.content.length > 21 || serial.content[0] & 0x80) malformed("bad serial number");
  if (serial.content.length > 1 && serial.content[0] === 0 && !(serial.content[1] & 0x80)) malformed("serial number not minimally encoded");
  const hex = serial.content.toString("hex").replace(/^(00)+/, "").toUpperCase() || "00";
  return { hashAlgorithm, issuerNameHash: Buffer.from(nameHash.content), issuerKeyHash: Buffer.from(keyHash.content), serial: hex, raw: Buffer.from(el.bytes) };
}

// ---------------------------------------------------------------------------------
// Writing

function tlv(tag: number, content: Buffer): Buffer {
  const n = content.length;
  let header: Buffer;
  if (n < 0x80) header = Buffer.from([tag, n]);
  else {
    const len: number[] = [];
    for (let v = n; v > 0; v = Math.floor(v / 256)) len.unshift(v % 256);
    header = Buffer.from([tag, 0x80 | len.length, ...len]);
  }
  return Buffer.concat([header, content]);
}
const seq = (...items: Buffer[]) => tlv(0x30, Buffer.concat(items));
const explicit = (n: number, inner: Buffer) => tlv(0xa0 | n, inner);
const octets = (b: Buffer) => tlv(0x04, b);
const enumerated = (v: number) => tlv(0x0a, Buffer.from([v]));

function oid(dotted: string): Buffer {
  const arcs = dotted.split(".").map(BigInt);
  const out: number[] = [];
  const push = (v: bigint) => {
    const bytes = [Number(v & 0x7fn)];
    for (v >>= 7n; v > 0n; v >>= 7n) bytes.unshift(Number((v & 0x7fn) | 0x80n));
    out.push(...bytes);
  };
  push(arcs[0] * 40n + arcs[1]);
  for (const a of arcs.slice(2)) push(a);
  return tlv(0x06, Buffer.from(out));
}

function generalizedTime(d: Date): Buffer {
  const s = d.toISOString().replace(/\.\d{3}Z$/, "Z").replace(/[-:T]/g, "");
  return tlv(0x18, Buffer.from(s, "ascii"));
}

/** An OCSPResponse with an error status and no responseBytes. */
export function ocspErrorResponse(status: OcspErrorStatus): Buffer {
  return seq(enumerated(OCSP_STATUS[status]));
}

/** The responseStatus of an OCSPResponse (tests, logs). */
export function ocspResponseStatus(der: Uint8Array): number {
  const [status] = derChildren(readDer(toBuffer(der)));
  if (status?.tag !== 0x0a || status.content.length !== 1) throw new OcspMalformedError("not an OCSPResponse");
  return status.content[0];
}

const REASON_CODES: Record<RevocationReason, number> = {
  unspecified: 0,
  keyCompromise: 1,
  cACompromise: 2,
  affiliationChanged: 3,
  superseded: 4,
  cessationOfOperation: 5,
  privilegeWithdrawn: 9,
  aACompromise: 10,
};

export type OcspCertStatus = { status: "good" } | { status: "revoked"; revokedAt: Date; reason: RevocationReason | null } | { status: "unknown" };

export interface OcspAnswer {
  certId: OcspCertId;
  certStatus: OcspCertStatus;
}

export interface BuildOcspResponseOptions {
  responder: { certificate: x509.X509Certificate; privateKey: KeyObject };
  answers: OcspAnswer[];
  nonceExtension: Buffer | null;
  now: Date;
  /** nextUpdate − thisUpdate; one day by default. */
  validityMs?: number;
}

function second(d: Date): Date {
  return new Date(Math.floor(d.getTime() / 1000) * 1000);
}

function signatureAlgorithm(key: KeyObject): { algorithmId: Buffer; hash: string } {
  if (key.asymmetricKeyType === "ec") {
    const curve = key.asymmetricKeyDetails?.namedCurve;
    if (curve === "prime256v1") return { algorithmId: seq(oid("1.2.840.10045.4.3.2")), hash: "sha256" };
    if (curve === "secp384r1") return { algorithmId: seq(oid("1.2.840.10045.4.3.3")), hash: "sha384" };
  }
  if (key.asymmetricKeyType === "rsa") return { algorithmId: seq(oid("1.2.840.113549.1.1.11"), tlv(0x05, Buffer.alloc(0))), hash: "sha256" };
  throw new Error(`Unsupported OCSP responder key type ${key.asymmetricKeyType ?? "?"}`);
}

/** A successful OCSPResponse: a BasicOCSPResponse signed by the responder, its certificate included. */
export function buildOcspResponse(opts: BuildOcspResponseOptions): Buffer {
  const now = second(opts.now);
  const nextUpdate = second(new Date(now.getTime() + (opts.validityMs ?? 24 * 60 * 60 * 1000)));
  const responderKeyHash = keyIdentifier(spkiDer(opts.responder.privateKey));
  const single = opts.answers.map(({ certId, certStatus }) => {
    let status: Buffer;
    if (certStatus.status === "good") status = Buffer.from([0x80, 0x00]);
    else if (certStatus.status === "unknown") status = Buffer.from([0x82, 0x00]);
    else {
      const reason = certStatus.reason ? explicit(0, enumerated(REASON_CODES[certStatus.reason])) : Buffer.alloc(0);
      status = tlv(0xa1, Buffer.concat([generalizedTime(second(certStatus.revokedAt)), reason]));
    }
    return seq(certId.raw, status, generalizedTime(now), explicit(0, generalizedTime(nextUpdate)));
  });
  const extensions = opts.nonceExtension ? [explicit(1, seq(opts.nonceExtension))] : [];
  const tbs = seq(explicit(2, octets(responderKeyHash)), generalizedTime(now), seq(...single), ...extensions);
  const alg = signatureAlgorithm(opts.responder.privateKey);
  const signature = sign(alg.hash, tbs, opts.responder.privateKey);
  const basic = seq(tbs, alg.algorithmId, tlv(0x03, Buffer.concat([Buffer.from([0]), signature])), explicit(0, seq(toBuffer(opts.responder.certificate.rawData))));
  return seq(enumerated(OCSP_STATUS.successful), explicit(0, seq(oid(OID_OCSP_BASIC), octets(basic))));
}

/** The hash of a Name (issuerNameHash) or of a key's BIT STRING value (issuerKeyHash). */
export function ocspHash(alg: OcspHashAlgorithm, data: Buffer): Buffer {
  return createHash(alg).update(data).digest();
}

/** issuerKeyHash input: the subjectPublicKey BIT STRING's value without the unused-bits octet. */
export function subjectPublicKeyBits(spki: Buffer): Buffer {
  const [, bits] = derChildren(readDer(spki));
  if (!bits || bits.tag !== 0x03) throw new Error("not a SubjectPublicKeyInfo");
  return Buffer.from(bits.content.subarray(1));
}
