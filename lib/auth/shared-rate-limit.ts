/**
 * A fixed-window limiter whose counts live in the database, so that every instance behind
 * a load balancer counts against the same window (a per-process limiter would let each
 * instance allow the whole limit). One statement per hit: an upsert that starts a new
 * window or counts one more in the current one, on SQLite and PostgreSQL alike.
 */
import { Prisma } from "../db/generated/sqlite/client.ts";
import { getDb } from "../db/index.ts";
import { dateParameter } from "../db/insert-many.ts";
import { AppError } from "../errors/app-error.ts";

/** Longest key stored: a scope and a client address. */
const MAX_KEY = 200;
let hitsSinceSweep = 0;

/**
 * Counts one hit of `key` in `scope`; throws 429 too_many_requests with Retry-After once
 * more than `limit` hits fell in the current window of `windowMs`.
 */
export async function hitSharedLimit(scope: string, key: string, limit: number, windowMs: number, now = new Date()): Promise<void> {
  const db = await getDb();
  const id = `${scope}:${key}`.slice(0, MAX_KEY);
  const start = dateParameter(now);
  const expired = dateParameter(new Date(now.getTime() - windowMs));
  const rows = await db.$queryRaw<{ count: number | bigint; windowStart: Date | string }[]>(Prisma.sql`
    INSERT INTO "RateWindow" ("key", "windowStart", "count") VALUES (${id}, ${start}, 1)
    ON CONFLICT ("key") DO UPDATE SET
      "count" = CASE WHEN "RateWindow"."windowStart" <= ${expired} THEN 1 ELSE "RateWindow"."count" + 1 END,
      "windowStart" = CASE WHEN "RateWindow"."windowStart" <= ${expired} THEN ${start} ELSE "RateWindow"."windowStart" END
    RETURNING "count", "windowStart"`);
  if (++hitsSinceSweep >= 500) {
    hitsSinceSweep = 0;
    // Windows that ended long ago are of no use to anyone.
    await db.rateWindow.deleteMany({ where: { windowStart: { lt: new Date(now.getTime() - 2 * windowMs) } } }).catch(() => undefined);
  }
  const row = rows[0];
  if (!row || Number(row.count) <= limit) return;
  const began = row.windowStart instanceof Date ? row.windowStart : new Date(row.windowStart);
  const retry = Math.max(1, Math.ceil((began.getTime() + windowMs - now.getTime()) / 1000));
  throw new AppError("too_many_requests", `Too many requests from this address; try again in ${retry} seconds`, { retryAfterSeconds: retry });
}
