/**
 * Helpers for the lib/auth tests: a fresh SQLite database per test file (real Prisma
 * client, no mocks), row helpers and an AppError matcher. Not used by application code.
 */
import { afterAll, beforeAll, expect } from "vitest";
import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { randomUUID } from "node:crypto";
import { resetEnvCache } from "../env.ts";
import { closeDb, getDb, sqliteFile, type Db } from "../db/index.ts";
import { AppError, type AppErrorCode } from "../errors/app-error.ts";

/** Variables the auth code reads; cleared so the developer's shell cannot leak into a test. */
const AUTH_ENV = ["DATABASE_URL", "PORTCULLIS_ADMIN_USER", "PORTCULLIS_ADMIN_PASSWORD", "PORTCULLIS_SESSION_HOURS"] as const;

/**
 * Registers beforeAll/afterAll hooks that point PORTCULLIS_DATA_DIR at a new temporary
 * directory (so getDb() creates and migrates a new SQLite file there) and remove it after.
 */
export function useFreshDatabase(prefix: string): { dir: string } {
  const dir = mkdtempSync(join(tmpdir(), `portcullis-auth-${prefix}-`));
  const saved: Record<string, string | undefined> = {};
  beforeAll(async () => {
    saved.PORTCULLIS_DATA_DIR = process.env.PORTCULLIS_DATA_DIR;
    for (const k of AUTH_ENV) {
      saved[k] = process.env[k];
      delete process.env[k];
    }
    process.env.PORTCULLIS_DATA_DIR = dir;
    resetEnvCache();
    await closeDb();
    const db = await getDb();
    // Sanity: the file really is in the scratch directory, not ./data.
    expect(sqliteFile()).toBe(join(dir, "portcullis.db"));
    expect(await db.admin.count()).toBe(0);
  });
  afterAll(async () => {
    await closeDb();
    for (const [k, v] of Object.entries(saved)) {
      if (v === undefined) delete process.env[k];
      else process.env[k] = v;
    }
    resetEnvCache();
    rmSync(dir, { recursive: true, force: true });
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

/** Awaits `p`, expecting it to reject with an AppError of `code`; returns the error. */
export async function expectAppError(p: Promise<unknown>, code: AppErrorCode): Promise<AppError> {
  const e = await p.then(
    (v) => ({ resolved: v }),
    (x: unknown) => x,
  );
  expect(e, "expected an AppError").toBeInstanceOf(AppError);
  expect((e as AppError).code).toBe(code);
  return e as AppError;
}

/** The raw bytes of the SQLite database and its write-ahead log, for "is X stored?" checks. */
export function databaseBytes(): Buffer {
  const file = sqliteFile();
  return Buffer.concat([file, `${file}-wal`].filter((f) => existsSync(f)).map((f) => readFileSync(f)));
}

export type { Db };
