/**
 * Deployment bundles: the files a server needs, built from a certificate, its CA chain
 * and (for all but the trust bundle) its private key.
 * - pem-with-key: `<root>.pem`, certificate + CA chain + private key (encrypted PKCS#8
 *   unless asked for unencrypted);
 * - pkcs12: `<root>.p12` (see pkcs12.ts);
 * - trust: `trust_ca_cert.pem`, the CA chain;
 * - cockroach: `certs.tar.gz`, a CockroachDB certs directory.
 * Pure functions of their inputs; the use case (build-bundle.ts) finds the inputs.
 */
import type { KeyObject } from "node:crypto";
import { AppError } from "../errors/app-error.ts";
import { derToPem } from "../pki/pem.ts";
import { unencryptedPkcs8Pem } from "../pki/pkcs8.ts";
import { cockroachUserProblem, COCKROACH_NODE_CN, isUsage, usageLabel } from "../pki/profiles.ts";
import { encryptedPrivateKeyInfo } from "./pbe.ts";
import { buildPkcs12 } from "./pkcs12.ts";
import { tarGz } from "./tar.ts";

export type BundleFormat = "pkcs12" | "pem-with-key" | "cockroach" | "trust";
export const BUNDLE_FORMATS: readonly BundleFormat[] = ["pkcs12", "pem-with-key", "cockroach", "trust"];

export function isBundleFormat(x: unknown): x is BundleFormat {
  return typeof x === "string" && (BUNDLE_FORMATS as readonly string[]).includes(x);
}

/** Iterations of PBKDF2-HMAC-SHA256 for a key in a PEM bundle (the browser's request page uses the same). */
export const PEM_KEY_ITERATIONS = 600_000;

export const BUNDLE_PASSWORD_MIN = 8;
const BUNDLE_PASSWORD_MAX = 1024;

/** Why a bundle password is refused (empty, shorter than 8 characters, one character repeated), or null. */
export function bundlePasswordProblem(password: string): string | null {
  const chars = [...password];
  if (chars.length === 0) return "Enter a password";
  if (chars.length < BUNDLE_PASSWORD_MIN) return `The password is too short: use at least ${BUNDLE_PASSWORD_MIN} characters`;
  if (chars.length > BUNDLE_PASSWORD_MAX) return `Use at most ${BUNDLE_PASSWORD_MAX} characters`;
  if (chars.every((c) => c === chars[0])) return "The password is one character repeated: choose one that is harder to guess";
  return null;
}

export interface BundleFile {
  filename: string;
  contentType: string;
  body: Buffer;
}

export interface BundleCertificate {
  /** The certificate (DER). */
  der: Buffer;
  /** The CA certificates (DER), the issuing CA first, its issuers after it. */
  chain: Buffer[];
  /** File name root for the bundle's name, e.g. "web01" → web01.p12. */
  fileRoot: string;
  commonName: string | null;
  usage: string;
}

const pem = (der: Buffer) => derToPem(der, "CERTIFICATE");

/** trust_ca_cert.pem: the CA certificate and its issuers. */
export function trustBundle(cert: Pick<BundleCertificate, "chain">): BundleFile {
  if (cert.chain.length === 0) throw new AppError("not_found", "The CA certificate of this certificate is not available");
  return { filename: "trust_ca_cert.pem", contentType: "application/x-pem-file", body: Buffer.from(cert.chain.map(pem).join(""), "utf8") };
}

/**
 * `<root>.pem`: the certificate, the CA chain and the private key. The key is encrypted
 * PKCS#8 (PBES2: PBKDF2-HMAC-SHA256, AES-256-CBC) with `password`, or plain PKCS#8
 * only when `unencrypted` is true.
 */
export async function pemWithKeyBundle(cert: BundleCertificate, key: KeyObject, opts: { password: string } | { unencrypted: true }): Promise<BundleFile> {
  let keyPem: string;
  if ("unencrypted" in opts) {
    keyPem = unencryptedPkcs8Pem(key);
  } else {
    const problem = bundlePasswordProblem(opts.password);
    if (problem) throw new AppError("validation_failed", problem, { field: "password" });
    keyPem = derToPem(await encryptedPrivateKeyInfo(key, opts.password, { kind: "pbes2", iterations: PEM_KEY_ITERATIONS }), "ENCRYPTED PRIVATE KEY");
  }
  const body = [pem(cert.der), ...cert.chain.map(pem), keyPem].join("");
  return { filename: `${cert.fileRoot}.pem`, contentType: "application/x-pem-file", body: Buffer.from(body, "utf8") };
}

/** `<root>.p12`: key, certificate (friendlyName = its CN) and CA chain, protected by `password`. */
export async function pkcs12Bundle(cert: BundleCertificate, key: KeyObject, opts: { password: string; legacy?: boolean }): Promise<BundleFile> {
  const problem = bundlePasswordProblem(opts.password);
  if (problem) throw new AppError("validation_failed", problem, { field: "password" });
  const body = await buildPkcs12({ privateKey: key, certificate: cert.der, chain: cert.chain, password: opts.password, friendlyName: cert.commonName ?? cert.fileRoot, legacy: opts.legacy });
  return { filename: `${cert.fileRoot}.p12`, contentType: "application/x-pkcs12", body };
}

/** The names CockroachDB looks for in its certs directory, or the reason this certificate has none. */
export function cockroachFileNames(cert: Pick<BundleCertificate, "usage" | "commonName">): { crt: string; key: string } {
  if (cert.usage === "cockroach-node") {
    if (cert.commonName !== COCKROACH_NODE_CN) throw new AppError("validation_failed", `A CockroachDB node certificate has the common name "node"; this one has ${cert.commonName === null ? "none" : `"${cert.commonName}"`}`, { field: "format" });
    return { crt: "node.crt", key: "node.key" };
  }
  if (cert.usage === "cockroach-client") {
    const problem = cockroachUserProblem(cert.commonName);
    if (problem) throw new AppError("validation_failed", problem, { field: "format" });
    return { crt: `client.${cert.commonName}.crt`, key: `client.${cert.commonName}.key` };
  }
  const label = isUsage(cert.usage) ? `"${usageLabel(cert.usage)}" (${cert.usage})` : `"${cert.usage}"`;
  throw new AppError(
    "validation_failed",
    `A CockroachDB certs directory is made only for certificates issued with the usage "CockroachDB node" (cockroach-node) or "CockroachDB client" (cockroach-client); this certificate's usage is ${label}`,
    { field: "format" },
  );
}

/**
 * certs.tar.gz: a `certs/` directory (0700) with `ca.crt` (the CA chain) and
 * `node.crt`/`node.key` or `client.<user>.crt`/`client.<user>.key`: certificates 0644,
 * the key unencrypted PKCS#8 PEM with mode 0600, as CockroachDB requires.
 */
export function cockroachBundle(cert: BundleCertificate, key: KeyObject, now: Date = new Date()): BundleFile {
  const names = cockroachFileNames(cert);
  if (cert.chain.length === 0) throw new AppError("not_found", "The CA certificate of this certificate is not available");
  const body = tarGz(
    [
      { name: "certs/", mode: 0o700 },
      { name: "certs/ca.crt", mode: 0o644, content: cert.chain.map(pem).join("") },
      { name: `certs/${names.crt}`, mode: 0o644, content: pem(cert.der) },
      { name: `certs/${names.key}`, mode: 0o600, content: unencryptedPkcs8Pem(key) },
    ],
    now,
  );
  return { filename: "certs.tar.gz", contentType: "application/gzip", body };
}
