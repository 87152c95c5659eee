/**
 * The CPU work of a fleet, as plain-data jobs: checking submitted CSRs in full, and
 * building, linting and signing certificates for stored requests. The same functions run
 * on the server's main thread or in the PKI worker threads (pool.ts): what goes in and
 * comes out survives postMessage (no classes), and errors travel as `JobError`s.
 */
import type { KeyObject } from "node:crypto";
import { AppError, type AppErrorCode, type FieldErrors } from "../../errors/app-error.ts";
import { parseCsr, type ParsedCsr } from "../csr.ts";
import { leanReadAcceptedCsr, pemBody } from "../der.mjs";
import { fingerprint } from "../fingerprint.ts";
import { keyAlgorithmName, type IssuableCsr } from "../fast-issue.ts";
import { issueLintedCertificate, withParsedCertificate, type CheckedCertificate } from "../preview.ts";
import type { Usage } from "../profiles.ts";
import { x509 } from "../setup.ts";

/** What a request row keeps of a submitted CSR (see lib/ca/requests.ts pendingRow). */
export type SubmittedCsr = Pick<ParsedCsr, "pem" | "subject" | "commonName" | "sans" | "sha1Fingerprint" | "sha256Fingerprint"> & { publicKey: Pick<ParsedCsr["publicKey"], "label"> };

/** An error as it crosses a thread: an AppError keeps its code and fields. */
export interface JobError {
  app: boolean;
  code: AppErrorCode;
  message: string;
  field?: string;
  fields?: FieldErrors;
}

export type JobResult<T> = { ok: T } | { error: JobError };

export function toJobError(e: unknown): JobError {
  if (e instanceof AppError) return { app: true, code: e.code, message: e.message, field: e.field, fields: e.fields };
  return { app: false, code: "internal_error", message: (e as Error)?.message ?? String(e) };
}

export function fromJobError(e: JobError): Error {
  return e.app ? new AppError(e.code, e.message, { field: e.field, fields: e.fields }) : new Error(e.message);
}

/** The full check of a submitted CSR (parseCsr: structure, signature, key, names). */
export async function checkSubmittedCsr(csr: string | Uint8Array): Promise<SubmittedCsr> {
  const p = await parseCsr(csr, "csr");
  return { pem: p.pem, subject: p.subject, commonName: p.commonName, sans: p.sans, sha1Fingerprint: p.sha1Fingerprint, sha256Fingerprint: p.sha256Fingerprint, publicKey: { label: p.publicKey.label } };
}

/** What every certificate of one signing job shares. */
export interface SignSettings {
  usage: Usage;
  validityDays: number;
  now: Date;
  crlUrl?: string;
  ocspUrl?: string;
  caIssuersUrl?: string;
}

/** A stored request, as signing needs it. */
export interface SignItem {
  csrPem: string;
  commonName: string | null;
  /** Of the CSR's DER, recorded when the CSR was checked in full at submission. */
  sha256Fingerprint: string;
}

/** A CheckedCertificate as it crosses a thread: without its parsed-certificate accessor (a class) and its DER (the PEM holds it). */
export type SignedCertificate = Omit<CheckedCertificate, "certificate" | "der">;

/**
 * A stored request's CSR, checked in full (its signature included) when it was submitted,
 * read again with the lean reader. These must be the bytes that were checked and whose
 * fingerprint the administrator compared with the contact's: a CSR whose SHA-256 no longer
 * matches the one recorded then is refused. The stored common name is used.
 */
export function issuableCsr(item: SignItem): IssuableCsr | Promise<ParsedCsr> {
  let der: Buffer;
  try {
    der = pemBody(item.csrPem);
  } catch {
    der = Buffer.alloc(0);
  }
  if (fingerprint(der, "SHA-256") !== item.sha256Fingerprint) {
    throw new AppError("validation_failed", "The stored CSR of this request does not match the fingerprint recorded when it was submitted; it was altered, and nothing was issued");
  }
  try {
    const lean = leanReadAcceptedCsr(der);
    return { subjectDer: lean.subjectDer, spkiDer: lean.spkiDer, commonName: item.commonName, sans: lean.sans, publicKey: { algorithm: keyAlgorithmName(lean.keyType) } };
  } catch {
    // What the lean reader does not cover (an RSASSA-PSS signature): the full reader.
    return parseCsr(item.csrPem);
  }
}

