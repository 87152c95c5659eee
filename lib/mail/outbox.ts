/**
 * The mail outbox. Every e-mail is first a row in `OutboxMessage`, written in the same
 * transaction as the business action that causes it, so a failed or crashed send never
 * loses the action nor the message: the row is retried with exponential backoff and the
 * admin pages can show what is waiting and why.
 *
 * Row life cycle: pending → sending → sent, or back to pending (attempts+1, lastError,
 * nextAttemptAt later), or failed after MAX_ATTEMPTS. While a row is "sending",
 * `nextAttemptAt` holds the end of the sender's lease: if the sending process dies, the
 * row becomes claimable again once the lease has run out (LEASE_MS).
 */
import { getDb, type Db } from "../db/index.ts";
import { open, seal } from "../crypto/secret-box.ts";
import { env } from "../env.ts";
import { AppError } from "../errors/app-error.ts";
import { randomUUID } from "node:crypto";
import { createTransport, defaultFrom, type SmtpSettings } from "./transport.ts";

/** The Prisma client or a transaction client (`tx`): only the outbox model is used. */
export type DbLike = Pick<Db, "outboxMessage">;

/** Row states. */
export type OutboxStatus = "pending" | "sending" | "sent" | "failed";

/** Outcome of one delivery attempt as callers (and the UI) see it. */
export interface DeliveryResult {
  /** "pending" also covers "another process is sending it right now". */
  status: "sent" | "pending" | "failed";
  /** Human-readable reason of the last failure; never contains the SMTP password. */
  error?: string;
}

/** After this many failed attempts a message is "failed" and only retried by hand. */
export const MAX_ATTEMPTS = 20;
const MAX_BACKOFF_SECONDS = 3600;
/** Longer than any send can take with the transport's timeouts; after that a "sending" row is presumed orphaned. */
const LEASE_MS = 10 * 60_000;
const TRANSPORT_CONTEXT = "outbox-transport";
const MAX_ERROR_LENGTH = 400;

/**
 * Queues a message. Call it with the transaction client of the business action so both
 * commit together, then (after commit) call {@link deliverMail} for an immediate attempt.
 * The SMTP settings are sealed into the row: the password is never stored in clear.
 */
export async function enqueueMail(
  db: DbLike,
  m: { kind: string; to: string; subject: string; text: string; html: string; smtp: SmtpSettings },
): Promise<string> {
  const to = m.to.trim();
  // A line break in an address is header injection, not an address.
  if (!to || /[\r\n]/.test(to) || !to.includes("@")) {
    throw new AppError("validation_failed", "Enter a valid e-mail address.", { field: "to" });
  }
  if (!m.smtp.host || !Number.isInteger(m.smtp.port) || m.smtp.port < 1 || m.smtp.port > 65535) {
    throw new AppError("not_configured", "SMTP is not configured: host and port are required.");
  }
  const id = randomUUID();
  await db.outboxMessage.create({
    data: {
      id,
      kind: m.kind,
      toAddress: to,
      subject: m.subject.replace(/[\r\n]+/g, " "),
      textBody: m.text,
      htmlBody: m.html,
      transportEnc: seal(JSON.stringify(m.smtp), TRANSPORT_CONTEXT),
      status: "pending",
      nextAttemptAt: new Date(),
    },
  });
  return id;
}

/**
 * Replaces the sealed SMTP settings of every queued (pending or failed) message, e.g.
 * after the administrator fixed a wrong password, so the queue goes out with the new
 * settings. Rows being sent right now keep theirs. Returns how many rows changed.
 */
export async function updateQueuedTransport(db: DbLike, smtp: SmtpSettings): Promise<number> {
  const { count } = await db.outboxMessage.updateMany({
    where: { status: { in: ["pending", "failed"] } },
    data: { transportEnc: seal(JSON.stringify(smtp), TRANSPORT_CONTEXT) },
  });
  return count;
}

/** Seconds to wait after the `attempts`-th failed attempt: base, 2×base, 4×base, … capped at 1 h. */
export function retryDelaySeconds(attempts: number): number {
  const base = env().PORTCULLIS_MAIL_RETRY_SECONDS;
  const exp = Math.min(Math.max(attempts - 1, 0), 30);
  return Math.min(base * 2 ** exp, Math.max(MAX_BACKOFF_SECONDS, base));
}

/**
 * Tries to send message `id` now, whatever its nextAttemptAt. Exactly one caller wins
 * the claim; the others get the row's current state without sending.
 */
