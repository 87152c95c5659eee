/**
 * The certificate an issuance would produce, built and linted before the CA key signs
 * anything. Issuance goes through the fast engine (fast-issue.ts, held to the reference
 * issue.ts by its equivalence test): the to-be-signed certificate is built once and
 * linted as a whole certificate with a stand-in signature value; only then does the CA
 * key sign the very same bytes. The preview on the Process page is the same certificate
 * signed with a throwaway key of the CA key's algorithm (so the same signature algorithm
 * identifier), to be shown and downloaded as a certificate; its lint is the same.
 */
import { createPublicKey, generateKeyPair as generateKeyPairCallback, verify as nodeVerify, type KeyObject } from "node:crypto";
import { AppError } from "../errors/app-error.ts";
import { toBuffer } from "./bytes.ts";
import { pemToDer } from "./pem.ts";
import type { IssuedCertificate, IssueOptions, IssuingCa } from "./issue.ts";
import { buildFastTbs, fastInput, issueFast, prepareCaParts, signFastTbs, unsignedCertificate, type CaParts, type FastIssued, type IssuableCsr } from "./fast-issue.ts";
import { fingerprints } from "./fingerprint.ts";
import { formatIpAddress, parseIpAddress } from "./csr.ts";
import { describePublicKey, keyMatchesCertificate } from "./keys.ts";
import { lintCertificate, signatureAlgorithmName, type Finding, type LintResult } from "./lint.ts";
import { x509 } from "./setup.ts";

/** IssueOptions with the request as issuance reads it (parseCsr's result, or the lean reader's). */
export type LintedIssueOptions = Omit<IssueOptions, "csr"> & { csr: IssuableCsr };

export interface PreviewOptions extends Omit<LintedIssueOptions, "ca"> {
  /** The CA certificate that will sign (no private key needed). */
  caCertificate: x509.X509Certificate;
}

export interface CertificatePreview {
  /** The certificate as it will be issued, signed by a throwaway key: for inspection only, never to hand out. */
  certificate: x509.X509Certificate;
  der: Buffer;
  serial: string;
  notBefore: Date;
  notAfter: Date;
  lint: LintResult;
}

/**
 * Builds the certificate `issueCertificate` would make for these options, without the
 * CA's private key, and lints it against the CA certificate and the usage. Throws the
 * same AppErrors issuance throws (no host name for TLS, no device identity, an expired
 * CA, …); lint findings are returned, not thrown.
 */
export async function previewCertificate(opts: PreviewOptions): Promise<CertificatePreview> {
  const now = opts.now ?? new Date();
  const built = await buildAndLint(opts, opts.caCertificate, now);
  return { certificate: new x509.X509Certificate(new Uint8Array(built.preview.der)), der: built.preview.der, serial: built.preview.serial, notBefore: built.preview.notBefore, notAfter: built.preview.notAfter, lint: built.lint };
}

export interface CheckedCertificate extends IssuedCertificate {
  /** What the lint found worth saying that does not stop the issuance. */
  lintWarnings: Finding[];
}

/**
 * The certificate for these options, behind the lint gate: its to-be-signed part is built
 * once and linted as a whole certificate with a stand-in signature value, and lint errors
 * refuse the issuance (validation_failed, the findings in the message) before the CA key
 * signs anything; then the CA key signs those very bytes, and the signature is checked
 * with the CA certificate (unless `checkSignature` is false).
 */
export async function issueLintedCertificate(opts: LintedIssueOptions & { /** false: leave the signature unchecked (see signItem). */ checkSignature?: boolean }): Promise<CheckedCertificate> {
  const now = opts.now ?? new Date();
  const parts = caParts(opts.ca.certificate, opts);
  const tbs = buildFastTbs(parts, fastInput(parts, { csr: opts.csr, usage: opts.usage, validityDays: opts.validityDays, now, serialHex: opts.serialHex }));
  // The certificate as it will be (all but the signature's bytes) is linted first.
  const lint = lintCertificate(unsignedCertificate(parts, tbs.tbs), { issuer: opts.ca.certificate, usage: opts.usage, now });
  refuseOnErrors(lint);
  checkCaKey(opts.ca);
  // The CA key signs exactly the to-be-signed bytes that were linted, under the same algorithm.
  const issued = signFastTbs({ ...parts, privateKey: opts.ca.privateKey }, tbs);
  if (opts.checkSignature !== false && !nodeVerify(parts.digest, issued.tbs, caPublicKey(opts.ca.certificate), issued.signature)) {
    throw new AppError("internal_error", "The new certificate's signature does not verify with the CA certificate");
  }
  return checked(issued, lint.warnings);
}

