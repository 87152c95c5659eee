/**
 * The fast issuance engine: the same certificates as issue.ts (the reference), built
 * from pre-encoded constant parts with a lean DER writer (der.mjs) and signed with
 * Node's native crypto.sign. prepareIssuer() does the per-CA work once; issueFast()
 * is the per-certificate hot path (no asn1js, no WebCrypto key import). fast-pool.ts
 * spreads the same work over worker threads.
 */
import { createPublicKey, sign as nodeSign, type KeyObject } from "node:crypto";
import type { ExtensionUrls } from "../ca/extension-urls.ts";
import { AppError } from "../errors/app-error.ts";
import { toBuffer } from "./bytes.ts";
import { isCaCertificate } from "./certificates.ts";
import type { ParsedCsr, San } from "./csr.ts";
import { buildTbs, finalSans as leanFinalSans, leanParseCsr, pemBody, randomSerialHex, bitString, seq, signatureAlgorithmFor, toPem, validityFor, type ExtensionSpec, type IssuerParts } from "./der.mjs";
import { caKeyIdentifier, certificateSubjectDer, planCertificate } from "./issue.ts";
import { keyMatchesCertificate } from "./keys.ts";
import { EKU_OIDS, findDeviceIdentity, isUsage, PROFILES, profileFor, type Usage } from "./profiles.ts";
import { x509 } from "./setup.ts";

export interface PreparedIssuer extends IssuerParts {
  /** The CA's private key, as loaded: never exported by this module except to fast-pool's workers. */
  privateKey: KeyObject;
  digest: string | null;
  certificate: x509.X509Certificate;
  caSpkiDer: Buffer;
  caNotBefore: Date;
  caNotAfter: Date;
  /** Whether the CA's path length (0) forbids issuing intermediate CAs. */
  pathLengthZero: boolean;
}

/**
 * Encodes once what every certificate of this CA shares: the issuer Name (the CA
 * certificate's subject DER exactly), the AKI extension, the signature algorithm
 * (ECDSA P-256/P-384 with SHA-256/384, RSA with sha256WithRSAEncryption, Ed25519 —
 * as issue.ts signs), and the CRL distribution point and authorityInfoAccess extensions
 * for the given URLs (lib/ca/extension-urls.ts). Refuses a certificate that is not a CA
 * or may not sign certificates, and a key that is not the certificate's.
 */
export function prepareIssuer(ca: { certificatePem: string | x509.X509Certificate; privateKey: KeyObject }, urls: ExtensionUrls = {}): PreparedIssuer {
  const parts = prepareCaParts(ca.certificatePem, urls);
  if (ca.privateKey.type !== "private") throw new AppError("bad_request", "A private key is needed to sign");
  if (!keyMatchesCertificate(ca.privateKey, parts.certificate)) throw new AppError("key_mismatch", "The CA private key does not match the CA certificate");
  return { ...parts, privateKey: ca.privateKey };
}

export type CaParts = Omit<PreparedIssuer, "privateKey">;

