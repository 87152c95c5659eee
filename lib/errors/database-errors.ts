/**
 * Database failures that are nobody's mistake and pass with time — a lock held by another
 * process past the busy timeout (10 s on SQLite), a transaction that could not start or
 * ran out of time, a write conflict, a PostgreSQL server that is restarting, unreachable
 * or closed the connection, a full disk — become one clear 503 AppError instead of a 500
 * with a stack. Transactions roll back on all of them, so the caller may simply retry.
 */
import { AppError } from "./app-error.ts";

/** Prisma codes: operation timed out, pool timeout, write conflict or deadlock. */
const BUSY_CODES = new Set(["P1008", "P2024", "P2034"]);
/**
 * The server cannot be used right now. Prisma: P1001 unreachable, P1002 timed out, P1017
 * closed the connection. PostgreSQL SQLSTATE class 08 (connection exception), 57P01
 * admin_shutdown, 57P02 crash_shutdown, 57P03 cannot_connect_now (starting up or shutting
 * down), 53300 too_many_connections. Driver-adapter kinds and Node socket errors alike.
 */
const DOWN_CODES = new Set([
  "P1001", "P1002", "P1017",
  "08000", "08001", "08003", "08004", "08006", "08007", "57P01", "57P02", "57P03", "53300",
  "DatabaseNotReachable", "ConnectionClosed", "TooManyConnections",
]);
/**
 * Socket errors count only when they come from the database client (a Prisma error, a
 * driver-adapter error, or getDb's first connection): the same codes from an SMTP server
 * or a fetched URL are another part's failure.
 */
const SOCKET_CODES = new Set(["ECONNREFUSED", "ECONNRESET", "EPIPE", "ETIMEDOUT", "EHOSTUNREACH", "ENETUNREACH", "EAI_AGAIN", "ENOTFOUND"]);
const DATABASE_ERROR_NAMES = /^(PrismaClient\w*Error|DriverAdapterError|DatabaseConnectionError)$/;
/** PostgreSQL: serialization failure, deadlock, lock not available. */
const CONFLICT_CODES = new Set(["40001", "40P01", "55P03", "TransactionWriteConflict"]);
const BUSY = /SQLITE_BUSY|SQLITE_LOCKED|database is locked|database table is locked|SocketTimeout|Unable to start a transaction in the given time|Transaction already closed|expired transaction|lock timeout|deadlock detected|could not serialize access/i;
// The pg driver's own errors carry no code: a connection that died or could not be opened in time.
const DOWN = /Connection terminated|Client has encountered a connection error and is not queryable|Client was closed and is not queryable|timeout exceeded when trying to connect|terminating connection due to administrator command|the database system is (?:shutting down|starting up|in recovery mode|not yet accepting connections)|Can't reach database server|Server has closed the connection/i;
const FULL = /SQLITE_FULL|database or disk is full|No space left on device|ENOSPC|could not extend file/i;

/** The text of an error, its code, its Prisma metadata and its causes, for matching. */
function describe(e: unknown, depth = 0): { codes: string[]; text: string; names: string[] } {
  if (!e || typeof e !== "object" || depth > 4) return { codes: [], text: typeof e === "string" ? e : "", names: [] };
  const o = e as { code?: unknown; message?: unknown; meta?: unknown; cause?: unknown; originalCode?: unknown; originalMessage?: unknown; kind?: unknown };
  const codes = [o.code, o.originalCode, o.kind].filter((c): c is string => typeof c === "string");
  let text = [o.message, o.originalMessage, o.kind].filter((t): t is string => typeof t === "string").join(" ");
  const names = [(e as { name?: unknown }).name, e.constructor?.name].filter((n): n is string => typeof n === "string");
  const inner: unknown[] = [o.meta, o.cause, (o.meta as { driverAdapterError?: unknown } | undefined)?.driverAdapterError];
  // A connection refused to every address of a host name arrives as an AggregateError.
  if (Array.isArray((e as { errors?: unknown }).errors)) inner.push(...((e as { errors: unknown[] }).errors.slice(0, 4)));
  for (const i of inner) {
    const d = describe(i, depth + 1);
    codes.push(...d.codes);
    names.push(...d.names);
    text += " " + d.text;
  }
  return { codes, text, names };
}

/** A 503 AppError for a transient database failure, or null when `e` is something else. */
export function databaseUnavailable(e: unknown): AppError | null {
  if (e instanceof AppError) return null;
  const { codes, text, names } = describe(e);
  const fromDatabase = names.some((n) => DATABASE_ERROR_NAMES.test(n));
  const all = `${codes.join(" ")} ${text}`;
  if (FULL.test(all)) return new AppError("unavailable", "The database cannot be written: its disk is full, and the operation was not completed. Free some space on the server and try again.", { retryAfterSeconds: 60, cause: e });
  if (codes.some((c) => DOWN_CODES.has(c) || (fromDatabase && SOCKET_CODES.has(c))) || DOWN.test(all)) {
    return new AppError("unavailable", "The database server is not answering (it may be restarting). Try again in a moment.", { retryAfterSeconds: 5, cause: e });
  }
  if (codes.some((c) => BUSY_CODES.has(c) || CONFLICT_CODES.has(c)) || BUSY.test(all)) {
    return new AppError("unavailable", "The database is busy (another process is holding a lock on it) or not answering, and the operation was not completed. Try again in a moment.", { retryAfterSeconds: 5, cause: e });
  }
  return null;
}
