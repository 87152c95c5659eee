/**
 * The device check (DESIGN.md, "Device security (IoT)"): would a device certificate be
 * accepted? A question, not a submission: every rule that fails is a reason in the
 * answer, and only input that is not a certificate at all is an error (bad_request).
 *
 * Accepted when the certificate chains (signatures verified, through the optional
 * intermediate certificates) to an active registered CA certificate, it and the chain
 * are within their validity, it is not revoked by that CA's stored CRL, and it names the
 * device as CN=d:<type>:<id> or SAN email:d:<type>:<id>.
 */
import { createHash, createPublicKey, X509Certificate as NodeX509Certificate } from "node:crypto";
import { getDb } from "../db/index.ts";
import { AppError } from "../errors/app-error.ts";
import { toBuffer } from "../pki/bytes.ts";
import { parseCertificate } from "../pki/certificates.ts";
import { parseDeviceIdentity } from "../pki/profiles.ts";
import { x509 } from "../pki/setup.ts";
import { certificateBytesOrText } from "./ca-certificates.ts";
import { parseCrl, sameName } from "./crl-fetch.ts";

/** Most intermediate certificates accepted with one check. */
export const MAX_CHAIN_CERTIFICATES = 16;
/** Longest chain followed from the device certificate to a registered CA. */
const MAX_DEPTH = 8;
/** Signature verifications one check may spend looking for a path. */
const MAX_VERIFICATIONS = 100;

export interface DeviceCheckInput {
  certificate?: unknown;
  chain?: unknown;
}

export interface DeviceCheckResult {
  accepted: boolean;
  deviceType: string | null;
  deviceId: string | null;
  /** The subject DN of the active registered CA certificate the device certificate chains to; null when none. */
  issuer: string | null;
  reasons: string[];
}

const CLIENT_AUTH = "1.3.6.1.5.5.7.3.2";
const ANY_EKU = "2.5.29.37.0";

const CRL_REASONS: Record<number, string> = {
  0: "unspecified",
  1: "keyCompromise",
  2: "cACompromise",
  3: "affiliationChanged",
  4: "superseded",
  5: "cessationOfOperation",
  6: "certificateHold",
  8: "removeFromCRL",
  9: "privilegeWithdrawn",
  10: "aACompromise",
};

interface Anchor {
  id: string;
  subject: string;
  active: boolean;
  cert: x509.X509Certificate;
  sha256: string;
  crl: x509.X509Crl | null;
}

interface Candidate {
  cert: x509.X509Certificate;
  sha256: string;
}

interface Path {
  /** The device certificate, then the intermediates, up to (not including) the anchor. */
  certs: Candidate[];
  anchor: Anchor;
}

/**
 * Checks a device certificate against the registered CA certificates. `certificate` is
 * PEM text (a file holding the device certificate followed by its chain is read that
 * way), DER bytes or base64 DER; `chain` is PEM text with any number of certificates, or
 * an array of such texts (base64 DER too). Throws bad_request only when they are not
 * certificates.
 */
export async function checkDeviceCertificate(input: DeviceCheckInput, opts: { now?: Date } = {}): Promise<DeviceCheckResult> {
  const now = opts.now ?? new Date();
  const { leaf, extra } = readDeviceCertificate(input.certificate);
  const chain = [...extra, ...readChain(input.chain)];
  if (chain.length > MAX_CHAIN_CERTIFICATES) {
    throw new AppError("bad_request", `The chain holds ${chain.length} certificates; at most ${MAX_CHAIN_CERTIFICATES} are accepted`, { field: "chain" });
  }

  const reasons: string[] = [];
  const identity = deviceIdentity(leaf, reasons);

  // Validity of the device certificate itself.
  reasons.push(...validityProblems(leaf, now, "The certificate"));
  reasons.push(...clientUsageProblems(leaf));
  reasons.push(...publicKeyProblems(leaf));
  reasons.push(...criticalExtensionProblems(leaf, "The certificate"));

  const anchors = await loadAnchors();
  const leafCandidate = { cert: leaf, sha256: sha256(leaf) };
  const pool = dedupe(chain.map((c) => ({ cert: c, sha256: sha256(c) }))).filter((c) => c.sha256 !== leafCandidate.sha256 && !anchors.some((a) => a.sha256 === c.sha256));
  const paths = await findPaths(leafCandidate, pool, anchors);

  let issuer: string | null = null;
  const activePaths = paths.filter((p) => p.anchor.active);
  if (activePaths.length > 0) {
    const scored = activePaths.map((p) => ({ p, problems: pathProblems(p, now) }));
    scored.sort((a, b) => a.problems.length - b.problems.length || a.p.certs.length - b.p.certs.length);
    const best = scored[0];
    issuer = best.p.anchor.subject;
    reasons.push(...best.problems);
  } else if (paths.length > 0) {
    const inactive = paths[0].anchor;
    // The description is the administrators' note and stays out of this public answer.
    reasons.push(`The certificate does not chain to an active registered CA certificate: its CA "${clip(inactive.subject)}" is registered but deactivated`);
  } else {
    const hint = pool.length === 0 && !(await selfSigned(leaf)) ? "; if it was issued by an intermediate CA, send the intermediate certificates as the chain" : "";
    reasons.push(`The certificate does not chain to an active registered CA certificate (it was issued by "${clip(leaf.issuer)}")${hint}`);
  }

  return {
    accepted: reasons.length === 0 && identity !== null && issuer !== null,
    deviceType: identity?.type ?? null,
    deviceId: identity?.id ?? null,
    issuer,
    reasons,
  };
}

