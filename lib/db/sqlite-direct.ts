/**
 * Statements run straight on the SQLite client's own connection (lib/db/index.ts
 * sqliteConnection), for the fleet paths' many small writes: no query compilation, one
 * prepared statement per SQL text. Run inside a Prisma transaction they belong to it (the
 * client has this one connection); each call is all or nothing, in a savepoint.
 */
import type { sqliteConnection } from "./index.ts";

export type SqliteConnection = NonNullable<ReturnType<typeof sqliteConnection>>;
export type SqliteValue = string | number | bigint | null;

const statements = new WeakMap<SqliteConnection, Map<string, ReturnType<SqliteConnection["prepare"]>>>();

function prepared(db: SqliteConnection, sql: string) {
  let bySql = statements.get(db);
  if (!bySql) statements.set(db, (bySql = new Map()));
  let statement = bySql.get(sql);
  if (!statement) {
    statement = db.prepare(sql);
    // The SQL texts are the code's own, a handful; the cap only guards against a mistake.
    if (bySql.size >= 64) bySql.clear();
    bySql.set(sql, statement);
  }
  return statement;
}

/** Runs `sql` once with each parameter list, all or nothing; answers the rows changed in all. */
export function runEach(db: SqliteConnection, sql: string, parameterLists: Iterable<SqliteValue[]>): number {
  const statement = prepared(db, sql);
  return db.transaction(() => {
    let changes = 0;
    for (const parameters of parameterLists) changes += statement.run(parameters).changes;
    return changes;
  })();
}

/** Runs `sql` once and answers its first row (undefined when none); integers come back as BigInt. */
export function getOne(db: SqliteConnection, sql: string, parameters: SqliteValue[]): Record<string, unknown> | undefined {
  return prepared(db, sql).get(parameters) as Record<string, unknown> | undefined;
}

/** Runs `fn` all or nothing: in a savepoint inside the caller's transaction, or in a transaction of its own. */
export function atomically<T>(db: SqliteConnection, fn: () => T): T {
  return db.transaction(fn)();
}
