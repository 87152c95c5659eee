/**
 * The PostgreSQL connection pool behind the Prisma client, made to survive a server restart.
 *
 * When the server closes a connection in the middle of an interactive transaction (a
 * restart, a failover, pg_terminate_backend), Prisma's transaction manager sends ROLLBACK
 * on the dead connection, which fails, and never hands the connection back: the pool
 * slot would be lost for good, and after `max` such losses every query would wait for a
 * connection that never comes. Here a checked-out connection that ends is handed back
 * with an error, so the pool discards it and opens a fresh one on demand.
 */
import pg from "pg";

type PoolClient = pg.PoolClient;

export function createPgPool(config: pg.PoolConfig): pg.Pool {
  const pool = new pg.Pool(config);
  const onEnd = new WeakMap<PoolClient, () => void>();
  pool.on("acquire", (client: PoolClient) => {
    const ended = () => {
      onEnd.delete(client);
      try {
        client.release(new Error("The database connection ended while in use"));
      } catch {
        // Released meanwhile: nothing held.
      }
      // The holder may still release it (a failed BEGIN does): the connection is gone already.
      client.release = () => undefined;
    };
    onEnd.set(client, ended);
    client.once("end", ended);
  });
  pool.on("release", (_err: Error | undefined, client: PoolClient) => {
    const ended = onEnd.get(client);
    if (ended) {
      onEnd.delete(client);
      client.removeListener("end", ended);
    }
  });
  // Idle connections the server closes are dropped by the pool itself; the event needs a listener.
  pool.on("error", () => undefined);
  return pool;
}
