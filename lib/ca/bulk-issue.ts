/**
 * Bulk issuance: many pending requests (a fleet's submission batch) issued with one entry
 * of the CA key's password. The key is decrypted once, lives in memory for the batch only,
 * and every request goes through the same steps as a single issuance (lint before signing,
 * claim of the request, numbers allocated in the storing transaction), a chunk of up to
 * 250 requests signed (on the PKI worker threads, the next chunk while this one is stored)
 * and then stored in one transaction at a time.
 *
 * Progress needs no state of its own: a batch is a list of request ids, and the ones no
 * longer pending are done. Running the same selection again resumes an interrupted batch
 * (issued requests are skipped, the pending ones issued).
 */
import { getDb } from "../db/index.ts";
import { AppError, isAppError, type AppErrorCode } from "../errors/app-error.ts";
import { recordAudit } from "../audit/audit-log.ts";
import { deliverMail } from "../mail/outbox.ts";
import { signItems } from "../pki/worker/pool.ts";
import { afterUnlock, ISSUED_REQUEST_FIELDS, mirrorSrl, signSettings, storeIssued, validateIssueInput, type IssueInput, type SignedForRequest, type UnlockedCa, type ValidIssueInput } from "./issue-request.ts";
import { requireCaServer, unlockCa, type CaServerRow } from "./server-context.ts";

/** Requests one call handles at most; larger batches are sent in several calls. */
export const BULK_ISSUE_MAX = 1000;
/** Requests signed, then stored in one transaction, at a time. */
export const BULK_ISSUE_CHUNK = 250;

export interface BulkIssueInput extends IssueInput {
  /** The requests to issue, or */
  ids?: unknown;
  /** every pending request (oldest first, at most BULK_ISSUE_MAX), optionally of one submission batch: */
  all?: unknown;
  instance?: unknown;
  hostname?: unknown;
  contactEmail?: unknown;
  /** With or without `all`: the pending requests of one submission batch (POST /api/v1/admin/csrs/batch). */
  batchId?: unknown;
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
  /** Requests per transaction (BULK_ISSUE_CHUNK by default). */
  chunkSize?: number;
  /** Stops taking new requests once aborted; the chunk in flight finishes. */
  signal?: AbortSignal;
  /** Called after each chunk is done (issued, skipped or failed). */
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
  const batchId = optionalText(input.batchId, "batchId", errors);
  const all = input.all === true || input.all === "true" || (batchId !== undefined && (input.ids === undefined || input.ids === null));
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
    where: { status: "pending", ...(batchId ? { batchId } : {}), ...(instance ? { instance } : {}), ...(hostname ? { hostname } : {}), ...(contactEmail ? { contactEmail } : {}) },
    orderBy: [{ receivedAt: "asc" }, { id: "asc" }],
    take: BULK_ISSUE_MAX,
    select: { id: true },
  });
  if (rows.length === 0 && batchId && !(await db.certificateRequest.findFirst({ where: { batchId }, select: { id: true } }))) {
    throw new AppError("not_found", `No submission batch ${batchId}`, { field: "batchId" });
  }
  return rows.map((r) => r.id);
}