/** prepareIssuer without the private key: what a preview signed by a stand-in key needs. */
export function prepareCaParts(certificatePem: string | x509.X509Certificate, urls: ExtensionUrls = {}): CaParts {
  let certificate: x509.X509Certificate;
  try {
    certificate = typeof certificatePem === "string" ? new x509.X509Certificate(certificatePem) : certificatePem;
  } catch {
    throw new AppError("bad_request", "The CA certificate is not a PEM certificate");
  }
  if (!isCaCertificate(certificate)) throw new AppError("not_a_ca", "The CA certificate is not a CA certificate (basicConstraints CA:TRUE is missing)");
  const ku = certificate.getExtension(x509.KeyUsagesExtension);
  if (ku && (ku.usages & x509.KeyUsageFlags.keyCertSign) === 0) {
    throw new AppError("not_a_ca", "The CA certificate's key usage does not allow signing certificates (keyCertSign)");
  }
  const caSpkiDer = toBuffer(certificate.publicKey.rawData);
  let sig: { algorithmDer: Buffer; digest: string | null };
  try {
    sig = signatureAlgorithmFor(createPublicKey({ key: caSpkiDer, format: "der", type: "spki" }));
  } catch (e) {
    throw new AppError("bad_request", (e as Error).message);
  }
  const caDer = toBuffer(certificate.rawData);
  const crlUrl = checkUrl(urls.crlUrl, "crlUrl");
  const ocspUrl = checkUrl(urls.ocspUrl, "ocspUrl");
  const caIssuersUrl = checkUrl(urls.caIssuersUrl, "caIssuersUrl");
  // Not the hot path: the reference library encodes these, so they match issue.ts by construction.
  const cdpDer = crlUrl ? toBuffer(new x509.CRLDistributionPointsExtension([crlUrl], false).rawData) : undefined;
  const aiaDer =
    ocspUrl || caIssuersUrl
      ? toBuffer(new x509.AuthorityInfoAccessExtension({ ...(ocspUrl ? { ocsp: [ocspUrl] } : {}), ...(caIssuersUrl ? { caIssuers: [caIssuersUrl] } : {}) }, false).rawData)
      : undefined;
  return {
    issuerNameDer: certificateSubjectDer(caDer),
    signatureAlgorithmDer: sig.algorithmDer,
    akiDer: toBuffer(new x509.AuthorityKeyIdentifierExtension(caKeyIdentifier(certificate), false).rawData),
    cdpDer,
    aiaDer,
    digest: sig.digest,
    certificate,
    caSpkiDer,
    caNotBefore: certificate.notBefore,
    caNotAfter: certificate.notAfter,
    pathLengthZero: certificate.getExtension(x509.BasicConstraintsExtension)?.pathLength === 0,
  };
}

function checkUrl(url: string | undefined, field: string): string | undefined {
  if (url === undefined || url === "") return undefined;
  let ok = false;
  try {
    const p = new URL(url).protocol;
    ok = p === "http:" || p === "https:";
  } catch {
    ok = false;
  }
  if (!ok) throw new AppError("bad_request", `${field} must be an absolute http or https URL`, { field });
  return url;
}

/** The extensions a usage puts into a certificate for a subject key of `keyAlgorithm` ("RSA", "ECDSA", "Ed25519"). */
export function extensionSpec(usage: Usage, keyAlgorithm: string): ExtensionSpec {
  const p = PROFILES[usage];
  return {
    ca: p.basicConstraints.ca,
    pathLength: p.basicConstraints.pathLength,
    keyUsage: p.keyUsage(keyAlgorithm),
    ekuOids: p.extendedKeyUsage.map((n) => EKU_OIDS[n]),
  };
}

export interface FastCertificateInput {
  /** The request's subject Name DER, copied unchanged. */
  subjectDer: Buffer;
  /** The request's SubjectPublicKeyInfo DER, copied unchanged. */
  spkiDer: Buffer;
  /** The certificate's SANs, final (fastInput adds a TLS server's CN as issue.ts does). */
  sans: readonly San[];
  usage: Usage;
  /** The subject key's algorithm as csr.ts describes it ("RSA" gets keyEncipherment in TLS usages). */
  keyAlgorithm: string;
  /** Hex, positive, at most 20 octets. */
  serialHex: string;
  notBefore: Date;
  notAfter: Date;
}

export interface FastIssued {
  der: Buffer;
  pem: string;
  /** Upper-case hex without a leading 00, as `openssl x509 -serial` prints it. */
  serial: string;
  notBefore: Date;
  notAfter: Date;
}

export interface FastSigned extends FastIssued {
  /** The to-be-signed certificate and the signature over it (as in the BIT STRING). */
  tbs: Buffer;
  signature: Buffer;
}

/** The hot path: the TBSCertificate from constant and per-request parts, signed natively. */
export function issueFast(issuer: PreparedIssuer, input: FastCertificateInput): FastSigned {
  return signFastTbs(issuer, buildFastTbs(issuer, input));
}

/** A to-be-signed certificate and what the signed one reports of it. */
export interface FastTbs {
  tbs: Buffer;
  serialHex: string;
  notBefore: Date;
  notAfter: Date;
}

