/**
 * The optional "keep the CA unlocked in memory until restart" mode (PORTCULLIS_CA_KEEP_UNLOCKED),
 * as other CAs "activate" their key: an administrator types the CA key's password once and
 * this process keeps the decrypted key so that a scheduled job re-signs the CRL before it
 * expires. The key lives only in this process's memory (a KeyObject in a holder on
 * globalThis, shared by every bundle of the server); it is never written anywhere nor
 * logged, and it is dropped on Lock, on reinitialize and on restart. It signs CRLs only:
 * issuing and revoking still ask for the password each time.
 */
import type { KeyObject } from "node:crypto";
import { getDb } from "../db/index.ts";
import { AppError } from "../errors/app-error.ts";
import { env } from "../env.ts";
import { INSTANCE_ID, startScheduledJob, type ScheduledJob } from "../jobs/scheduler.ts";
import { crlDue, signCurrentCrl, signCrlIfDue, type SignedCrlInfo } from "./crl-signing.ts";
import { ensureOcspSigner } from "./ocsp-responder.ts";
import { requireCaServer, unlockCa } from "./server-context.ts";
import { forgetUnlockedKey } from "./unlocked-key-cache.ts";
import { recordAudit } from "../audit/audit-log.ts";
import { str } from "./validation.ts";

export const KEEP_UNLOCKED_ENV = "PORTCULLIS_CA_KEEP_UNLOCKED";
export const CRL_RESIGN_JOB = "crl-resign";
const CRL_RESIGN_INTERVAL_MS = 15 * 60_000;

interface Held {
  privateKey: KeyObject;
  /** The CA certificate the key belongs to: a key for another CA is never used. */
  caSha256: string;
  unlockedAt: Date;
  unlockedBy: string;
}

interface Holder {
  held: Held | null;
  stopJob: (() => void) | null;
}

const holder: Holder = ((globalThis as { __portcullisCaKeyHolder?: Holder }).__portcullisCaKeyHolder ??= { held: null, stopJob: null });

export function keepUnlockedEnabled(): boolean {
  return env().PORTCULLIS_CA_KEEP_UNLOCKED;
}

export interface CaUnlockStatus {
  /** Whether the mode is allowed by PORTCULLIS_CA_KEEP_UNLOCKED. */
  enabled: boolean;
  unlocked: boolean;
  unlockedAt: string | null;
  unlockedBy: string | null;
}

/** Whether this process holds the unlocked CA key (never the key itself). */
export function caUnlockStatus(): CaUnlockStatus {
  const h = holder.held;
  return { enabled: keepUnlockedEnabled(), unlocked: h !== null, unlockedAt: h?.unlockedAt.toISOString() ?? null, unlockedBy: h?.unlockedBy ?? null };
}

export interface UnlockResult {
  unlocked: true;
  until: "restart";
  /** The CRL signed at once because it was due, if it was. */
  crl: SignedCrlInfo | null;
}

/**
 * Unlocks the CA key for scheduled CRL signing with the administrator's password. Refused
 * (409) when the mode is off. Signs the CRL at once when it is due, and starts the
 * "crl-resign" job in this process.
 */
export async function unlockCaForCrlSigning(input: { caKeyPassword?: unknown }, opts: { actor: string; now?: Date }): Promise<UnlockResult> {
  if (!keepUnlockedEnabled()) {
    throw new AppError(
      "conflict",
      `Keeping the CA key unlocked is turned off on this server. To allow it, set ${KEEP_UNLOCKED_ENV}=true and restart Portcullis; until then the CRL is re-signed with the password ("Re-sign CRL").`,
    );
  }
  const password = str(input.caKeyPassword);
  const db = await getDb();
  const ca = await requireCaServer(db);
  if (!password) throw AppError.validation({ caKeyPassword: "Enter the password of the CA private key" });
  const unlocked = await unlockCa(ca, password);
  const now = opts.now ?? new Date();
  holder.held = { privateKey: unlocked.privateKey, caSha256: ca.sha256Fingerprint, unlockedAt: now, unlockedBy: opts.actor };
  await recordAudit({ action: "ca.unlock", actor: opts.actor, target: "ca", details: { until: "restart", purpose: "scheduled CRL signing" }, at: now });
  await ensureOcspSigner(unlocked, { now });
  const crl = await signCrlIfDue(unlocked.privateKey, { now, actor: opts.actor });
  holder.stopJob ??= startScheduledJob(crlResignJob, { firstDelayMs: CRL_RESIGN_INTERVAL_MS });
  return { unlocked: true, until: "restart", crl };
}

/** Forgets the unlocked key and stops the re-signing job of this process. Safe to call at any time. */
export async function lockCa(opts: { actor?: string } = {}): Promise<{ unlocked: false }> {
  const wasHeld = holder.held !== null;
  dropHeldCaKey();
  if (wasHeld) await recordAudit({ action: "ca.lock", actor: opts.actor ?? "system", target: "ca" });
  // Hand the job's lease over at once, so another instance holding the key is not kept waiting.
  try {
    const db = await getDb();
    await db.jobLease.updateMany({ where: { name: CRL_RESIGN_JOB, holder: INSTANCE_ID }, data: { leaseUntil: null } });
  } catch {
    // The lease simply runs out.
  }
  return { unlocked: false };
}

/** Drops the key from memory (Lock, reinitialize), the one kept briefly after an issuance too. */
export function dropHeldCaKey(): void {
  holder.held = null;
  forgetUnlockedKey();
  const stop = holder.stopJob;
  holder.stopJob = null;
  stop?.();
}

/**
 * One run of the scheduled re-signing: when this process holds the unlocked key of the
 * configured CA and the CRL is due (missing, past half its validity, or within the reminder
 * window), signs a new one. A key that no longer belongs to the configured CA is dropped.
 */
export async function resignWithHeldKey(now: Date): Promise<SignedCrlInfo | null> {
  const h = holder.held;
  if (!h) return null;
  const db = await getDb();
  const row = await db.caServer.findUnique({ where: { id: 1 }, select: { sha256Fingerprint: true, crlPem: true, crlThisUpdate: true, crlNextUpdate: true } });
  if (!row || row.sha256Fingerprint !== h.caSha256) {
    dropHeldCaKey();
    return null;
  }
  if (!crlDue(row, now)) return null;
  try {
    return await signCurrentCrl(h.privateKey, { now });
  } catch (e) {
    if (e instanceof AppError && e.code === "conflict") return null;
    if (e instanceof AppError && e.code === "key_mismatch") {
      dropHeldCaKey();
      return null;
    }
    throw e;
  }
}

/** The scheduled job, every 15 minutes, that re-signs the CRL with the unlocked key. */
export const crlResignJob: ScheduledJob = {
  name: CRL_RESIGN_JOB,
  intervalMs: CRL_RESIGN_INTERVAL_MS,
  run: async (now) => {
    await resignWithHeldKey(now);
  },
};
