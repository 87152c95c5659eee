/**
 * The audit log: an append-only record of administrative acts, each entry hash-chained
 * to the one before, so that changing, removing or reordering an entry is detectable.
 *
 * An entry is appended in the same transaction as the act it records (pass the
 * transaction client), so there is never an act without its entry nor an entry without
 * its act. The chain head (AuditHead, one row) is updated first in that transaction:
 * the row lock (PostgreSQL) or the write lock (SQLite) serializes appenders, so sequence
 * numbers have no gaps and each entry links to its true predecessor.
 */
import { createHash } from "node:crypto";
import { getDb, sqliteConnection, type Db } from "../db/index.ts";
import { insertDirect, insertMany } from "../db/insert-many.ts";
import { atomically, getOne, runEach, type SqliteConnection } from "../db/sqlite-direct.ts";
import { AppError } from "../errors/app-error.ts";
import { isUniqueViolation } from "../db/unique-violation.ts";

export const GENESIS_HASH = "0".repeat(64);

type AuditDb = Pick<Db, "auditEntry" | "auditHead" | "$executeRaw">;

export interface AuditEvent {
  /** e.g. "certificate.issue" */
  action: string;
  /** administrator user name, "system", "api-token:<prefix>", or the name tried at sign-in */
  actor: string;
  /** e.g. "certificate:12" */
  target?: string | null;
  /** particulars; must never contain secrets */
  details?: Record<string, unknown>;
  ip?: string | null;
  at?: Date;
}

export interface AuditEntryView {
  seq: number;
  at: Date;
  actor: string;
  action: string;
  target: string | null;
  details: Record<string, unknown>;
  ip: string | null;
  prevHash: string;
  hash: string;
}

const MAX_FIELD = 512;

function clip(s: string | null | undefined): string | null {
  if (s === null || s === undefined) return null;
  return s.length > MAX_FIELD ? `${s.slice(0, MAX_FIELD - 1)}…` : s;
}

/** The bytes the hash covers: every field, in a fixed order, as JSON. */
export function entryHash(e: { seq: number; at: Date; actor: string; action: string; target: string | null; details: string; ip: string | null; prevHash: string }): string {
  const canonical = JSON.stringify([e.seq, e.at.toISOString(), e.actor, e.action, e.target, e.details, e.ip, e.prevHash]);
  return createHash("sha256").update(canonical, "utf8").digest("hex");
}

/** Appends one entry. Call it with the transaction client of the act it records. */
export async function appendAudit(tx: AuditDb, event: AuditEvent): Promise<AuditEntryView> {
  return toView((await appendRows(tx, [event]))[0]!);
}

/** Appends entries in order, one after the other in the chain (a batch's acts), in a few statements. */
export async function appendAuditMany(tx: AuditDb, events: AuditEvent[]): Promise<void> {
  await appendRows(tx, events);
}

async function appendRows(tx: AuditDb, events: AuditEvent[]) {
  const k = events.length;
  if (k === 0) return [];
  // SQLite: the same statements on the client's own connection (lib/db/sqlite-direct.ts), in the caller's transaction.
  const direct = sqliteConnection();
  if (direct) return appendRowsDirect(direct, events);
  // Taking the head first locks it until this transaction ends.
  let head = await tx.auditHead.updateMany({ where: { id: 1 }, data: { seq: { increment: k } } });
  if (head.count === 0) {
    try {
      await tx.auditHead.create({ data: { id: 1, seq: k, hash: GENESIS_HASH } });
    } catch (e) {
      if (!isUniqueViolation(e)) throw e;
      head = await tx.auditHead.updateMany({ where: { id: 1 }, data: { seq: { increment: k } } });
    }
  }
  const { seq: last, hash } = await tx.auditHead.findUniqueOrThrow({ where: { id: 1 } });
  const rows = chained(events, last, hash);
  await insertMany(tx, "AuditEntry", rows);
  await tx.auditHead.update({ where: { id: 1 }, data: { hash: rows.at(-1)!.hash } });
  return rows;
}

/** appendRows on SQLite's connection: the head moved and read in one statement, all of it or nothing. */
function appendRowsDirect(db: SqliteConnection, events: AuditEvent[]) {
  return atomically(db, () => {
    const k = events.length;
    let head = getOne(db, `UPDATE "AuditHead" SET "seq" = "seq" + ? WHERE "id" = 1 RETURNING "seq", "hash"`, [k]);
    if (!head) {
      runEach(db, `INSERT INTO "AuditHead" ("id", "seq", "hash") VALUES (1, ?, ?)`, [[k, GENESIS_HASH]]);
      head = { seq: k, hash: GENESIS_HASH };
    }
    const rows = chained(events, Number(head.seq), String(head.hash));
    insertDirect(db, "AuditEntry", Object.keys(rows[0]!), rows);
    runEach(db, `UPDATE "AuditHead" SET "hash" = ? WHERE "id" = 1`, [[rows.at(-1)!.hash]]);
    return rows;
  });
}

/** The entries for `events`, numbered up to `last` and chained from `hash`. */
function chained(events: AuditEvent[], last: number, hash: string) {
  const k = events.length;
  let prevHash = hash;
  return events.map((event, i) => {
    const row = {
      seq: last - k + 1 + i,
      at: event.at ?? new Date(),
      actor: clip(event.actor) ?? "unknown",
      action: clip(event.action) ?? "unknown",
      target: clip(event.target),
      details: JSON.stringify(event.details ?? {}),
      ip: clip(event.ip),
      prevHash,
    };
    prevHash = entryHash(row);
    return { ...row, hash: prevHash };
  });
}

/** Appends one entry in a transaction of its own (acts with no other write, e.g. a failed sign-in). */
export async function recordAudit(event: AuditEvent): Promise<AuditEntryView> {
  const db = await getDb();
  return db.$transaction((tx) => appendAudit(tx, event));
}