/** The TBSCertificate from the CA's constant parts and the request's. */
export function buildFastTbs(issuer: CaParts, input: FastCertificateInput): FastTbs {
  if (!isUsage(input.usage)) throw new AppError("bad_request", `Unknown certificate usage "${String(input.usage)}"`, { field: "usage" });
  const serialHex = normalizeSerial(input.serialHex);
  const tbs = buildTbs(issuer, {
    serialHex,
    notBefore: input.notBefore,
    notAfter: input.notAfter,
    subjectDer: input.subjectDer,
    spkiDer: input.spkiDer,
    sans: input.sans,
    spec: extensionSpec(input.usage, input.keyAlgorithm),
  });
  return { tbs, serialHex, notBefore: input.notBefore, notAfter: input.notAfter };
}

/** The certificate: `t.tbs` signed natively with the CA key. */
export function signFastTbs(issuer: Pick<PreparedIssuer, "digest" | "privateKey" | "signatureAlgorithmDer">, t: FastTbs): FastSigned {
  const signature = nodeSign(issuer.digest, t.tbs, issuer.privateKey);
  const der = seq(t.tbs, issuer.signatureAlgorithmDer, bitString(signature));
  return { der, tbs: t.tbs, signature, pem: toPem(der), serial: t.serialHex.replace(/^(00)+/, ""), notBefore: t.notBefore, notAfter: t.notAfter };
}

/**
 * The certificate as it will be, with a signature value of the right shape that nothing
 * signed (for the lint, which reads everything but the signature's bytes): an ECDSA
 * signature of r = s = 1, or zero bytes as long as an RSA or EdDSA signature.
 */
export function unsignedCertificate(issuer: Pick<CaParts, "signatureAlgorithmDer" | "caSpkiDer">, tbs: Buffer): Buffer {
  return seq(tbs, issuer.signatureAlgorithmDer, bitString(placeholderSignature(issuer.caSpkiDer)));
}

const placeholders = new WeakMap<Buffer, Buffer>();

function placeholderSignature(caSpkiDer: Buffer): Buffer {
  let p = placeholders.get(caSpkiDer);
  if (!p) {
    const key = createPublicKey({ key: caSpkiDer, format: "der", type: "spki" });
    const type = key.asymmetricKeyType;
    const rsaBytes = Math.ceil((key.asymmetricKeyDetails?.modulusLength ?? 2048) / 8);
    p = type === "ec" ? Buffer.from([0x30, 0x06, 0x02, 0x01, 0x01, 0x02, 0x01, 0x01]) : Buffer.alloc(type === "ed25519" ? 64 : type === "ed448" ? 114 : rsaBytes);
    placeholders.set(caSpkiDer, p);
  }
  return p;
}

/**
 * issueCertificate's checks and defaults for a parsed request, giving issueFast's
 * input: validity (five minutes back, at most the CA's end, whole seconds), a random
 * serial unless given, the usage's CN rule, the device identity, and for TLS servers the
 * CN as a SAN when the request has no DNS/IP SAN.
 */
/** What issuance reads from a request: parseCsr's result, or the lean reader's with the stored common name. */
export type IssuableCsr = Pick<ParsedCsr, "subjectDer" | "spkiDer" | "commonName" | "sans"> & { publicKey: Pick<ParsedCsr["publicKey"], "algorithm"> };

export function fastInput(issuer: CaParts, o: { csr: IssuableCsr; usage: Usage; validityDays: number; now?: Date; serialHex?: string }): FastCertificateInput {
  const { csr, usage } = o;
  const { sans, notBefore, notAfter } = planCertificate({
    csr,
    usage,
    validityDays: o.validityDays,
    now: (o.now ?? new Date()).getTime(),
    caNotBefore: issuer.caNotBefore,
    caNotAfter: issuer.caNotAfter,
    caSpkiDer: issuer.caSpkiDer,
    caPathLengthZero: issuer.pathLengthZero,
  });
  return {
    subjectDer: csr.subjectDer,
    spkiDer: csr.spkiDer,
    sans,
    usage,
    keyAlgorithm: csr.publicKey.algorithm,
    serialHex: o.serialHex ?? randomSerialHex(),
    notBefore,
    notAfter,
  };
}

