/**
 * The certificate signing request queue of the CA server: submit (anyone), read one
 * (anyone holding its id), list the pending ones and delete (administrators).
 */
import { randomUUID } from "node:crypto";
import { getDb, type Db } from "../db/index.ts";
import { AppError, type FieldErrors } from "../errors/app-error.ts";
import { decodeTimeCursor, encodeTimeCursor } from "../pagination/time-cursor.ts";
import { env } from "../env.ts";
import { parseCsr, sanToString, type ParsedCsr } from "../pki/csr.ts";
import type { SubmittedCsr } from "../pki/worker/jobs.ts";
import { enqueueMail, deliverMail } from "../mail/outbox.ts";
import { requestReceivedEmail } from "../mail/templates/request-received.ts";
import { fileNameRootProblem } from "./file-name-root.ts";
import { emailProblem, HOST_PATTERN, str } from "./validation.ts";
import { appendAudit } from "../audit/audit-log.ts";
import { portalBase, requireCaServer, smtpOf } from "./server-context.ts";
import { isUniqueViolation } from "../db/unique-violation.ts";

export type RequestStatus = "pending" | "issued" | "deleted";

export interface RequestView {
  id: string;
  status: RequestStatus;
  subject: string;
  contact: { name: string; phone: string | null; email: string | null };
  hostname: string | null;
  instance: string | null;
  filename: string;
  sha1Fingerprint: string;
  sha256Fingerprint: string;
  receivedAt: string;
  certificateNumber?: number;
  /** The certificate this request renews (same common name), when it is a renewal. */
  renewalOf?: number;
  /** The submission batch (POST /api/v1/admin/csrs/batch) it came in, if any. */
  batchId?: string;
}

export interface SubmitRequestInput {
  csr?: unknown;
  contact?: { name?: unknown; phone?: unknown; email?: unknown } | null;
  hostname?: unknown;
  instance?: unknown;
  filename?: unknown;
}

type Row = Awaited<ReturnType<Db["certificateRequest"]["findUniqueOrThrow"]>>;

/** The columns a RequestView is made of: list pages read these and not the CSR itself. */
export const REQUEST_VIEW_SELECT = {
  id: true,
  status: true,
  subject: true,
  contactName: true,
  contactPhone: true,
  contactEmail: true,
  hostname: true,
  instance: true,
  filename: true,
  sha1Fingerprint: true,
  sha256Fingerprint: true,
  receivedAt: true,
  certificateNumber: true,
  renewalOf: true,
  batchId: true,
} as const;

type ViewRow = Pick<Row, keyof typeof REQUEST_VIEW_SELECT>;

export function toRequestView(r: ViewRow): RequestView {
  const v: RequestView = {
    id: r.id,
    status: r.status as RequestStatus,
    subject: r.subject,
    contact: { name: r.contactName, phone: r.contactPhone, email: r.contactEmail },
    hostname: r.hostname,
    instance: r.instance,
    filename: r.filename,
    sha1Fingerprint: r.sha1Fingerprint,
    sha256Fingerprint: r.sha256Fingerprint,
    receivedAt: r.receivedAt.toISOString(),
  };
  if (r.certificateNumber != null) v.certificateNumber = r.certificateNumber;
  if (r.renewalOf != null) v.renewalOf = r.renewalOf;
  if (r.batchId != null) v.batchId = r.batchId;
  return v;
}

const CONTROL = /[\u0000-\u001f\u007f-\u009f]/;
const PHONE = /^[0-9+()./ x-]{3,40}$/i;
const INSTANCE = /^[A-Za-z0-9][A-Za-z0-9 ._:-]{0,63}$/;

function optional(v: unknown): string | null {
  const s = str(v).trim();
  return s ? s : null;
}