export async function deliverMail(id: string, opts: { now?: Date; waitMs?: number } = {}): Promise<DeliveryResult> {
  const first = await attempt(id, opts.now ?? new Date(), false);
  if (first.claimed || first.result.status !== "pending") return first.result;
  // Unclaimed yet pending: another sender (the outbox worker) is sending it right now.
  // Its outcome is the answer; wait for it a little rather than report "not sent yet".
  const db = await getDb();
  const until = Date.now() + (opts.waitMs ?? CONCURRENT_SEND_WAIT_MS);
  while (Date.now() < until) {
    await new Promise((r) => setTimeout(r, 100));
    const row = await db.outboxMessage.findUnique({ where: { id }, select: { status: true, lastError: true } });
    if (!row) break;
    if (row.status === "sent") return { status: "sent" };
    if (row.status === "failed") return { status: "failed", error: row.lastError ?? undefined };
    if (row.status === "pending") return { status: "pending", error: row.lastError ?? undefined };
  }
  return first.result;
}

/** How long an immediate delivery waits for a concurrent sender of the same message. */
const CONCURRENT_SEND_WAIT_MS = 15_000;

interface Attempt {
  claimed: boolean;
  result: DeliveryResult;
}

async function attempt(id: string, now: Date, dueOnly: boolean): Promise<Attempt> {
  const db = await getDb();
  const lease = new Date(now.getTime() + LEASE_MS);
  // One UPDATE … WHERE is atomic on SQLite and re-checked under the row lock on
  // PostgreSQL, so of several concurrent callers exactly one sees count = 1.
  const { count } = await db.outboxMessage.updateMany({
    where: {
      id,
      OR: [
        dueOnly ? { status: "pending", nextAttemptAt: { lte: now } } : { status: "pending" },
        { status: "sending", nextAttemptAt: { lte: now } },
      ],
    },
    data: { status: "sending", nextAttemptAt: lease },
  });
  if (count === 0) {
    const row = await db.outboxMessage.findUnique({ where: { id }, select: { status: true, lastError: true } });
    if (!row) throw new AppError("not_found", "This e-mail is not in the outbox.");
    const error = row.lastError ?? undefined;
    if (row.status === "sent") return { claimed: false, result: { status: "sent" } };
    if (row.status === "failed") return { claimed: false, result: { status: "failed", error } };
    return { claimed: false, result: { status: "pending", error } };
  }

  const row = await db.outboxMessage.findUniqueOrThrow({ where: { id } });
  // The lease doubles as a fencing token: if this process stalled past it and another
  // one reclaimed the row, our late outcome must not overwrite theirs.
  const mine = { id, status: "sending", nextAttemptAt: lease };

  let smtp: SmtpSettings;
  try {
    smtp = readTransport(row.transportEnc);
  } catch (e) {
    // Retrying cannot help (settings missing or sealed under another server secret);
    // the admin can fix the settings (updateQueuedTransport) and retry by hand.
    const error = (e as Error).message;
    await db.outboxMessage.updateMany({ where: mine, data: { status: "failed", attempts: { increment: 1 }, lastError: error, nextAttemptAt: now } });
    return { claimed: true, result: { status: "failed", error } };
  }

  try {
    await send(row, smtp);
  } catch (e) {
    const error = describeSendError(e, smtp);
    const attempts = row.attempts + 1;
    const failed = attempts >= MAX_ATTEMPTS;
    const next = failed ? now : new Date(now.getTime() + retryDelaySeconds(attempts) * 1000);
    const { count: updated } = await db.outboxMessage.updateMany({
      where: mine,
      data: { status: failed ? "failed" : "pending", attempts, lastError: error, nextAttemptAt: next },
    });
    if (updated === 0) console.warn(`[portcullis] outbox message ${id}: lease lost before recording a failed attempt`);
    return { claimed: true, result: { status: failed ? "failed" : "pending", error } };
  }

  const { count: updated } = await db.outboxMessage.updateMany({
    where: mine,
    data: { status: "sent", sentAt: now, attempts: row.attempts + 1, lastError: null, nextAttemptAt: now },
  });
  if (updated === 0) console.warn(`[portcullis] outbox message ${id}: sent, but the lease had been taken over`);
  return { claimed: true, result: { status: "sent" } };
}

function readTransport(sealed: string | null): SmtpSettings {
  if (!sealed) throw new Error("No SMTP settings were recorded with this message.");
  let json: string;
  try {
    json = open(sealed, TRANSPORT_CONTEXT);
  } catch {
    throw new Error("The SMTP settings stored with this message cannot be decrypted (was the server secret changed?).");
  }
  return JSON.parse(json) as SmtpSettings;
}

