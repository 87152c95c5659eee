/**
 * A Portcullis process for the SIGKILL fault test (lib/ca/faults-kill.test.ts), run with
 * tsx: it starts the way the app starts (lib/startup.ts), then issues the pending
 * requests one after the other, oldest first, printing a line before and after each:
 *   started | issuing <id> | issued <id> <number> <ms> | done
 * Arguments: `--start-only` (start, then exit), `--count N` (stop after N issuances).
 * Environment: PORTCULLIS_DATA_DIR, and ISSUE_LOOP_PASSWORD (the CA key password).
 * Not used by application code.
 */
import { startServer } from "../startup.ts";
import { getDb } from "../db/index.ts";
import { issueRequest } from "../ca/issue-request.ts";

const args = process.argv.slice(2);
const startOnly = args.includes("--start-only");
const countArg = args.indexOf("--count");
const limit = countArg >= 0 ? Number(args[countArg + 1]) : Infinity;
const password = process.env.ISSUE_LOOP_PASSWORD ?? "";

const say = (line: string) => process.stdout.write(`${line}\n`);

await startServer();
say("started");
if (!startOnly) {
  const db = await getDb();
  for (let n = 0; n < limit; n++) {
    const next = await db.certificateRequest.findFirst({ where: { status: "pending" }, orderBy: [{ receivedAt: "asc" }, { id: "asc" }], select: { id: true } });
    if (!next) break;
    say(`issuing ${next.id}`);
    const t0 = performance.now();
    const r = await issueRequest(next.id, { usage: "tls", caKeyPassword: password, fingerprintVerified: true }, { actor: "issue-loop" });
    say(`issued ${next.id} ${r.number} ${Math.round(performance.now() - t0)}`);
  }
}
say("done");
process.exit(0);