/** Validates the fields around the CSR; returns them trimmed, or throws every problem at once. */
export function validateRequestFields(input: SubmitRequestInput): { contactName: string; contactPhone: string | null; contactEmail: string | null; hostname: string | null; instance: string | null; filename: string } {
  const errors: FieldErrors = {};
  if (input.contact != null && (typeof input.contact !== "object" || Array.isArray(input.contact))) errors.contact = "contact must be an object with name, phone and email";
  const c = (input.contact ?? {}) as NonNullable<SubmitRequestInput["contact"]>;
  const contactName = str(c.name).trim();
  if (!contactName) errors["contact.name"] = "Enter the technical contact's name";
  else if (contactName.length > 128 || CONTROL.test(contactName)) errors["contact.name"] = "Use at most 128 characters, without control characters";
  const contactPhone = optional(c.phone);
  if (contactPhone && !PHONE.test(contactPhone)) errors["contact.phone"] = "Enter a phone number of digits, spaces and + ( ) . - x";
  const contactEmail = optional(c.email);
  const ep = emailProblem(contactEmail, false);
  if (ep) errors["contact.email"] = ep;
  const hostname = optional(input.hostname);
  if (hostname && (hostname.length > 253 || !HOST_PATTERN.test(hostname))) errors.hostname = "Enter a host name such as server1.example.com";
  const instance = optional(input.instance);
  if (instance && !INSTANCE.test(instance)) errors.instance = "Use up to 64 letters, digits, spaces and . _ : -";
  const filename = str(input.filename).trim();
  const fp = fileNameRootProblem(filename);
  if (fp) errors.filename = fp;
  if (Object.keys(errors).length) throw AppError.validation(errors);
  return { contactName, contactPhone, contactEmail: contactEmail, hostname, instance, filename };
}

/**
 * Submits a CSR to the queue. The administrator is e-mailed; the fingerprint is returned to read back.
 * With `renewalOf`, the request renews that certificate: refused when it does not exist (not_found)
 * or is revoked (conflict), and when the CSR's common name is not exactly the original's.
 */
export async function submitRequest(input: SubmitRequestInput, opts: { ip?: string | null; portalUrl?: string; now?: Date; renewalOf?: number } = {}): Promise<RequestView> {
  const db = await getDb();
  const original = opts.renewalOf === undefined ? null : await renewableCertificate(db, opts.renewalOf);
  const fields = validateRequestFields(input);
  if (typeof input.csr !== "string" && !(input.csr instanceof Uint8Array)) throw new AppError("validation_failed", "Send the CSR as PEM text", { field: "csr" });
  const csr = await parseCsr(bareBase64ToDer(input.csr), "csr");
  if (original && csr.commonName !== original.commonName) {
    throw new AppError("validation_failed", `The common name must stay "${original.commonName ?? ""}" for a renewal`, { field: "csr" });
  }
  const base = portalBase(env().PORTCULLIS_PUBLIC_URL ?? opts.portalUrl);
  const now = opts.now ?? new Date();
  const id = randomUUID();
  let mailId: string | null = null;
  let row: Row;
  try {
    row = await db.$transaction(async (tx) => {
      const ca = await requireCaServer(tx);
      const created = await tx.certificateRequest.create({
        data: { ...pendingRow(id, csr, fields, now, opts.ip), ...(original ? { renewalOf: original.number } : {}) },
      });
      const smtp = smtpOf(ca);
      if (smtp) {
        const mail = requestReceivedEmail({
          subject: csr.subject,
          filename: fields.filename,
          contact: { name: fields.contactName, phone: fields.contactPhone, email: fields.contactEmail },
          hostname: fields.hostname,
          instance: fields.instance,
          sha1Fingerprint: csr.sha1Fingerprint,
          sha256Fingerprint: csr.sha256Fingerprint,
          processUrl: base ? `${base}/ca-server/requests/${id}` : undefined,
        });
        mailId = await enqueueMail(tx, { kind: "request-received", to: ca.adminEmail, ...mail, smtp });
      }
      return created;
    });
  } catch (e) {
    if (isUniqueViolation(e)) {
      const existing = await db.certificateRequest.findUnique({ where: { pendingKey: csr.sha256Fingerprint }, select: { id: true } });
      throw new AppError("conflict", `This Certificate Signing Request is already waiting in the queue${existing ? ` (request ${existing.id})` : ""}`, { field: "csr" });
    }
    throw e;
  }
  if (mailId) void deliverMail(mailId).catch(() => undefined);
  return toRequestView(row);
}

