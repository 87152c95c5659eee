/**
 * A throwaway PostgreSQL database for a test file, on the server named by
 * PORTCULLIS_TEST_POSTGRES_URL (the test command starts one: scripts/postgres-test.sh).
 * Not used by application code.
 */
import { afterAll, beforeAll } from "vitest";
import { randomBytes } from "node:crypto";
import pg from "pg";
import { closeDb, getDb } from "../db/index.ts";
import { setEnv } from "./env.ts";

export const TEST_POSTGRES_URL = process.env.PORTCULLIS_TEST_POSTGRES_URL;

/**
 * Registers hooks that create a database `portcullis_<prefix>_<random>`, point DATABASE_URL
 * at it (getDb() migrates it), and drop it afterwards. Use inside describe.skipIf(!TEST_POSTGRES_URL).
 */
/** Creates `portcullis_<prefix>_<random>` on the test server; answers its URL and a function that drops it. */
export async function createTestDatabase(prefix: string): Promise<{ url: string; drop: () => Promise<void> }> {
  const server = new pg.Client({ connectionString: TEST_POSTGRES_URL });
  await server.connect();
  const database = `portcullis_${prefix.replace(/[^a-z0-9_]/gi, "_").toLowerCase()}_${randomBytes(6).toString("hex")}`;
  await server.query(`CREATE DATABASE "${database}"`);
  const u = new URL(TEST_POSTGRES_URL!);
  u.pathname = `/${database}`;
  return {
    url: u.toString(),
    drop: async () => {
      try {
        // FORCE cannot end a backend of another role (an autovacuum worker busy on this
        // database, say): wait and try again; a database left on the throwaway server is harmless.
        for (let attempt = 1; ; attempt++) {
          try {
            await server.query(`DROP DATABASE IF EXISTS "${database}" WITH (FORCE)`);
            break;
          } catch (e) {
            if (attempt >= 10) {
              console.warn(`test database ${database} was not dropped: ${(e as Error).message}`);
              break;
            }
            await new Promise((r) => setTimeout(r, 500));
          }
        }
      } finally {
        await server.end();
      }
    },
  };
}

/**
 * Registers hooks that create a database `portcullis_<prefix>_<random>`, point DATABASE_URL
 * at it (getDb() migrates it), and drop it afterwards. Use inside describe.skipIf(!TEST_POSTGRES_URL).
 */
export function usePostgresDatabase(prefix: string): { url: () => string } {
  let created: { url: string; drop: () => Promise<void> } | undefined;
  let restoreEnv: (() => void) | undefined;
  beforeAll(async () => {
    created = await createTestDatabase(prefix);
    restoreEnv = setEnv({ DATABASE_URL: created.url });
    await closeDb();
    await getDb();
  });
  afterAll(async () => {
    await closeDb();
    restoreEnv?.();
    await created?.drop();
  });
  return { url: () => created?.url ?? "" };
}