async function buildAndLint(opts: Omit<LintedIssueOptions, "ca">, caCertificate: x509.X509Certificate, now: Date) {
  const parts = caParts(caCertificate, opts);
  const input = fastInput(parts, { csr: opts.csr, usage: opts.usage, validityDays: opts.validityDays, now, serialHex: opts.serialHex });
  const preview = issueFast({ ...parts, privateKey: await throwawayKey(caCertificate) }, input);
  const lint = lintCertificate(preview.der, { issuer: caCertificate, usage: opts.usage, now });
  return { parts, input, preview, lint };
}

function checked(issued: FastIssued, lintWarnings: Finding[]): CheckedCertificate {
  const fp = fingerprints(issued.der);
  return withParsedCertificate({ pem: issued.pem, der: issued.der, serial: issued.serial, notBefore: issued.notBefore, notAfter: issued.notAfter, sha1Fingerprint: fp.sha1, sha256Fingerprint: fp.sha256, lintWarnings });
}

/**
 * The certificate's fields with `certificate`, parsed from the DER when first read (most
 * callers never do); without `der`, that too is read from the PEM when first asked for.
 */
export function withParsedCertificate(fields: Omit<CheckedCertificate, "certificate" | "der"> & { der?: Buffer }): CheckedCertificate {
  let parsed: x509.X509Certificate | undefined;
  let der = fields.der;
  const { der: _given, ...rest } = fields;
  return {
    ...rest,
    get der() {
      return (der ??= pemToDer(fields.pem, "CERTIFICATE"));
    },
    get certificate() {
      return (parsed ??= new x509.X509Certificate(new Uint8Array(this.der)));
    },
  };
}

// ---------------------------------------------------------------------------------
// What is prepared once per CA: its constant parts, its public key, the key check.

const preparedParts = new WeakMap<x509.X509Certificate, Map<string, CaParts>>();
const publicKeys = new WeakMap<x509.X509Certificate, KeyObject>();
const checkedKeys = new WeakMap<KeyObject, WeakSet<x509.X509Certificate>>();

/** Per CA certificate object (the server keeps one per configured CA) and URL set. */
function caParts(certificate: x509.X509Certificate, urls: Pick<IssueOptions, "crlUrl" | "ocspUrl" | "caIssuersUrl">): CaParts {
  let byUrls = preparedParts.get(certificate);
  if (!byUrls) preparedParts.set(certificate, (byUrls = new Map()));
  const id = `${urls.crlUrl ?? ""}\n${urls.ocspUrl ?? ""}\n${urls.caIssuersUrl ?? ""}`;
  let parts = byUrls.get(id);
  if (!parts) {
    parts = prepareCaParts(certificate, { crlUrl: urls.crlUrl, ocspUrl: urls.ocspUrl, caIssuersUrl: urls.caIssuersUrl });
    // A few URL sets at most (the public URL, or the request's origin without one).
    if (byUrls.size >= 8) byUrls.delete(byUrls.keys().next().value!);
    byUrls.set(id, parts);
  }
  return parts;
}

function caPublicKey(certificate: x509.X509Certificate): KeyObject {
  let key = publicKeys.get(certificate);
  if (!key) {
    key = createPublicKey({ key: toBuffer(certificate.publicKey.rawData), format: "der", type: "spki" });
    publicKeys.set(certificate, key);
  }
  return key;
}

/** The private key is the CA certificate's (checked once per key and certificate object). */
function checkCaKey(ca: IssuingCa): void {
  if (checkedKeys.get(ca.privateKey)?.has(ca.certificate)) return;
  if (ca.privateKey.type !== "private") throw new AppError("bad_request", "A private key is needed to sign");
  if (!keyMatchesCertificate(ca.privateKey, ca.certificate)) throw new AppError("key_mismatch", "The CA private key does not match the CA certificate");
  let set = checkedKeys.get(ca.privateKey);
  if (!set) checkedKeys.set(ca.privateKey, (set = new WeakSet()));
  set.add(ca.certificate);
}