// ---------------------------------------------------------------------------------
// Input.

// Linear: a block ends before the next BEGIN line (see lib/pki/pem.ts).
const CERT_BLOCK = /-----BEGIN CERTIFICATE-----\r?\n?(?:(?!-----BEGIN )[\s\S])*?-----END CERTIFICATE-----/g;

/** The certificates of one input: PEM (any number of CERTIFICATE blocks), DER bytes or base64 DER. */
function readCertificates(input: unknown, field: string): x509.X509Certificate[] {
  const value = certificateBytesOrText(input, field);
  if (typeof value === "string") {
    const blocks = value.match(CERT_BLOCK) ?? [];
    if (blocks.length > 1) return blocks.map((b) => parseCertificate(b, field));
  }
  return [parseCertificate(value, field)];
}

function readDeviceCertificate(input: unknown): { leaf: x509.X509Certificate; extra: x509.X509Certificate[] } {
  const [leaf, ...extra] = readCertificates(input, "certificate");
  return { leaf, extra };
}

function readChain(input: unknown): x509.X509Certificate[] {
  if (input === undefined || input === null || input === "") return [];
  if (Array.isArray(input)) {
    if (input.length > MAX_CHAIN_CERTIFICATES) {
      throw new AppError("bad_request", `The chain holds ${input.length} entries; at most ${MAX_CHAIN_CERTIFICATES} are accepted`, { field: "chain" });
    }
    return input.flatMap((item) => readCertificates(item, "chain"));
  }
  return readCertificates(input, "chain");
}

function sha256(cert: x509.X509Certificate): string {
  return createHash("sha256").update(toBuffer(cert.rawData)).digest("hex");
}

function dedupe(list: Candidate[]): Candidate[] {
  const seen = new Set<string>();
  return list.filter((c) => (seen.has(c.sha256) ? false : (seen.add(c.sha256), true)));
}

function clip(s: string, max = 120): string {
  const clean = s.replace(/[\u0000-\u001f\u007f-\u009f]/g, "?");
  return clean.length > max ? `${clean.slice(0, max)}…` : clean;
}

async function selfSigned(cert: x509.X509Certificate): Promise<boolean> {
  try {
    return await cert.isSelfSigned();
  } catch {
    return false;
  }
}

// ---------------------------------------------------------------------------------
// The registered CA certificates (trust anchors), parsed once per stored version.

const certCache = new Map<string, x509.X509Certificate>();
const crlCache = new Map<string, x509.X509Crl>();

function cached<T>(cache: Map<string, T>, key: string, make: () => T): T {
  let v = cache.get(key);
  if (v === undefined) {
    v = make();
    if (cache.size >= 256) cache.delete(cache.keys().next().value as string);
    cache.set(key, v);
  }
  return v;
}

async function loadAnchors(): Promise<Anchor[]> {
  const db = await getDb();
  const rows = await db.iotCaCertificate.findMany({
    select: { id: true, subject: true, active: true, pem: true, sha256Fingerprint: true, crlPem: true, crlFetchedAt: true },
    orderBy: [{ createdAt: "asc" }, { id: "asc" }],
  });
  const anchors: Anchor[] = [];
  for (const r of rows) {
    let cert: x509.X509Certificate;
    try {
      cert = cached(certCache, r.sha256Fingerprint, () => parseCertificate(r.pem));
    } catch {
      continue; // a stored certificate that no longer parses trusts nothing
    }
    let crl: x509.X509Crl | null = null;
    if (r.crlPem) {
      const key = `${r.id}|${r.crlFetchedAt?.getTime() ?? 0}|${r.crlPem.length}`;
      try {
        crl = cached(crlCache, key, () => parseCrl(r.crlPem!));
      } catch {
        crl = null;
      }
    }
    anchors.push({ id: r.id, subject: r.subject, active: r.active, cert, sha256: sha256(cert), crl });
  }
  return anchors;
}

