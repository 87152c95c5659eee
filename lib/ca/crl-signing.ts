/**
 * Signing the CA's current CRL. One function signs it, for every occasion: a revocation,
 * an administrator's "Re-sign CRL", the CA key's password typed for something else
 * (configuration, issuance) while the CRL is missing or ageing, and the scheduled
 * re-signing of a key kept unlocked. The CRL number is taken with a conditional update on
 * the stored number, in the same transaction that stores the CRL, so two signers never
 * publish two CRLs with one number and the number only ever grows.
 */
import { randomBytes, type KeyObject } from "node:crypto";
import { promises as fs } from "node:fs";
import { join } from "node:path";
import { getDb, type Db } from "../db/index.ts";
import { AppError } from "../errors/app-error.ts";
import { env } from "../env.ts";
import { parseCertificate } from "../pki/certificates.ts";
import { createCrl, isRevocationReason } from "../pki/crl.ts";
import { pemToDer } from "../pki/pem.ts";
import { x509 } from "../pki/setup.ts";
import { ensureOcspSigner } from "./ocsp-responder.ts";
import { requireCaServer, unlockCa } from "./server-context.ts";
import { appendAudit } from "../audit/audit-log.ts";
import { intInRange, str } from "./validation.ts";
import { parseSrl, serverFilePaths, srlText, unwritableDirectory } from "./server-files.ts";

const DAY_MS = 24 * 60 * 60 * 1000;
const HOUR_MS = 60 * 60 * 1000;
/** nextUpdate is never further than this from thisUpdate. */
export const MAX_CRL_NEXT_UPDATE_DAYS = 10;
export const MIN_CRL_NEXT_UPDATE_DAYS = 1;

/** A transaction client (or the client itself): what signing reads and writes. */
type Tx = Pick<Db, "caServer" | "certificate" | "auditEntry" | "auditHead" | "$executeRaw">;

/** Another signer took the CRL number this one read: nothing was stored; signing again takes the next one. */
export class CrlNumberConflict extends AppError {
  constructor() {
    super("conflict", "Another CRL was signed at the same moment; nothing was changed. Try again.");
  }
}

export interface SignedCrlInfo {
  crlNumber: number;
  thisUpdate: string;
  nextUpdate: string;
  /** How many revoked certificates it lists. */
  entries: number;
}

/** The configured period, kept within 1–10 days whatever the row holds. */
export function crlNextUpdateDays(configured: number): number {
  if (!Number.isInteger(configured) || configured < MIN_CRL_NEXT_UPDATE_DAYS) return MIN_CRL_NEXT_UPDATE_DAYS;
  return Math.min(configured, MAX_CRL_NEXT_UPDATE_DAYS);
}

/** Whole seconds, as a CRL encodes its times. */
export function wholeSecond(d: Date): Date {
  return new Date(Math.floor(d.getTime() / 1000) * 1000);
}

/** How long before nextUpdate administrators are reminded (PORTCULLIS_CRL_REMINDER_HOURS). */
export function crlReminderWindowMs(): number {
  return env().PORTCULLIS_CRL_REMINDER_HOURS * HOUR_MS;
}

/**
 * `<root>.crlnumber` beside the CA's key and certificate: the next CRL number, in hex, as
 * OpenSSL's crlnumber file holds it. It outlives Reinitialize, so the same CA configured
 * again with its existing key goes on with higher CRL numbers (RFC 5280 5.2.3) instead of
 * starting again at 1. A new key pair moves a stale one aside, as it does the SRL.
 */
export function crlNumberFilePath(directory: string, root: string): string {
  return join(serverFilePaths(directory, root).directory, `${root}.crlnumber`);
}

