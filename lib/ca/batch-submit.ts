/**
 * Bulk enrolment: many certificate signing requests (a fleet's devices, a rollout's hosts)
 * submitted in one call by an administrator, stored as one submission batch. The batch is
 * all or nothing: every request is checked as a single submission is, and one that fails
 * (or a CSR already waiting in the queue) refuses the whole batch with every problem
 * named by its position; nothing is stored. The administrator gets one mail for the
 * batch, and `POST /api/v1/admin/csrs/bulk-issue {batchId}` issues it.
 */
import { randomUUID } from "node:crypto";
import { getDb } from "../db/index.ts";
import { insertMany } from "../db/insert-many.ts";
import { isUniqueViolation } from "../db/unique-violation.ts";
import { AppError, isAppError, type FieldErrors } from "../errors/app-error.ts";
import { env } from "../env.ts";
import type { SubmittedCsr } from "../pki/worker/jobs.ts";
import { checkSubmittedCsrs } from "../pki/worker/pool.ts";
import { deliverMail, enqueueMail } from "../mail/outbox.ts";
import { batchReceivedEmail } from "../mail/templates/batch-received.ts";
import { appendAudit } from "../audit/audit-log.ts";
import { bareBase64ToDer, pendingRow, validateRequestFields, type SubmitRequestInput } from "./requests.ts";
import { portalBase, requireCaServer, smtpOf } from "./server-context.ts";

/** Requests one batch holds at most. */
export const BATCH_SUBMIT_MAX = 1000;
/** The largest body the batch route reads: 1000 PEM requests with their fields fit well inside. */
export const BATCH_SUBMIT_MAX_BYTES = 4 * 1024 * 1024;
/** Problems named in the answer at most; the message gives the total. */
const MAX_REPORTED = 100;

export interface BatchSubmitInput {
  /** Each as POST /api/v1/csrs takes it; `contact`, `hostname` and `instance` default to the batch's. */
  requests?: unknown;
  contact?: SubmitRequestInput["contact"];
  hostname?: unknown;
  instance?: unknown;
}

export interface BatchSubmitResult {
  batchId: string;
  count: number;
  requests: { id: string; status: "pending"; filename: string; sha1Fingerprint: string; sha256Fingerprint: string }[];
}

interface Checked {
  id: string;
  csr: SubmittedCsr;
  fields: ReturnType<typeof validateRequestFields>;
}