/** The row of a new pending request. */
export function pendingRow(id: string, csr: SubmittedCsr, fields: ReturnType<typeof validateRequestFields>, now: Date, ip?: string | null) {
  return {
    id,
    status: "pending",
    csrPem: csr.pem,
    subject: csr.subject,
    commonName: csr.commonName,
    sans: JSON.stringify(csr.sans.map(sanToString)),
    keyLabel: csr.publicKey.label,
    sha1Fingerprint: csr.sha1Fingerprint,
    sha256Fingerprint: csr.sha256Fingerprint,
    ...fields,
    receivedAt: now,
    submitterIp: ip?.slice(0, 64) ?? null,
    pendingKey: csr.sha256Fingerprint,
  };
}

/** The certificate a renewal names: it must exist and not be revoked. */
async function renewableCertificate(db: Db, number: number): Promise<{ number: number; commonName: string | null }> {
  if (!Number.isSafeInteger(number) || number < 1) throw new AppError("not_found", `No certificate number ${String(number)}`);
  const c = await db.certificate.findUnique({ where: { number }, select: { number: true, commonName: true, status: true } });
  if (!c) throw new AppError("not_found", `No certificate number ${number}`);
  if (c.status === "revoked") throw new AppError("conflict", `Certificate number ${number} is revoked and cannot be renewed; submit a new Certificate Signing Request instead`);
  return { number: c.number, commonName: c.commonName };
}

/** A CSR sent as base64 DER without PEM armour is read as DER. */
export function bareBase64ToDer(csr: string | Uint8Array): string | Uint8Array {
  if (typeof csr !== "string") return csr;
  const t = csr.replace(/\s+/g, "");
  return !csr.includes("-----") && t.length > 0 && /^[A-Za-z0-9+/]+={0,2}$/.test(t) ? new Uint8Array(Buffer.from(t, "base64")) : csr;
}


export async function getRequest(id: string): Promise<RequestView> {
  if (!/^[0-9a-f-]{36}$/i.test(id)) throw new AppError("not_found", "No such request");
  const db = await getDb();
  const r = await db.certificateRequest.findUnique({ where: { id } });
  if (!r) throw new AppError("not_found", "No such request");
  return toRequestView(r);
}

export interface RequestDetails extends RequestView {
  csrPem: string;
  csr: ParsedCsr;
  processedAt: string | null;
  processedBy: string | null;
}

/** One request with its CSR decoded, for the Process page. */
export async function getRequestDetails(id: string): Promise<RequestDetails> {
  if (!/^[0-9a-f-]{36}$/i.test(id)) throw new AppError("not_found", "No such request");
  const db = await getDb();
  const r = await db.certificateRequest.findUnique({ where: { id } });
  if (!r) throw new AppError("not_found", "No such request");
  return { ...toRequestView(r), csrPem: r.csrPem, csr: await parseCsr(r.csrPem), processedAt: r.processedAt?.toISOString() ?? null, processedBy: r.processedBy };
}

export interface Page<T> {
  items: T[];
  nextCursor: string | null;
  /** The number of pending requests, counted up to TOTAL_CAP. */
  total: number;
  /** True when there are more than `total` (the count stopped at TOTAL_CAP). */
  totalCapped: boolean;
}

