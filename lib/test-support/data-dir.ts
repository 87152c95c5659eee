/**
 * A test file's own Portcullis data directory and test SMTP server, as vitest hooks.
 * Not used by application code.
 */
import { afterAll, beforeAll } from "vitest";
import { closeDb } from "../db/index.ts";
import { resetSecretCache } from "../crypto/secret-box.ts";
import { startTestSmtpServer, type TestSmtpServer } from "../mail/test-smtp-server.ts";
import { setEnv, type EnvChanges } from "./env.ts";
import { scratchDir, type ScratchDir } from "./scratch-dir.ts";
import { createTestDatabase, TEST_POSTGRES_URL } from "./postgres.ts";

/**
 * Registers beforeAll/afterAll hooks that give the test file a data directory of its own,
 * `portcullis-<prefix>-XXXXXX`, where getDb() then creates and migrates a new SQLite
 * database. DATABASE_URL and PORTCULLIS_SECRET are cleared so the developer's shell cannot
 * leak into the test, `env` is applied over that, and the configuration and secret caches
 * and the database connection are reset. With PORTCULLIS_TEST_DATABASE=postgres (and
 * PORTCULLIS_TEST_POSTGRES_URL) the file gets a fresh PostgreSQL database instead of SQLite. Afterwards the database is closed, the
 * environment put back and the directory removed.
 */
export function useIsolatedDataDir(prefix: string, env: EnvChanges = {}): ScratchDir {
  const scratch = scratchDir(prefix);
  let restoreEnv: (() => void) | undefined;
  let database: { url: string; drop: () => Promise<void> } | undefined;
  beforeAll(async () => {
    // PORTCULLIS_TEST_DATABASE=postgres runs the same tests on a fresh PostgreSQL database per file.
    if (process.env.PORTCULLIS_TEST_DATABASE === "postgres" && TEST_POSTGRES_URL && !("DATABASE_URL" in env)) database = await createTestDatabase(prefix);
    restoreEnv = setEnv({ DATABASE_URL: database?.url, PORTCULLIS_SECRET: undefined, ...env, PORTCULLIS_DATA_DIR: scratch.dir });
    resetSecretCache();
    await closeDb();
  });
  afterAll(async () => {
    // A PostgreSQL pool still busy with a background mail delivery would hold the close up;
    // dropping the database with FORCE ends its connections anyway.
    if (database) await Promise.race([closeDb(), new Promise((r) => setTimeout(r, 5000).unref())]);
    else await closeDb();
    restoreEnv?.();
    resetSecretCache();
    scratch.remove();
    await database?.drop();
  });
  return scratch;
}

/**
 * Registers beforeAll/afterAll hooks that start a test SMTP server and stop it. The
 * server answered is usable from the first beforeAll hook registered after this call on.
 */
export function useTestSmtpServer(): TestSmtpServer {
  let server: TestSmtpServer | undefined;
  const started = (): TestSmtpServer => {
    if (!server) throw new Error("The test SMTP server is started in a beforeAll hook: use it in hooks and tests");
    return server;
  };
  beforeAll(async () => {
    server = await startTestSmtpServer();
  });
  afterAll(async () => {
    await server?.stop();
  });
  return {
    host: "127.0.0.1",
    get port() {
      return started().port;
    },
    get messages() {
      return started().messages;
    },
    waitFor: (pred, timeoutMs) => started().waitFor(pred, timeoutMs),
    stop: () => started().stop(),
  };
}