// ---------------------------------------------------------------------------------
// Paths.

/**
 * Every path (up to a few) from `leaf` through certificates of `pool` to an anchor, each
 * link's signature verified. Issuers are matched by name first, then by signature.
 */
async function findPaths(leaf: Candidate, pool: Candidate[], anchors: Anchor[]): Promise<Path[]> {
  const found: Path[] = [];
  let budget = MAX_VERIFICATIONS;
  const verified = new Map<string, boolean>();
  const signedBy = async (child: Candidate, issuer: x509.X509Certificate, issuerSha: string): Promise<boolean> => {
    const key = `${child.sha256}>${issuerSha}`;
    const known = verified.get(key);
    if (known !== undefined) return known;
    if (budget-- <= 0) return false;
    let ok = false;
    try {
      ok = await child.cert.verify({ publicKey: issuer, signatureOnly: true });
    } catch {
      ok = false;
    }
    verified.set(key, ok);
    return ok;
  };

  const walk = async (certs: Candidate[]): Promise<void> => {
    if (found.length >= 8) return;
    const current = certs[certs.length - 1];
    for (const anchor of anchors) {
      if (!sameName(anchor.subject, current.cert.issuer)) continue;
      if (await signedBy(current, anchor.cert, anchor.sha256)) found.push({ certs: [...certs], anchor });
    }
    if (certs.length >= MAX_DEPTH) return;
    for (const next of pool) {
      if (certs.some((c) => c.sha256 === next.sha256)) continue;
      if (!sameName(next.cert.subject, current.cert.issuer)) continue;
      if (await signedBy(current, next.cert, next.sha256)) await walk([...certs, next]);
    }
  };
  await walk([leaf]);
  return found;
}

/** What is wrong along a path, beyond the device certificate's own validity and identity. */
function pathProblems(path: Path, now: Date): string[] {
  const problems: string[] = [];
  const intermediates = path.certs.slice(1);
  for (const [i, c] of intermediates.entries()) {
    const name = `The intermediate CA certificate "${clip(c.cert.subject)}"`;
    problems.push(...validityProblems(c.cert, now, name));
    problems.push(...issuerProblems(c.cert, name, i));
    problems.push(...criticalExtensionProblems(c.cert, name));
  }
  const anchorName = `The registered CA certificate "${clip(path.anchor.subject)}"`;
  problems.push(...validityProblems(path.anchor.cert, now, anchorName));
  problems.push(...issuerProblems(path.anchor.cert, anchorName, intermediates.length));
  problems.push(...criticalExtensionProblems(path.anchor.cert, anchorName));
  const links = [...path.certs.map((c) => c.cert), path.anchor.cert];
  for (let i = 0; i + 1 < links.length; i++) {
    const problem = opensslLinkProblem(links[i], links[i + 1], i === 0 ? "The certificate" : `The intermediate CA certificate "${clip(links[i].subject)}"`);
    if (problem) problems.push(problem);
  }

  // The anchor's CRL speaks for the certificates it issued: the last one on the path.
  const crl = path.anchor.crl;
  const issuedByAnchor = path.certs[path.certs.length - 1];
  if (crl?.nextUpdate && crl.nextUpdate.getTime() < now.getTime()) {
    // OpenSSL refuses a certificate whose CRL has expired (X509_V_ERR_CRL_HAS_EXPIRED) when it checks CRLs, as brokers do.
    problems.push(
      `The stored CRL of "${clip(path.anchor.subject)}" expired on ${crl.nextUpdate.toISOString()}: a broker that checks CRLs refuses the device until the CRL is fetched again (Refresh CRL on the CA certificates page, or POST /api/v1/admin/iot/ca-certificates/{id}/crl)`,
    );
  }
  if (crl) {
    let entry: x509.X509CrlEntry | null = null;
    try {
      entry = crl.findRevoked(issuedByAnchor.cert);
    } catch {
      entry = null;
    }
    if (entry && entry.reason !== 8) {
      const who = path.certs.length === 1 ? "The certificate" : `The intermediate CA certificate "${clip(issuedByAnchor.cert.subject)}"`;
      const reason = entry.reason !== undefined ? CRL_REASONS[entry.reason] ?? String(entry.reason) : null;
      const held = entry.reason === 6;
      problems.push(
        `${who} was ${held ? "put on hold" : "revoked"} on ${entry.revocationDate.toISOString()}${reason && !held ? ` (reason: ${reason})` : ""} according to the CRL of "${clip(path.anchor.subject)}"`,
      );
    }
  }
  return problems;
}

