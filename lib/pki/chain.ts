/**
 * Certificate chains: the issuers of an intermediate CA certificate, nearest first,
 * ending at a self-signed root. Parsing keeps every certificate of a PEM text (the
 * X.509 library alone reads only the first), and validation says which link is wrong
 * and why, in words an administrator can act on.
 */
import { X509Certificate as NodeX509Certificate } from "node:crypto";
import { AppError } from "../errors/app-error.ts";
import { toBuffer } from "./bytes.ts";
import { isCaCertificate, parseCertificate } from "./certificates.ts";
import { derChildren, readDer } from "./csr.ts";
import { fingerprints } from "./fingerprint.ts";
import { caKeyIdentifier } from "./issue.ts";
import { derToPem } from "./pem.ts";
import { x509 } from "./setup.ts";

/** At most this many issuers above a CA certificate; real hierarchies have one to three. */
export const MAX_CHAIN_CERTIFICATES = 8;
/** The longest chain text read: eight RSA 4096 certificates take about 20 KB. */
export const MAX_CHAIN_TEXT = 128 * 1024;

const CERT_BLOCK = /-----BEGIN CERTIFICATE-----\r?\n?[\s\S]*?-----END CERTIFICATE-----/g;
const ANY_BEGIN = /-----BEGIN ([^\r\n-]*)-----/g;

/**
 * Every certificate of a PEM text, in order. Text between blocks is ignored (OpenSSL
 * writes subject/issuer lines there); a private key, another kind of block, a truncated
 * block or more than `max` certificates is refused. Empty text gives an empty list.
 */
export function parseCertificateList(text: string, field = "chainPem", max = MAX_CHAIN_CERTIFICATES): x509.X509Certificate[] {
  if (text.length > MAX_CHAIN_TEXT) throw new AppError("bad_request", `The text is longer than ${MAX_CHAIN_TEXT / 1024} KB: a certificate chain is far shorter`, { field });
  const labels = Array.from(text.matchAll(ANY_BEGIN), (m) => m[1]);
  if (labels.some((l) => /PRIVATE KEY/.test(l))) {
    throw new AppError("bad_request", "The text holds a private key: give only certificates here, and keep the key to yourself", { field });
  }
  const other = labels.find((l) => l !== "CERTIFICATE");
  if (other !== undefined) throw new AppError("bad_request", `The text holds a "${other}" block: only CERTIFICATE blocks are accepted`, { field });
  // Counted before the blocks are matched, so that matching stays linear in the text's length.
  if (labels.length > max) throw new AppError("bad_request", `The text holds ${labels.length} certificates; at most ${max} certificates are accepted`, { field });
  const blocks = text.match(CERT_BLOCK) ?? [];
  if (blocks.length !== labels.length) {
    throw new AppError("bad_request", "A CERTIFICATE block is incomplete (no -----END CERTIFICATE----- line)", { field });
  }
  if (blocks.length === 0) {
    if (text.trim() === "") return [];
    throw new AppError("bad_request", "No certificate was found: give PEM text with -----BEGIN CERTIFICATE----- blocks", { field });
  }
  return blocks.map((b, i) => {
    try {
      return parseCertificate(b, field);
    } catch (e) {
      if (e instanceof AppError) throw new AppError(e.code, `Certificate ${i + 1} of ${blocks.length}: ${e.message}`, { field, cause: e });
      throw e;
    }
  });
}

/** PEM text of certificates, one block after the other. */
export function certificatesToPem(certs: readonly x509.X509Certificate[]): string {
  return certs.map((c) => derToPem(c.rawData, "CERTIFICATE")).join("");
}

/** True when two certificates are the same bytes. */
export function sameCertificate(a: x509.X509Certificate, b: x509.X509Certificate): boolean {
  return toBuffer(a.rawData).equals(toBuffer(b.rawData));
}

function nodeCert(cert: x509.X509Certificate): NodeX509Certificate {
  return new NodeX509Certificate(toBuffer(cert.rawData));
}

/** Issuer and subject Name DER of a certificate, exactly as encoded; null when the TBS cannot be read strictly. */
function names(cert: x509.X509Certificate): { issuer: Buffer; subject: Buffer } | null {
  try {
    const [tbs] = derChildren(readDer(toBuffer(cert.rawData)));
    const f = derChildren(tbs);
    const i = f[0].tag === 0xa0 ? 1 : 0;
    return { issuer: f[i + 2].bytes, subject: f[i + 4].bytes };
  } catch {
    return null;
  }
}

