/**
 * npm run backup -- [--out <file or directory>] [--include-secret]
 *
 * Writes a consistent backup of Portcullis — every table of the database, the CA
 * server's key (still encrypted), certificate and SRL, the CA client's files — to one
 * gzipped JSON file, mode 0600. Reads the same environment as the app
 * (PORTCULLIS_DATA_DIR, DATABASE_URL, PORTCULLIS_SECRET). Safe while the app runs.
 */
import { parseArgs } from "node:util";
import { closeDb } from "../lib/db/index.ts";
import { isAppError } from "../lib/errors/app-error.ts";
import { createBackup } from "../lib/backup/create-backup.ts";

const USAGE = "Usage: npm run backup -- [--out <file or directory>] [--include-secret]";

async function main(): Promise<number> {
  let args;
  try {
    args = parseArgs({ options: { out: { type: "string", short: "o" }, "include-secret": { type: "boolean" }, help: { type: "boolean", short: "h" } }, allowPositionals: false });
  } catch (e) {
    console.error(`${(e as Error).message}\n${USAGE}`);
    return 2;
  }
  if (args.values.help) {
    console.log(USAGE);
    return 0;
  }
  try {
    const r = await createBackup({ out: args.values.out, includeSecret: !!args.values["include-secret"] });
    const m = r.manifest;
    console.log(`Backup written: ${r.file} (${r.bytes} bytes, mode 0600)`);
    console.log(`  database: ${m.databaseProvider}, ${Object.entries(m.tables).filter(([, t]) => t.rows).map(([k, t]) => `${k} ${t.rows}`).join(", ") || "empty"}`);
    console.log(`  files: ${m.files.length ? m.files.map((f) => f.path).join(", ") : "none"}`);
    for (const n of r.notes) console.log(`\n*** ${n}`);
    return 0;
  } catch (e) {
    console.error(`Backup failed: ${isAppError(e) ? e.message : (e as Error).message ?? String(e)}`);
    return 1;
  } finally {
    await closeDb().catch(() => undefined);
  }
}

process.exit(await main());
