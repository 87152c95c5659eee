// Prisma CLI configuration: the WebAssembly schema engine through a driver adapter,
// so `prisma` never needs the native engines it cannot download here. The CLI is
// used only to generate clients and to write migration SQL (`migrate diff`, which
// needs no database, for either provider); lib/db/migrate.ts applies migrations.
import { defineConfig } from "prisma/config";
import { PrismaBetterSQLite3 } from "@prisma/adapter-better-sqlite3";
import { tmpdir } from "node:os";
import { join } from "node:path";

export default defineConfig({
  experimental: { adapter: true },
  engine: "js",
  schema: "prisma/schema.prisma",
  adapter: async () => new PrismaBetterSQLite3({ url: `file:${join(tmpdir(), "portcullis-prisma-cli.db")}` }),
});
