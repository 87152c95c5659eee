/**
 * Applies the committed migrations (prisma/migrations/<provider>/NNNN_name.sql) at
 * start, each in its own transaction, recorded in `_portcullis_migrations`. Prisma's
 * own `migrate deploy` cannot run offline against PostgreSQL here, so Portcullis does
 * it with the drivers directly; the SQL itself is what `prisma migrate diff` wrote.
 */
import { readdirSync, readFileSync } from "node:fs";
import { join, resolve } from "node:path";
import type BetterSqlite3 from "better-sqlite3";
import type { Client as PgClient } from "pg";

export type Provider = "sqlite" | "postgres";

export interface Migration {
  id: string;
  sql: string;
}

export function migrationsDir(): string {
  // The compiled server may run from .next/, so resolve from the working directory first.
  const fromEnv = process.env.PORTCULLIS_MIGRATIONS_DIR;
  if (fromEnv) return resolve(fromEnv);
  // Looked up at run time from the working directory, not traced into the build.
  return resolve(/* turbopackIgnore: true */ process.cwd(), "prisma", "migrations");
}

export function loadMigrations(provider: Provider, dir = migrationsDir()): Migration[] {
  const folder = join(dir, provider);
  return readdirSync(folder)
    .filter((f) => /^\d{4}_[a-z0-9_]+\.sql$/.test(f))
    .sort()
    .map((f) => ({ id: f.replace(/\.sql$/, ""), sql: readFileSync(join(folder, f), "utf8") }));
}

const TABLE = `CREATE TABLE IF NOT EXISTS "_portcullis_migrations" ("id" TEXT PRIMARY KEY, "appliedAt" TEXT NOT NULL)`;

export function migrateSqlite(db: BetterSqlite3.Database, migrations = loadMigrations("sqlite")): string[] {
  db.pragma("journal_mode = WAL");
  db.pragma("foreign_keys = ON");
  db.exec(TABLE);
  const applied: string[] = [];
  // IMMEDIATE takes the write lock first, so two processes starting together apply each migration once.
  const run = db.transaction(() => {
    const done = new Set(db.prepare(`SELECT "id" FROM "_portcullis_migrations"`).all().map((r) => (r as { id: string }).id));
    for (const m of migrations) {
      if (done.has(m.id)) continue;
      db.exec(m.sql);
      db.prepare(`INSERT INTO "_portcullis_migrations" ("id", "appliedAt") VALUES (?, ?)`).run(m.id, new Date().toISOString());
      applied.push(m.id);
    }
  });
  run.immediate();
  return applied;
}

export async function migratePostgres(client: PgClient, migrations = loadMigrations("postgres")): Promise<string[]> {
  const applied: string[] = [];
  await client.query("BEGIN");
  try {
    // One instance at a time; the lock is released at COMMIT/ROLLBACK.
    await client.query("SELECT pg_advisory_xact_lock(727274)");
    await client.query(TABLE);
    const { rows } = await client.query(`SELECT "id" FROM "_portcullis_migrations"`);
    const done = new Set(rows.map((r: { id: string }) => r.id));
    for (const m of migrations) {
      if (done.has(m.id)) continue;
      await client.query(m.sql);
      await client.query(`INSERT INTO "_portcullis_migrations" ("id", "appliedAt") VALUES ($1, $2)`, [m.id, new Date().toISOString()]);
      applied.push(m.id);
    }
    await client.query("COMMIT");
  } catch (e) {
    await client.query("ROLLBACK");
    throw e;
  }
  return applied;
}
