/**
 * A deployment bundle of certificate number N (GET/POST /api/v1/certificates/{N}/bundle
 * and the certificate pages): validates the request, finds the certificate (this
 * instance's CA server, else the CA server its CA client uses) and, except for the
 * trust bundle, the private key this instance generated for it, then builds the file.
 * Passwords are only ever read from a request body, and never logged or kept.
 */
import type { KeyObject } from "node:crypto";
import { recordAudit } from "../audit/audit-log.ts";
import { AppError, type FieldErrors } from "../errors/app-error.ts";
import type { CallOptions } from "../client/ca-server-api.ts";
import {
  bundlePasswordProblem,
  cockroachBundle,
  cockroachFileNames,
  isBundleFormat,
  pemWithKeyBundle,
  pkcs12Bundle,
  trustBundle,
  BUNDLE_FORMATS,
  type BundleFile,
  type BundleFormat,
} from "./builders.ts";
import { clientUsesAnotherCa, localCertificate, remoteCertificate, type BundleSource, type FoundCertificate } from "./find-certificate.ts";
import { findGeneratedKeyFile, readGeneratedKey, type GeneratedKeyFile } from "./find-key.ts";

export interface BundleInput {
  format?: unknown;
  /** The PKCS#12 password, or the password that encrypts the key of a PEM bundle. */
  password?: unknown;
  /** When given, must equal `password`. */
  passwordConfirm?: unknown;
  /** The password of the client key file, when it was generated encrypted. */
  keyPassword?: unknown;
  /** pem-with-key: the key unencrypted (only when exactly true). */
  unencrypted?: unknown;
  /** pkcs12: 3DES and a SHA-1 MAC for old Windows. */
  legacy?: unknown;
  /** "server" (this instance's CA server), "client" (the CA server of its CA client); both are tried when absent. */
  source?: unknown;
}

export interface BundleOptions extends CallOptions {
  /** The request came as a GET: nothing that needs a password can be answered. */
  viaGet?: boolean;
  now?: Date;
  /** Who asked (the administrator's user name) and from where, for the audit log. */
  actor?: string;
  ip?: string | null;
}

export const NO_KEY_MESSAGE =
  "bundles with a private key exist only for keys this instance generated (CA client: Submit Certificate Signing Request); the trust bundle (format=trust) is available for any certificate";

interface Checked {
  format: BundleFormat;
  source: BundleSource | null;
  password: string | null;
  keyPassword: string | null;
  unencrypted: boolean;
  legacy: boolean;
}

function optString(input: BundleInput, name: "password" | "passwordConfirm" | "keyPassword"): string | null {
  const v = input[name];
  if (v === undefined || v === null || v === "") return null;
  if (typeof v !== "string") throw new AppError("bad_request", `${name} must be a string`, { field: name });
  return v;
}

function optBoolean(input: BundleInput, name: "unencrypted" | "legacy"): boolean {
  const v = input[name];
  if (v === undefined || v === null) return false;
  if (typeof v !== "boolean") throw new AppError("bad_request", `${name} must be true or false`, { field: name });
  return v;
}

/** Checks the request's fields, all before any file or database is read. */
export function checkBundleInput(input: BundleInput, viaGet = false): Checked {
  if (!isBundleFormat(input.format)) {
    throw new AppError("bad_request", `format must be one of ${BUNDLE_FORMATS.join(", ")}`, { field: "format" });
  }
  const format = input.format;
  let source: BundleSource | null = null;
  if (input.source !== undefined && input.source !== null && input.source !== "") {
    if (input.source !== "server" && input.source !== "client") throw new AppError("bad_request", 'source must be "server" or "client"', { field: "source" });
    source = input.source;
  }
  if (viaGet && (format === "pkcs12" || format === "pem-with-key")) {
    const what = format === "pkcs12" ? "A PKCS#12 file needs a password" : "A PEM bundle with the key needs a password for the key (or an explicit unencrypted: true)";
    throw new AppError("bad_request", `${what}: send it with POST as JSON, e.g. {"format":"${format}","password":"…"}. Passwords are never accepted in a URL.`, { field: "format" });
  }
  const password = optString(input, "password");
  const passwordConfirm = optString(input, "passwordConfirm");
  const keyPassword = optString(input, "keyPassword");
  const unencrypted = optBoolean(input, "unencrypted");
  const legacy = optBoolean(input, "legacy");

  const fields: FieldErrors = {};
  if (format === "pkcs12") {
    const problem = bundlePasswordProblem(password ?? "");
    if (problem) fields.password = password === null ? "Enter a password for the PKCS#12 file" : problem;
  } else if (format === "pem-with-key") {
    if (unencrypted && password !== null) {
      throw new AppError("bad_request", "Give either a password for the key or unencrypted: true, not both", { field: "password" });
    }
    if (!unencrypted) {
      const problem = bundlePasswordProblem(password ?? "");
      if (problem) fields.password = password === null ? "Enter a password to encrypt the private key, or ask for it unencrypted (unencrypted: true)" : problem;
    }
  }
  if (password !== null && passwordConfirm !== null && passwordConfirm !== password && !fields.password) fields.passwordConfirm = "The passwords do not match";
  if (Object.keys(fields).length) throw AppError.validation(fields);
  return { format, source, password, keyPassword, unencrypted, legacy };
}

