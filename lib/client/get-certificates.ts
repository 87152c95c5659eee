/**
 * Get Certificate(s) from the Certificate Authority server, as IRIS's CA client does:
 * the CA certificate (saved as `<CA root>.cer`; for an intermediate CA also its chain,
 * `<CA root>_chain.pem`: the CA certificate then its issuers up to the root), a searchable list of the certificates
 * the server issued, "Show Certificates for This Instance", and Get for one of them
 * (saved as `<filename>.cer`). Every file is parsed and checked before it is saved.
 */
import { promises as fs } from "node:fs";
import { join } from "node:path";
import { getDb } from "../db/index.ts";
import { AppError } from "../errors/app-error.ts";
import { fileNameRootProblem } from "../ca/file-name-root.ts";
import { parseCertificate, isCaCertificate, describeCertificate, certificateToPem } from "../pki/certificates.ts";
import { certificatesToPem, isSelfSigned, parseCertificateList, sameCertificate, validateIssuerChain } from "../pki/chain.ts";
import type { x509 } from "../pki/setup.ts";
import { parseCsr } from "../pki/csr.ts";
import { toBuffer } from "../pki/bytes.ts";
import { callFile, fetchCa, fetchCaFileNameRoot, fetchCertificatePem, listCertificates, RemoteCaError, type CallOptions, type CertificateSearch, type RemoteCertificate, type ServerLocation } from "./ca-server-api.ts";
import { locationOf, requireCaClient } from "./configure-client.ts";
import { clientDirectory, clientFilePath, ensureClientDirectory, fileExists, replaceFile } from "./client-files.ts";

export const DEFAULT_CA_FILE_ROOT = "CA";

export interface SavedCaCertificate {
  subject: string;
  sha1Fingerprint: string;
  sha256Fingerprint: string;
  notAfter: string;
  file: string;
  /** Certificate Authority Certificate (SHA-1 Fingerprint: …) saved in file "…" */
  message: string;
  /** `<root>_chain.pem` when the CA is an intermediate (its certificate, then its issuers up to the root); null for a root CA. */
  chainFile: string | null;
  /** "Certificate Authority chain (…) saved in file "…"" when a chain was saved. */
  chainMessage: string | null;
  /** Something the technical contact should know (e.g. the server sent no issuer chain). */
  notes: string[];
}

export interface SavedCertificate {
  number: number;
  serial: string;
  subject: string;
  filename: string;
  sha1Fingerprint: string;
  file: string;
  /** The file's name in the client directory, for the browser download link. */
  fileName: string;
  /** Certificate number N (SHA-1 Fingerprint: …) saved in file "…" */
  message: string;
  /** Something the contact should know (e.g. the key does not match the local CSR). */
  notes: string[];
}

function rootOrDefault(root: string | null | undefined, fallback: string): string {
  return root && !fileNameRootProblem(root) ? root : fallback;
}

