/**
 * What issuing needs from the configured CA server: its certificate, its settings, its
 * SMTP transport, and — only with the administrator's password — its private key.
 */
import { promises as fs } from "node:fs";
import type { KeyObject } from "node:crypto";
import type { Db } from "../db/index.ts";
import { AppError } from "../errors/app-error.ts";
import { open } from "../crypto/secret-box.ts";
import { parseCertificate } from "../pki/certificates.ts";
import { decryptPrivateKey } from "../pki/pkcs8.ts";
import { keyMatchesCertificate } from "../pki/keys.ts";
import type { x509 } from "../pki/setup.ts";
import type { SmtpSettings } from "../mail/transport.ts";
import { serverFilePaths } from "./server-files.ts";
import { cachedUnlock, rememberUnlock } from "./unlocked-key-cache.ts";
import { SMTP_PASSWORD_CONTEXT } from "./configure-server.ts";

type Tx = Pick<Db, "caServer">;

export async function requireCaServer(db: Tx) {
  const c = await db.caServer.findUnique({ where: { id: 1 } });
  if (!c) throw new AppError("not_configured", "This instance is not configured as a Certificate Authority server");
  return c;
}

export type CaServerRow = Awaited<ReturnType<typeof requireCaServer>>;

/** The SMTP transport of the CA server, or null when e-mail is not configured. */
export function smtpOf(c: Pick<CaServerRow, "smtpHost" | "smtpPort" | "smtpSecure" | "smtpUsername" | "smtpPasswordEnc" | "smtpFrom">): SmtpSettings | null {
  if (!c.smtpHost || !c.smtpPort) return null;
  return {
    host: c.smtpHost,
    port: c.smtpPort,
    secure: c.smtpSecure,
    username: c.smtpUsername,
    password: c.smtpPasswordEnc ? open(c.smtpPasswordEnc, SMTP_PASSWORD_CONTEXT) : null,
    ...(c.smtpFrom ? { from: c.smtpFrom } : {}),
  };
}

/** Reads and decrypts the CA key with the administrator's password; checks it still matches. */
export async function unlockCa(c: CaServerRow, password: string, field = "caKeyPassword"): Promise<{ certificate: x509.X509Certificate; privateKey: KeyObject }> {
  if (!password) throw new AppError("validation_failed", "Enter the password of the CA private key", { field });
  const paths = serverFilePaths(c.directory, c.fileNameRoot);
  let keyPem: string;
  try {
    keyPem = await fs.readFile(paths.key, "utf8");
  } catch (e) {
    throw new AppError("not_configured", `The CA private key ${paths.key} cannot be read (${(e as NodeJS.ErrnoException).code ?? "error"})`, { cause: e });
  }
  const certificate = caCertificate(c.certificatePem);
  const cached = cachedUnlock(keyPem, c.certificatePem, password);
  if (cached) return { certificate, privateKey: cached.privateKey };
  const privateKey = decryptPrivateKey(keyPem, password, field);
  if (!keyMatchesCertificate(privateKey, certificate)) {
    throw new AppError("key_mismatch", `${paths.key} no longer matches the CA certificate`, { field });
  }
  rememberUnlock(keyPem, c.certificatePem, password, { privateKey });
  return { certificate, privateKey };
}

/** The CA certificate parsed once per PEM (in this bundle: parsed objects stay in the bundle that made them). */
const parsedCertificates = new Map<string, x509.X509Certificate>();

function caCertificate(pem: string): x509.X509Certificate {
  let certificate = parsedCertificates.get(pem);
  if (!certificate) {
    certificate = parseCertificate(pem);
    if (parsedCertificates.size >= 4) parsedCertificates.delete(parsedCertificates.keys().next().value!);
    parsedCertificates.set(pem, certificate);
  }
  return certificate;
}

export function portalBase(url?: string): string | undefined {
  return url?.replace(/\/+$/, "");
}
