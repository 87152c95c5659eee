#!/usr/bin/env node
/**
 * Bundles the PKI worker thread (lib/pki/worker/pki-worker.ts) into
 * <build dir>/portcullis/pki-worker.cjs, where the server looks for it
 * (lib/pki/worker/pool.ts). Run after `next build`, which empties the build directory:
 * `npm run build` does both. The build directory is PORTCULLIS_NEXT_DIST_DIR (.next by default).
 *   node scripts/build-workers.mjs [--out <file>]
 */
import { build } from "esbuild";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";

const root = resolve(dirname(fileURLToPath(import.meta.url)), "..");

/** The worker does PKI work only: the database, mail and Next.js must never be pulled into it. */
const pkiOnly = {
  name: "pki-only",
  setup(b) {
    b.onResolve({ filter: /(^|\/)(db|mail|ca|app)\/|^next(\/|$)|^@prisma\/|^better-sqlite3$|^pg$|^nodemailer$/ }, (args) => {
      if (args.kind === "dynamic-import") return undefined;
      return { errors: [{ text: `the PKI worker must not import ${args.path} (from ${args.importer})` }] };
    });
  },
};

/** Writes the bundle to `outfile`; answers its path. */
export async function buildPkiWorker(outfile = resolve(root, process.env.PORTCULLIS_NEXT_DIST_DIR || ".next", "portcullis", "pki-worker.cjs")) {
  await build({
    entryPoints: [join(root, "lib", "pki", "worker", "pki-worker.ts")],
    outfile,
    bundle: true,
    platform: "node",
    format: "cjs",
    target: "node20",
    // Only the bench's createFastIssuer() reaches these, never a worker job.
    external: ["../ca/extension-urls.ts", "./fast-pool.ts"],
    plugins: [pkiOnly],
    logLevel: "warning",
    legalComments: "none",
  });
  return outfile;
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const i = process.argv.indexOf("--out");
  buildPkiWorker(i > 0 ? resolve(process.argv[i + 1]) : undefined).then(
    (out) => console.log(`PKI worker: ${out}`),
    (e) => {
      console.error(e instanceof Error ? e.message : e);
      process.exit(1);
    },
  );
}
