/**
 * npm run restore -- <backup file> [--force]
 *
 * Restores a backup made by `npm run backup` into the database and data directory the
 * environment names (PORTCULLIS_DATA_DIR, DATABASE_URL, PORTCULLIS_SECRET) — SQLite or
 * PostgreSQL, whichever made the backup. Stop Portcullis first. The file is verified
 * whole before anything changes; a database that already holds data, or files that
 * differ, are replaced only with --force (replaced files are kept as `.old`).
 */
import { runCommand } from "./command.ts";
import { restoreBackup } from "../lib/backup/restore-backup.ts";

const USAGE = "Usage: npm run restore -- <backup file> [--force]   (stop Portcullis first)";

process.exit(
  await runCommand({
    label: "Restore",
    usage: USAGE,
    config: { options: { force: { type: "boolean" }, help: { type: "boolean", short: "h" } }, allowPositionals: true },
    invalid: (args) => args.positionals.length !== 1,
    work: async (args) => {
      const r = await restoreBackup(args.positionals[0], { force: !!args.values.force });
      const m = r.manifest;
      console.log(`Restored ${r.file}`);
      console.log(`  made ${m.createdAt} by Portcullis ${m.appVersion} on ${m.databaseProvider}`);
      console.log(`  rows: ${Object.entries(r.rows).filter(([, n]) => n).map(([k, n]) => `${k} ${n}`).join(", ") || "none"}`);
      for (const f of r.files) console.log(`  wrote ${f.path}${f.path !== f.from ? ` (was ${f.from})` : ""}`);
      for (const k of r.keptAside) console.log(`  kept the previous ${k.from} as ${k.to}`);
      if (r.srl) console.log(`  next certificate number: ${r.srl.nextNumber} (${r.srl.path})`);
      console.log(`  audit log: ${r.auditChain.entries} entries, ${r.auditChain.ok ? "chain intact" : "CHAIN BROKEN"}`);
      if (r.secret === "restored") console.log("  server secret: restored from the backup to secret.key");
      if (r.secret === "mismatch") {
        console.log("\n*** The server secret here is not the one the backup's sealed values were made with. They cannot be opened:");
        for (const u of r.unreadableSealed) console.log(`***   ${u.what} (${u.count}): ${u.action}`);
        console.log("*** To keep them, restore again with --force after setting PORTCULLIS_SECRET (or <data dir>/secret.key) to the original secret.");
      }
      for (const w of r.warnings) console.log(`\n*** ${w}`);
    },
  }),
);
