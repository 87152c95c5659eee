/**
 * Sign-in backoff. Failures are counted per user name and per client address; after
 * FREE_FAILURES the key is locked for a delay that doubles with each further failure,
 * up to MAX_LOCK_SECONDS. Kept in the database so it holds across instances and restarts.
 */
import type { Db } from "../db/index.ts";
import { isUniqueViolation } from "../db/unique-violation.ts";

export const FREE_FAILURES = 5;
export const BASE_LOCK_SECONDS = 30;
export const MAX_LOCK_SECONDS = 15 * 60;

export function lockSecondsAfter(failures: number): number {
  if (failures < FREE_FAILURES) return 0;
  return Math.min(MAX_LOCK_SECONDS, BASE_LOCK_SECONDS * 2 ** (failures - FREE_FAILURES));
}

function secondsUntil(until: Date, now: Date): number {
  return Math.ceil((until.getTime() - now.getTime()) / 1000);
}

function lockFor(failures: number, now: Date): Date | null {
  const secs = lockSecondsAfter(failures);
  return secs > 0 ? new Date(now.getTime() + secs * 1000) : null;
}


/** Seconds until any of `keys` may try again (0 = now). */
export async function lockedForSeconds(db: Db, keys: string[], now = new Date()): Promise<number> {
  const rows = await db.loginThrottle.findMany({ where: { key: { in: keys } } });
  let wait = 0;
  for (const r of rows) {
    if (r.lockedUntil && r.lockedUntil > now) wait = Math.max(wait, secondsUntil(r.lockedUntil, now));
  }
  return wait;
}

/**
 * Starts a sign-in attempt: unless a key is locked, counts the attempt as a failure on
 * every key *before* the password is checked (clearFailures() undoes it on success), so
 * parallel guesses cannot all pass the lock check before any of them is recorded.
 * Returns 0 when the attempt may go ahead, else the seconds to wait (nothing counted).
 * Each key is updated by compare-and-swap on its failure count, so concurrent attempts,
 * in this process or another instance, are counted one by one.
 */
export async function beginAttempt(db: Db, keys: string[], now = new Date()): Promise<number> {
  const wait = await lockedForSeconds(db, keys, now);
  if (wait > 0) return wait;
  for (const key of keys) {
    // Lost a race to a parallel attempt that locked the key: this one is refused. Keys
    // claimed before it stay counted, which errs on the safe side.
    const w = await claimAttempt(db, key, now);
    if (w > 0) return w;
  }
  return 0;
}

async function claimAttempt(db: Db, key: string, now: Date): Promise<number> {
  for (let round = 0; round < 100; round++) {
    const row = await db.loginThrottle.findUnique({ where: { key } });
    if (!row) {
      try {
        await db.loginThrottle.create({ data: { key, failures: 1, lockedUntil: lockFor(1, now) } });
        return 0;
      } catch (e) {
        if (isUniqueViolation(e)) continue;
        throw e;
      }
    }
    if (row.lockedUntil && row.lockedUntil > now) return secondsUntil(row.lockedUntil, now);
    const failures = row.failures + 1;
    const r = await db.loginThrottle.updateMany({ where: { key, failures: row.failures }, data: { failures, lockedUntil: lockFor(failures, now) } });
    if (r.count === 1) return 0;
  }
  return 1; // extreme contention: refuse rather than let the attempt through uncounted
}

/** Counts one failure on each key after the fact (beginAttempt counts up front instead). */
export async function recordFailure(db: Db, keys: string[], now = new Date()): Promise<void> {
  for (const key of keys) {
    const row = await db.loginThrottle.upsert({
      where: { key },
      create: { key, failures: 1 },
      update: { failures: { increment: 1 } },
    });
    const secs = lockSecondsAfter(row.failures);
    if (secs > 0) await db.loginThrottle.update({ where: { key }, data: { lockedUntil: new Date(now.getTime() + secs * 1000) } });
  }
}

export async function clearFailures(db: Db, keys: string[]): Promise<void> {
  await db.loginThrottle.deleteMany({ where: { key: { in: keys } } });
}
