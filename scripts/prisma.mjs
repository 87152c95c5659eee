#!/usr/bin/env node
// Runs the Prisma CLI fully offline (see README, "Database"): the WebAssembly schema
// engine and the TypeScript query compiler, never the native engines Prisma would
// download. Commands:
//   generate           generate the SQLite and PostgreSQL clients
//   diff <name>        write the next migration for both providers
import { execFileSync } from "node:child_process";
import { mkdirSync, writeFileSync, readFileSync, existsSync, readdirSync, copyFileSync } from "node:fs";
import { join, dirname } from "node:path";
import { fileURLToPath } from "node:url";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");
const cache = join(root, "node_modules", ".cache", "portcullis-prisma");
mkdirSync(cache, { recursive: true });
// Placeholders satisfy the CLI's start-up check; in js engine mode they are never executed.
const schemaEngine = join(cache, "schema-engine-placeholder");
const queryEngine = join(cache, "libquery-engine-placeholder.so.node");
for (const f of [schemaEngine, queryEngine]) if (!existsSync(f)) writeFileSync(f, "", { mode: 0o755 });

const env = {
  ...process.env,
  PRISMA_SCHEMA_ENGINE_BINARY: schemaEngine,
  PRISMA_QUERY_ENGINE_LIBRARY: queryEngine,
  PRISMA_HIDE_UPDATE_MESSAGE: "1",
  CHECKPOINT_DISABLE: "1",
  PRISMA_GENERATE_SKIP_AUTOINSTALL: "1",
};
const prismaBin = join(root, "node_modules", "prisma", "build", "index.js");
const sqliteSchema = join(root, "prisma", "schema.prisma");
const pgSchema = join(cache, "postgres", "schema.prisma");

function prisma(args, opts = {}) {
  return execFileSync(process.execPath, [prismaBin, ...args], { cwd: root, env: { ...env, ...(opts.env ?? {}) }, stdio: opts.capture ? ["ignore", "pipe", "inherit"] : "inherit", encoding: "utf8" });
}

/** The PostgreSQL schema: the same models with the provider and output swapped. */
function writePostgresSchema(source, target) {
  mkdirSync(dirname(target), { recursive: true });
  const text = readFileSync(source, "utf8")
    .replace('provider = "sqlite"', 'provider = "postgresql"')
    .replace('url      = "file:./placeholder.db"', 'url      = "postgresql://localhost/placeholder"')
    .replace('output     = "../lib/db/generated/sqlite"', `output     = "${join(root, "lib/db/generated/postgres")}"`);
  writeFileSync(target, text);
}

const [cmd, name] = process.argv.slice(2);
if (cmd === "generate") {
  writePostgresSchema(sqliteSchema, pgSchema);
  prisma(["generate", "--schema", sqliteSchema]);
  prisma(["generate", "--schema", pgSchema]);
} else if (cmd === "diff") {
  if (!name || !/^[a-z0-9_]+$/.test(name)) throw new Error("usage: prisma.mjs diff <snake_case_name>");
  const migrations = join(root, "prisma", "migrations");
  const snapshot = join(migrations, "schema.snapshot.prisma");
  const existing = existsSync(join(migrations, "sqlite")) ? readdirSync(join(migrations, "sqlite")).filter((f) => f.endsWith(".sql")) : [];
  const id = `${String(existing.length + 1).padStart(4, "0")}_${name}`;
  for (const provider of ["sqlite", "postgres"]) {
    const to = provider === "sqlite" ? sqliteSchema : pgSchema;
    if (provider === "postgres") writePostgresSchema(sqliteSchema, pgSchema);
    let from = ["--from-empty"];
    if (existsSync(snapshot)) {
      const prev = join(cache, `prev-${provider}.prisma`);
      if (provider === "sqlite") copyFileSync(snapshot, prev);
      else writePostgresSchema(snapshot, prev);
      from = ["--from-schema-datamodel", prev];
    }
    const sql = prisma(["migrate", "diff", ...from, "--to-schema-datamodel", to, "--script"], { capture: true });
    mkdirSync(join(migrations, provider), { recursive: true });
    writeFileSync(join(migrations, provider, `${id}.sql`), sql);
    console.log(`wrote prisma/migrations/${provider}/${id}.sql`);
  }
  copyFileSync(sqliteSchema, snapshot);
} else {
  console.error("usage: prisma.mjs generate | diff <name>");
  process.exit(2);
}