function refuseOnErrors(lint: LintResult): void {
  if (lint.errors.length === 0) return;
  const reasons = lint.errors.map((f) => `${f.message} [${f.code}]`).join("; ");
  throw new AppError("validation_failed", `The certificate was not issued: it fails the checks run before signing: ${reasons}`);
}

// ---------------------------------------------------------------------------------
// The throwaway key a preview is signed with.

const throwawayKeys = new Map<string, Promise<KeyObject>>();

function keySpec(cert: x509.X509Certificate): { id: string; generate: () => Promise<KeyObject> } {
  const key = createPublicKey({ key: toBuffer(cert.publicKey.rawData), format: "der", type: "spki" });
  const type = key.asymmetricKeyType;
  const make = (t: "ec" | "rsa" | "ed25519", options: object) => () =>
    new Promise<KeyObject>((resolve, reject) => generateKeyPairCallback(t as "ec", options as { namedCurve: string }, (err, _pub, priv) => (err ? reject(err) : resolve(priv))));
  if (type === "ec") {
    const curve = key.asymmetricKeyDetails?.namedCurve ?? "";
    return { id: `ec-${curve}`, generate: make("ec", { namedCurve: curve }) };
  }
  // The RSA key size appears nowhere in what the CA signs (sha256WithRSAEncryption for every size).
  if (type === "rsa") return { id: "rsa", generate: make("rsa", { modulusLength: 2048, publicExponent: 65537 }) };
  if (type === "ed25519") return { id: "ed25519", generate: make("ed25519", {}) };
  throw new AppError("bad_request", `${type ?? "This"} CA keys are not supported for signing`);
}

async function throwawayKey(cert: x509.X509Certificate): Promise<KeyObject> {
  const known = throwawayByCertificate.get(cert);
  if (known) return known;
  const spec = keySpec(cert);
  let key = throwawayKeys.get(spec.id);
  if (!key) {
    key = spec.generate();
    throwawayKeys.set(spec.id, key);
    key.catch(() => throwawayKeys.delete(spec.id));
  }
  throwawayByCertificate.set(cert, key);
  key.catch(() => throwawayByCertificate.delete(cert));
  return key;
}

const throwawayByCertificate = new WeakMap<x509.X509Certificate, Promise<KeyObject>>();

// ---------------------------------------------------------------------------------
// What a certificate says, for people.

export interface CertificateContents {
  subject: string;
  issuer: string;
  serial: string;
  notBefore: string;
  notAfter: string;
  publicKey: string;
  signatureAlgorithm: string;
  /** e.g. "CA:FALSE", "CA:TRUE, pathlen:0"; null when absent. */
  basicConstraints: { value: string; critical: boolean } | null;
  keyUsage: { value: string[]; critical: boolean } | null;
  extendedKeyUsage: { value: string[]; critical: boolean } | null;
  /** As OpenSSL's configuration spells them: "DNS:…", "IP:…", "email:…", "URI:…". */
  subjectAltNames: string[];
  crlDistributionPoints: string[];
  ocsp: string[];
  caIssuers: string[];
  subjectKeyIdentifier: string | null;
  authorityKeyIdentifier: string | null;
}

const KEY_USAGE_NAMES: [x509.KeyUsageFlags, string][] = [
  [x509.KeyUsageFlags.digitalSignature, "digitalSignature"],
  [x509.KeyUsageFlags.nonRepudiation, "nonRepudiation"],
  [x509.KeyUsageFlags.keyEncipherment, "keyEncipherment"],
  [x509.KeyUsageFlags.dataEncipherment, "dataEncipherment"],
  [x509.KeyUsageFlags.keyAgreement, "keyAgreement"],
  [x509.KeyUsageFlags.keyCertSign, "keyCertSign"],
  [x509.KeyUsageFlags.cRLSign, "cRLSign"],
  [x509.KeyUsageFlags.encipherOnly, "encipherOnly"],
  [x509.KeyUsageFlags.decipherOnly, "decipherOnly"],
];