/** Get Certificate Authority Certificate: fetch, check, save, remember. */
export async function getCaCertificate(opts: CallOptions = {}): Promise<SavedCaCertificate> {
  const client = await requireCaClient();
  const loc = locationOf(client);
  const ca = await fetchCa(loc, opts);
  let cert;
  try {
    cert = parseCertificate(ca.pem, "pem");
  } catch (e) {
    throw new RemoteCaError("not_portcullis", "upstream_failed", `The Certificate Authority server at ${client.serverUrl} sent a CA certificate that cannot be read (${(e as Error).message})`, { cause: e });
  }
  const info = describeCertificate(cert);
  if (!isCaCertificate(cert)) throw new RemoteCaError("not_portcullis", "upstream_failed", `The certificate the server at ${client.serverUrl} sent (${info.subject}) is not a CA certificate`);
  if (ca.sha1Fingerprint.toUpperCase() !== info.sha1Fingerprint) {
    throw new RemoteCaError("not_portcullis", "upstream_failed", `The server at ${client.serverUrl} says its CA certificate's SHA-1 fingerprint is ${ca.sha1Fingerprint}, but the certificate it sent has ${info.sha1Fingerprint}; nothing was saved`);
  }
  const root = rootOrDefault(ca.fileNameRoot ?? (await fetchCaFileNameRoot(loc, opts)), DEFAULT_CA_FILE_ROOT);
  await ensureClientDirectory();
  const file = clientFilePath(root, "cer");
  const pem = certificateToPem(cert);
  // Fetched and checked before anything is written: a bad chain saves nothing.
  const issuers = await fetchIssuers(loc, cert, client.serverUrl, opts);
  const chainFile = join(clientDirectory(), `${root}_chain.pem`);
  await replaceFile(file, pem, 0o644);
  const notes: string[] = [];
  let chainMessage: string | null = null;
  if (issuers.length) {
    await replaceFile(chainFile, certificatesToPem([cert, ...issuers]), 0o644);
    chainMessage = `Certificate Authority chain (${issuers.length + 1} certificates, up to the root ${issuers[issuers.length - 1].subject}) saved in file "${chainFile}"`;
  } else {
    // A chain saved from an earlier, intermediate CA of the same name no longer applies.
    await fs.rm(chainFile, { force: true });
    if (!isSelfSigned(cert)) notes.push(`This CA certificate was issued by ${cert.issuer}, but the server sent no issuer chain: get that certificate from its issuer to verify certificates up to a root.`);
  }
  const db = await getDb();
  await db.caClient.update({ where: { id: 1 }, data: { caCertificatePem: pem, caSha1Fingerprint: info.sha1Fingerprint, caFile: file, caSavedAt: new Date() } });
  return {
    subject: info.subject,
    sha1Fingerprint: info.sha1Fingerprint,
    sha256Fingerprint: info.sha256Fingerprint,
    notAfter: info.notAfter.toISOString(),
    file,
    message: `Certificate Authority Certificate (SHA-1 Fingerprint: ${info.sha1Fingerprint}) saved in file "${file}"`,
    chainFile: issuers.length ? chainFile : null,
    chainMessage,
    notes,
  };
}

/**
 * The CA's issuers from `GET /ca/certificate?format=chain` (the CA certificate, then its
 * issuers), checked link by link up to a self-signed root. A server that does not offer
 * the chain form (an older Portcullis) answers 400: the CA is then taken as it is.
 */
async function fetchIssuers(loc: ServerLocation, cert: x509.X509Certificate, serverUrl: string, opts: CallOptions): Promise<x509.X509Certificate[]> {
  let text: string;
  try {
    text = (await callFile(loc, "/ca/certificate", { ...opts, query: { format: "chain" }, maxBytes: 256 * 1024 })).body.toString("utf8");
  } catch (e) {
    if (e instanceof RemoteCaError && e.reason === "refused" && e.remoteStatus === 400) return [];
    throw e;
  }
  try {
    const certs = parseCertificateList(text, "chain");
    if (!certs.length || !sameCertificate(certs[0], cert)) throw new Error("the chain does not start with the CA certificate it sent");
    // No issuers sent: a root, or a server that keeps them to itself (said in a note).
    if (certs.length === 1) return [];
    return validateIssuerChain(cert, certs.slice(1), { field: "chain" });
  } catch (e) {
    throw new RemoteCaError("not_portcullis", "upstream_failed", `The Certificate Authority server at ${serverUrl} sent a certificate chain that cannot be used (${(e as Error).message}); nothing was saved`, { cause: e });
  }
}

export interface ServerCertificateQuery extends Omit<CertificateSearch, "limit"> {
  /** "Show Certificates for This Instance": the configured instance name replaces `instance`. */
  thisInstance?: boolean;
}

function clean(v: string | null | undefined, max = 253): string | null {
  const s = (v ?? "").trim();
  return s ? s.slice(0, max) : null;
}

