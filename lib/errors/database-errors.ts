/**
 * Database failures that are nobody's mistake and pass with time — a lock held by another
 * process past the busy timeout (10 s on SQLite), a transaction that could not start or
 * ran out of time, a write conflict, an unreachable server, a full disk — become one
 * clear 503 AppError instead of a 500 with a stack. Transactions roll back on all of them.
 */
import { AppError } from "./app-error.ts";

/** Prisma codes: operation timed out, server unreachable / timed out / closed the connection, pool timeout, write conflict or deadlock. */
const TRANSIENT_CODES = new Set(["P1008", "P1001", "P1002", "P1017", "P2024", "P2034"]);
const BUSY = /SQLITE_BUSY|SQLITE_LOCKED|database is locked|database table is locked|SocketTimeout|Unable to start a transaction in the given time|Transaction already closed|expired transaction|lock timeout|deadlock detected|could not serialize access/i;
const FULL = /SQLITE_FULL|database or disk is full|No space left on device|ENOSPC|could not extend file/i;

/** The text of an error, its code, its Prisma metadata and its causes, for matching. */
function describe(e: unknown, depth = 0): { codes: string[]; text: string } {
  if (!e || typeof e !== "object" || depth > 4) return { codes: [], text: typeof e === "string" ? e : "" };
  const o = e as { code?: unknown; message?: unknown; meta?: unknown; cause?: unknown; originalCode?: unknown; originalMessage?: unknown; kind?: unknown };
  const codes = [o.code, o.originalCode, o.kind].filter((c): c is string => typeof c === "string");
  let text = [o.message, o.originalMessage, o.kind].filter((t): t is string => typeof t === "string").join(" ");
  for (const inner of [o.meta, o.cause, (o.meta as { driverAdapterError?: unknown } | undefined)?.driverAdapterError]) {
    const d = describe(inner, depth + 1);
    codes.push(...d.codes);
    text += " " + d.text;
  }
  return { codes, text };
}

/** A 503 AppError for a transient database failure, or null when `e` is something else. */
export function databaseUnavailable(e: unknown): AppError | null {
  if (e instanceof AppError) return null;
  const { codes, text } = describe(e);
  const all = `${codes.join(" ")} ${text}`;
  if (FULL.test(all)) return new AppError("unavailable", "The database cannot be written: its disk is full, and the operation was not completed. Free some space on the server and try again.", { retryAfterSeconds: 60, cause: e });
  if (codes.some((c) => TRANSIENT_CODES.has(c)) || BUSY.test(all)) {
    return new AppError("unavailable", "The database is busy (another process is holding a lock on it) or not answering, and the operation was not completed. Try again in a moment.", { retryAfterSeconds: 5, cause: e });
  }
  return null;
}
