/**
 * Certificate number N with its CA chain, for a bundle: from this instance's CA server
 * ("server"), or from the CA server this instance's CA client is configured with
 * ("client"), checked before use (the chain signs the certificate; a remote one must
 * match what the server lists and the CA certificate the client saved).
 */
import { getDb } from "../db/index.ts";
import { AppError } from "../errors/app-error.ts";
import { toBuffer } from "../pki/bytes.ts";
import { parseCertificate } from "../pki/certificates.ts";
import { fingerprint } from "../pki/fingerprint.ts";
import { x509 } from "../pki/setup.ts";
import { callFile, listCertificates, RemoteCaError, type CallOptions } from "../client/ca-server-api.ts";
import { findCaClient, locationOf } from "../client/configure-client.ts";
import type { BundleCertificate } from "./builders.ts";

export type BundleSource = "server" | "client";

export interface FoundCertificate extends BundleCertificate {
  number: number;
  source: BundleSource;
  subject: string;
  serial: string;
  /** The certificate's SubjectPublicKeyInfo (DER): finds its key. */
  spki: Buffer;
  /** "valid" | "revoked" as the CA lists it. */
  status: string;
  notBefore: Date;
  notAfter: Date;
  sha1Fingerprint: string;
  /** The CA chain as subjects, issuing CA first (for pages). */
  chainSubjects: string[];
}

const CERT_BLOCK = /-----BEGIN CERTIFICATE-----[\s\S]*?-----END CERTIFICATE-----/g;

/** Every CERTIFICATE block of a PEM text, parsed (one certificate each). */
export function pemCertificates(text: string | null | undefined): x509.X509Certificate[] {
  return Array.from((text ?? "").matchAll(CERT_BLOCK), (m) => parseCertificate(m[0]));
}

const der = (c: x509.X509Certificate) => toBuffer(c.rawData);

async function signedBy(cert: x509.X509Certificate, issuer: x509.X509Certificate): Promise<boolean> {
  if (cert.issuer !== issuer.subject) return false;
  return cert.verify({ publicKey: issuer.publicKey, signatureOnly: true }).catch(() => false);
}

async function describe(number: number, source: BundleSource, cert: x509.X509Certificate, chain: x509.X509Certificate[], rec: { usage: string; status: string; filename: string }): Promise<FoundCertificate> {
  if (chain.length === 0 || !(await signedBy(cert, chain[0]))) {
    throw new AppError("conflict", `Certificate number ${number} was not signed by the CA certificate ${source === "server" ? "of this instance's CA server" : "the CA server sent with it"}`);
  }
  const root = /^[A-Za-z0-9_-]{1,64}$/.test(rec.filename) ? rec.filename : `certificate-${number}`;
  return {
    number,
    source,
    der: der(cert),
    chain: chain.map(der),
    fileRoot: root,
    commonName: cert.subjectName.getField("CN")[0] ?? null,
    usage: rec.usage,
    subject: cert.subject,
    serial: cert.serialNumber.toUpperCase(),
    spki: toBuffer(cert.publicKey.rawData),
    status: rec.status,
    notBefore: cert.notBefore,
    notAfter: cert.notAfter,
    sha1Fingerprint: fingerprint(der(cert), "SHA-1"),
    chainSubjects: chain.map((c) => c.subject),
  };
}

/** Certificate N of this instance's CA server with the CA certificate and its issuers, or null when it has none. */
export async function localCertificate(number: number): Promise<FoundCertificate | null> {
  const db = await getDb();
  const row = await db.certificate.findUnique({ where: { number }, select: { pem: true, usage: true, status: true, filename: true } });
  if (!row) return null;
  const ca = await db.caServer.findUnique({ where: { id: 1 }, select: { certificatePem: true, caChainPem: true } });
  if (!ca) throw new AppError("not_configured", "The CA certificate is not available: the CA server was reinitialized");
  const chain = [parseCertificate(ca.certificatePem), ...pemCertificates(ca.caChainPem)];
  return describe(number, "server", parseCertificate(row.pem), chain, row);
}

/**
 * Certificate N of the CA server this instance's CA client uses, or null when the client
 * is not configured; not_found when that server has no certificate N.
 */
export async function remoteCertificate(number: number, opts: CallOptions = {}): Promise<FoundCertificate | null> {
  const client = await findCaClient();
  if (!client) return null;
  const loc = locationOf(client);
  const listed = (await listCertificates(loc, { number: String(number) }, opts)).items.find((c) => c.number === number);
  if (!listed) throw new AppError("not_found", `The Certificate Authority server at ${client.serverUrl} has no certificate number ${number}`);
  const file = await callFile(loc, `/certificates/${number}`, { ...opts, query: { format: "chain" }, maxBytes: 512 * 1024 });
  let certs: x509.X509Certificate[];
  try {
    certs = pemCertificates(file.body.toString("utf8"));
  } catch (e) {
    throw new RemoteCaError("not_portcullis", "upstream_failed", `Certificate number ${number} from ${client.serverUrl} cannot be read (${(e as Error).message})`, { cause: e });
  }
  if (certs.length === 0) throw new RemoteCaError("not_portcullis", "upstream_failed", `The server at ${client.serverUrl} sent no certificate for number ${number}`);
  const [cert, ...chain] = certs;
  const sha1 = fingerprint(der(cert), "SHA-1");
  if (listed.sha1Fingerprint && listed.sha1Fingerprint.toUpperCase() !== sha1) {
    throw new RemoteCaError("not_portcullis", "upstream_failed", `The server lists certificate number ${number} with the SHA-1 fingerprint ${listed.sha1Fingerprint}, but the file it sent has ${sha1}`);
  }
  const db = await getDb();
  const saved = await db.caClient.findUnique({ where: { id: 1 }, select: { caCertificatePem: true, caSha1Fingerprint: true } });
  if (saved?.caCertificatePem) {
    const savedCa = parseCertificate(saved.caCertificatePem);
    if (chain.length === 0) chain.push(savedCa);
    if (!chain.some((c) => der(c).equals(der(savedCa)))) {
      throw new AppError(
        "conflict",
        `Certificate number ${number} does not chain to the Certificate Authority certificate saved on this instance (SHA-1 Fingerprint: ${saved.caSha1Fingerprint}). Get the Certificate Authority Certificate again first.`,
      );
    }
  }
  return describe(number, "client", cert, chain, { usage: listed.usage, status: listed.status || "valid", filename: listed.filename });
}

/**
 * True when this instance's CA client asks another CA than this instance's CA server
 * (or may: it has not saved the CA certificate yet), so its certificate numbers are not ours.
 */
export async function clientUsesAnotherCa(): Promise<boolean> {
  const db = await getDb();
  const [client, server] = await Promise.all([
    db.caClient.findUnique({ where: { id: 1 }, select: { caSha1Fingerprint: true } }),
    db.caServer.findUnique({ where: { id: 1 }, select: { sha1Fingerprint: true } }),
  ]);
  if (!client) return false;
  return !server || !client.caSha1Fingerprint || client.caSha1Fingerprint !== server.sha1Fingerprint;
}