/** The next CRL number `<root>.crlnumber` holds; null when there is no such file. */
export async function readCrlNumberFile(directory: string, root: string): Promise<number | null> {
  const file = crlNumberFilePath(directory, root);
  let text: string;
  try {
    text = await fs.readFile(file, "utf8");
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === "ENOENT") return null;
    throw new AppError("validation_failed", `${file} cannot be read (${(e as NodeJS.ErrnoException).code ?? "error"})`, { field: "fileNameRoot", cause: e });
  }
  const n = parseSrl(text);
  if (n === null) throw new AppError("validation_failed", `${file} does not hold a hexadecimal CRL number`, { field: "fileNameRoot" });
  return n;
}

/**
 * Raises `<root>.crlnumber` to follow `lastNumber` (never lowers it), atomically: a
 * temporary file renamed into place. Throws directory_unwritable when it cannot.
 */
export async function recordCrlNumber(directory: string, root: string, lastNumber: number): Promise<void> {
  const file = crlNumberFilePath(directory, root);
  const stored = await readCrlNumberFile(directory, root).catch(() => null);
  if (stored !== null && stored > lastNumber) return; // already follows it
  const tmp = join(file, "..", `.${root}.crlnumber.${randomBytes(6).toString("hex")}.tmp`);
  try {
    await fs.writeFile(tmp, srlText(lastNumber + 1), { mode: 0o600 });
    await fs.rename(tmp, file);
  } catch (e) {
    await fs.unlink(tmp).catch(() => {});
    throw unwritableDirectory(join(file, ".."), e, "fileNameRoot");
  }
}

interface CrlTimes {
  crlPem: string | null;
  crlThisUpdate: Date | null;
  crlNextUpdate: Date | null;
}

/** A CRL younger than this is never re-signed on its own (a reminder window longer than the CRL's validity would otherwise re-sign it at every chance). */
export const MIN_AUTO_RESIGN_AGE_MS = HOUR_MS;

/**
 * Whether a CRL should be signed when the key is at hand: there is none yet, half of the
 * current one's validity has passed, or its nextUpdate is within the reminder window —
 * and it is at least an hour old.
 */
export function crlDue(row: CrlTimes, now: Date, windowMs = crlReminderWindowMs()): boolean {
  if (!row.crlPem || !row.crlThisUpdate || !row.crlNextUpdate) return true;
  const start = row.crlThisUpdate.getTime();
  const end = row.crlNextUpdate.getTime();
  if (now.getTime() - start < Math.min(MIN_AUTO_RESIGN_AGE_MS, (end - start) / 2)) return false;
  return now.getTime() >= start + (end - start) / 2 || end - now.getTime() <= windowMs;
}

/**
 * Signs a new CRL listing every revoked certificate, with the next CRL number, inside the
 * caller's transaction `tx` (a revocation passes its own, so the CRL that lists it commits
 * with it). The key must be the configured CA certificate's: a key of another CA (the CA
 * reinitialized meanwhile) is refused with key_mismatch. A CRL number taken meanwhile by
 * another signer is a conflict and nothing is stored.
 */
