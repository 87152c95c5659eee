/**
 * PostgreSQL on a real server: the committed migrations, their advisory lock, and the
 * app's own code through getDb(). Runs only with PORTCULLIS_TEST_POSTGRES_URL set, e.g.
 *   bash scripts/postgres-test.sh start
 *   PORTCULLIS_TEST_POSTGRES_URL=$(bash scripts/postgres-test.sh url) npx vitest run lib/db
 * The role in that URL needs CREATEDB: every run works in fresh databases
 * (portcullis_test_<random>) that it drops at the end.
 * The migration-set checks at the bottom need no server and always run.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { randomBytes } from "node:crypto";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import Database from "better-sqlite3";
import pg from "pg";
import { loadMigrations, migratePostgres, migrateSqlite, type Migration } from "./migrate.ts";

const url = process.env.PORTCULLIS_TEST_POSTGRES_URL;

/** Tables and their scalar columns as prisma/schema.prisma declares them (no @@map/@map in use, but honoured). */
function schemaTables(): Map<string, Set<string>> {
  const text = readFileSync(join(process.cwd(), "prisma", "schema.prisma"), "utf8");
  const blocks = [...text.matchAll(/^model\s+(\w+)\s*\{([\s\S]*?)^\}/gm)];
  const models = new Set(blocks.map((b) => b[1]));
  const tables = new Map<string, Set<string>>();
  for (const [, name, body] of blocks) {
    const table = /@@map\("([^"]+)"\)/.exec(body)?.[1] ?? name;
    const columns = new Set<string>();
    for (const line of body.split("\n")) {
      const m = /^\s*(\w+)\s+(\w+)(\[\])?\??(.*)$/.exec(line);
      if (!m || models.has(m[2]) || m[3]) continue; // relation fields are not columns
      columns.add(/@map\("([^"]+)"\)/.exec(m[4])?.[1] ?? m[1]);
    }
    tables.set(table, columns);
  }
  return tables;
}

function urlFor(database: string): string {
  const u = new URL(url!);
  u.pathname = `/${database}`;
  return u.toString();
}

async function connect(connectionString: string): Promise<pg.Client> {
  const c = new pg.Client({ connectionString });
  await c.connect();
  return c;
}