const EKU_LABELS: Record<string, string> = {
  "1.3.6.1.5.5.7.3.1": "serverAuth",
  "1.3.6.1.5.5.7.3.2": "clientAuth",
  "1.3.6.1.5.5.7.3.3": "codeSigning",
  "1.3.6.1.5.5.7.3.4": "emailProtection",
  "1.3.6.1.5.5.7.3.8": "timeStamping",
  "1.3.6.1.5.5.7.3.9": "OCSPSigning",
};

const hexColons = (hex: string) => hex.toUpperCase().match(/../g)?.join(":") ?? "";

/** The fields and extensions of a certificate that decide what it may be used for. */
export function describeCertificateContents(cert: x509.X509Certificate): CertificateContents {
  // Extensions by OID and re-read from their bytes: getExtension(Class) misses some on parsed objects.
  const ext = (oid: string) => cert.getExtension(oid);
  const bcRaw = ext("2.5.29.19");
  const bc = bcRaw ? new x509.BasicConstraintsExtension(bcRaw.rawData) : null;
  const kuRaw = ext("2.5.29.15");
  const ku = kuRaw ? new x509.KeyUsagesExtension(kuRaw.rawData) : null;
  const ekuRaw = ext("2.5.29.37");
  const eku = ekuRaw ? new x509.ExtendedKeyUsageExtension(ekuRaw.rawData) : null;
  const sanRaw = ext("2.5.29.17");
  const sans = sanRaw ? new x509.SubjectAlternativeNameExtension(sanRaw.rawData).names.items : [];
  const cdpRaw = ext("2.5.29.31");
  const cdp = cdpRaw ? new x509.CRLDistributionPointsExtension(cdpRaw.rawData).distributionPoints : [];
  const aiaRaw = ext("1.3.6.1.5.5.7.1.1");
  const aia = aiaRaw ? new x509.AuthorityInfoAccessExtension(aiaRaw.rawData) : null;
  const skiRaw = ext("2.5.29.14");
  const akiRaw = ext("2.5.29.35");
  const aki = akiRaw ? new x509.AuthorityKeyIdentifierExtension(akiRaw.rawData).keyId : undefined;
  const sanText = (n: { type: string; value: string }) => {
    if (n.type === "ip") {
      const bytes = parseIpAddress(n.value);
      return `IP:${bytes ? formatIpAddress(bytes) : n.value}`;
    }
    const prefix = { dns: "DNS", email: "email", url: "URI" }[n.type] ?? n.type;
    return `${prefix}:${n.value}`;
  };
  let publicKey: string;
  try {
    publicKey = describePublicKey(cert.publicKey.rawData).label;
  } catch {
    publicKey = "Unknown key type";
  }
  return {
    subject: cert.subject,
    issuer: cert.issuer,
    serial: cert.serialNumber.toUpperCase(),
    notBefore: cert.notBefore.toISOString(),
    notAfter: cert.notAfter.toISOString(),
    publicKey,
    signatureAlgorithm: signatureAlgorithmName(toBuffer(cert.rawData)),
    basicConstraints: bc ? { value: bc.ca ? `CA:TRUE${bc.pathLength !== undefined ? `, pathlen:${bc.pathLength}` : ""}` : "CA:FALSE", critical: bcRaw!.critical } : null,
    keyUsage: ku ? { value: KEY_USAGE_NAMES.filter(([flag]) => (ku.usages & flag) !== 0).map(([, name]) => name), critical: kuRaw!.critical } : null,
    extendedKeyUsage: eku ? { value: eku.usages.map((u) => EKU_LABELS[String(u)] ?? String(u)), critical: ekuRaw!.critical } : null,
    subjectAltNames: sans.map(sanText),
    crlDistributionPoints: cdp.flatMap((dp) => (dp.distributionPoint?.fullName ?? []).map((n) => n.uniformResourceIdentifier).filter((u): u is string => typeof u === "string")),
    ocsp: aia?.ocsp.map((n) => n.value) ?? [],
    caIssuers: aia?.caIssuers.map((n) => n.value) ?? [],
    subjectKeyIdentifier: skiRaw ? hexColons(new x509.SubjectKeyIdentifierExtension(skiRaw.rawData).keyId) : null,
    authorityKeyIdentifier: aki ? hexColons(aki) : null,
  };
}