export async function signCrlInTransaction(tx: Tx, privateKey: KeyObject, now: Date, actor = "system"): Promise<SignedCrlInfo> {
  const server = await requireCaServer(tx);
  const thisUpdate = wholeSecond(now);
  const nextUpdate = new Date(thisUpdate.getTime() + crlNextUpdateDays(server.crlNextUpdateDays) * DAY_MS);
  const crlNumber = server.crlNumber + 1;
  const revoked = await tx.certificate.findMany({
    where: { status: "revoked" },
    select: { serial: true, revokedAt: true, revocationReason: true, issuedAt: true },
    orderBy: { number: "asc" },
  });
  const crl = await createCrl({
    ca: { certificate: parseCertificate(server.certificatePem), privateKey },
    crlNumber,
    thisUpdate,
    nextUpdate,
    revoked: revoked.map((r) => ({
      serialHex: r.serial,
      revokedAt: r.revokedAt ?? r.issuedAt,
      reason: isRevocationReason(r.revocationReason) ? r.revocationReason : "unspecified",
    })),
  });
  // The number read above must still be the stored one: a concurrent signer that took it wins.
  const stored = await tx.caServer.updateMany({
    where: { id: 1, crlNumber: server.crlNumber },
    data: { crlNumber, crlPem: crl.pem, crlThisUpdate: thisUpdate, crlNextUpdate: nextUpdate },
  });
  if (stored.count !== 1) throw new CrlNumberConflict();
  // Before the commit, so the file is never behind a published CRL (a rollback at worst
  // leaves a gap, which RFC 5280 allows). While configured the database is the truth: a
  // full or read-only disk must not stop a revocation, and Reinitialize brings the file up to date.
  await recordCrlNumber(server.directory, server.fileNameRoot, crlNumber).catch((e: unknown) => {
    console.error(`[portcullis] ${crlNumberFilePath(server.directory, server.fileNameRoot)} could not be updated: ${String((e as Error)?.message ?? e).slice(0, 300)}`);
  });
  await appendAudit(tx, { action: "crl.sign", actor, target: `crl:${crlNumber}`, details: { entries: revoked.length, thisUpdate: thisUpdate.toISOString(), nextUpdate: nextUpdate.toISOString() }, at: thisUpdate });
  return { crlNumber, thisUpdate: thisUpdate.toISOString(), nextUpdate: nextUpdate.toISOString(), entries: revoked.length };
}

/** Signs the current CRL now, in a transaction of its own. */
export async function signCurrentCrl(privateKey: KeyObject, opts: { now?: Date; actor?: string } = {}): Promise<SignedCrlInfo> {
  const db = await getDb();
  const now = opts.now ?? new Date();
  return db.$transaction((tx) => signCrlInTransaction(tx, privateKey, now, opts.actor));
}

/**
 * Signs the CRL when {@link crlDue} says so. For the moments the key is unlocked for
 * something else: a failure is logged (message only) and answered null, never thrown, so
 * the issuance or configuration that unlocked the key goes on. A conflict means another
 * signer just published a fresh CRL, which is what was wanted.
 */
export async function signCrlIfDue(privateKey: KeyObject, opts: { now?: Date; actor?: string } = {}): Promise<SignedCrlInfo | null> {
  const now = opts.now ?? new Date();
  try {
    const db = await getDb();
    const row = await db.caServer.findUnique({ where: { id: 1 }, select: { crlPem: true, crlThisUpdate: true, crlNextUpdate: true } });
    if (!row || !crlDue(row, now)) return null;
    return await signCurrentCrl(privateKey, { now, actor: opts.actor });
  } catch (e) {
    if (!(e instanceof AppError && e.code === "conflict")) {
      console.error(`[portcullis] the CRL could not be signed: ${String((e as Error)?.message ?? e).replace(/\s+/g, " ").slice(0, 300)}`);
    }
    return null;
  }
}

/**
 * After the CA server was configured with `password` (new or existing key): publishes the
 * first CRL at once, so the distribution point in issued certificates answers from day one.
 * Never throws: the configuration is done whatever happens here.
 */
export async function signCrlIfDueWithPassword(password: string, opts: { now?: Date; actor?: string } = {}): Promise<SignedCrlInfo | null> {
  try {
    const db = await getDb();
    const ca = await db.caServer.findUnique({ where: { id: 1 } });
    if (!ca || !password) return null;
    const unlocked = await unlockCa(ca, password);
    return await signCrlIfDue(unlocked.privateKey, opts);
  } catch (e) {
    console.error(`[portcullis] the first CRL could not be signed: ${String((e as Error)?.message ?? e).replace(/\s+/g, " ").slice(0, 300)}`);
    return null;
  }
}

export interface ResignInput {
  caKeyPassword?: unknown;
}