/** One page of the server's issued certificates matching every given filter. */
export async function searchServerCertificates(q: ServerCertificateQuery, opts: CallOptions = {}): Promise<{ items: RemoteCertificate[]; nextCursor: string | null; instance: string | null }> {
  const client = await requireCaClient();
  const number = clean(q.number, 12);
  if (number && !/^\d+$/.test(number)) throw new AppError("validation_failed", "Enter the certificate number as a whole number", { field: "number" });
  const instance = q.thisInstance ? client.instanceName : clean(q.instance, 64);
  const page = await listCertificates(
    locationOf(client),
    { serial: clean(q.serial, 100), number, hostname: clean(q.hostname), instance, filename: clean(q.filename, 64), cursor: clean(q.cursor, 64) },
    opts,
  );
  return { ...page, instance };
}

/** Get for one certificate: download it by number, check it, save `<filename>.cer`. */
export async function getIssuedCertificate(numberInput: unknown, opts: CallOptions = {}): Promise<SavedCertificate> {
  const raw = typeof numberInput === "number" ? String(numberInput) : typeof numberInput === "string" ? numberInput.trim() : "";
  if (!/^\d{1,9}$/.test(raw) || Number(raw) < 1) throw new AppError("validation_failed", "Choose a certificate by its number", { field: "number" });
  const number = Number(raw);
  const client = await requireCaClient();
  const loc = locationOf(client);
  const listed = (await listCertificates(loc, { number: String(number) }, opts)).items.find((c) => c.number === number);
  if (!listed) throw new AppError("not_found", `The Certificate Authority server at ${client.serverUrl} has no certificate number ${number}`);
  const pem = await fetchCertificatePem(loc, number, opts);
  let cert;
  try {
    cert = parseCertificate(pem, "pem");
  } catch (e) {
    throw new RemoteCaError("not_portcullis", "upstream_failed", `Certificate number ${number} from ${client.serverUrl} cannot be read (${(e as Error).message}); nothing was saved`, { cause: e });
  }
  const info = describeCertificate(cert);
  if (listed.sha1Fingerprint && listed.sha1Fingerprint.toUpperCase() !== info.sha1Fingerprint) {
    throw new RemoteCaError("not_portcullis", "upstream_failed", `The server lists certificate number ${number} with the SHA-1 fingerprint ${listed.sha1Fingerprint}, but the file it sent has ${info.sha1Fingerprint}; nothing was saved`);
  }
  const notes: string[] = [];
  const db = await getDb();
  const saved = await db.caClient.findUnique({ where: { id: 1 }, select: { caCertificatePem: true, caSha1Fingerprint: true } });
  if (saved?.caCertificatePem) {
    const caCert = parseCertificate(saved.caCertificatePem);
    const signed = cert.issuer === caCert.subject && (await cert.verify({ publicKey: caCert, signatureOnly: true }).catch(() => false));
    if (!signed) {
      throw new AppError("conflict", `Certificate number ${number} was not issued by the Certificate Authority certificate saved on this instance (SHA-1 Fingerprint: ${saved.caSha1Fingerprint}). Get the Certificate Authority Certificate again, then get this certificate; nothing was saved.`);
    }
  } else {
    notes.push("The Certificate Authority Certificate has not been saved on this instance yet: get it too, to verify this certificate.");
  }
  const root = rootOrDefault(listed.filename, `certificate-${number}`);
  await ensureClientDirectory();
  const file = clientFilePath(root, "cer");
  // The request this instance made under that name: does the certificate carry its key?
  const csrFile = clientFilePath(root, "csr");
  if (await fileExists(csrFile)) {
    try {
      const csr = await parseCsr(await fs.readFile(csrFile, "utf8"));
      if (!csr.spkiDer.equals(toBuffer(cert.publicKey.rawData))) notes.push(`This certificate's public key is not the one in ${csrFile}: it does not belong to the private key ${clientFilePath(root, "key")}.`);
    } catch {
      // An unreadable CSR says nothing about the certificate.
    }
  }
  await replaceFile(file, certificateToPem(cert), 0o644);
  return {
    number,
    serial: info.serial,
    subject: info.subject,
    filename: listed.filename,
    sha1Fingerprint: info.sha1Fingerprint,
    file,
    fileName: `${root}.cer`,
    message: `Certificate number ${number} (SHA-1 Fingerprint: ${info.sha1Fingerprint}) saved in file "${file}"`,
    notes,
  };
}