/** RFC 5280 7.1's comparison, approximately: byte-equal, or equal once case and runs of spaces are folded. */
function sameName(aDer: Buffer | undefined, aText: string, bDer: Buffer | undefined, bText: string): boolean {
  if (aDer && bDer && aDer.equals(bDer)) return true;
  const fold = (s: string) => s.toLowerCase().replace(/\s+/g, " ").trim();
  return fold(aText) === fold(bText);
}

/** The issuer named in `child` is the subject of `parent`. */
export function namesChain(child: x509.X509Certificate, parent: x509.X509Certificate): boolean {
  return sameName(names(child)?.issuer, child.issuer, names(parent)?.subject, parent.subject);
}

/** True when `signer`'s key verifies `cert`'s signature (OpenSSL, through Node, judges). */
export function signedBy(cert: x509.X509Certificate, signer: x509.X509Certificate): boolean {
  try {
    return nodeCert(cert).verify(nodeCert(signer).publicKey);
  } catch {
    return false;
  }
}

/** Issued by itself (subject = issuer) and its signature verifies with its own key. */
export function isSelfSigned(cert: x509.X509Certificate): boolean {
  return namesChain(cert, cert) && signedBy(cert, cert);
}

function authorityKeyId(cert: x509.X509Certificate): string | undefined {
  // By OID: getExtension(Class) finds nothing on some parsed objects.
  const ext = cert.getExtension("2.5.29.35");
  if (!ext) return undefined;
  try {
    return new x509.AuthorityKeyIdentifierExtension(new Uint8Array(ext.rawData)).keyId?.toLowerCase();
  } catch {
    return undefined;
  }
}

function subjectKeyId(cert: x509.X509Certificate): string | undefined {
  return cert.getExtension("2.5.29.14") ? caKeyIdentifier(cert).toLowerCase() : undefined;
}

function capitalize(s: string): string {
  return s.charAt(0).toUpperCase() + s.slice(1);
}

function sha1(cert: x509.X509Certificate): string {
  return fingerprints(cert.rawData).sha1;
}

export interface ChainLink {
  subject: string;
  issuer: string;
  sha1Fingerprint: string;
  sha256Fingerprint: string;
  notBefore: Date;
  notAfter: Date;
  selfSigned: boolean;
}

/** What pages and the API show of each certificate of a chain. */
export function describeChain(certs: readonly x509.X509Certificate[]): ChainLink[] {
  return certs.map((c) => {
    const fp = fingerprints(c.rawData);
    return { subject: c.subject, issuer: c.issuer, sha1Fingerprint: fp.sha1, sha256Fingerprint: fp.sha256, notBefore: c.notBefore, notAfter: c.notAfter, selfSigned: isSelfSigned(c) };
  });
}

export interface ValidateChainOptions {
  now?: Date;
  /** The form field the messages belong to. */
  field?: string;
}

/**
 * Checks that `issuers` (nearest first) is the issuing chain of the CA certificate
 * `cert`, up to a self-signed root: each certificate names the next as its issuer and
 * is signed by its key (authority key identifier = the issuer's subject key identifier
 * when both are present), each issuer is a CA allowed to sign certificates whose path
 * length constraint admits the CAs below it, all are valid at `now`, and the last one
 * verifies with its own key. A leading copy of `cert` is dropped (a "full chain" file).
 * Answers the issuers to store; `[]` for a self-signed `cert` given no chain. Throws an
 * AppError on the field that names the first problem, and what is missing.
 */
