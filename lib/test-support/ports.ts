/**
 * Ports for the tests. Not used by application code.
 */
import { createServer, type AddressInfo } from "node:net";

/** A TCP port on 127.0.0.1 that nothing listens on: it was free a moment ago. */
export async function unusedPort(): Promise<number> {
  const srv = createServer();
  await new Promise<void>((r) => srv.listen(0, "127.0.0.1", r));
  const port = (srv.address() as AddressInfo).port;
  await new Promise<void>((r) => srv.close(() => r()));
  return port;
}
