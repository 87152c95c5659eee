/**
 * npm run bench [-- options]     one run, one process tree: every figure beside `openssl ca -batch`
 * npm run bench:short            small numbers, to prove the harness works (CI)
 *
 * Prints a table and writes JSON (bench-results/bench-<time>.json). See README "Benchmarks".
 */
import { randomBytes } from "node:crypto";
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir, loadavg, availableParallelism } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import pg from "pg";
import { generateKeyPair } from "../../lib/pki/keys.ts";
import { decryptPrivateKey } from "../../lib/pki/pkcs8.ts";
import { configureCaServer } from "../../lib/ca/configure-server.ts";
import { makeCsrCorpus, measureCsrGeneration, type CsrItem } from "./csr-bench.ts";
import { measureFastEngine } from "./fast-engine.ts";
import { adminToken, CA_DIRECTORY, CA_ROOT, caConfiguration, configureCa, measureHttp, requireConfiguredCa } from "./http-bench.ts";
import { describeMachine, machineInfo, requireOpenssl } from "./machine.ts";
import { measureOpensslCa, measureOpensslX509, verifyWithOpenssl, type CaFiles } from "./openssl-bench.ts";
import { closeDb, measureQueue, useDatabase } from "./queue-bench.ts";
import { BASELINE_ID, formatMarkdown, formatTable, skippedFigure, toJson, writeReport, type BenchReport, type Figure } from "./report.ts";
import { BENCH_DIST_DIR, buildInto, buildState, candidateDistDirs, RssSampler, startServer, waitForIdle, type RunningServer } from "./server.ts";
import { measureSigning } from "./signing.ts";
import { BenchError, round } from "./util.ts";

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), "..", "..");

const USAGE = `Usage: npm run bench -- [options]
  --short                  small numbers (CI): ${"50"} certificates, 2k queue rows; reuses a current build, never builds
  --out <file>             JSON report (default bench-results/bench-<time>.json)
  --markdown <file>        also write the table as Markdown
  --certs <n>              certificates per issuing figure (default 1000, short 50)
  --concurrency <n>        HTTP requests in flight (default 8)
  --queue-rows <n>         pending requests of the large queue in (f) (default 100000, short 2000)
  --dist-dir <dir>         run (c) on this production build, however old
  --build                  build into ${BENCH_DIST_DIR} even when a current build exists
  --no-build               never build: skip the HTTP figures when no current build exists
  --url <base>             run (c) against this running server instead of one the bench starts;
                           BENCH_TOKEN (admin API token) and BENCH_CA_KEY_PASSWORD in the environment
  --fast-issue-module <f>  the fast issuance engine (default lib/pki/fast-issue.ts)
  --keep                   keep the scratch directory
  --only <rows>            run only these rows, e.g. --only f or --only a,d (the CSRs, the CA and the
                           servers are still made when a chosen row needs them)
PostgreSQL: set BENCH_POSTGRES_URL or PORTCULLIS_TEST_POSTGRES_URL (bash scripts/postgres-test.sh start)
to run (c) and (f) against PostgreSQL too (a database of its own is created and dropped).`;

interface Params {
  certs: number;
  x509Certs: number;
  concurrency: number;
  signSeconds: number;
  repeats: number;
  inFlight: number;
  opensslCaRepeats: number;
  queueSmall: number;
  queueLarge: number;
  queueCalls: number;
  csrP256: number;
  csrRsa: number;
  validityDays: number;
}

function params(short: boolean, certs?: number, concurrency?: number): Params {
  const p: Params = short
    ? { certs: 50, x509Certs: 10, concurrency: 8, signSeconds: 0.15, repeats: 3, inFlight: 64, opensslCaRepeats: 2, queueSmall: 1000, queueLarge: 2000, queueCalls: 40, csrP256: 20, csrRsa: 2, validityDays: 365 }
    : { certs: 1000, x509Certs: 100, concurrency: 8, signSeconds: 1, repeats: 3, inFlight: 64, opensslCaRepeats: 5, queueSmall: 1000, queueLarge: 100_000, queueCalls: 200, csrP256: 100, csrRsa: 8, validityDays: 365 };
  if (certs !== undefined) {
    p.certs = certs;
    p.x509Certs = Math.min(p.x509Certs, certs);
  }
  if (concurrency !== undefined) p.concurrency = concurrency;
  return p;
}