/**
 * OpenSSL's judgement of one link (what brokers apply): the issuer's name and key
 * identifier match and both certificates' extensions decode. A missing keyCertSign is
 * reported by issuerProblems already.
 */
function opensslLinkProblem(child: x509.X509Certificate, issuer: x509.X509Certificate, who: string): string | null {
  try {
    if (new NodeX509Certificate(toBuffer(child.rawData)).checkIssued(new NodeX509Certificate(toBuffer(issuer.rawData)))) return null;
    const ku = issuer.getExtension(x509.KeyUsagesExtension);
    if (ku && (ku.usages & x509.KeyUsageFlags.keyCertSign) === 0) return null;
  } catch {
    // An extension that does not decode: reported below.
  }
  return `${who} would be refused by OpenSSL-based brokers: its issuer name or authority key identifier does not match "${clip(issuer.subject)}", or one of its extensions cannot be decoded`;
}

function validityProblems(cert: x509.X509Certificate, now: Date, name: string): string[] {
  if (cert.notBefore.getTime() > now.getTime()) return [`${name} is not valid yet: its validity starts on ${cert.notBefore.toISOString()}`];
  if (cert.notAfter.getTime() < now.getTime()) return [`${name} has expired: its validity ended on ${cert.notAfter.toISOString()}`];
  return [];
}

/** A CA certificate on the path: may it issue certificates, with `below` intermediate CAs under it? */
function issuerProblems(cert: x509.X509Certificate, name: string, below: number): string[] {
  let bc: x509.BasicConstraintsExtension | null;
  let ku: x509.KeyUsagesExtension | null;
  try {
    bc = cert.getExtension(x509.BasicConstraintsExtension);
    ku = cert.getExtension(x509.KeyUsagesExtension);
  } catch {
    return [`${name} has unreadable basic constraints or key usage`];
  }
  const problems: string[] = [];
  if (bc?.ca !== true) problems.push(`${name} is not a CA certificate (basicConstraints CA:TRUE is missing), so it cannot issue certificates`);
  else if (bc.pathLength !== undefined && below > bc.pathLength) {
    problems.push(`${name} allows at most ${bc.pathLength} intermediate CA certificate${bc.pathLength === 1 ? "" : "s"} below it; this chain has ${below}`);
  }
  if (ku && (ku.usages & x509.KeyUsageFlags.keyCertSign) === 0) problems.push(`${name} may not sign certificates (its key usage lacks keyCertSign)`);
  return problems;
}

// The critical extensions OpenSSL's verifier understands (X509_supported_extension).
const UNDERSTOOD_CRITICAL = new Set([
  "2.5.29.15", // keyUsage
  "2.5.29.17", // subjectAltName
  "2.5.29.19", // basicConstraints
  "2.5.29.30", // nameConstraints
  "2.5.29.32", // certificatePolicies
  "2.5.29.33", // policyMappings
  "2.5.29.36", // policyConstraints
  "2.5.29.37", // extKeyUsage
  "2.5.29.54", // inhibitAnyPolicy
  "1.3.6.1.5.5.7.1.14", // proxyCertInfo
  "1.3.6.1.5.5.7.1.7", // sbgp-ipAddrBlock
  "1.3.6.1.5.5.7.1.8", // sbgp-autonomousSysNum
  "2.16.840.1.113730.1.1", // netscape-cert-type
]);

/** RFC 5280 4.2: a certificate with a critical extension the verifier does not understand is refused. */
function criticalExtensionProblems(cert: x509.X509Certificate, name: string): string[] {
  const unknown = cert.extensions.filter((e) => e.critical && !UNDERSTOOD_CRITICAL.has(e.type)).map((e) => e.type);
  return unknown.length ? [`${name} has a critical extension that brokers do not understand (${unknown.slice(0, 3).join(", ")}), so they refuse it`] : [];
}