/** The pending requests of a submission batch, oldest first (at most BULK_ISSUE_MAX): what "Issue the whole batch" sends. */
export async function pendingIdsOfBatch(batchId: string): Promise<string[]> {
  const rows = await (await getDb()).certificateRequest.findMany({ where: { batchId, status: "pending" }, orderBy: [{ receivedAt: "asc" }, { id: "asc" }], take: BULK_ISSUE_MAX, select: { id: true } });
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

  let unlocked: UnlockedCa | null = await unlockCa(ca, v.password);
  const chunkSize = Math.max(1, Math.min(opts.chunkSize ?? BULK_ISSUE_CHUNK, BULK_ISSUE_MAX));
  const mailIds: string[] = [];
  try {
    await afterUnlock(unlocked, { actor: opts.actor, now });
    const sign = (from: number) => {
      const progress: Progress = { skipped: [], failed: [] };
      const signing = signChunk(ids.slice(from, from + chunkSize), v, ca, unlocked!, { now, portalUrl: opts.portalUrl }, progress).then((signed) => ({ signed, progress }));
      // Awaited below, unless an earlier chunk's failure ends the call first.
      signing.catch(() => undefined);
      return signing;
    };
    // The next chunk is signed (on the worker threads) while this one is stored; a chunk
    // signed ahead and then not stored (the call was aborted) leaves no trace in the result.
    let signing = ids.length > 0 ? sign(0) : null;
    for (let i = 0; signing && !opts.signal?.aborted; i += chunkSize) {
      const { signed, progress } = await signing;
      result.skipped.push(...progress.skipped);
      result.failed.push(...progress.failed);
      signing = i + chunkSize < ids.length && !opts.signal?.aborted ? sign(i + chunkSize) : null;
      for (const s of await storeChunk(signed, v, unlocked, { actor: opts.actor, portalUrl: opts.portalUrl, now }, result)) {
        result.issued.push({ id: s.id, number: s.number });
        if (s.mailId) mailIds.push(s.mailId);
      }
      opts.onProgress?.(Math.min(i + chunkSize, ids.length), ids.length);
    }
  } finally {
    // The decrypted key is referenced by nothing once the batch ends.
    unlocked = null;
    if (result.issued.length) await mirrorSrl(ca.directory, ca.fileNameRoot);
  }
  // The contacts' mails are in the outbox with the certificates; sending them does not hold up the answer.
  for (const id of mailIds) void deliverMail(id).catch(() => undefined);
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

type Progress = Pick<BulkIssueResult, "skipped" | "failed">;

function recordFailure(id: string, e: unknown, into: Progress): void {
  if (isAppError(e) && (e.code === "conflict" || e.code === "not_found")) into.skipped.push({ id, reason: e.message });
  else if (isAppError(e)) into.failed.push({ id, code: e.code, message: e.message });
  else {
    console.error(`Portcullis: bulk issuance of request ${id} failed: ${(e as Error).message}`);
    into.failed.push({ id, code: "internal_error", message: "The certificate could not be issued because of an internal error" });
  }
}

/**
 * Builds, lints and signs the chunk's pending requests (over the PKI worker threads when
 * there are some); the others are skipped, refusals recorded.
 */
async function signChunk(ids: string[], v: ValidIssueInput, ca: CaServerRow, unlocked: UnlockedCa, o: { now: Date; portalUrl?: string }, into: Progress): Promise<SignedForRequest[]> {
  const rows = await (await getDb()).certificateRequest.findMany({ where: { id: { in: ids } }, select: ISSUED_REQUEST_FIELDS });
  const byId = new Map(rows.map((r) => [r.id, r]));
  const pending: typeof rows = [];
  for (const id of ids) {
    const request = byId.get(id);
    if (!request) into.skipped.push({ id, reason: "No such request" });
    else if (request.status !== "pending") {
      into.skipped.push({ id, reason: `This request was already ${request.status}${request.certificateNumber ? ` (certificate number ${request.certificateNumber})` : ""}; nothing was changed` });
    } else pending.push(request);
  }
  const outcomes = await signItems(pending.map((r) => ({ csrPem: r.csrPem, commonName: r.commonName, sha256Fingerprint: r.sha256Fingerprint })), signSettings(v, ca, o), unlocked);
  const signed: SignedForRequest[] = [];
  for (const [i, request] of pending.entries()) {
    const outcome = outcomes[i]!;
    if ("ok" in outcome) signed.push({ request, issued: outcome.ok });
    else recordFailure(request.id, outcome.error, into);
  }
  return signed;
}

/**
 * Stores a signed chunk in one transaction. When another administrator or instance took
 * one of its requests meanwhile, the chunk is stored request by request instead, so each
 * gets its own outcome. Database failures end the call (the chunks stored so far stay
 * stored; running the selection again resumes).
 */
async function storeChunk(signed: SignedForRequest[], v: ValidIssueInput, unlocked: UnlockedCa, o: { actor: string; portalUrl?: string; now: Date }, into: Progress) {
  if (signed.length === 0) return [];
  try {
    return await storeIssued(signed, v, unlocked, o);
  } catch (e) {
    if (!isAppError(e) || e.code !== "conflict" || signed.length === 1) {
      if (isAppError(e) && e.code !== "unavailable") {
        for (const s of signed) recordFailure(s.request.id, e, into);
        return [];
      }
      throw e;
    }
  }
  const stored: Awaited<ReturnType<typeof storeIssued>> = [];
  for (const s of signed) {
    try {
      stored.push(...(await storeIssued([s], v, unlocked, o)));
    } catch (e) {
      if (!isAppError(e) || e.code === "unavailable") throw e;
      recordFailure(s.request.id, e, into);
    }
  }
  return stored;
}