function positiveInt(raw: string | undefined, name: string): number | undefined {
  if (raw === undefined) return undefined;
  if (!/^\d+$/.test(raw) || Number(raw) < 1 || Number(raw) > 1_000_000) throw new BenchError(`--${name} must be a whole number from 1 to 1000000 (got "${raw}")`);
  return Number(raw);
}

const log = (s: string) => console.log(s);
const secret = () => randomBytes(18).toString("base64url");

function timestamp(d: Date): string {
  return d.toISOString().replace(/[:]/g, "").replace(/\..*/, "Z");
}

/** Chooses the production build for (c): a current one, else one made now (unless told not to). */
async function chooseBuild(o: { short: boolean; build?: boolean; distDir?: string; scratch: string }): Promise<{ distDir: string } | { skip: string }> {
  if (o.distDir) {
    const s = buildState(ROOT, o.distDir);
    if (!s.exists) throw new BenchError(`--dist-dir ${o.distDir}: no production build there (no BUILD_ID)`);
    log(`· using the production build in ${o.distDir} (built ${s.builtAt!.toISOString()}${s.current ? "" : ", older than the sources"})`);
    return { distDir: o.distDir };
  }
  if (o.build !== true) {
    for (const d of candidateDistDirs()) {
      const s = buildState(ROOT, d);
      if (s.current) {
        log(`· using the production build in ${d} (built ${s.builtAt!.toISOString()})`);
        return { distDir: d };
      }
    }
  }
  const mayBuild = o.build ?? !o.short;
  if (!mayBuild) {
    const found = candidateDistDirs()
      .map((d) => buildState(ROOT, d))
      .filter((s) => s.exists)
      .map((s) => `${s.distDir} is older than the sources`);
    return { skip: `no current production build (${found.length ? found.join("; ") : "none found"}): run \`npm run build\`, or the bench without --short/--no-build` };
  }
  const logFile = join(o.scratch, "next-build.log");
  log(`· building the app into ${BENCH_DIST_DIR} (next build; log ${logFile}) — a few minutes`);
  await buildInto(ROOT, BENCH_DIST_DIR, logFile);
  return { distDir: BENCH_DIST_DIR };
}

interface CaSetup {
  files: CaFiles;
  pem: string;
}

function caFilesIn(dataDir: string, keyPassword: string, portalBase: string): CaSetup {
  const dir = join(dataDir, CA_DIRECTORY);
  const files: CaFiles = { certificatePath: join(dir, `${CA_ROOT}.cer`), keyPath: join(dir, `${CA_ROOT}.key`), keyPassword, portalBase, fileNameRoot: CA_ROOT };
  return { files, pem: readFileSync(files.certificatePath, "utf8") };
}

async function withPostgresDatabase(baseUrl: string): Promise<{ url: string; drop: () => Promise<void> }> {
  const name = `portcullis_bench_${randomBytes(5).toString("hex")}`;
  const admin = new pg.Client({ connectionString: baseUrl });
  try {
    await admin.connect();
    await admin.query(`CREATE DATABASE ${name}`);
  } catch (e) {
    throw new BenchError(`PostgreSQL at ${baseUrl.replace(/\/\/[^@]*@/, "//…@")}: cannot create a database for the bench (${(e as Error).message})`);
  } finally {
    await admin.end().catch(() => undefined);
  }
  const u = new URL(baseUrl);
  u.pathname = `/${name}`;
  return {
    url: u.toString(),
    drop: async () => {
      const c = new pg.Client({ connectionString: baseUrl });
      try {
        await c.connect();
        await c.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
      } finally {
        await c.end().catch(() => undefined);
      }
    },
  };
}