/**
 * Builds, lints and signs the certificate for one stored request (nothing stored). The new
 * signature is checked with the CA certificate when `checkSignature` is true: always for a
 * single issuance, and for the first certificate of each run of a batch (signItems), which
 * proves that this key, certificate and algorithm make signatures that verify. Checking
 * every one of a fleet's certificates would cost a third of their signing time; OpenSSL
 * checks an RSA signature's CRT result itself, and `openssl ca` checks none.
 */
export async function signItem(item: SignItem, s: SignSettings, ca: { certificate: x509.X509Certificate; privateKey: KeyObject }, checkSignature = true): Promise<CheckedCertificate> {
  const csr = await issuableCsr(item);
  // Linted before the CA key signs: lint errors refuse the issuance here, before anything is stored.
  return issueLintedCertificate({ csr, usage: s.usage, ca, validityDays: s.validityDays, now: s.now, crlUrl: s.crlUrl, ocspUrl: s.ocspUrl, caIssuersUrl: s.caIssuersUrl, checkSignature });
}

export function withoutCertificate(c: CheckedCertificate): SignedCertificate {
  return { pem: c.pem, serial: c.serial, notBefore: c.notBefore, notAfter: c.notAfter, sha1Fingerprint: c.sha1Fingerprint, sha256Fingerprint: c.sha256Fingerprint, lintWarnings: c.lintWarnings };
}

/** A certificate back from a worker, with the accessor again; its DER is read from the PEM when first asked for (a fleet's storing never does). */
export function withCertificate(s: SignedCertificate): CheckedCertificate {
  return withParsedCertificate(s);
}

/**
 * Runs both jobs on a throwaway CA and CSRs `rounds` times, so that a worker's first real
 * batch does not pay for loading and compiling the code (about 0.5 ms a request, cold).
 */
export async function warmUp(rounds: number): Promise<void> {
  const { generateKeyPair } = await import("../keys.ts");
  const { createSelfSignedCa } = await import("../certificates.ts");
  const { createCsr } = await import("../../client/create-csr.ts");
  const keys = await generateKeyPair("ecdsa-p256");
  const ca = await createSelfSignedCa({ subject: { CN: "Portcullis worker warm-up" }, keys, validityDays: 2 });
  // Several shapes of request, so that the compiled code fits what fleets send.
  const shapes = [
    { subject: { CN: "warm-up-0.invalid" }, keyAlgorithm: "ecdsa-p256", sans: ["DNS:warm-up-0.invalid"] },
    { subject: { C: "US", O: "Warm-up", OU: "Devices", CN: "warm-up-1.invalid" }, keyAlgorithm: "ecdsa-p256", sans: ["DNS:warm-up-1.invalid", "DNS:www.warm-up-1.invalid", "IP:192.0.2.1"] },
    { subject: { O: "Warm-up", CN: "warm-up-2.invalid" }, keyAlgorithm: "ecdsa-p384", sans: ["DNS:warm-up-2.invalid", "IP:2001:db8::1"] },
    { subject: { CN: "warm-up-3.invalid" }, keyAlgorithm: "ecdsa-p256", sans: [] },
  ];
  const csrs = await Promise.all(shapes.map((shape) => createCsr(shape)));
  const signer = { certificate: new x509.X509Certificate(new Uint8Array(ca.der)), privateKey: keys.privateKey };
  const settings: SignSettings = { usage: "tls", validityDays: 1, now: new Date(), crlUrl: "http://warm-up.invalid/crl", ocspUrl: "http://warm-up.invalid/ocsp" };
  for (let i = 0; i < rounds; i++) {
    const c = csrs[i % csrs.length]!;
    await checkSubmittedCsr(c.csrPem);
    await signItem({ csrPem: c.csrPem, commonName: c.csr.commonName, sha256Fingerprint: c.csr.sha256Fingerprint }, settings, signer);
  }
}
