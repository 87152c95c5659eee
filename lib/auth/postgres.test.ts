/**
 * The races of lib/auth on a real PostgreSQL server, where two requests (or two
 * instances) really run at once. Runs only with PORTCULLIS_TEST_POSTGRES_URL set, e.g.
 *   bash scripts/postgres-test.sh start
 *   PORTCULLIS_TEST_POSTGRES_URL=$(bash scripts/postgres-test.sh url) npx vitest run lib/auth
 * The role in that URL needs CREATEDB: the run works in a fresh database that it drops.
 */
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { randomBytes, scryptSync } from "node:crypto";
import pg from "pg";
import { PrismaPg } from "@prisma/adapter-pg";
import { resetEnvCache } from "../env.ts";
import { setEnv } from "../test-support/env.ts";
import { closeDb, databaseProvider, getDb, type Db } from "../db/index.ts";
import { PrismaClient as PgPrismaClient } from "../db/generated/postgres/client.ts";
import type { AppError } from "../errors/app-error.ts";
import { adminCount, createFirstAdmin, ensureAdminFromEnv } from "./admins.ts";
import { verifyCredentials } from "./sign-in.ts";
import { beginAttempt } from "./throttle.ts";
import { insertAdmin, wipeAuthTables } from "./test-support.ts";

const url = process.env.PORTCULLIS_TEST_POSTGRES_URL;
const PW = "a fine long password";
const T0 = new Date("2030-09-01T00:00:00.000Z");

// Needs a live PostgreSQL server: the test command starts one and sets PORTCULLIS_TEST_POSTGRES_URL, so it runs there; a bare `vitest run` skips it.
describe.skipIf(!url)("lib/auth on PostgreSQL", () => {
  let server: pg.Client;
  let database: string;
  let dbUrl: string;
  let restoreEnv: (() => void) | undefined;

  beforeAll(async () => {
    server = new pg.Client({ connectionString: url });
    await server.connect();
    database = `portcullis_auth_${randomBytes(6).toString("hex")}`;
    await server.query(`CREATE DATABASE "${database}"`);
    const u = new URL(url!);
    u.pathname = `/${database}`;
    dbUrl = u.toString();
    restoreEnv = setEnv({ DATABASE_URL: dbUrl, PORTCULLIS_ADMIN_USER: undefined, PORTCULLIS_ADMIN_PASSWORD: undefined });
    await closeDb();
    await getDb();
    expect(databaseProvider()).toBe("postgres");
  });

  afterAll(async () => {
    await closeDb();
    restoreEnv?.();
    if (server) {
      await server.query(`DROP DATABASE IF EXISTS "${database}" WITH (FORCE)`);
      await server.end();
    }
  });

  beforeEach(async () => {
    await wipeAuthTables();
    delete process.env.PORTCULLIS_ADMIN_USER;
    delete process.env.PORTCULLIS_ADMIN_PASSWORD;
    resetEnvCache();
  });

  it("concurrent createFirstAdmin calls create exactly one administrator", async () => {
    for (let round = 0; round < 3; round++) {
      await wipeAuthTables();
      const names = ["first", "second", "third", "fourth"];
      const results = await Promise.allSettled(names.map((username) => createFirstAdmin({ username, password: PW })));
      const codes = results.map((r) => (r.status === "fulfilled" ? "ok" : (r.reason as AppError).code));
      expect(codes.filter((c) => c === "ok"), codes.join()).toHaveLength(1);
      expect(codes.filter((c) => c === "conflict")).toHaveLength(3);
      expect(await adminCount()).toBe(1);
    }
  });

  it("two racing starts with PORTCULLIS_ADMIN_USER/PASSWORD create one administrator", async () => {
    process.env.PORTCULLIS_ADMIN_USER = "envadmin";
    process.env.PORTCULLIS_ADMIN_PASSWORD = PW;
    resetEnvCache();
    const r = await Promise.all([ensureAdminFromEnv(), ensureAdminFromEnv(), ensureAdminFromEnv()]);
    expect(r.sort()).toEqual(["created", "exists", "exists"]);
    expect(await adminCount()).toBe(1);
  });

  it("parallel wrong guesses get exactly the 5 free failures", async () => {
    const salt = randomBytes(16);
    const key = scryptSync(PW, salt, 32, { N: 1024, r: 8, p: 1 });
    await insertAdmin("alice", ["scrypt", 1024, 8, 1, salt.toString("base64"), key.toString("base64")].join("$"));
    const results = await Promise.allSettled(Array.from({ length: 12 }, () => verifyCredentials({ username: "alice", password: "wrong password!", ip: "192.0.2.1" }, T0)));
    const codes = results.map((r) => (r.status === "fulfilled" ? "ok" : (r.reason as AppError).code));
    expect(codes.filter((c) => c === "unauthorized")).toHaveLength(5);
    expect(codes.filter((c) => c === "too_many_requests")).toHaveLength(7);
  });

  it("the throttle holds across instances (separate connection pools)", async () => {
    const db = await getDb();
    const other = new PgPrismaClient({ adapter: new PrismaPg({ connectionString: dbUrl }) }) as unknown as Db;
    try {
      const waits = await Promise.all(Array.from({ length: 20 }, (_, i) => beginAttempt(i % 2 ? other : db, ["user:carol", "ip:198.51.100.7"], T0)));
      expect(waits.filter((w) => w === 0)).toHaveLength(5);
      expect(waits.filter((w) => w === 30)).toHaveLength(15);
      const rows = await db.loginThrottle.findMany({ orderBy: { key: "asc" } });
      expect(rows.map((r) => [r.key, r.failures])).toEqual([
        ["ip:198.51.100.7", 5],
        ["user:carol", 5],
      ]);
    } finally {
      await other.$disconnect();
    }
  });
});
