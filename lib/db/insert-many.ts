/**
 * Many rows at once. Prisma's createMany compiles its query with the data, about 0.3 ms
 * per row; a chunk of a fleet (a batch submission, a bulk issuance and its audit entries)
 * is written in the same transaction with one parameterised INSERT on PostgreSQL, and on
 * SQLite with one prepared statement run per row on the client's own connection (no query
 * compilation at all). Dates are written as each provider's Prisma client writes them, so
 * the rows read back, sort and filter exactly like rows the client wrote.
 */
import { Prisma } from "./generated/sqlite/client.ts";
import { databaseProvider, sqliteConnection } from "./index.ts";
import { isUniqueViolation } from "./unique-violation.ts";
import { runEach, type SqliteConnection } from "./sqlite-direct.ts";

/** A transaction client: anything with $executeRaw. */
interface RawExecutor {
  $executeRaw(query: Prisma.Sql): Promise<number>;
}

/** The models written this way, and their table names. */
export type InsertTable = "Certificate" | "CertificateRequest" | "AuditEntry";

type Cell = string | number | boolean | Date | null | undefined;

/** SQLite's limit is 32,766 bound parameters a statement, PostgreSQL's 65,535. */
const MAX_PARAMETERS = 30_000;

const IDENTIFIER = /^[A-Za-z][A-Za-z0-9]*$/;

/**
 * Inserts `rows` into `table`. Every row has the same columns (the first row's keys); an
 * undefined value is stored as NULL, so a column with a default must be given. A constraint
 * violation surfaces as from createMany: an error with code "P2002".
 */
export async function insertMany(tx: RawExecutor, table: InsertTable, rows: Record<string, Cell>[]): Promise<number> {
  if (rows.length === 0) return 0;
  const columns = Object.keys(rows[0]!);
  for (const c of columns) if (!IDENTIFIER.test(c)) throw new Error(`insertMany: bad column name ${JSON.stringify(c)}`);
  for (const r of rows) {
    if (Object.keys(r).length !== columns.length) throw new Error(`insertMany: every row of ${table} needs the columns ${columns.join(", ")}`);
  }
  const direct = sqliteConnection();
  if (direct) return insertDirect(direct, table, columns, rows);
  const cell = databaseProvider() === "postgres" ? (v: Cell) => (v === undefined ? null : v) : sqliteCell;
  const head = Prisma.raw(`INSERT INTO "${table}" (${columns.map((c) => `"${c}"`).join(", ")}) VALUES `);
  const perStatement = Math.max(1, Math.floor(MAX_PARAMETERS / columns.length));
  let count = 0;
  for (let i = 0; i < rows.length; i += perStatement) {
    const values = Prisma.join(rows.slice(i, i + perStatement).map((r) => Prisma.sql`(${Prisma.join(columns.map((c) => cell(r[c])))})`));
    try {
      count += await tx.$executeRaw(Prisma.sql`${head}${values}`);
    } catch (e) {
      throw isUniqueViolation(e) ? Object.assign(new Error(`Unique constraint failed on ${table}`, { cause: e }), { code: "P2002" }) : e;
    }
  }
  return count;
}

/** SQLite: one prepared single-row INSERT, run for each row on the client's own connection, inside the caller's transaction. */
export function insertDirect(db: SqliteConnection, table: InsertTable, columns: string[], rows: Record<string, Cell>[]): number {
  const sql = `INSERT INTO "${table}" (${columns.map((c) => `"${c}"`).join(", ")}) VALUES (${columns.map(() => "?").join(", ")})`;
  try {
    return runEach(db, sql, rows.map((r) => columns.map((c) => sqliteCell(r[c]))));
  } catch (e) {
    throw isUniqueViolation(e) ? Object.assign(new Error(`Unique constraint failed on ${table}`, { cause: e }), { code: "P2002" }) : e;
  }
}

/** A date as a raw-SQL parameter: the form the provider's Prisma client stores dates in. */
export function dateParameter(d: Date): Date | string {
  return databaseProvider() === "postgres" ? d : sqliteDate(d);
}

function sqliteDate(d: Date): string {
  return `${d.toISOString().slice(0, -1)}+00:00`;
}

/** The SQLite client stores a DateTime as ISO 8601 text with "+00:00". */
function sqliteCell(v: Cell): string | number | null {
  if (v === undefined || v === null) return null;
  if (v instanceof Date) return sqliteDate(v);
  if (typeof v === "boolean") return v ? 1 : 0;
  return v;
}