interface Located {
  cert: FoundCertificate;
  keyFile: GeneratedKeyFile | null;
}

/** Certificate N and the key file for it, looking where `source` says (both places when null). */
export async function locateCertificate(number: number, source: BundleSource | null, opts: CallOptions = {}): Promise<Located> {
  if (!Number.isSafeInteger(number) || number < 1) throw new AppError("not_found", "No such certificate");
  const withKey = async (cert: FoundCertificate): Promise<Located> => ({ cert, keyFile: await findGeneratedKeyFile(cert.spki) });
  if (source === "server") {
    const local = await localCertificate(number);
    if (!local) throw new AppError("not_found", `This instance's CA server has no certificate number ${number}`);
    return withKey(local);
  }
  if (source === "client") {
    const remote = await remoteCertificate(number, opts);
    if (!remote) throw new AppError("not_configured", "The Certificate Authority client is not configured. Configure the local Certificate Authority client first.");
    return withKey(remote);
  }
  const local = await localCertificate(number);
  if (local) {
    const found = await withKey(local);
    if (found.keyFile || !(await clientUsesAnotherCa())) return found;
    // Our certificate N holds no key of ours; the CA client's server numbers its own certificates.
    try {
      const remote = await remoteCertificate(number, opts);
      if (remote) {
        const other = await withKey(remote);
        if (other.keyFile) return other;
      }
    } catch {
      // The other CA cannot tell: this instance's certificate N is the answer.
    }
    return found;
  }
  const remote = await remoteCertificate(number, opts);
  if (!remote) throw new AppError("not_found", `No certificate number ${number}`);
  return withKey(remote);
}

/** Why certificate N should not be deployed (revoked, expired), or null. */
export function deployProblem(cert: FoundCertificate, now: Date = new Date()): string | null {
  if (cert.status === "revoked") return `Certificate number ${cert.number} is revoked: relying parties refuse it, so no bundle is made for it`;
  if (cert.notAfter.getTime() <= now.getTime()) return `Certificate number ${cert.number} expired on ${cert.notAfter.toISOString()}: no bundle is made for it`;
  return null;
}

/** Builds the bundle; throws AppError with a field and a message for every refusal. */
export async function buildCertificateBundle(number: number, input: BundleInput, opts: BundleOptions = {}): Promise<BundleFile> {
  const v = checkBundleInput(input, opts.viaGet);
  const { cert, keyFile } = await locateCertificate(number, v.source, opts);
  if (v.format === "trust") return trustBundle(cert);

  const problem = deployProblem(cert, opts.now);
  if (problem) throw new AppError("conflict", problem);
  if (v.format === "cockroach") cockroachFileNames(cert);
  if (!keyFile) throw new AppError("not_found", `No private key for certificate number ${number} on this instance: ${NO_KEY_MESSAGE}`);
  if (opts.viaGet && keyFile.encrypted) {
    throw new AppError("bad_request", `The private key file ${keyFile.fileNameRoot}.key is encrypted: send its password with POST as JSON, e.g. {"format":"${v.format}","keyPassword":"…"}. Passwords are never accepted in a URL.`, { field: "keyPassword" });
  }
  const key: KeyObject = await readGeneratedKey(keyFile, cert.spki, v.keyPassword ?? undefined);
  // Bundles are named after the request this instance made for the key.
  const named = { ...cert, fileRoot: keyFile.fileNameRoot || cert.fileRoot };
  let file: BundleFile;
  switch (v.format) {
    case "pkcs12":
      file = await pkcs12Bundle(named, key, { password: v.password!, legacy: v.legacy });
      break;
    case "pem-with-key":
      file = await pemWithKeyBundle(named, key, v.unencrypted ? { unencrypted: true } : { password: v.password! });
      break;
    case "cockroach":
      file = cockroachBundle(named, key, opts.now);
      break;
  }
  // A private key left the instance: who took it, in which form (never a password).
  await recordAudit({
    action: "certificate.bundle_export",
    actor: opts.actor ?? "system",
    target: `certificate:${number}`,
    details: {
      format: v.format,
      source: cert.source,
      keyFile: `${keyFile.fileNameRoot}.key`,
      keyEncrypted: v.format === "pkcs12" || (v.format === "pem-with-key" && !v.unencrypted),
      ...(v.format === "pkcs12" ? { legacy: v.legacy } : {}),
      file: file.filename,
    },
    ip: opts.ip ?? null,
    at: opts.now,
  });
  return file;
}