export async function submitBatch(input: BatchSubmitInput, opts: { actor: string; ip?: string | null; portalUrl?: string; now?: Date }): Promise<BatchSubmitResult> {
  const items = input?.requests;
  if (!Array.isArray(items) || items.length === 0) throw new AppError("validation_failed", "Send the requests as a non-empty list", { field: "requests" });
  if (items.length > BATCH_SUBMIT_MAX) throw new AppError("validation_failed", `Send at most ${BATCH_SUBMIT_MAX} requests per batch; this one has ${items.length}`, { field: "requests" });

  const errors: FieldErrors = {};
  let problems = 0;
  const problem = (key: string, message: string) => {
    problems++;
    if (problems <= MAX_REPORTED) errors[key] = message;
  };
  const checked: Checked[] = [];
  const seen = new Map<string, number>();
  // The CSRs are checked in full first, over the PKI worker threads when there are some.
  const csrInputs = items.map((raw) => (raw && typeof raw === "object" && typeof (raw as SubmitRequestInput).csr === "string" ? bareBase64ToDer((raw as SubmitRequestInput).csr as string) : null));
  const present = csrInputs.filter((c): c is string | Uint8Array => c !== null);
  const outcomes = await checkSubmittedCsrs(present);
  let next = 0;
  for (const [i, raw] of items.entries()) {
    const at = `requests[${i}]`;
    const outcome = csrInputs[i] === null ? null : outcomes[next++]!;
    if (!raw || typeof raw !== "object" || Array.isArray(raw)) {
      problem(at, `Request ${i + 1} must be an object with csr, contact and filename`);
      continue;
    }
    const item = raw as SubmitRequestInput;
    const merged: SubmitRequestInput = { ...item, contact: item.contact ?? input.contact, hostname: item.hostname ?? input.hostname, instance: item.instance ?? input.instance };
    let fields: Checked["fields"] | null = null;
    let csr: SubmittedCsr | null = null;
    try {
      fields = validateRequestFields(merged);
    } catch (e) {
      if (!isAppError(e)) throw e;
      for (const [field, message] of Object.entries(e.fields ?? { [e.field ?? "request"]: e.message })) problem(`${at}.${field}`, `Request ${i + 1}: ${message}`);
    }
    if (outcome === null) problem(`${at}.csr`, `Request ${i + 1}: Send the CSR as PEM text`);
    else if ("error" in outcome) {
      if (!isAppError(outcome.error)) throw outcome.error;
      problem(`${at}.csr`, `Request ${i + 1}: ${outcome.error.message}`);
    } else csr = outcome.ok;
    if (!csr || !fields) continue;
    const earlier = seen.get(csr.sha256Fingerprint);
    if (earlier !== undefined) {
      problem(`${at}.csr`, `Request ${i + 1}: the same CSR as request ${earlier + 1}`);
      continue;
    }
    seen.set(csr.sha256Fingerprint, i);
    checked.push({ id: randomUUID(), csr, fields });
  }
  if (problems > 0) {
    throw new AppError("validation_failed", `${problems} problem${problems === 1 ? "" : "s"} in the batch of ${items.length} request${items.length === 1 ? "" : "s"}; nothing was stored${problems > MAX_REPORTED ? ` (the first ${MAX_REPORTED} are listed)` : ""}`, { fields: errors });
  }

  const db = await getDb();
  const now = opts.now ?? new Date();
  const batchId = randomUUID();
  const base = portalBase(env().PORTCULLIS_PUBLIC_URL ?? opts.portalUrl);
  let mailId: string | null = null;
  try {
    await db.$transaction(
      async (tx) => {
        const ca = await requireCaServer(tx);
        const waiting = await tx.certificateRequest.findMany({ where: { pendingKey: { in: checked.map((c) => c.csr.sha256Fingerprint) } }, select: { id: true, pendingKey: true } });
        if (waiting.length > 0) throw alreadyWaiting(waiting, checked, items.length);
        // One millisecond apart: the queue, and bulk issuance, take the batch in the order it was sent.
        await insertMany(tx, "CertificateRequest", checked.map((c, i) => ({ ...pendingRow(c.id, c.csr, c.fields, new Date(now.getTime() + i), opts.ip), batchId })));
        const instances = [...new Set(checked.map((c) => c.fields.instance).filter((x): x is string => !!x))];
        await appendAudit(tx, { action: "request.batch-submit", actor: opts.actor, target: `batch:${batchId}`, details: { count: checked.length, instances: instances.slice(0, 50) }, ip: opts.ip, at: now });
        const smtp = smtpOf(ca);
        if (smtp) {
          const mail = batchReceivedEmail({ batchId, count: checked.length, submittedBy: opts.actor, instances, queueUrl: base ? `${base}/ca-server/requests` : undefined });
          mailId = await enqueueMail(tx, { kind: "batch-received", to: ca.adminEmail, ...mail, smtp });
        }
      },
      { maxWait: 10_000, timeout: 30_000 },
    );
  } catch (e) {
    // A CSR submitted by someone else between the check and the insert.
    if (isUniqueViolation(e)) throw new AppError("conflict", "A request of this batch was submitted meanwhile and is already waiting in the queue; nothing was stored. Send the batch again", { field: "requests" });
    throw e;
  }
  if (mailId) void deliverMail(mailId).catch(() => undefined);
  return {
    batchId,
    count: checked.length,
    requests: checked.map((c) => ({ id: c.id, status: "pending" as const, filename: c.fields.filename, sha1Fingerprint: c.csr.sha1Fingerprint, sha256Fingerprint: c.csr.sha256Fingerprint })),
  };
}

function alreadyWaiting(waiting: { id: string; pendingKey: string | null }[], checked: Checked[], total: number): AppError {
  const byKey = new Map(waiting.map((w) => [w.pendingKey, w.id]));
  const fields: FieldErrors = {};
  let n = 0;
  checked.forEach((c, i) => {
    const id = byKey.get(c.csr.sha256Fingerprint);
    if (id && n++ < MAX_REPORTED) fields[`requests[${i}].csr`] = `This Certificate Signing Request is already waiting in the queue (request ${id})`;
  });
  return new AppError("conflict", `${waiting.length} of the ${total} requests ${waiting.length === 1 ? "is" : "are"} already waiting in the queue; nothing was stored`, { fields });
}
