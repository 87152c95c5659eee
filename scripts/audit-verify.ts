/**
 * npm run audit:verify — walks the audit log's hash chain in the configured database
 * (PORTCULLIS_DATA_DIR / DATABASE_URL as for the app) and exits 1 if it is broken.
 */
import { closeDb } from "../lib/db/index.ts";
import { verifyAuditChain } from "../lib/audit/audit-log.ts";

const check = await verifyAuditChain();
if (check.ok) {
  console.log(`audit log intact: ${check.entries} entries, head ${check.headSeq} ${check.headHash}`);
} else {
  console.error(`audit log BROKEN at entry ${check.problem!.seq}: ${check.problem!.reason} (${check.entries} entries checked, head says ${check.headSeq})`);
}
await closeDb();
process.exit(check.ok ? 0 : 1);
