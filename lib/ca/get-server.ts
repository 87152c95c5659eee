/** Reading the CA server configuration: the admin view (never a password) and the public CA certificate. */
import { join } from "node:path";
import { getDb } from "../db/index.ts";
import { AppError } from "../errors/app-error.ts";
import { pemToDer } from "../pki/pem.ts";
import { parseCertificate } from "../pki/certificates.ts";
import { describeChain, parseCertificateList } from "../pki/chain.ts";
import { serverFilePaths } from "./server-files.ts";

/**
 * `<directory>/<root>_chain.pem`: the CA certificate followed by its issuers, root last.
 * Written only for a CA that is not self-signed (an intermediate CA).
 */
export function chainFilePath(directory: string, root: string): string {
  return join(serverFilePaths(directory, root).directory, `${root}_chain.pem`);
}

/** One certificate of the CA's chain, as the pages and the API show it. */
export interface ChainLinkView {
  subject: string;
  issuer: string;
  sha1Fingerprint: string;
  sha256Fingerprint: string;
  notBefore: string;
  notAfter: string;
  selfSigned: boolean;
}

/** The CA certificate and its issuers (nearest first, root last), described. */
export function chainLinks(certificatePem: string, caChainPem: string | null): ChainLinkView[] {
  const certs = [parseCertificate(certificatePem), ...(caChainPem ? parseCertificateList(caChainPem) : [])];
  return describeChain(certs).map((l) => ({ ...l, notBefore: l.notBefore.toISOString(), notAfter: l.notAfter.toISOString() }));
}

export interface CaServerView {
  fileNameRoot: string;
  directory: string;
  /** `chain` is null for a self-signed (root) CA. */
  files: { key: string; cer: string; srl: string; chain: string | null };
  mode: "new" | "existing";
  keyAlgorithm: string;
  subject: string;
  caValidityDays: number | null;
  issuedValidityDays: number;
  smtp: { host: string | null; port: number | null; secure: boolean; username: string | null; passwordSet: boolean };
  adminEmail: string;
  sha1Fingerprint: string;
  sha256Fingerprint: string;
  notBefore: string;
  notAfter: string;
  nextCertificateNumber: number;
  configuredBy: string | null;
  configuredAt: string;
  /** The message shown when it was configured (IRIS's form), one entry per line. */
  resultMessage: string[];
  /** The CA certificate, then its issuers up to the root; one entry for a root CA. */
  chain: ChainLinkView[];
}

export async function findCaServerView(): Promise<CaServerView | null> {
  const db = await getDb();
  const c = await db.caServer.findUnique({ where: { id: 1 }, omit: { crlPem: true, ocspCertificatePem: true, ocspKeyEnc: true } });
  if (!c) return null;
  // Only whether a password is set leaves this function, never the ciphertext.
  const passwordSet = c.smtpPasswordEnc !== null;
  const p = serverFilePaths(c.directory, c.fileNameRoot);
  return {
    fileNameRoot: c.fileNameRoot,
    directory: c.directory,
    files: { key: p.key, cer: p.cer, srl: p.srl, chain: c.caChainPem ? chainFilePath(c.directory, c.fileNameRoot) : null },
    mode: c.mode === "existing" ? "existing" : "new",
    keyAlgorithm: c.keyAlgorithm,
    subject: c.subject,
    caValidityDays: c.caValidityDays,
    issuedValidityDays: c.issuedValidityDays,
    smtp: { host: c.smtpHost, port: c.smtpPort, secure: c.smtpSecure, username: c.smtpUsername, passwordSet },
    adminEmail: c.adminEmail,
    sha1Fingerprint: c.sha1Fingerprint,
    sha256Fingerprint: c.sha256Fingerprint,
    notBefore: c.notBefore.toISOString(),
    notAfter: c.notAfter.toISOString(),
    nextCertificateNumber: c.nextNumber,
    configuredBy: c.configuredBy,
    configuredAt: c.createdAt.toISOString(),
    resultMessage: c.resultMessage ? c.resultMessage.split("\n") : [],
    chain: chainLinks(c.certificatePem, c.caChainPem),
  };
}

export async function getCaServerView(): Promise<CaServerView> {
  const v = await findCaServerView();
  if (!v) throw new AppError("not_configured", "The Certificate Authority server is not configured");
  return v;
}

export interface PublicCaCertificate {
  subject: string;
  pem: string;
  sha1Fingerprint: string;
  sha256Fingerprint: string;
  notBefore: string;
  notAfter: string;
  fileNameRoot: string;
  /** The CA's issuers, PEM, nearest first and the root last; "" for a self-signed CA. */
  chainPem: string;
}

/** The CA certificate as anyone may fetch it (`GET /api/v1/ca`). */
export async function getPublicCaCertificate(): Promise<PublicCaCertificate> {
  const db = await getDb();
  const c = await db.caServer.findUnique({
    where: { id: 1 },
    select: { subject: true, certificatePem: true, caChainPem: true, sha1Fingerprint: true, sha256Fingerprint: true, notBefore: true, notAfter: true, fileNameRoot: true },
  });
  if (!c) throw new AppError("not_configured", "The Certificate Authority server is not configured");
  return {
    subject: c.subject,
    pem: c.certificatePem,
    sha1Fingerprint: c.sha1Fingerprint,
    sha256Fingerprint: c.sha256Fingerprint,
    notBefore: c.notBefore.toISOString(),
    notAfter: c.notAfter.toISOString(),
    fileNameRoot: c.fileNameRoot,
    chainPem: c.caChainPem ?? "",
  };
}

export function caCertificateDer(pem: string): Buffer {
  return Buffer.from(pemToDer(pem, "CERTIFICATE"));
}
