/**
 * Bulk issuance: many pending requests (a fleet's submission batch) issued with one entry
 * of the CA key's password. The key is decrypted once, lives in memory for the batch only,
 * and every request goes through the same path as a single issuance (lint before signing,
 * claim of the request, number allocated in the storing transaction).
 *
 * Progress needs no state of its own: a batch is a list of request ids, and the ones no
 * longer pending are done. Running the same selection again resumes an interrupted batch
 * (issued requests are skipped, the pending ones issued).
 */
import { getDb } from "../db/index.ts";
import { AppError, isAppError, type AppErrorCode } from "../errors/app-error.ts";
import { recordAudit } from "../audit/audit-log.ts";
import { afterUnlock, issueWithUnlockedCa, mirrorSrl, validateIssueInput, type IssueInput } from "./issue-request.ts";
import { requireCaServer, unlockCa } from "./server-context.ts";

/** Requests one call handles at most; larger batches are sent in several calls. */
export const BULK_ISSUE_MAX = 1000;
/** Issuances in flight at once inside a batch. */
export const BULK_ISSUE_CONCURRENCY = 4;

export interface BulkIssueInput extends IssueInput {
  /** The requests to issue, or */
  ids?: unknown;
  /** every pending request (oldest first, at most BULK_ISSUE_MAX), optionally of one submission batch: */
  all?: unknown;
  instance?: unknown;
  hostname?: unknown;
  contactEmail?: unknown;
}

export interface BulkIssueResult {
  requested: number;
  issued: { id: string; number: number }[];
  /** Requests that were not pending (already issued, deleted, unknown): nothing to do. */
  skipped: { id: string; reason: string }[];
  /** Requests that stay pending: the issuance refused them (lint, usage rule, …). */
  failed: { id: string; code: AppErrorCode; message: string }[];
}

export interface BulkIssueOptions {
  actor: string;
  portalUrl?: string;
  now?: Date;
  concurrency?: number;
  /** Stops taking new requests once aborted; those in flight finish. */
  signal?: AbortSignal;
  /** Called after each request is done (issued, skipped or failed). */
  onProgress?: (done: number, requested: number) => void;
}

function optionalText(v: unknown, field: string, errors: Record<string, string>): string | undefined {
  if (v === undefined || v === null || v === "") return undefined;
  if (typeof v !== "string" || v.length > 255) {
    errors[field] = `${field} must be text of at most 255 characters`;
    return undefined;
  }
  return v;
}

async function selectIds(input: BulkIssueInput): Promise<string[]> {
  const errors: Record<string, string> = {};
  const all = input.all === true || input.all === "true";
  if (input.ids !== undefined && input.ids !== null) {
    if (all) errors.ids = "Send either ids or all, not both";
    else if (!Array.isArray(input.ids) || input.ids.some((x) => typeof x !== "string" || x.length === 0 || x.length > 100)) errors.ids = "ids must be a list of request ids";
    else if (input.ids.length === 0) errors.ids = "Select at least one request";
    else if (input.ids.length > BULK_ISSUE_MAX) errors.ids = `Send at most ${BULK_ISSUE_MAX} request ids per call`;
  } else if (!all) {
    errors.ids = "Select the requests to issue (ids), or all pending ones (all: true)";
  }
  const instance = optionalText(input.instance, "instance", errors);
  const hostname = optionalText(input.hostname, "hostname", errors);
  const contactEmail = optionalText(input.contactEmail, "contactEmail", errors);
  if (Object.keys(errors).length) throw AppError.validation(errors);
  if (!all) return [...new Set(input.ids as string[])];
  const db = await getDb();
  const rows = await db.certificateRequest.findMany({
    where: { status: "pending", ...(instance ? { instance } : {}), ...(hostname ? { hostname } : {}), ...(contactEmail ? { contactEmail } : {}) },
    orderBy: [{ receivedAt: "asc" }, { id: "asc" }],
    take: BULK_ISSUE_MAX,
    select: { id: true },
  });
  return rows.map((r) => r.id);
}

/**
 * Issues the selected pending requests with one password entry. A wrong password or bad
 * input issues nothing; a request the issuance refuses is listed in `failed` and stays
 * pending while the others are issued.
 */
export async function startBulkIssue(input: BulkIssueInput, opts: BulkIssueOptions): Promise<BulkIssueResult> {
  const v = validateIssueInput(input);
  const ids = await selectIds(input);
  const db = await getDb();
  const ca = await requireCaServer(db);
  const now = opts.now ?? new Date();
  const result: BulkIssueResult = { requested: ids.length, issued: [], skipped: [], failed: [] };
  if (ids.length === 0) return result;

  let unlocked: Awaited<ReturnType<typeof unlockCa>> | null = await unlockCa(ca, v.password);
  try {
    await afterUnlock(unlocked, { actor: opts.actor, now });
    let next = 0;
    let done = 0;
    const worker = async () => {
      while (next < ids.length && !opts.signal?.aborted) {
        const id = ids[next++];
        try {
          const r = await issueWithUnlockedCa(id, v, ca, unlocked!, { actor: opts.actor, portalUrl: opts.portalUrl, now: opts.now, mirror: false });
          result.issued.push({ id, number: r.number });
        } catch (e) {
          if (isAppError(e) && (e.code === "conflict" || e.code === "not_found")) result.skipped.push({ id, reason: e.message });
          else if (isAppError(e)) result.failed.push({ id, code: e.code, message: e.message });
          else {
            console.error(`Portcullis: bulk issuance of request ${id} failed: ${(e as Error).message}`);
            result.failed.push({ id, code: "internal_error", message: "The certificate could not be issued because of an internal error" });
          }
        }
        opts.onProgress?.(++done, ids.length);
      }
    };
    const pool = Math.max(1, Math.min(opts.concurrency ?? BULK_ISSUE_CONCURRENCY, ids.length));
    await Promise.all(Array.from({ length: pool }, worker));
  } finally {
    // The decrypted key is referenced by nothing once the batch ends.
    unlocked = null;
    if (result.issued.length) await mirrorSrl(ca.directory, ca.fileNameRoot);
  }
  result.issued.sort((a, b) => a.number - b.number);
  await recordAudit({
    action: "bulk.issue",
    actor: opts.actor,
    target: "ca",
    details: {
      requested: result.requested,
      issued: result.issued.length,
      skipped: result.skipped.length,
      failed: result.failed.length,
      usage: v.usage,
      numbers: result.issued.length ? `${result.issued[0].number}-${result.issued.at(-1)!.number}` : null,
      verificationChannel: v.channel,
      aborted: opts.signal?.aborted ?? false,
    },
    at: now,
  });
  return result;
}