async function send(
  row: { id: string; toAddress: string; subject: string; textBody: string; htmlBody: string },
  smtp: SmtpSettings,
): Promise<void> {
  const from = defaultFrom(smtp);
  const domain = /@([^\s<>@]+)>?\s*$/.exec(from)?.[1] ?? "portcullis.invalid";
  const transport = createTransport(smtp);
  try {
    await transport.sendMail({
      from,
      to: row.toAddress,
      subject: row.subject,
      text: row.textBody,
      html: row.htmlBody,
      // Stable across retries, so a receiver can drop the duplicate a reclaimed lease may cause.
      messageId: `<${row.id}@${domain}>`,
    });
  } finally {
    transport.close();
  }
}

interface SmtpErrorLike {
  message?: string;
  code?: string;
  originalCode?: string;
  response?: string;
  responseCode?: number;
  reason?: string;
}

/** A short, single-line reason for the admin; the password (in any encoding) is withheld. */
export function describeSendError(e: unknown, smtp: SmtpSettings): string {
  const err = (e ?? {}) as SmtpErrorLike;
  const at = `${smtp.host}:${smtp.port}`;
  const code = err.originalCode ?? err.code ?? "";
  const detail = redact(oneLine(err.response ?? err.message ?? String(e)), smtp);
  let text: string;
  if (code === "ECONNREFUSED") text = `Connection refused by ${at}`;
  else if (code === "ENOTFOUND" || code === "EAI_AGAIN" || err.code === "EDNS") text = `SMTP server host not found: ${smtp.host}`;
  else if (code === "EHOSTUNREACH" || code === "ENETUNREACH") text = `SMTP server ${at} is unreachable`;
  else if (code === "ECONNRESET" || err.code === "ECONNECTION") text = `Connection to ${at} was closed unexpectedly`;
  else if (code === "ETIMEDOUT" || err.code === "ETIMEDOUT") text = `Timed out talking to ${at}`;
  else if (err.code === "EAUTH") text = `SMTP authentication${smtp.username ? ` as "${smtp.username}"` : ""} was rejected by ${at}: ${detail}`;
  else if (err.code === "ENOAUTH") text = `${at} requires a username and password`;
  else if (err.code === "ETLS" || /^ERR_SSL|CERT|_SIGNED/.test(code))
    text = `TLS with ${at} failed: ${redact(oneLine(err.reason ?? err.message ?? code), smtp)}`;
  else if (err.code === "EENVELOPE") text = `${at} refused the message: ${detail}`;
  else if (err.code === "EMESSAGE" || err.responseCode) text = `${at} rejected the message: ${detail}`;
  else text = `Sending through ${at} failed: ${detail}`;
  if (/^ERR_SSL_WRONG_VERSION_NUMBER$/.test(code)) text += ` (does the port expect ${smtp.secure ? "STARTTLS rather than implicit TLS" : "implicit TLS"}?)`;
  return text.length > MAX_ERROR_LENGTH ? text.slice(0, MAX_ERROR_LENGTH - 1) + "…" : text;
}

function oneLine(s: string): string {
  return s.replace(/\s+/g, " ").trim();
}

/** Removes the password, and the base64 forms SMTP AUTH sends it in, from server-supplied text. */
function redact(text: string, smtp: SmtpSettings): string {
  const pass = smtp.password;
  if (!pass) return text;
  const user = smtp.username ?? "";
  const b64 = (s: string) => Buffer.from(s, "utf8").toString("base64");
  const secrets = [pass, b64(pass), b64(`\0${user}\0${pass}`), b64(`${user}\0${user}\0${pass}`), encodeURIComponent(pass)];
  let out = text;
  for (const s of secrets) {
    if (!s || !out.includes(s)) continue;
    // Masking a very short password would mangle unrelated text, so drop the detail instead.
    if (s.length < 4) return "(details withheld)";
    out = out.split(s).join("***");
  }
  return out;
}

/**
 * Delivers the messages that are due (pending with nextAttemptAt ≤ now, or "sending"
 * with an expired lease), oldest first, one at a time. Counts are this run's outcomes;
 * messages another process claimed first are not counted.
 */
export async function processOutbox(opts: { now?: Date; limit?: number } = {}): Promise<{ sent: number; failed: number; pending: number }> {
  const now = opts.now ?? new Date();
  const db = await getDb();
  const due = await db.outboxMessage.findMany({
    where: { status: { in: ["pending", "sending"] }, nextAttemptAt: { lte: now } },
    orderBy: { nextAttemptAt: "asc" },
    take: Math.max(1, Math.min(opts.limit ?? 50, 500)),
    select: { id: true },
  });
  const counts = { sent: 0, failed: 0, pending: 0 };
  for (const { id } of due) {
    const r = await attempt(id, now, true);
    if (r.claimed) counts[r.result.status] += 1;
  }
  return counts;
}

interface WorkerHolder {
  stop?: () => void;
}
// On globalThis so a Next.js dev reload does not start a second worker.
const worker: WorkerHolder = ((globalThis as { __portcullisOutboxWorker?: WorkerHolder }).__portcullisOutboxWorker ??= {});