export function validateIssuerChain(cert: x509.X509Certificate, given: readonly x509.X509Certificate[], opts: ValidateChainOptions = {}): x509.X509Certificate[] {
  const field = opts.field ?? "chainPem";
  const now = (opts.now ?? new Date()).getTime();
  const fail = (message: string, code: "validation_failed" | "not_a_ca" = "validation_failed") => new AppError(code, message, { field });
  const issuers = given.length > 0 && sameCertificate(given[0], cert) ? given.slice(1) : [...given];

  if (isSelfSigned(cert)) {
    if (issuers.length > 0) throw fail(`The CA certificate ${cert.subject} is self-signed (a root): it has no issuers. Leave the issuer chain empty.`);
    return [];
  }
  if (issuers.length === 0) {
    throw fail(`The CA certificate ${cert.subject} is not self-signed: it was issued by ${cert.issuer}. Give its issuer chain, nearest issuer first and the root last; the certificate of ${cert.issuer} is missing.`);
  }

  let child = cert;
  // Non-self-issued CA certificates between an issuer and the certificates this CA will issue.
  let casBelow = 0;
  for (let i = 0; ; i++) {
    const position = i === 0 ? "the CA certificate" : `certificate ${i} of the chain (${child.subject})`;
    if (i >= issuers.length) {
      throw fail(`The issuer chain stops before a self-signed root: the certificate of ${child.issuer}, which issued ${position}, is missing.`);
    }
    const parent = issuers[i];
    if (!namesChain(child, parent)) {
      const elsewhere = issuers.findIndex((c, j) => j !== i && namesChain(child, c));
      if (elsewhere >= 0) {
        throw fail(`The issuer chain is in the wrong order: the certificate of ${child.issuer} (certificate ${elsewhere + 1} of the chain) must come right after ${position}, as certificate ${i + 1}. Order it nearest issuer first, root last.`);
      }
      throw fail(`Certificate ${i + 1} of the chain is ${parent.subject}, but ${position} was issued by ${child.issuer}: the certificate of ${child.issuer} is missing.`);
    }
    const where = `The certificate of ${parent.subject} (certificate ${i + 1} of the chain, SHA-1 ${sha1(parent)})`;
    const aki = authorityKeyId(child);
    const ski = subjectKeyId(parent);
    if (aki && ski && aki !== ski) {
      throw fail(`${where} did not issue ${position}: the authority key identifier of ${child.subject} (${aki}) is not its subject key identifier (${ski}). The certificate of ${child.issuer} with that key is missing.`);
    }
    if (!signedBy(child, parent)) {
      throw fail(`${capitalize(position)} is not signed by the certificate given for ${parent.subject} (certificate ${i + 1} of the chain, SHA-1 ${sha1(parent)}): its signature does not verify with that key. The certificate of ${child.issuer} that signed it is missing.`);
    }
    if (!isCaCertificate(parent)) throw fail(`${where} is not a CA certificate (basicConstraints CA:TRUE is missing): it cannot issue ${child.subject}.`, "not_a_ca");
    const ku = parent.getExtension(x509.KeyUsagesExtension);
    if (ku && (ku.usages & x509.KeyUsageFlags.keyCertSign) === 0) {
      throw fail(`${where} may not sign certificates: its key usage lacks keyCertSign.`, "not_a_ca");
    }
    if (now < parent.notBefore.getTime()) throw fail(`${where} is not valid before ${parent.notBefore.toISOString()}.`);
    if (now > parent.notAfter.getTime()) throw fail(`${where} expired on ${parent.notAfter.toISOString()}.`);
    if (!namesChain(child, child)) casBelow++;
    const pathLength = parent.getExtension(x509.BasicConstraintsExtension)?.pathLength;
    if (pathLength !== undefined && casBelow > pathLength) {
      throw fail(`${where} has a path length constraint of ${pathLength}: it allows ${pathLength === 0 ? "no CA certificates" : `at most ${pathLength} CA certificate${pathLength === 1 ? "" : "s"}`} below it, and this chain has ${casBelow}.`);
    }
    if (isSelfSigned(parent)) {
      if (i + 1 < issuers.length) {
        throw fail(`The issuer chain goes on after the self-signed root ${parent.subject} (certificate ${i + 1}): remove the ${issuers.length - i - 1} certificate${issuers.length - i - 1 === 1 ? "" : "s"} after it.`);
      }
      return issuers;
    }
    if (i + 1 >= issuers.length && namesChain(parent, parent)) {
      throw fail(`The last certificate of the chain, ${parent.subject}, names itself as its issuer but does not verify with its own key: it is not a self-signed root. If it is a key rollover certificate, the root certificate of ${parent.issuer} is missing.`);
    }
    // A self-issued certificate that is not self-signed (key rollover) continues the walk like any other.
    child = parent;
  }
}
