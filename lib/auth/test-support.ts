/**
 * Helpers for the lib/auth tests: a fresh SQLite database per test file (real Prisma
 * client, no mocks), row helpers and an AppError matcher. Not used by application code.
 */
import { beforeAll, expect } from "vitest";
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { randomUUID } from "node:crypto";
import { getDb, sqliteFile, type Db } from "../db/index.ts";
import { useIsolatedDataDir } from "../test-support/data-dir.ts";

export { expectAppError } from "../test-support/app-error.ts";

/** Variables the auth code reads; cleared so the developer's shell cannot leak into a test. */
const AUTH_ENV = ["PORTCULLIS_ADMIN_USER", "PORTCULLIS_ADMIN_PASSWORD", "PORTCULLIS_SESSION_HOURS"] as const;

/**
 * Registers beforeAll/afterAll hooks that point PORTCULLIS_DATA_DIR at a new temporary
 * directory (so getDb() creates and migrates a new SQLite file there) and remove it after.
 */
export function useFreshDatabase(prefix: string): { dir: string } {
  // SQLite always: some tests read the database file itself; lib/auth/postgres.test.ts covers PostgreSQL.
  const { dir } = useIsolatedDataDir(`auth-${prefix}`, { ...Object.fromEntries(AUTH_ENV.map((k) => [k, undefined])), DATABASE_URL: undefined });
  beforeAll(async () => {
    const db = await getDb();
    // Sanity: the file really is in the scratch directory, not ./data.
    expect(sqliteFile()).toBe(join(dir, "portcullis.db"));
    expect(await db.admin.count()).toBe(0);
  });
  return { dir };
}

/** Empties every table the auth code writes. */
export async function wipeAuthTables(): Promise<void> {
  const db = await getDb();
  await db.session.deleteMany();
  await db.apiToken.deleteMany();
  await db.loginThrottle.deleteMany();
  await db.admin.deleteMany();
}

/**
 * An administrator row inserted directly, with a placeholder hash (no scrypt cost);
 * for tests that do not sign in with a password.
 */
export async function insertAdmin(username: string, passwordHash = "scrypt$32768$8$1$AAAA$AAAA"): Promise<{ id: string; username: string }> {
  const db = await getDb();
  const id = randomUUID();
  await db.admin.create({ data: { id, username, passwordHash } });
  return { id, username };
}

/** The raw bytes of the SQLite database and its write-ahead log, for "is X stored?" checks. */
export function databaseBytes(): Buffer {
  const file = sqliteFile();
  return Buffer.concat([file, `${file}-wal`].filter((f) => existsSync(f)).map((f) => readFileSync(f)));
}

export type { Db };