// Needs a live PostgreSQL server: the test command starts one and sets PORTCULLIS_TEST_POSTGRES_URL, so it runs there; a bare `vitest run` skips it.
describe.skipIf(!url)("PostgreSQL", () => {
  let admin: pg.Client;
  const created: string[] = [];

  async function freshDatabase(): Promise<string> {
    const name = `portcullis_test_${randomBytes(6).toString("hex")}`;
    await admin.query(`CREATE DATABASE "${name}"`);
    created.push(name);
    return urlFor(name);
  }

  async function publicTables(c: pg.Client): Promise<Map<string, Set<string>>> {
    const { rows } = await c.query<{ table_name: string; column_name: string }>(
      `SELECT c.table_name, c.column_name FROM information_schema.columns c
         JOIN information_schema.tables t ON t.table_schema = c.table_schema AND t.table_name = c.table_name
        WHERE c.table_schema = 'public' AND t.table_type = 'BASE TABLE'`,
    );
    const m = new Map<string, Set<string>>();
    for (const r of rows) (m.get(r.table_name) ?? m.set(r.table_name, new Set()).get(r.table_name)!).add(r.column_name);
    return m;
  }

  async function appliedIds(c: pg.Client): Promise<string[]> {
    const { rows } = await c.query<{ id: string; appliedAt: string }>(`SELECT "id", "appliedAt" FROM "_portcullis_migrations" ORDER BY "id"`);
    for (const r of rows) expect(Number.isNaN(Date.parse(r.appliedAt)), r.appliedAt).toBe(false);
    return rows.map((r) => r.id);
  }

  beforeAll(async () => {
    admin = await connect(url!);
  });

  afterAll(async () => {
    if (!admin) return;
    for (const name of created) await admin.query(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`);
    await admin.end();
  });

  describe("migratePostgres", () => {
    const ids = loadMigrations("postgres").map((m) => m.id);

    it("creates every table and column of the schema on an empty database, once", async () => {
      expect(ids.length).toBeGreaterThan(0);
      const c = await connect(await freshDatabase());
      try {
        expect(await migratePostgres(c)).toEqual(ids);

        const expected = schemaTables();
        const actual = await publicTables(c);
        expect(actual.get("_portcullis_migrations")).toEqual(new Set(["id", "appliedAt"]));
        actual.delete("_portcullis_migrations");
        expect([...actual.keys()].sort()).toEqual([...expected.keys()].sort());
        for (const [table, columns] of expected) expect([...actual.get(table)!].sort(), table).toEqual([...columns].sort());

        expect(await appliedIds(c)).toEqual(ids);
        // Again: nothing to do, nothing recorded twice.
        expect(await migratePostgres(c)).toEqual([]);
        expect(await appliedIds(c)).toEqual(ids);
      } finally {
        await c.end();
      }
    });

    it("three instances starting together apply each migration exactly once (advisory lock)", async () => {
      const dbUrl = await freshDatabase();
      const clients = await Promise.all([1, 2, 3].map(() => connect(dbUrl)));
      try {
        const results = await Promise.allSettled(clients.map((c) => migratePostgres(c)));
        for (const r of results) expect(r.status, r.status === "rejected" ? String(r.reason) : "").toBe("fulfilled");
        const applied = results.flatMap((r) => (r.status === "fulfilled" ? r.value : []));
        expect(applied.sort()).toEqual([...ids].sort());
        expect(await appliedIds(clients[0])).toEqual(ids);
        expect([...(await publicTables(clients[0])).keys()].sort()).toEqual([...schemaTables().keys(), "_portcullis_migrations"].sort());
      } finally {
        await Promise.all(clients.map((c) => c.end()));
      }
    });

    it("runs a migration of many statements in one query, and rolls a failed run back entirely", async () => {
      const c = await connect(await freshDatabase());
      try {
        // What `prisma migrate diff` writes: comments, several statements, semicolons in literals.
        const multi: Migration = {
          id: "0001_multi",
          sql: `-- CreateTable\nCREATE TABLE "A" ("id" TEXT NOT NULL, CONSTRAINT "A_pkey" PRIMARY KEY ("id"));\n\n-- a comment; with a semicolon\nINSERT INTO "A" ("id") VALUES ('x;y');\nCREATE INDEX "A_id_idx" ON "A"("id");\n`,
        };
        expect(await migratePostgres(c, [multi])).toEqual(["0001_multi"]);
        expect((await c.query(`SELECT "id" FROM "A"`)).rows).toEqual([{ id: "x;y" }]);

        const good: Migration = { id: "0002_good", sql: `CREATE TABLE "B" ("id" TEXT);` };
        const bad: Migration = { id: "0003_bad", sql: `CREATE TABLE "C" ("id" TEXT);\nSELECT no_such_function();` };
        await expect(migratePostgres(c, [multi, good, bad])).rejects.toThrow(/no_such_function/);
        // The connection is usable again and nothing of the failed run remains.
        expect(await appliedIds(c)).toEqual(["0001_multi"]);
        const tables = await publicTables(c);
        expect(tables.has("B")).toBe(false);
        expect(tables.has("C")).toBe(false);
        expect(await migratePostgres(c, [multi, good])).toEqual(["0002_good"]);
      } finally {
        await c.end();
      }
    });
  });

  describe("the app through getDb()", () => {
    let restoreEnv: (() => void) | undefined;
    // Imported lazily so the skipped file loads none of the app.
    let m: {
      db: typeof import("./index.ts");
      env: typeof import("../test-support/env.ts");
      secret: typeof import("../crypto/secret-box.ts");
      configure: typeof import("../ca/configure-server.ts");
      view: typeof import("../ca/get-server.ts");
      smtp: typeof import("../mail/test-smtp-server.ts");
      support: typeof import("../pki/test-support.ts");
    };
    let scratch: ReturnType<typeof import("../pki/test-support.ts").scratchDir>;
    let smtp: Awaited<ReturnType<typeof import("../mail/test-smtp-server.ts").startTestSmtpServer>>;
    let dbUrl: string;

    beforeAll(async () => {
      m = {
        db: await import("./index.ts"),
        env: await import("../test-support/env.ts"),
        secret: await import("../crypto/secret-box.ts"),
        configure: await import("../ca/configure-server.ts"),
        view: await import("../ca/get-server.ts"),
        smtp: await import("../mail/test-smtp-server.ts"),
        support: await import("../pki/test-support.ts"),
      };
      scratch = m.support.scratchDir("pg");
      dbUrl = await freshDatabase();
      // A server far from UTC: DateTime values and column defaults must not shift.
      await admin.query(`ALTER DATABASE "${created.at(-1)}" SET timezone TO 'Pacific/Kiritimati'`);
      restoreEnv = m.env.setEnv({ DATABASE_URL: dbUrl, PORTCULLIS_DATA_DIR: scratch.dir, PORTCULLIS_SECRET: undefined });
      m.secret.resetSecretCache();
      await m.db.closeDb();
      smtp = await m.smtp.startTestSmtpServer();
    });

    afterAll(async () => {
      await m?.db.closeDb();
      await smtp?.stop();
      restoreEnv?.();
      m?.secret.resetSecretCache();
      scratch?.remove();
    });

    it("migrates the empty database and stores and reads an Admin", async () => {
      expect(m.db.databaseProvider()).toBe("postgres");
      const db = await m.db.getDb();
      const c = await connect(dbUrl);
      try {
        expect(await appliedIds(c)).toEqual(loadMigrations("postgres").map((x) => x.id));
      } finally {
        await c.end();
      }

      const before = Date.now();
      await db.admin.create({ data: { id: "a1", username: "alice", passwordHash: "h" } });
      const a = await db.admin.findUnique({ where: { username: "alice" } });
      expect(a).toMatchObject({ id: "a1", username: "alice", passwordHash: "h", lastLoginAt: null });
      expect(a!.createdAt).toBeInstanceOf(Date);
      expect(Math.abs(a!.createdAt.getTime() - before)).toBeLessThan(60_000);
      await expect(db.admin.create({ data: { id: "a2", username: "alice", passwordHash: "h" } })).rejects.toThrow();

      // Relations and ON DELETE CASCADE.
      const expiresAt = new Date(Date.now() + 3600_000);
      await db.session.create({ data: { id: "s1", adminId: "a1", expiresAt } });
      expect((await db.admin.findUnique({ where: { id: "a1" }, include: { sessions: true } }))!.sessions[0].expiresAt).toEqual(expiresAt);
      await db.admin.delete({ where: { id: "a1" } });
      expect(await db.session.count()).toBe(0);

      // @updatedAt and DateTime? round trips.
      const until = new Date("2030-01-02T03:04:05.678Z");
      const t = await db.loginThrottle.upsert({ where: { key: "ip:1" }, create: { key: "ip:1", failures: 1, lockedUntil: until }, update: {} });
      expect(t.updatedAt).toBeInstanceOf(Date);
      expect((await db.loginThrottle.findUnique({ where: { key: "ip:1" } }))!.lockedUntil).toEqual(until);
    });

    it("stores and reads an OutboxMessage", async () => {
      const db = await m.db.getDb();
      await db.outboxMessage.create({ data: { id: "o1", kind: "test", toAddress: "x@example.com", subject: "s", textBody: "t", htmlBody: "<p>h</p>" } });
      const o = await db.outboxMessage.findFirst({ where: { status: "pending", nextAttemptAt: { lte: new Date(Date.now() + 1000) } }, orderBy: { nextAttemptAt: "asc" } });
      expect(o).toMatchObject({ id: "o1", status: "pending", attempts: 0, sentAt: null, transportEnc: null });
      expect(o!.nextAttemptAt).toBeInstanceOf(Date);
      expect(o!.createdAt).toBeInstanceOf(Date);
      const u = await db.outboxMessage.update({ where: { id: "o1" }, data: { attempts: { increment: 1 }, status: "sent", sentAt: new Date() } });
      expect(u.attempts).toBe(1);
      expect(u.sentAt).toBeInstanceOf(Date);
      await db.outboxMessage.delete({ where: { id: "o1" } });
    });

    it("configures the CA server end to end and reads it back", async () => {
      const pw = "ca key password 1";
      const r = await m.configure.configureCaServer({
        fileNameRoot: "PgCA",
        directory: "ca",
        keyPassword: pw,
        keyPasswordConfirm: pw,
        subject: { C: "us", O: "Example Corporation", CN: "Example PG CA" },
        keyAlgorithm: "ecdsa-p256",
        caValidityDays: 3650,
        issuedValidityDays: 365,
        smtp: { host: "127.0.0.1", port: smtp.port, secure: false, username: "mailer", password: "smtp-secret-42", passwordConfirm: "smtp-secret-42" },
        adminEmail: "camgr@example.com",
      });
      expect(r.mode).toBe("new");
      expect(r.email.status).toBe("sent");
      const cer = join(scratch.dir, "ca", "PgCA.cer");
      expect(m.support.opensslOk(["verify", "-x509_strict", "-CAfile", cer, cer])).toMatch(/OK/);
      const mail = await smtp.waitFor((x) => x.to.includes("camgr@example.com"));
      expect(mail.text).toContain(r.sha1Fingerprint);

      const view = await m.view.findCaServerView();
      expect(view).not.toBeNull();
      expect(view).toMatchObject({
        fileNameRoot: "PgCA",
        mode: "new",
        keyAlgorithm: "ecdsa-p256",
        issuedValidityDays: 365,
        caValidityDays: 3650,
        sha1Fingerprint: r.sha1Fingerprint,
        nextCertificateNumber: 1,
        smtp: { host: "127.0.0.1", port: smtp.port, secure: false, username: "mailer", passwordSet: true },
      });
      expect(view!.resultMessage).toEqual(r.message);
      expect(JSON.stringify(view)).not.toContain("smtp-secret-42");

      // The dates are the certificate's, to the second (TIMESTAMP(3) keeps milliseconds).
      const notBefore = new Date(m.support.opensslOk(["x509", "-in", cer, "-noout", "-startdate"]).trim().split("=")[1]);
      const notAfter = new Date(m.support.opensslOk(["x509", "-in", cer, "-noout", "-enddate"]).trim().split("=")[1]);
      expect(view!.notBefore).toBe(notBefore.toISOString());
      expect(view!.notAfter).toBe(notAfter.toISOString());
      const db = await m.db.getDb();
      const row = await db.caServer.findUnique({ where: { id: 1 } });
      for (const d of [row!.notBefore, row!.notAfter, row!.createdAt, row!.updatedAt]) {
        expect(d).toBeInstanceOf(Date);
        expect(Number.isNaN(d.getTime())).toBe(false);
      }
      expect(row!.notAfter.getTime() - row!.notBefore.getTime()).toBeGreaterThan(3649 * 86400_000);
      expect(new Date(view!.configuredAt).getTime()).toBe(row!.createdAt.getTime());

      const sent = await db.outboxMessage.findFirst({ where: { kind: "ca-configured" } });
      expect(sent).toMatchObject({ status: "sent", toAddress: "camgr@example.com" });
      expect(sent!.sentAt).toBeInstanceOf(Date);

      // The columns really are timestamps in PostgreSQL, not text.
      const c = await connect(dbUrl);
      try {
        const { rows } = await c.query(`SELECT data_type FROM information_schema.columns WHERE table_name = 'CaServer' AND column_name IN ('notBefore', 'notAfter', 'createdAt', 'updatedAt')`);
        expect(rows.map((x) => x.data_type)).toEqual(Array(4).fill("timestamp without time zone"));
      } finally {
        await c.end();
      }
    });
  });
});

describe("the migration sets", () => {
  const sqlite = loadMigrations("sqlite");
  const postgres = loadMigrations("postgres");

  it("have the same ids for SQLite and PostgreSQL", () => {
    expect(sqlite.length).toBeGreaterThan(0);
    expect(postgres.map((m) => m.id)).toEqual(sqlite.map((m) => m.id));
  });

  it("SQLite: the migrations create every table and column of the schema", () => {
    const db = new Database(":memory:");
    try {
      expect(migrateSqlite(db, sqlite)).toEqual(sqlite.map((m) => m.id));
      expect(migrateSqlite(db, sqlite)).toEqual([]);
      const names = (db.prepare(`SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'`).all() as { name: string }[]).map((r) => r.name);
      const expected = schemaTables();
      expect(names.filter((n) => n !== "_portcullis_migrations").sort()).toEqual([...expected.keys()].sort());
      for (const [table, columns] of expected) {
        const cols = (db.prepare(`SELECT name FROM pragma_table_info(?)`).all(table) as { name: string }[]).map((r) => r.name);
        expect(cols.sort(), table).toEqual([...columns].sort());
      }
    } finally {
      db.close();
    }
  });
});
