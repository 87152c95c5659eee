/** Issued certificates: search and download, for developers (browser or curl). */
import { getDb } from "../db/index.ts";
import { AppError } from "../errors/app-error.ts";
import { X509Certificate as NodeX509Certificate } from "node:crypto";
import { pemToDer } from "../pki/pem.ts";

export interface CertificateView {
  number: number;
  serial: string;
  subject: string;
  issuer: string;
  usage: string;
  hostname: string | null;
  instance: string | null;
  filename: string;
  notBefore: string;
  notAfter: string;
  sha1Fingerprint: string;
  sha256Fingerprint: string;
  status: string;
  /** Only when revoked. */
  revokedAt?: string;
  /** Only when revoked: the RFC 5280 CRLReason name. */
  revocationReason?: string;
}

type BaseKeys = Exclude<keyof CertificateView, "revokedAt" | "revocationReason">;

/** A certificate as the database answers it: the view's fields, with Dates. */
type Row = Omit<Pick<CertificateView, BaseKeys>, "notBefore" | "notAfter"> & { notBefore: Date; notAfter: Date; revokedAt: Date | null; revocationReason: string | null };

/** The columns of a CertificateView, every one of them (the compiler checks). */
const SELECT = {
  ...({ number: true, serial: true, subject: true, issuer: true, usage: true, hostname: true, instance: true, filename: true, notBefore: true, notAfter: true, sha1Fingerprint: true, sha256Fingerprint: true, status: true } as const satisfies Record<BaseKeys, true>),
  revokedAt: true,
  revocationReason: true,
} as const;

export function toCertificateView(r: Row): CertificateView {
  const { revokedAt, revocationReason, ...rest } = r;
  const v: CertificateView = { ...rest, notBefore: r.notBefore.toISOString(), notAfter: r.notAfter.toISOString() };
  if (r.status === "revoked") {
    if (revokedAt) v.revokedAt = revokedAt.toISOString();
    if (revocationReason) v.revocationReason = revocationReason;
  }
  return v;
}

/** Serial search terms: upper-case hex without colons; decimal digits are also read as a decimal serial. */
export function serialCandidates(input: string): string[] {
  const s = input.trim().replace(/^0x/i, "");
  if (!s) return [];
  const out = new Set<string>();
  const hex = s.replace(/[:\s]/g, "").toUpperCase();
  if (/^[0-9A-F]+$/.test(hex)) out.add(hex.replace(/^0+(?=.)/, ""));
  if (/^\d+$/.test(s) && s.length <= 60) {
    let h = BigInt(s).toString(16).toUpperCase();
    if (h.length % 2) h = "0" + h;
    out.add(h.replace(/^0+(?=.)/, ""));
  }
  return [...out];
}

export interface CertificateQuery {
  serial?: string | null;
  number?: string | number | null;
  hostname?: string | null;
  instance?: string | null;
  filename?: string | null;
  cursor?: string | null;
  take?: number;
}

/** Lists certificates matching every given filter, by number, keyset-paginated. */
export async function searchCertificates(q: CertificateQuery): Promise<{ items: CertificateView[]; nextCursor: string | null }> {
  const take = Math.min(Math.max(Math.trunc(Number.isFinite(q.take) ? q.take! : 50), 1), 200); // ?limit=abc is NaN: use the default
  const where: Record<string, unknown> = {};
  if (q.number != null && String(q.number).trim() !== "") {
    const n = Number(String(q.number).trim());
    if (!Number.isInteger(n) || n < 1) throw new AppError("bad_request", "number must be a positive whole number");
    where.number = n;
  }
  if (q.serial?.trim()) {
    const c = serialCandidates(q.serial);
    if (c.length === 0) throw new AppError("bad_request", "serial must be hexadecimal (colons allowed) or decimal");
    // Stored serials have no leading zero octet beyond what DER needs; compare both forms.
    where.serial = { in: c.flatMap((x) => [x, x.length % 2 ? "0" + x : x]) };
  }
  for (const k of ["hostname", "instance", "filename"] as const) {
    const v = q[k]?.trim();
    if (v) where[k] = v;
  }
  let after = 0;
  if (q.cursor) {
    after = Number(q.cursor);
    if (!Number.isInteger(after) || after < 0) throw new AppError("bad_request", "Unknown cursor: pass back the nextCursor of a previous page");
  }
  const db = await getDb();
  const rows = await db.certificate.findMany({ where: { ...where, number: where.number ?? { gt: after } }, select: SELECT, orderBy: { number: "asc" }, take: take + 1 });
  const more = rows.length > take;
  const items = rows.slice(0, take);
  return { items: items.map(toCertificateView), nextCursor: more ? String(items.at(-1)!.number) : null };
}

