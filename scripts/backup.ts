/**
 * npm run backup -- [--out <file or directory>] [--include-secret]
 *
 * Writes a consistent backup of Portcullis — every table of the database, the CA
 * server's key (still encrypted), certificate and SRL, the CA client's files — to one
 * gzipped JSON file, mode 0600. Reads the same environment as the app
 * (PORTCULLIS_DATA_DIR, DATABASE_URL, PORTCULLIS_SECRET). Safe while the app runs.
 */
import { runCommand } from "./command.ts";
import { createBackup } from "../lib/backup/create-backup.ts";

const USAGE = "Usage: npm run backup -- [--out <file or directory>] [--include-secret]";

process.exit(
  await runCommand({
    label: "Backup",
    usage: USAGE,
    config: { options: { out: { type: "string", short: "o" }, "include-secret": { type: "boolean" }, help: { type: "boolean", short: "h" } }, allowPositionals: false },
    work: async (args) => {
      const r = await createBackup({ out: args.values.out, includeSecret: !!args.values["include-secret"] });
      const m = r.manifest;
      console.log(`Backup written: ${r.file} (${r.bytes} bytes, mode 0600)`);
      console.log(`  database: ${m.databaseProvider}, ${Object.entries(m.tables).filter(([, t]) => t.rows).map(([k, t]) => `${k} ${t.rows}`).join(", ") || "empty"}`);
      console.log(`  files: ${m.files.length ? m.files.map((f) => f.path).join(", ") : "none"}`);
      for (const n of r.notes) console.log(`\n*** ${n}`);
    },
  }),
);