async function main(): Promise<number> {
  let args;
  try {
    args = parseArgs({
      options: {
        short: { type: "boolean" },
        out: { type: "string" },
        markdown: { type: "string" },
        certs: { type: "string" },
        concurrency: { type: "string" },
        "queue-rows": { type: "string" },
        "dist-dir": { type: "string" },
        build: { type: "boolean" },
        "no-build": { type: "boolean" },
        url: { type: "string" },
        "fast-issue-module": { type: "string" },
        keep: { type: "boolean" },
        only: { type: "string" },
        help: { type: "boolean", short: "h" },
      },
      allowPositionals: false,
    });
  } catch (e) {
    console.error(`${(e as Error).message}\n${USAGE}`);
    return 2;
  }
  const a = args.values;
  if (a.help) {
    log(USAGE);
    return 0;
  }
  const short = !!a.short;
  const only = a.only ? new Set(a.only.toLowerCase().split(/[\s,]+/).filter(Boolean)) : null;
  if (only && [...only].some((r) => !/^[a-g]$/.test(r))) throw new BenchError(`--only takes row letters a to g, e.g. --only f or --only a,d`);
  const wanted = (section: string) => !only || only.has(section);
  const p = params(short, positiveInt(a.certs, "certs"), positiveInt(a.concurrency, "concurrency"));
  const queueRows = positiveInt(a["queue-rows"], "queue-rows");
  if (queueRows !== undefined) {
    if (queueRows <= p.queueSmall) throw new BenchError(`--queue-rows must be more than the small queue of ${p.queueSmall}`);
    p.queueLarge = queueRows;
  }
  const external = a.url ? a.url.replace(/\/+$/, "") : null;
  const startedAt = new Date();
  const outFile = resolve(a.out ?? join(ROOT, "bench-results", `bench-${timestamp(startedAt)}.json`));

  // Everything that would make the run pointless is checked before any work.
  const opensslVersion = await requireOpenssl();
  let externalAuth: { token: string; caKeyPassword: string } | null = null;
  if (external) {
    const token = process.env.BENCH_TOKEN;
    const caKeyPassword = process.env.BENCH_CA_KEY_PASSWORD;
    if (!token || !caKeyPassword) throw new BenchError("--url needs BENCH_TOKEN (an administrator's API token) and BENCH_CA_KEY_PASSWORD (the CA key password) in the environment");
    await requireConfiguredCa(external, token);
    externalAuth = { token, caKeyPassword };
  }
  const machine = machineInfo(opensslVersion);
  const pgBase = process.env.BENCH_POSTGRES_URL || process.env.PORTCULLIS_TEST_POSTGRES_URL || null;

  log(`Portcullis bench (${short ? "short" : "full"} mode), ${startedAt.toISOString()}`);
  log(describeMachine(machine));
  const scratch = mkdtempSync(join(tmpdir(), "portcullis-bench-"));
  const figures: Figure[] = [];
  const notes: string[] = [];
  const cleanups: (() => Promise<void>)[] = [];
  let failed = false;
  const cleanup = async () => {
    while (cleanups.length) await cleanups.pop()!().catch(() => undefined);
    await closeDb().catch(() => undefined);
    if (!a.keep) rmSync(scratch, { recursive: true, force: true });
    else log(`scratch directory kept: ${scratch}`);
  };
  const onSignal = () => {
    void cleanup().finally(() => process.exit(130));
  };
  process.once("SIGINT", onSignal);
  process.once("SIGTERM", onSignal);

  /** Runs one part; a failure is recorded as a failed figure and the run goes on. */
  const part = async (section: Figure["section"], id: string, label: string, fn: () => Promise<void>) => {
    if (!wanted(section)) return;
    try {
      await fn();
    } catch (e) {
      if (!(e instanceof BenchError)) console.error(e);
      failed = true;
      const message = (e as Error).message.split("\n")[0];
      log(`  ${id} FAILED: ${message}`);
      figures.push({ id, section, label, unit: "certs/s", value: null, error: message });
    }
  };

  try {
    log(`· ${p.certs} P-256 CSRs (createCsr)`);
    const csrs: CsrItem[] = await makeCsrCorpus(join(scratch, "csrs"), p.certs, 8);

    // The CA, and the SQLite server that holds it when there is a build.
    const caKeyPassword = secret();
    let server: RunningServer | null = null;
    let sampler: RssSampler | undefined;
    let token = "";
    let ca: CaSetup;
    let buildSkip: string | null = null;
    let distDir: string | null = null;
    const adminUser = "bench";
    const adminPassword = secret();
    if (external) buildSkip = "with --url, only the server given is measured over HTTP";
    else {
      const b = await chooseBuild({ short, build: a.build ? true : a["no-build"] ? false : undefined, distDir: a["dist-dir"], scratch });
      if ("skip" in b) buildSkip = b.skip;
      else distDir = b.distDir;
    }
    if (distDir) {
      const dataDir = join(scratch, "server-sqlite");
      mkdirSync(dataDir, { recursive: true });
      log("· starting the production server (SQLite)");
      server = await startServer({ root: ROOT, distDir, dataDir, logFile: join(scratch, "server-sqlite.log"), env: { PORTCULLIS_ADMIN_USER: adminUser, PORTCULLIS_ADMIN_PASSWORD: adminPassword } });
      const s = server;
      cleanups.push(() => s.stop());
      sampler = new RssSampler(server.pid);
      log(`  ${server.base}, idle RSS ${round(sampler.sample(), 0)} MB; configuring a P-256 CA through the API`);
      token = await adminToken(server.base, adminUser, adminPassword);
      await configureCa(server.base, token, caKeyPassword, p.validityDays);
      await requireConfiguredCa(server.base, token);
      ca = caFilesIn(dataDir, caKeyPassword, server.base);
      // Nothing is measured beside a server still busy starting (its PKI workers warm up).
      const settled = await waitForIdle(server.pid);
      if (settled > 1) log(`  the server settled after ${round(settled, 1)} s`);
    } else {
      const dataDir = join(scratch, "in-process");
      await useDatabase(dataDir);
      await configureCaServer(caConfiguration(caKeyPassword, p.validityDays), { actor: "bench" });
      ca = caFilesIn(dataDir, caKeyPassword, "http://127.0.0.1");
      await closeDb();
      if (external) notes.push(`(c) ran against ${external}, a server the bench did not start: (a), (b), (d) and (e) use a P-256 CA made in process, not that server's key; its memory was not sampled.`);
    }
    const caKey = decryptPrivateKey(readFileSync(ca.files.keyPath, "utf8"), caKeyPassword);

    if (wanted("a")) log("· (a) signing rate of the CA key in this process");
    await part("a", "a.failed", "signing", async () => {
      const rsa = await generateKeyPair("rsa-2048");
      figures.push(...(await measureSigning({ p256: caKey, rsa2048: rsa.privateKey, seconds: p.signSeconds, repeats: p.repeats, inFlight: p.inFlight })));
    });

    if (wanted("b")) log("· (b) fast issuance engine");
    await part("b", "b.failed", "fast engine", async () => {
      const r = await measureFastEngine({
        root: ROOT,
        modulePath: a["fast-issue-module"],
        options: { caCertificatePem: ca.pem, caPrivateKey: caKey, usage: "tls", validityDays: p.validityDays, portalUrl: ca.files.portalBase, fileNameRoot: CA_ROOT },
        csrs,
        workers: Math.max(2, availableParallelism()),
        inFlight: p.inFlight,
      });
      if (r.issued.length) await verifyWithOpenssl(join(scratch, "verify-b"), ca.files.certificatePath, r.issued, "(b) fast engine");
      figures.push(...r.figures);
      for (const f of r.figures) if (f.skipped) log(`  ${f.skipped}`);
    });

    if (wanted("d")) log(`· (d) openssl ca -batch, ${p.certs} CSRs, ${p.opensslCaRepeats} runs`);
    await part("d", `${BASELINE_ID}`, "openssl ca -batch", async () => {
      const r = await measureOpensslCa({ dir: join(scratch, "openssl"), ca: ca.files, csrFiles: csrs.map((c) => c.file), repeats: p.opensslCaRepeats, days: p.validityDays });
      await verifyWithOpenssl(join(scratch, "verify-d"), ca.files.certificatePath, r.sample, "(d) openssl ca");
      figures.push(r.figure);
    });

    if (wanted("e")) log(`· (e) openssl x509 -req, ${p.x509Certs} processes`);
    await part("e", "e.openssl-x509-req", "openssl x509 -req", async () => {
      const r = await measureOpensslX509({ dir: join(scratch, "openssl"), ca: ca.files, csrFiles: csrs.slice(0, p.x509Certs).map((c) => c.file), days: p.validityDays });
      await verifyWithOpenssl(join(scratch, "verify-e"), ca.files.certificatePath, r.sample, "(e) openssl x509 -req");
      figures.push(r.figure);
    });

    // (c) and (f) on SQLite.
    if (!wanted("c")) {
      // --only without c: no (c) figures
    } else if (external && externalAuth) {
      log(`· (c) HTTP against ${external}`);
      await part("c", "c.external", "HTTP, external server", async () => {
        const caPem = (await requireConfiguredCa(external, externalAuth.token)).pem;
        const r = await measureHttp({ base: external, token: externalAuth.token, caKeyPassword: externalAuth.caKeyPassword, csrs, concurrency: p.concurrency, db: "external", dbLabel: "external server" });
        const caFile = join(scratch, "external-ca.pem");
        writeFileSync(caFile, caPem);
        await verifyWithOpenssl(join(scratch, "verify-c"), caFile, r.issued, "(c) HTTP");
        figures.push(...r.figures);
      });
    } else if (server) {
      const s = server;
      log(`· (c) HTTP, SQLite: ${p.certs} submissions then ${p.certs} issues, ${p.concurrency} in flight`);
      await part("c", "c.sqlite", "HTTP, SQLite", async () => {
        const r = await measureHttp({ base: s.base, token, caKeyPassword, csrs, concurrency: p.concurrency, db: "sqlite", dbLabel: "SQLite", sampler });
        await verifyWithOpenssl(join(scratch, "verify-c"), ca.files.certificatePath, r.issued, "(c) HTTP SQLite");
        figures.push(...r.figures);
      });
    } else {
      figures.push(skippedFigure({ id: "c.sqlite", section: "c", label: "HTTP, SQLite: submit + issue", unit: "certs/s" }, buildSkip ?? "no server"));
      log(`  (c) skipped: ${buildSkip}`);
    }

    if (wanted("f")) log(`· (f) queue pages, SQLite: ${p.queueSmall} then ${p.queueLarge} pending requests`);
    await part("f", "f.sqlite", "queue, SQLite", async () => {
      if (server) await useDatabase(server.dataDir);
      else await useDatabase(join(scratch, "queue-sqlite"));
      figures.push(...(await measureQueue({ db: "sqlite", dbLabel: "SQLite", csrs, small: p.queueSmall, large: p.queueLarge, calls: p.queueCalls, http: server ? { base: server.base, token } : null, log })));
      await closeDb();
    });
    // Stopping twice is harmless: the cleanup list still holds it for the failure paths.
    await server?.stop();
    server = null;

    // (c) and (f) on PostgreSQL.
    if (only && !only.has("c") && !only.has("f")) {
      // --only without c or f: PostgreSQL is not needed
    } else if (!pgBase) {
      const why = "PostgreSQL not given: set BENCH_POSTGRES_URL or PORTCULLIS_TEST_POSTGRES_URL (bash scripts/postgres-test.sh start)";
      if (wanted("c")) figures.push(skippedFigure({ id: "c.postgres", section: "c", label: "HTTP, PostgreSQL: submit + issue", unit: "certs/s" }, why));
      if (wanted("f")) figures.push(skippedFigure({ id: "f.postgres", section: "f", label: "queue, PostgreSQL", unit: "ms" }, why));
      log(`· PostgreSQL skipped: ${why}`);
    } else {
      log("· PostgreSQL: a database of the bench's own");
      const pgdb = await withPostgresDatabase(pgBase);
      cleanups.push(pgdb.drop);
      let pgServer: RunningServer | null = null;
      let pgToken = "";
      if (distDir) {
        // (f) times the HTTP queue page on this server too: it starts when either row runs.
        await part(wanted("c") ? "c" : "f", "c.postgres", "HTTP, PostgreSQL", async () => {
          const dataDir = join(scratch, "server-postgres");
          mkdirSync(dataDir, { recursive: true });
          log("  starting the production server (PostgreSQL)");
          pgServer = await startServer({ root: ROOT, distDir: distDir!, dataDir, logFile: join(scratch, "server-postgres.log"), env: { DATABASE_URL: pgdb.url, PORTCULLIS_ADMIN_USER: adminUser, PORTCULLIS_ADMIN_PASSWORD: adminPassword } });
          const s: RunningServer = pgServer;
          cleanups.push(() => s.stop());
          pgToken = await adminToken(s.base, adminUser, adminPassword);
          await configureCa(s.base, pgToken, caKeyPassword, p.validityDays);
          const pgCa = await requireConfiguredCa(s.base, pgToken);
          await waitForIdle(s.pid);
          if (!wanted("c")) return;
          log(`  (c) HTTP, PostgreSQL: ${p.certs} submissions then ${p.certs} issues`);
          const r = await measureHttp({ base: s.base, token: pgToken, caKeyPassword, csrs, concurrency: p.concurrency, db: "postgres", dbLabel: "PostgreSQL", sampler: new RssSampler(s.pid) });
          const caFile = join(scratch, "postgres-ca.pem");
          writeFileSync(caFile, pgCa.pem);
          await verifyWithOpenssl(join(scratch, "verify-c-pg"), caFile, r.issued, "(c) HTTP PostgreSQL");
          figures.push(...r.figures);
        });
      } else if (wanted("c")) {
        figures.push(skippedFigure({ id: "c.postgres", section: "c", label: "HTTP, PostgreSQL: submit + issue", unit: "certs/s" }, buildSkip ?? "no server"));
      }
      if (wanted("f")) log(`  (f) queue pages, PostgreSQL: ${p.queueSmall} then ${p.queueLarge} pending requests`);
      await part("f", "f.postgres", "queue, PostgreSQL", async () => {
        await useDatabase(join(scratch, "queue-postgres"), pgdb.url);
        const srv = pgServer as RunningServer | null;
        figures.push(...(await measureQueue({ db: "postgres", dbLabel: "PostgreSQL", csrs, small: p.queueSmall, large: p.queueLarge, calls: p.queueCalls, http: srv ? { base: srv.base, token: pgToken } : null, log })));
        await closeDb();
      });
      await (pgServer as RunningServer | null)?.stop();
    }

    if (wanted("g")) log(`· (g) key pair + CSR generation (createCsr)`);
    await part("g", "g.failed", "createCsr", async () => {
      figures.push(...(await measureCsrGeneration({ p256Count: p.csrP256, rsaCount: p.csrRsa, repeats: p.repeats })));
    });
  } finally {
    await cleanup();
    process.off("SIGINT", onSignal);
    process.off("SIGTERM", onSignal);
  }

  machine.loadAverageAtEnd = loadavg().map((x) => Math.round(x * 100) / 100);
  if (Math.max(...machine.loadAverageAtStart, ...machine.loadAverageAtEnd) > machine.cores) {
    notes.push(`The machine was busy with other work (load average up to ${Math.max(...machine.loadAverageAtStart, ...machine.loadAverageAtEnd)} on ${machine.cores} cores): absolute figures are noisy; ratios to (d) are steadier.`);
  }
  const order = "abcdefg";
  figures.sort((x, y) => order.indexOf(x.section) - order.indexOf(y.section));
  const json = toJson(figures);
  const base = json.find((f) => f.id === BASELINE_ID);
  const report: BenchReport = {
    version: 1,
    mode: short ? "short" : "full",
    startedAt: startedAt.toISOString(),
    finishedAt: new Date().toISOString(),
    machine: { ...machine },
    parameters: { ...p, external: external ?? null, postgres: pgBase ? true : false },
    baseline: { id: BASELINE_ID, label: base?.label ?? "openssl ca -batch", value: base?.value ?? null },
    figures: json,
    notes,
    ok: !failed,
  };
  writeReport(outFile, report);
  if (a.markdown) {
    mkdirSync(dirname(resolve(a.markdown)), { recursive: true });
    writeFileSync(resolve(a.markdown), `${describeMachine(machine).split("\n").join("  \n")}\n\n${formatMarkdown(json)}\n${notes.map((n) => `\n${n}\n`).join("")}`);
  }
  log("");
  log(describeMachine(machine));
  log("");
  log(formatTable(json));
  for (const n of notes) log(`\nnote: ${n}`);
  log(`\nJSON: ${outFile}`);
  if (failed) log("\nSome figures FAILED (see the table): exit 1");
  return failed ? 1 : 0;
}

try {
  process.exitCode = await main();
} catch (e) {
  if (e instanceof BenchError) console.error(`bench: ${e.message}`);
  else console.error("bench: unexpected failure:", e);
  process.exitCode = 1;
}
// Stray handles (a Prisma pool, keep-alive sockets) must not keep a finished run alive.
process.exit(process.exitCode);