/**
 * Runs {@link processOutbox} now and then every PORTCULLIS_MAIL_RETRY_SECONDS, never two
 * runs at once (the next run is scheduled when the previous one ends). The timer does
 * not keep the process alive. Returns the stop function; calling it again while the
 * worker runs returns the same one.
 */
export function startOutboxWorker(): () => void {
  if (worker.stop) return worker.stop;
  let timer: ReturnType<typeof setTimeout> | undefined;
  let stopped = false;
  const schedule = (ms: number) => {
    if (stopped) return;
    timer = setTimeout(run, ms);
    timer.unref();
  };
  const run = async () => {
    try {
      await processOutbox();
    } catch (e) {
      // Message only: neither the stack nor the error object (which may carry query data) goes to the log.
      console.error(`[portcullis] mail outbox run failed: ${oneLine(String((e as Error)?.message ?? e)).slice(0, MAX_ERROR_LENGTH)}`);
    }
    schedule(env().PORTCULLIS_MAIL_RETRY_SECONDS * 1000);
  };
  const stop = () => {
    stopped = true;
    if (timer) clearTimeout(timer);
    if (worker.stop === stop) worker.stop = undefined;
  };
  worker.stop = stop;
  schedule(0);
  return stop;
}

const LIST_SELECT = {
  id: true,
  kind: true,
  toAddress: true,
  subject: true,
  textBody: true,
  htmlBody: true,
  status: true,
  attempts: true,
  lastError: true,
  nextAttemptAt: true,
  createdAt: true,
  sentAt: true,
} as const;

/** Outbox rows for the admin page, newest first, without the sealed transport. */
export async function listOutbox(opts: { status?: string; take?: number } = {}) {
  const db = await getDb();
  return db.outboxMessage.findMany({
    where: opts.status ? { status: opts.status } : undefined,
    orderBy: [{ createdAt: "desc" }, { id: "asc" }],
    take: Math.max(1, Math.min(opts.take ?? 100, 500)),
    select: LIST_SELECT,
  });
}

/**
 * Outbox rows for the admin page, newest first, keyset-paginated on (createdAt, id) along the
 * index of the same columns, so the page costs the same however many messages were ever sent.
 */
export async function listOutboxPage(opts: { cursor?: string | null; take?: number } = {}): Promise<{ items: OutboxRow[]; nextCursor: string | null }> {
  const take = Math.min(Math.max(Math.trunc(Number.isFinite(opts.take) ? opts.take! : 50), 1), 200);
  let after: { createdAt: Date; id: string } | null = null;
  if (opts.cursor) {
    const [iso, id] = Buffer.from(opts.cursor, "base64url").toString("utf8").split("|");
    const createdAt = new Date(iso ?? "");
    if (!id || Number.isNaN(createdAt.getTime())) throw new AppError("bad_request", "Unknown cursor: pass back the nextCursor of a previous page");
    after = { createdAt, id };
  }
  const db = await getDb();
  const rows = await db.outboxMessage.findMany({
    // `createdAt <= a AND (createdAt < a OR id < b)`: an index range that starts at the cursor.
    where: after ? { createdAt: { lte: after.createdAt }, OR: [{ createdAt: { lt: after.createdAt } }, { id: { lt: after.id } }] } : undefined,
    orderBy: [{ createdAt: "desc" }, { id: "desc" }],
    take: take + 1,
    select: LIST_SELECT,
  });
  const more = rows.length > take;
  const items = rows.slice(0, take);
  const last = items.at(-1);
  return { items, nextCursor: more && last ? Buffer.from(`${last.createdAt.toISOString()}|${last.id}`).toString("base64url") : null };
}

/** A row as returned by {@link listOutbox}. */
export type OutboxRow = Awaited<ReturnType<typeof listOutbox>>[number];

/**
 * Sends a pending or failed message now. A failed one starts a fresh retry cycle
 * (attempts back to 0), since the admin asked for it, typically after fixing settings.
 */
export async function retryNow(id: string): Promise<DeliveryResult> {
  const db = await getDb();
  const now = new Date();
  await db.outboxMessage.updateMany({ where: { id, status: "failed" }, data: { status: "pending", attempts: 0, nextAttemptAt: now } });
  await db.outboxMessage.updateMany({ where: { id, status: "pending" }, data: { nextAttemptAt: now } });
  return deliverMail(id, { now });
}

/** Messages not yet delivered and still being retried (pending or being sent). */
export async function pendingMailCount(): Promise<number> {
  const db = await getDb();
  return db.outboxMessage.count({ where: { status: { in: ["pending", "sending"] } } });
}