/** A certificate whose public key does not decode proves nothing, whoever signed it. */
function publicKeyProblems(cert: x509.X509Certificate): string[] {
  try {
    createPublicKey({ key: toBuffer(cert.publicKey.rawData), format: "der", type: "spki" });
    return [];
  } catch {
    return ["The certificate's public key cannot be read, so the device cannot prove it holds the private key"];
  }
}

/** What a TLS server checking a client certificate (OpenSSL's sslclient purpose) refuses. */
function clientUsageProblems(cert: x509.X509Certificate): string[] {
  const problems: string[] = [];
  try {
    const eku = cert.getExtension(x509.ExtendedKeyUsageExtension);
    if (eku && !eku.usages.some((u) => u === CLIENT_AUTH || u === ANY_EKU)) {
      problems.push("The certificate's extended key usage does not include TLS client authentication (clientAuth), so a broker refuses it");
    }
    const ku = cert.getExtension(x509.KeyUsagesExtension);
    if (ku && (ku.usages & (x509.KeyUsageFlags.digitalSignature | x509.KeyUsageFlags.keyAgreement)) === 0) {
      problems.push("The certificate's key usage allows neither digitalSignature nor keyAgreement, so it cannot authenticate a TLS client");
    }
  } catch {
    problems.push("The certificate's key usage extensions cannot be read");
  }
  return problems;
}

// ---------------------------------------------------------------------------------
// Identity.

const IDENTITY_HELP = 'CN=d:<type>:<id> or SAN email:d:<type>:<id>, where type and id are 1–36 letters, digits, "-", "_" or "."';

/**
 * The device identity: the first common name that is `d:<type>:<id>`, else the first
 * rfc822Name SAN that is. When there is none, pushes the reason: what is wrong with the
 * values that look like an identity (start with "d:"), or that there is none.
 */
function deviceIdentity(cert: x509.X509Certificate, reasons: string[]): { type: string; id: string } | null {
  let cns: string[] = [];
  try {
    cns = cert.subjectName.getField("CN");
  } catch {
    cns = [];
  }
  let emails: string[] = [];
  try {
    const san = cert.getExtension(x509.SubjectAlternativeNameExtension);
    emails = san ? san.names.items.filter((n) => n.type === "email").map((n) => n.value) : [];
  } catch {
    reasons.push("The certificate's subject alternative names cannot be read");
  }
  for (const cn of cns) {
    const id = parseDeviceIdentity(cn);
    if (id) return id;
  }
  for (const email of emails) {
    const id = parseDeviceIdentity(email);
    if (id) return id;
  }
  const looksLike = (v: string) => /^d:/i.test(v);
  const problems = [
    ...cns.filter(looksLike).map((v) => `The common name "${clip(v, 80)}" is not a valid device identity: ${identityProblem(v)}`),
    ...emails.filter(looksLike).map((v) => `The subject alternative name email:${clip(v, 80)} is not a valid device identity: ${identityProblem(v)}`),
  ];
  if (problems.length) reasons.push(...problems.map((p) => `${p} (expected ${IDENTITY_HELP})`));
  else reasons.push(`The certificate names no device identity: expected ${IDENTITY_HELP}`);
  return null;
}

/** Why `value`, which starts with "d:" in some case, is not `d:<type>:<id>`. */
export function identityProblem(value: string): string {
  if (!value.startsWith("d:")) return 'it must start with a lower-case "d:"';
  const parts = value.slice(2).split(":");
  if (parts.length === 1) return parts[0] === "" ? "the device type and id are missing" : "the device id is missing (only one part after d:)";
  if (parts.length > 2) return 'it has more than three parts: a ":" is not allowed in the device type or id';
  const [type, id] = parts;
  for (const [label, v] of [
    ["device type", type],
    ["device id", id],
  ] as const) {
    if (v === "") return `the ${label} is empty`;
    if (v.length > 36) return `the ${label} is ${v.length} characters long; at most 36 are allowed`;
    const bad = [...new Set(v.replace(/[A-Za-z0-9._-]/g, ""))];
    if (bad.length) {
      const shown = bad.slice(0, 5).map((c) => (/[\u0000-\u001f\u007f-\u009f]/.test(c) ? `U+${c.codePointAt(0)!.toString(16).toUpperCase().padStart(4, "0")}` : `"${c}"`));
      return `the ${label} contains ${shown.join(", ")}; only letters, digits, "-", "_" and "." are allowed`;
    }
  }
  return "it is not of the form d:<type>:<id>";
}
