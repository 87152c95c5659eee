/**
 * The one Prisma client. SQLite file in the data directory by default; PostgreSQL when
 * DATABASE_URL is a postgresql:// URL. Both clients are generated from one schema
 * (scripts/prisma.mjs) and expose the same model API; the app is typed against the
 * SQLite client. Migrations are applied before the client is handed out.
 */
import { mkdirSync } from "node:fs";
import { join } from "node:path";
import Database from "better-sqlite3";
import pg from "pg";
import { PrismaBetterSQLite3 } from "@prisma/adapter-better-sqlite3";
import { PrismaPg } from "@prisma/adapter-pg";
import { PrismaClient } from "./generated/sqlite/client.ts";
import { PrismaClient as PgPrismaClient } from "./generated/postgres/client.ts";
import { env } from "../env.ts";
import { migratePostgres, migrateSqlite, type Provider } from "./migrate.ts";

export type Db = PrismaClient;
export type { Provider };

interface Holder {
  promise?: Promise<Db>;
  client?: Db;
  provider?: Provider;
}
// Survives Next.js dev-server module reloads.
const holder: Holder = ((globalThis as { __portcullisDb?: Holder }).__portcullisDb ??= {});

export function databaseProvider(): Provider {
  const url = env().DATABASE_URL;
  return url && /^postgres(ql)?:\/\//.test(url) ? "postgres" : "sqlite";
}

export function sqliteFile(): string {
  const url = env().DATABASE_URL;
  if (url?.startsWith("file:")) return url.slice("file:".length);
  return join(env().dataDir, "portcullis.db");
}

async function connect(): Promise<Db> {
  const provider = databaseProvider();
  if (provider === "postgres") {
    const url = env().DATABASE_URL!;
    const client = new pg.Client({ connectionString: url });
    await client.connect();
    try {
      await migratePostgres(client);
    } finally {
      await client.end();
    }
    const prisma = new PgPrismaClient({ adapter: new PrismaPg({ connectionString: url }) });
    holder.provider = "postgres";
    return prisma as unknown as Db;
  }
  const file = sqliteFile();
  mkdirSync(join(file, ".."), { recursive: true, mode: 0o700 });
  const raw = new Database(file, { timeout: 10_000 });
  try {
    migrateSqlite(raw);
  } finally {
    raw.close();
  }
  holder.provider = "sqlite";
  return new PrismaClient({ adapter: new PrismaBetterSQLite3({ url: `file:${file}`, timeout: 10_000 }) });
}

/** The database client, migrated and ready. */
export function getDb(): Promise<Db> {
  holder.promise ??= connect().then(
    (c) => (holder.client = c),
    (e) => {
      holder.promise = undefined;
      throw e;
    },
  );
  return holder.promise;
}

/** Closes the client (tests, scripts). The next getDb() connects again. */
export async function closeDb(): Promise<void> {
  const c = holder.client;
  holder.promise = undefined;
  holder.client = undefined;
  if (c) await c.$disconnect();
}