/** A caller-given serial: hex, positive, at most 20 octets as DER encodes it (RFC 5280 4.1.2.2); upper case, no leading zeros. */
export function normalizeSerial(serialHex: string): string {
  const invalid = () => new AppError("bad_request", "The serial number must be a positive hexadecimal number of at most 20 octets", { field: "serial" });
  if (typeof serialHex !== "string" || !/^[0-9A-Fa-f]+$/.test(serialHex)) throw invalid();
  let hex = serialHex.replace(/^0+/, "").toUpperCase();
  if (hex === "") throw invalid();
  if (hex.length % 2 === 1) hex = `0${hex}`;
  const octets = hex.length / 2 + (parseInt(hex.slice(0, 2), 16) > 0x7f ? 1 : 0);
  if (octets > 20) throw invalid();
  return hex;
}

// ---------------------------------------------------------------------------------
// The benchmark's contract (scripts/bench/fast-engine.ts).

export interface FastIssuerOptions {
  caCertificatePem: string;
  caPrivateKey: KeyObject;
  usage: Usage;
  validityDays: number;
  /** 0: this thread; n: n worker threads (fast-pool.ts). */
  workers: number;
  portalUrl?: string;
  fileNameRoot?: string;
}

export interface FastIssuer {
  /** A certificate (PEM) for a CSR (PEM): structure and signature checked natively (der.mjs leanParseCsr). */
  issue(csrPem: string): Promise<string>;
  close(): Promise<void>;
}

/** Key algorithm names as csr.ts gives them, from Node's key types. */
export function keyAlgorithmName(keyType: string | undefined): string {
  return keyType === "rsa" ? "RSA" : keyType === "ec" ? "ECDSA" : keyType === "ed25519" ? "Ed25519" : String(keyType);
}

/**
 * An issuer for CSRs in PEM, in this thread or over worker threads. The CSR is read
 * with der.mjs's lean parser (structure, native signature check, SANs), not csr.ts's
 * full validation: for bulk work on requests the portal has already accepted.
 */
export async function createFastIssuer(o: FastIssuerOptions): Promise<FastIssuer> {
  const urls = o.fileNameRoot ? (await import("../ca/extension-urls.ts")).extensionUrls(o.fileNameRoot, o.portalUrl) : {};
  const issuer = prepareIssuer({ certificatePem: o.caCertificatePem, privateKey: o.caPrivateKey }, urls);
  if (o.workers > 0) {
    const { FastPool } = await import("./fast-pool.ts");
    const pool = await FastPool.start(issuer, { size: o.workers });
    return {
      issue: async (csrPem) => (await pool.issue({ csrDer: pemBody(csrPem), usage: o.usage, validityDays: o.validityDays })).pem,
      close: () => pool.close(),
    };
  }
  return {
    issue: async (csrPem) => issueFromCsrDer(issuer, pemBody(csrPem), o.usage, o.validityDays).pem,
    close: async () => {},
  };
}

/** Lean parse + issueFast in this thread (what each worker does per job). */
export function issueFromCsrDer(issuer: PreparedIssuer, csrDer: Buffer, usage: Usage, validityDays: number, now = Date.now()): FastIssued {
  let csr;
  try {
    csr = leanParseCsr(csrDer);
  } catch (e) {
    throw new AppError("bad_request", `The certificate signing request cannot be used: ${(e as Error).message}`, { field: "csr" });
  }
  const profile = profileFor(usage);
  let sans: San[];
  try {
    sans = leanFinalSans(profile, csr.commonName, csr.sans);
  } catch (e) {
    throw new AppError("validation_failed", (e as Error).message, { field: "usage" });
  }
  const cnProblem = profile.commonNameProblem?.(csr.commonName);
  if (cnProblem) throw new AppError("validation_failed", cnProblem, { field: "usage" });
  if (profile.requiresDeviceIdentity && !findDeviceIdentity({ commonName: csr.commonName, sans })) {
    throw new AppError("validation_failed", "An IoT device certificate needs the device identity CN=d:<type>:<id> or the SAN email:d:<type>:<id>", { field: "usage" });
  }
  const { notBefore, notAfter } = validityFor(now, validityDays, issuer.caNotBefore.getTime(), issuer.caNotAfter.getTime());
  return issueFast(issuer, { subjectDer: csr.subjectDer, spkiDer: csr.spkiDer, sans, usage, keyAlgorithm: keyAlgorithmName(csr.keyType), serialHex: randomSerialHex(), notBefore, notAfter });
}