/** "Re-sign CRL": the administrator types the CA key's password; a new CRL is signed whatever the current one's age. */
export async function resignCrl(input: ResignInput, opts: { now?: Date; actor?: string } = {}): Promise<SignedCrlInfo> {
  const password = str(input.caKeyPassword);
  const db = await getDb();
  const ca = await requireCaServer(db);
  if (!password) throw AppError.validation({ caKeyPassword: "Enter the password of the CA private key" });
  const unlocked = await unlockCa(ca, password);
  // The password is typed: the moment to (re)issue the OCSP responder's certificate when due.
  await ensureOcspSigner(unlocked, { now: opts.now });
  return signCurrentCrl(unlocked.privateKey, opts);
}

export interface CrlStatus {
  fileNameRoot: string;
  /** Null until a CRL has been signed. */
  current: (SignedCrlInfo & { state: CrlState }) | null;
  /** Configured days from thisUpdate to nextUpdate of the next CRL. */
  nextUpdateDays: number;
  reminderHours: number;
}

/** "ok"; "soon": nextUpdate is within the reminder window; "expired": nextUpdate has passed; "missing": no CRL yet. */
export type CrlState = "ok" | "soon" | "expired" | "missing";

export function crlState(nextUpdate: Date | null, now: Date, windowMs = crlReminderWindowMs()): CrlState {
  if (!nextUpdate) return "missing";
  const left = nextUpdate.getTime() - now.getTime();
  if (left <= 0) return "expired";
  return left <= windowMs ? "soon" : "ok";
}

/** The current CRL's facts for the admin page and API; null when the CA server is not configured. */
export async function findCrlStatus(opts: { now?: Date } = {}): Promise<CrlStatus | null> {
  const now = opts.now ?? new Date();
  const db = await getDb();
  const c = await db.caServer.findUnique({
    where: { id: 1 },
    select: { fileNameRoot: true, crlNumber: true, crlPem: true, crlThisUpdate: true, crlNextUpdate: true, crlNextUpdateDays: true },
  });
  if (!c) return null;
  let current: CrlStatus["current"] = null;
  if (c.crlPem && c.crlThisUpdate && c.crlNextUpdate) {
    const entries = new x509.X509Crl(c.crlPem).entries.length;
    current = {
      crlNumber: c.crlNumber,
      thisUpdate: c.crlThisUpdate.toISOString(),
      nextUpdate: c.crlNextUpdate.toISOString(),
      entries,
      state: crlState(c.crlNextUpdate, now),
    };
  }
  return { fileNameRoot: c.fileNameRoot, current, nextUpdateDays: crlNextUpdateDays(c.crlNextUpdateDays), reminderHours: env().PORTCULLIS_CRL_REMINDER_HOURS };
}

export async function getCrlStatus(opts: { now?: Date } = {}): Promise<CrlStatus> {
  const s = await findCrlStatus(opts);
  if (!s) throw new AppError("not_configured", "This instance is not configured as a Certificate Authority server");
  return s;
}

/** Sets the days from thisUpdate to nextUpdate (1–10) of the CRLs signed from now on. */
export async function setCrlNextUpdateDays(input: { crlNextUpdateDays?: unknown }): Promise<{ crlNextUpdateDays: number }> {
  const days = intInRange(input.crlNextUpdateDays, MIN_CRL_NEXT_UPDATE_DAYS, MAX_CRL_NEXT_UPDATE_DAYS, "number of days until the next update");
  if (days.problem) throw AppError.validation({ crlNextUpdateDays: days.problem });
  const db = await getDb();
  const { count } = await db.caServer.updateMany({ where: { id: 1 }, data: { crlNextUpdateDays: days.value! } });
  if (count !== 1) throw new AppError("not_configured", "This instance is not configured as a Certificate Authority server");
  return { crlNextUpdateDays: days.value! };
}

/** The stored CRL as DER and PEM. */
export function crlDer(pem: string): Buffer {
  return pemToDer(pem, "X509 CRL");
}
