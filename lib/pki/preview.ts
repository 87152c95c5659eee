/**
 * The certificate an issuance would produce, built and linted before the CA key signs
 * anything. The preview runs the real issuance code (issue.ts) against a stand-in CA:
 * the CA certificate's subject, validity and extensions (so the same SKI/AKI) over a
 * throwaway key of the same algorithm (so the same signature algorithm identifier).
 * With the same `now` and serial, the preview's to-be-signed part is byte for byte the
 * one the CA then signs; only the signature differs.
 */
import { createHash, createPublicKey, generateKeyPair as generateKeyPairCallback, type KeyObject } from "node:crypto";
import { AppError } from "../errors/app-error.ts";
import { toBuffer } from "./bytes.ts";
import { caKeyIdentifier, certificateSubjectDer, issueCertificate, type IssuedCertificate, type IssueOptions, type IssuingCa } from "./issue.ts";
import { formatIpAddress, parseIpAddress } from "./csr.ts";
import { describePublicKey, importSigningKey } from "./keys.ts";
import { lintCertificate, signatureAlgorithmName, type Finding, type LintResult } from "./lint.ts";
import { randomSerialHex } from "./serial.ts";
import { x509 } from "./setup.ts";

export interface PreviewOptions extends Omit<IssueOptions, "ca"> {
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
  const { caCertificate, ...rest } = opts;
  const stand = await standInCa(caCertificate);
  const issued = await issueCertificate({ ...rest, ca: stand });
  const lint = lintCertificate(issued.der, { issuer: caCertificate, usage: opts.usage, now: opts.now });
  return { certificate: issued.certificate, der: issued.der, serial: issued.serial, notBefore: issued.notBefore, notAfter: issued.notAfter, lint };
}

export interface CheckedCertificate extends IssuedCertificate {
  /** What the lint found worth saying that does not stop the issuance. */
  lintWarnings: Finding[];
}

/**
 * issueCertificate behind the lint gate: the certificate is previewed and linted first,
 * and lint errors refuse the issuance (validation_failed, the findings in the message)
 * before the CA key signs anything; then the real certificate, signed with the same
 * serial and time, is linted again, so what is returned is exactly what passed.
 */
export async function issueLintedCertificate(opts: IssueOptions): Promise<CheckedCertificate> {
  const now = opts.now ?? new Date();
  const serialHex = opts.serialHex ?? randomSerialHex();
  const preview = await previewCertificate({ ...opts, caCertificate: opts.ca.certificate, now, serialHex });
  refuseOnErrors(preview.lint);
  const issued = await issueCertificate({ ...opts, now, serialHex });
  const lint = lintCertificate(issued.der, { issuer: opts.ca.certificate, usage: opts.usage, now });
  refuseOnErrors(lint);
  return { ...issued, lintWarnings: lint.warnings };
}

function refuseOnErrors(lint: LintResult): void {
  if (lint.errors.length === 0) return;
  const reasons = lint.errors.map((f) => `${f.message} [${f.code}]`).join("; ");
  throw new AppError("validation_failed", `The certificate was not issued: it fails the checks run before signing: ${reasons}`);
}

// ---------------------------------------------------------------------------------
// The stand-in CA.

const standIns = new Map<string, Promise<IssuingCa>>();
const throwawayKeys = new Map<string, Promise<KeyObject>>();
const MAX_STAND_INS = 8;

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
  const spec = keySpec(cert);
  let key = throwawayKeys.get(spec.id);
  if (!key) {
    key = spec.generate();
    throwawayKeys.set(spec.id, key);
    key.catch(() => throwawayKeys.delete(spec.id));
  }
  return key;
}

/** A CA certificate with the real one's subject, validity and extensions (its SKI included) over a throwaway key. */
function standInCa(ca: x509.X509Certificate): Promise<IssuingCa> {
  const caDer = toBuffer(ca.rawData);
  const id = createHash("sha256").update(caDer).digest("hex");
  let stand = standIns.get(id);
  if (!stand) {
    stand = makeStandIn(ca, caDer);
    if (standIns.size >= MAX_STAND_INS) standIns.delete(standIns.keys().next().value!);
    standIns.set(id, stand);
    stand.catch(() => standIns.delete(id));
  }
  return stand;
}

async function makeStandIn(ca: x509.X509Certificate, caDer: Buffer): Promise<IssuingCa> {
  const privateKey = await throwawayKey(ca);
  const signing = await importSigningKey(privateKey);
  const subject = new x509.Name(new Uint8Array(certificateSubjectDer(caDer)));
  const extensions = ca.extensions.map((e) => new x509.Extension(e.rawData));
  // Certificates carry the CA's key identifier as AKI: the stand-in must have the same one.
  if (!extensions.some((e) => e.type === "2.5.29.14")) extensions.push(new x509.SubjectKeyIdentifierExtension(caKeyIdentifier(ca)));
  const certificate = await x509.X509CertificateGenerator.create({
    serialNumber: "01",
    subject,
    issuer: subject,
    notBefore: ca.notBefore,
    notAfter: ca.notAfter,
    publicKey: signing.publicKey,
    signingKey: signing.privateKey,
    signingAlgorithm: signing.signingAlgorithm,
    extensions,
  });
  return { certificate, privateKey };
}

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