function toView(r: { seq: number; at: Date; actor: string; action: string; target: string | null; details: string; ip: string | null; prevHash: string; hash: string }): AuditEntryView {
  let details: Record<string, unknown> = {};
  try {
    const parsed = JSON.parse(r.details) as unknown;
    if (parsed && typeof parsed === "object" && !Array.isArray(parsed)) details = parsed as Record<string, unknown>;
  } catch {
    details = { unreadable: r.details };
  }
  return { ...r, details };
}

export interface AuditQuery {
  action?: string | null;
  actor?: string | null;
  target?: string | null;
  from?: Date | null;
  to?: Date | null;
  /** Entries before this sequence number (newest first). */
  before?: number | null;
  take?: number;
}

export const AUDIT_PAGE_SIZE = 50;
export const MAX_AUDIT_PAGE = 200;

/** Newest first, keyset-paginated by sequence number. */
export async function listAudit(q: AuditQuery = {}): Promise<{ items: AuditEntryView[]; nextBefore: number | null }> {
  const db = await getDb();
  const take = Math.min(Math.max(1, q.take ?? AUDIT_PAGE_SIZE), MAX_AUDIT_PAGE);
  const rows = await db.auditEntry.findMany({
    where: {
      ...(q.action ? { action: q.action.endsWith(".") || q.action.endsWith("*") ? { startsWith: q.action.replace(/\*$/, "") } : q.action } : {}),
      ...(q.actor ? { actor: q.actor } : {}),
      ...(q.target ? { target: q.target } : {}),
      ...(q.from || q.to ? { at: { ...(q.from ? { gte: q.from } : {}), ...(q.to ? { lt: q.to } : {}) } } : {}),
      ...(q.before ? { seq: { lt: q.before } } : {}),
    },
    orderBy: { seq: "desc" },
    take: take + 1,
  });
  const more = rows.length > take;
  const items = rows.slice(0, take).map(toView);
  return { items, nextBefore: more ? items[items.length - 1]!.seq : null };
}

/** Distinct action names, for the filter. */
export async function auditActions(): Promise<string[]> {
  const db = await getDb();
  const rows = await db.auditEntry.findMany({ distinct: ["action"], select: { action: true }, orderBy: { action: "asc" } });
  return rows.map((r) => r.action);
}

export interface ChainCheck {
  ok: boolean;
  entries: number;
  headSeq: number;
  headHash: string;
  /** The first entry found wrong, and why. */
  problem?: { seq: number; reason: string };
}

/**
 * Walks the whole chain in sequence order: every entry's hash must match its fields,
 * link to its predecessor's hash, and numbers must run 1, 2, 3 … up to the head.
 */
export async function verifyAuditChain(opts: { db?: AuditDb; batch?: number } = {}): Promise<ChainCheck> {
  const db = opts.db ?? (await getDb());
  const batch = opts.batch ?? 1000;
  const head = await db.auditHead.findUnique({ where: { id: 1 } });
  const headSeq = head?.seq ?? 0;
  const headHash = head?.hash ?? GENESIS_HASH;
  let expectedSeq = 1;
  let prev = GENESIS_HASH;
  let entries = 0;
  for (;;) {
    const rows = await db.auditEntry.findMany({ where: { seq: { gte: expectedSeq } }, orderBy: { seq: "asc" }, take: batch });
    if (rows.length === 0) break;
    for (const r of rows) {
      if (r.seq !== expectedSeq) return { ok: false, entries, headSeq, headHash, problem: { seq: expectedSeq, reason: `entry ${expectedSeq} is missing` } };
      if (r.prevHash !== prev) return { ok: false, entries, headSeq, headHash, problem: { seq: r.seq, reason: "its link to the previous entry is broken" } };
      if (entryHash(r) !== r.hash) return { ok: false, entries, headSeq, headHash, problem: { seq: r.seq, reason: "its content does not match its hash (altered)" } };
      prev = r.hash;
      expectedSeq++;
      entries++;
    }
  }
  if (entries !== headSeq) return { ok: false, entries, headSeq, headHash, problem: { seq: entries + 1, reason: `the chain head says ${headSeq} entries, ${entries} were found` } };
  if (prev !== headHash) return { ok: false, entries, headSeq, headHash, problem: { seq: entries, reason: "the last entry's hash differs from the chain head" } };
  return { ok: true, entries, headSeq, headHash };
}

/** The whole log as JSON Lines (oldest first), for export; each line verifiable on its own against its predecessor. */
export async function* exportAudit(opts: { batch?: number } = {}): AsyncGenerator<string> {
  const db = await getDb();
  const batch = opts.batch ?? 1000;
  let after = 0;
  for (;;) {
    const rows = await db.auditEntry.findMany({ where: { seq: { gt: after } }, orderBy: { seq: "asc" }, take: batch });
    if (rows.length === 0) return;
    for (const r of rows) {
      yield `${JSON.stringify({ seq: r.seq, at: r.at.toISOString(), actor: r.actor, action: r.action, target: r.target, details: r.details, ip: r.ip, prevHash: r.prevHash, hash: r.hash })}\n`;
      after = r.seq;
    }
  }
}

/** Parses a query-string date (YYYY-MM-DD or ISO) or answers a 400. */
export function parseAuditDate(raw: string | null | undefined, field: string): Date | null {
  if (!raw) return null;
  const d = new Date(/^\d{4}-\d{2}-\d{2}$/.test(raw) ? `${raw}T00:00:00.000Z` : raw);
  if (Number.isNaN(d.getTime())) throw new AppError("bad_request", `${field}: "${raw.slice(0, 40)}" is not a date (use YYYY-MM-DD)`);
  return d;
}