/**
 * Counting stops here. An exact count reads the whole (status, receivedAt, id) index on every
 * page: at 100,000 pending that is most of a page's cost, and more while a burst of submissions
 * is not yet vacuumed (PostgreSQL then reads the table too). Past a thousand the exact length
 * changes nothing an operator does (a fleet's requests are issued by submission batch), so
 * "1,000+" is as useful and keeps a page's cost the same at any queue length (README,
 * Benchmarks, row f).
 */
export const TOTAL_CAP = 1_000;

function encodeCursor(receivedAt: Date, id: string): string {
  return encodeTimeCursor(receivedAt, id);
}

function decodeCursor(cursor: string): { receivedAt: Date; id: string } {
  const { at, id } = decodeTimeCursor(cursor);
  return { receivedAt: at, id };
}

/**
 * The pending queue, oldest first (newest last), keyset-paginated on (receivedAt, id) along the
 * index (status, receivedAt, id). The keyset condition is written `receivedAt >= a AND
 * (receivedAt > a OR id > b)` rather than `receivedAt > a OR (receivedAt = a AND id > b)`:
 * both databases turn the first into an index range that starts at the cursor, while the
 * second makes PostgreSQL and SQLite walk the index from the first pending row.
 */
export async function listPendingRequests(opts: { cursor?: string | null; take?: number; /** Only the requests of this submission batch. */ batchId?: string | null } = {}): Promise<Page<RequestView>> {
  const take = Math.min(Math.max(Math.trunc(Number.isFinite(opts.take) ? opts.take! : 50), 1), 200); // ?limit=abc is NaN: use the default
  const db = await getDb();
  const after = opts.cursor ? decodeCursor(opts.cursor) : null;
  if (opts.batchId && opts.batchId.length > 100) throw new AppError("bad_request", "Unknown submission batch");
  const batch = opts.batchId ? { batchId: opts.batchId } : {};
  const where = {
    status: "pending",
    ...batch,
    ...(after ? { receivedAt: { gte: after.receivedAt }, OR: [{ receivedAt: { gt: after.receivedAt } }, { id: { gt: after.id } }] } : {}),
  };
  const [rows, counted] = await Promise.all([
    db.certificateRequest.findMany({ where, select: REQUEST_VIEW_SELECT, orderBy: [{ receivedAt: "asc" }, { id: "asc" }], take: take + 1 }),
    // The order keeps the capped count on the index: without one, Prisma orders by id and the database sorts every pending row.
    db.certificateRequest.count({ where: { status: "pending", ...batch }, orderBy: [{ receivedAt: "asc" }, { id: "asc" }], take: TOTAL_CAP + 1 }),
  ]);
  const more = rows.length > take;
  const items = rows.slice(0, take);
  const last = items.at(-1);
  const totalCapped = counted > TOTAL_CAP;
  return { items: items.map(toRequestView), nextCursor: more && last ? encodeCursor(last.receivedAt, last.id) : null, total: totalCapped ? TOTAL_CAP : counted, totalCapped };
}

/** Deletes (rejects) a pending request; it stays in the record as deleted. */
export async function deleteRequest(id: string, actor: string, now = new Date()): Promise<RequestView> {
  const db = await getDb();
  const r = await db.$transaction(async (tx) => {
    const res = await tx.certificateRequest.updateMany({ where: { id, status: "pending" }, data: { status: "deleted", pendingKey: null, processedAt: now, processedBy: actor } });
    if (res.count === 1) {
      const req = await tx.certificateRequest.findUniqueOrThrow({ where: { id }, select: { subject: true, sha1Fingerprint: true, contactName: true } });
      await appendAudit(tx, { action: "request.delete", actor, target: `request:${id}`, details: { subject: req.subject, sha1: req.sha1Fingerprint, contact: req.contactName }, at: now });
    }
    return res;
  });
  if (r.count === 0) {
    const existing = await db.certificateRequest.findUnique({ where: { id }, select: { status: true } });
    if (!existing) throw new AppError("not_found", "No such request");
    throw new AppError("conflict", `The request was already ${existing.status}`);
  }
  return getRequest(id);
}