export async function getCertificate(number: number): Promise<CertificateView & { pem: string }> {
  if (!Number.isInteger(number) || number < 1) throw new AppError("not_found", "No such certificate");
  const db = await getDb();
  const r = await db.certificate.findUnique({ where: { number }, select: { ...SELECT, pem: true } });
  if (!r) throw new AppError("not_found", `No certificate number ${number}`);
  return { ...toCertificateView(r), pem: r.pem };
}

export interface CertificateDetails extends CertificateView {
  pem: string;
  commonName: string | null;
  requestId: string;
  contact: { name: string; email: string | null };
  issuedAt: string;
  issuedBy: string;
  verifiedBy: string;
  verifiedAt: string;
  verifiedChannel: string;
  verifiedNote: string | null;
  revokedBy: string | null;
}

/** One certificate with its record (issuance, verification, revocation), for the admin's certificate page. */
export async function getCertificateDetails(number: number): Promise<CertificateDetails> {
  if (!Number.isSafeInteger(number) || number < 1) throw new AppError("not_found", "No such certificate");
  const db = await getDb();
  const r = await db.certificate.findUnique({ where: { number } });
  if (!r) throw new AppError("not_found", `No certificate number ${number}`);
  return {
    ...toCertificateView(r),
    pem: r.pem,
    commonName: r.commonName,
    requestId: r.requestId,
    contact: { name: r.contactName, email: r.contactEmail },
    issuedAt: r.issuedAt.toISOString(),
    issuedBy: r.issuedBy,
    verifiedBy: r.verifiedBy,
    verifiedAt: r.verifiedAt.toISOString(),
    verifiedChannel: r.verifiedChannel,
    verifiedNote: r.verifiedNote,
    revokedBy: r.revokedBy,
  };
}

export type CertificateFormat = "pem" | "der" | "chain";

/**
 * The certificate file in the asked format, with a file name that says what it is:
 * `chain` is the certificate, the CA certificate and the CA's issuers, root last.
 */
export async function certificateFile(number: number, format: string): Promise<{ body: Uint8Array | string; contentType: string; filename: string }> {
  if (format !== "pem" && format !== "der" && format !== "chain") throw new AppError("bad_request", "format must be pem, der or chain");
  const c = await getCertificate(number);
  if (format === "der") return { body: new Uint8Array(pemToDer(c.pem, "CERTIFICATE")), contentType: "application/pkix-cert", filename: `${c.filename}.der` };
  if (format === "pem") return { body: c.pem, contentType: "application/x-pem-file", filename: `${c.filename}.cer` };
  const db = await getDb();
  const ca = await db.caServer.findUnique({ where: { id: 1 }, select: { certificatePem: true, caChainPem: true } });
  if (!ca) throw new AppError("not_configured", "The CA certificate is not available: the CA server was reinitialized");
  // Leaf, the CA that issued it, then the CA's own issuers up to the root (for an intermediate CA).
  return { body: c.pem + ca.certificatePem + (ca.caChainPem ?? ""), contentType: "application/x-pem-file", filename: `${c.filename}-chain.pem` };
}

/** The subject alternative names of a certificate (PEM), as "DNS:…", "IP:…", "email:…", "URI:…". */
export function certificateSans(pem: string): string[] {
  const text = new NodeX509Certificate(pem).subjectAltName;
  if (!text) return [];
  return text
    .split(/,\s*(?=(?:DNS|IP Address|email|URI|othername|DirName|Registered ID):)/)
    .map((s) => s.trim().replace(/^IP Address:/, "IP:"))
    .filter(Boolean);
}
