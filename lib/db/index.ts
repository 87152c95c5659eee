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
import { createPgPool } from "./pg-pool.ts";

export type Db = PrismaClient;
export type { Provider };

interface Holder {
  promise?: Promise<Db>;
  client?: Db;
  provider?: Provider;
  sqlite?: Database.Database;
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

/** The first connection failed (the server is down, restarting or unreachable); the next getDb() tries again. */
export class DatabaseConnectionError extends Error {
  constructor(cause: unknown) {
    super(`Cannot connect to the database: ${(cause as Error)?.message ?? String(cause)}`, { cause });
    this.name = "DatabaseConnectionError";
  }
}

/**
 * A connection that cannot be opened within this time fails the query (a clear 503 to the
 * caller) instead of leaving it waiting on a server that does not answer.
 */
const PG_CONNECT_TIMEOUT_MS = 10_000;

async function connect(): Promise<Db> {
  const provider = databaseProvider();
  if (provider === "postgres") {
    const url = env().DATABASE_URL!;
    const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: PG_CONNECT_TIMEOUT_MS });
    // A server going away between two migration queries must not become an unhandled 'error' event.
    client.on("error", () => undefined);
    try {
      await client.connect();
    } catch (e) {
      await client.end().catch(() => undefined);
      throw new DatabaseConnectionError(e);
    }
    try {
      await migratePostgres(client);
    } finally {
      await client.end().catch(() => undefined);
    }
    // The pool drops connections the server closed (a restart) and opens new ones on demand.
    const pool = createPgPool({ connectionString: url, connectionTimeoutMillis: PG_CONNECT_TIMEOUT_MS });
    const prisma = new PgPrismaClient({ adapter: new PrismaPg(pool, { disposeExternalPool: true }) });
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
  const client = new PrismaClient({ adapter: new SharedConnectionSqlite({ url: `file:${file}`, timeout: 10_000 }) });
  // Connected now, so that sqliteConnection() has the connection from the start.
  await client.$connect();
  return client;
}

/**
 * The SQLite adapter, keeping its one connection where sqliteConnection() finds it: the
 * fleet paths write their many rows straight through it (lib/db/insert-many.ts), inside the
 * same transactions, without Prisma compiling a query per statement.
 */
class SharedConnectionSqlite extends PrismaBetterSQLite3 {
  override async connect() {
    const adapter = await super.connect();
    holder.sqlite = (adapter as unknown as { client: Database.Database }).client;
    return adapter;
  }
}

/**
 * The connection under the SQLite client (null on PostgreSQL, and before getDb() has connected).
 * A statement run on it inside a Prisma transaction belongs to that transaction: SQLite
 * has one connection here, and the adapter runs a transaction's queries on it.
 */
export function sqliteConnection(): Database.Database | null {
  return holder.provider === "sqlite" && holder.sqlite?.open ? holder.sqlite : null;
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
  holder.sqlite = undefined;
  if (c) await c.$disconnect();
}
