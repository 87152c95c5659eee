/**
 * Whether a database error is a unique-constraint violation: Prisma's P2002 from the model
 * API, or a raw query's driver error (P2010) whose adapter reports the violation, on SQLite
 * and PostgreSQL alike.
 */
export function isUniqueViolation(e: unknown): boolean {
  const err = e as { code?: unknown; message?: unknown; meta?: { driverAdapterError?: { cause?: { kind?: unknown } } } } | null;
  if (!err || typeof err !== "object") return false;
  if (err.code === "P2002" || err.meta?.driverAdapterError?.cause?.kind === "UniqueConstraintViolation") return true;
  return /Unique constraint failed|UNIQUE constraint failed|duplicate key value/i.test(typeof err.message === "string" ? err.message : "");
}
