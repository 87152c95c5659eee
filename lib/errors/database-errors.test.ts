/**
 * Which failures become the 503 `unavailable` answer, judged on real errors: a PostgreSQL
 * server nobody listens for, connections the server terminates (as a restart does), and,
 * for contrast, the same socket errors from other parts (SMTP, a fetched URL) and a
 * caller's mistake, which must not be mistaken for a database outage. The connection
 * cases against a live server run where PORTCULLIS_TEST_POSTGRES_URL is set (the test
 * command starts one); lib/ca/faults-database-locked.test.ts covers SQLite.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { connect } from "node:net";
import pg from "pg";
import nodemailer from "nodemailer";
import { PrismaPg } from "@prisma/adapter-pg";
import { PrismaClient as PgPrismaClient } from "../db/generated/postgres/client.ts";
import { closeDb, DatabaseConnectionError, getDb } from "../db/index.ts";
import { setEnv } from "../test-support/env.ts";
import { unusedPort } from "../test-support/ports.ts";
import { createTestDatabase, TEST_POSTGRES_URL } from "../test-support/postgres.ts";
import { AppError } from "./app-error.ts";
import { databaseUnavailable } from "./database-errors.ts";

async function caught(p: Promise<unknown>): Promise<unknown> {
  try {
    await p;
  } catch (e) {
    return e;
  }
  throw new Error("expected a failure");
}

function expectUnavailable(e: unknown): void {
  const mapped = databaseUnavailable(e);
  expect(mapped, `not mapped: ${String((e as Error)?.message ?? e)}`).toBeInstanceOf(AppError);
  expect(mapped!.code).toBe("unavailable");
  expect(mapped!.status).toBe(503);
  expect(mapped!.retryAfterSeconds).toBeGreaterThan(0);
  expect(mapped!.message).toMatch(/database/i);
}

describe("a PostgreSQL server that is not there", () => {
  let url = "";
  let restore: (() => void) | undefined;
  beforeAll(async () => {
    url = `postgresql://portcullis@127.0.0.1:${await unusedPort()}/portcullis`;
  });
  afterAll(async () => {
    await closeDb();
    restore?.();
  });

  it("the app's first connection fails clearly, and the next getDb() tries again", async () => {
    await closeDb();
    restore = setEnv({ DATABASE_URL: url });
    const first = await caught(getDb());
    expect(first).toBeInstanceOf(DatabaseConnectionError);
    expectUnavailable(first);
    // Not cached: a second call connects again (and fails again, the server is still away).
    const second = await caught(getDb());
    expect(second).not.toBe(first);
    expectUnavailable(second);
  });

  it("a query of the Prisma client (P1001, can't reach the server)", async () => {
    const prisma = new PgPrismaClient({ adapter: new PrismaPg({ connectionString: url, connectionTimeoutMillis: 5_000 }) });
    try {
      const e = await caught(prisma.jobLease.count());
      expect((e as { code?: string }).code).toBe("P1001");
      expectUnavailable(e);
      expectUnavailable(await caught(prisma.$transaction(async (tx) => tx.jobLease.count())));
    } finally {
      await prisma.$disconnect();
    }
  });
});

describe("the same socket errors from other parts are not the database's", () => {
  it("an SMTP server that refuses the connection", async () => {
    const port = await unusedPort();
    const t = nodemailer.createTransport({ host: "127.0.0.1", port, secure: false, connectionTimeout: 3_000 });
    const e = await caught(t.sendMail({ from: "a@example.com", to: "b@example.com", subject: "x", text: "x" }));
    expect(String((e as Error).message)).toMatch(/ECONNREFUSED/);
    expect(databaseUnavailable(e)).toBeNull();
  });

  it("a URL that cannot be fetched, and a bare refused connection", async () => {
    const port = await unusedPort();
    const e = await caught(fetch(`http://127.0.0.1:${port}/crl.der`));
    expect((e as { cause?: { code?: string } }).cause?.code).toBe("ECONNREFUSED");
    expect(databaseUnavailable(e)).toBeNull();
    const raw = await caught(new Promise((_, reject) => connect(port, "127.0.0.1").on("error", reject)));
    expect((raw as { code?: string }).code).toBe("ECONNREFUSED");
    expect(databaseUnavailable(raw)).toBeNull();
  });
});

// Needs a live PostgreSQL server (the test command starts one); skipped without it, saying why.
describe.skipIf(!TEST_POSTGRES_URL)("connections a live PostgreSQL server terminates, as a restart does (PORTCULLIS_TEST_POSTGRES_URL)", () => {
  let db: { url: string; drop: () => Promise<void> };
  let admin: pg.Client;
  let restore: (() => void) | undefined;
  beforeAll(async () => {
    db = await createTestDatabase("dberrors");
    await closeDb();
    restore = setEnv({ DATABASE_URL: db.url });
    admin = new pg.Client({ connectionString: TEST_POSTGRES_URL });
    await admin.connect();
  });
  afterAll(async () => {
    await closeDb();
    restore?.();
    await admin?.end();
    await db?.drop();
  });

  /** The app's own client (lib/db), as the route handlers use it. */
  const app = async () => (await getDb()) as unknown as InstanceType<typeof PgPrismaClient>;
  const within = <T,>(p: Promise<T>, ms: number): Promise<T> =>
    Promise.race([p, new Promise<T>((_, reject) => setTimeout(() => reject(new Error(`no answer within ${ms} ms`)), ms))]);

  const terminateAll = async () => {
    const name = new URL(db.url).pathname.slice(1);
    const r = await admin.query(`SELECT count(pg_terminate_backend(pid))::int AS n FROM pg_stat_activity WHERE datname = $1 AND pid <> pg_backend_pid()`, [name]);
    return r.rows[0].n as number;
  };

  it("transactions whose connection is terminated fail as unavailable, and never use up the pool", async () => {
    const prisma = await app();
    // More than the pool holds (10): a connection lost inside a transaction must not stay checked out.
    for (let i = 0; i < 14; i++) {
      const e = await caught(
        within(
          prisma.$transaction(async (tx) => {
            const [{ pid }] = await tx.$queryRawUnsafe<{ pid: number }[]>("SELECT pg_backend_pid() AS pid");
            await admin.query("SELECT pg_terminate_backend($1)", [pid]);
            await tx.jobLease.count();
          }),
          15_000,
        ),
      );
      expectUnavailable(e);
    }
    // The same client answers at once, without being recreated.
    expect(await within(prisma.jobLease.count(), 5_000)).toBe(0);
    await within(Promise.all(Array.from({ length: 20 }, () => prisma.$transaction(async (tx) => tx.jobLease.count()))), 10_000);
  });

  it("idle connections the server closed are dropped from the pool: the next queries succeed", async () => {
    const prisma = await app();
    await Promise.all(Array.from({ length: 4 }, () => prisma.$queryRawUnsafe("SELECT pg_sleep(0.05)::text")));
    expect(await terminateAll()).toBeGreaterThan(0);
    // The driver learns of the closed sockets from the server's goodbye message.
    await new Promise((r) => setTimeout(r, 300));
    const answers = await Promise.allSettled(Array.from({ length: 4 }, () => prisma.jobLease.count()));
    expect(answers.map((a) => (a.status === "fulfilled" ? a.value : String(a.reason)))).toEqual([0, 0, 0, 0]);
  });

  it("a caller's mistake on the same server (a unique violation) is not an outage", async () => {
    const prisma = await app();
    await prisma.jobLease.create({ data: { name: "twice", holder: "test" } });
    const e = await caught(prisma.jobLease.create({ data: { name: "twice", holder: "test" } }));
    expect((e as { code?: string }).code).toBe("P2002");
    expect(databaseUnavailable(e)).toBeNull();
  });
});
