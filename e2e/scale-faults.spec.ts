/**
 * Faults at scale, on a private PostgreSQL server this spec starts, stops and starts again
 * (scripts/postgres-test.sh with a port and state file of its own, so the shared test
 * server is never disturbed):
 * - PostgreSQL restarted under load: two production instances run submit + issue flows
 *   while the server goes away and comes back. Calls in flight fail clearly (503
 *   `unavailable` with Retry-After, in bounded time, never a 500), the same calls succeed
 *   on retry once the server is back (the instances reconnect by themselves and stay up),
 *   and nothing is half-issued.
 * - PostgreSQL stopped in the middle of a bulk issuance: the call answers 503 with the
 *   chunks stored so far kept, and the same selection sent again once the server is back
 *   issues the rest.
 * - An instance killed mid-batch: instance A is SIGKILLed while it bulk-issues; the same
 *   selection sent to instance B finishes the batch. Each request issued once, numbers
 *   1..N with no gap, serials unique, the SRL mirrors the database, the audit chain holds.
 * The database, read directly, is the judge; OpenSSL checks samples against the CA.
 */
import { test, expect } from "@playwright/test";
import { execFile, spawn, type ChildProcess } from "node:child_process";
import { randomBytes } from "node:crypto";
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import pg from "pg";
import { instancePort, opensslOk, sharedDatabaseEnv, SMTP_PORT } from "./support";

const run = promisify(execFile);
const SHARED_PG = process.env.PORTCULLIS_TEST_POSTGRES_URL;
const ADMIN = { username: "fault-admin", password: "fault admin password" };
const CA_KEY_PASSWORD = "fault test CA key password";
/** No call may take longer than this, outage or not (the pool's connect timeout is 10 s). */
const CALL_LIMIT_MS = 20_000;
const ISSUE_BODY = { usage: "tls-client", caKeyPassword: CA_KEY_PASSWORD, fingerprintVerified: true, verificationChannel: "other" };

test.describe.configure({ mode: "serial" });
// Runs where the test command provides PostgreSQL (it installs the server and sets the shared URL); a bare `playwright test` skips it, saying why.
test.skip(!SHARED_PG, "PORTCULLIS_TEST_POSTGRES_URL is not set: no PostgreSQL server binaries prepared for the fault tests (scripts/test.sh starts them)");

let work = "";
let pgEnv: NodeJS.ProcessEnv = { ...process.env };
let clusterUrl = "";
const started: Server[] = [];

interface Server {
  base: string;
  proc: ChildProcess;
  /** Everything the server printed (stdout and stderr). */
  log: () => string;
  kill: (signal?: NodeJS.Signals) => void;
}

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once("error", reject);
    s.listen(0, "127.0.0.1", () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => resolve(port));
    });
  });
}

async function pgScript(command: "start" | "stop" | "pause" | "resume" | "restart" | "url"): Promise<string> {
  const { stdout } = await run("bash", ["scripts/postgres-test.sh", command], { env: pgEnv, timeout: 120_000 });
  return stdout.trim();
}

/** A new empty database on the private server and its URL. */
async function createDatabase(prefix: string): Promise<string> {
  const c = new pg.Client({ connectionString: clusterUrl });
  await c.connect();
  try {
    const name = `${prefix}_${randomBytes(5).toString("hex")}`;
    await c.query(`CREATE DATABASE "${name}"`);
    const u = new URL(clusterUrl);
    u.pathname = `/${name}`;
    return u.toString();
  } finally {
    await c.end();
  }
}

/** A production instance (`next start`) in its own process group, its output kept for the checks. */
async function startServer(port: number, env: Record<string, string>): Promise<Server> {
  const dataDir = mkdtempSync(join(work, `data-${port}-`));
  const proc = spawn("npx", ["next", "start", "-H", "127.0.0.1", "-p", String(port)], {
    env: { ...process.env, PORTCULLIS_DATA_DIR: dataDir, NODE_ENV: "production", ...env },
    stdio: ["ignore", "pipe", "pipe"],
    detached: true,
  });
  let out = "";
  proc.stdout!.on("data", (d) => (out += d));
  proc.stderr!.on("data", (d) => (out += d));
  const kill = (signal: NodeJS.Signals = "SIGTERM") => {
    try {
      process.kill(-proc.pid!, signal);
    } catch {
      // already gone
    }
  };
  const server: Server = { base: `http://127.0.0.1:${port}`, proc, log: () => out, kill };
  started.push(server);
  await expect
    .poll(
      async () => {
        try {
          return (await fetch(`${server.base}/api/v1/health`)).status;
        } catch {
          return 0;
        }
      },
      { timeout: 120_000, message: `instance on port ${port} did not start:\n${out}` },
    )
    .toBe(200);
  return server;
}

interface Answer {
  status: number;
  json: any;
  retryAfter: string | null;
  ms: number;
}

async function call(method: string, url: string, body?: unknown, token?: string): Promise<Answer> {
  const t0 = Date.now();
  try {
    const r = await fetch(url, {
      method,
      headers: { ...(body === undefined ? {} : { "content-type": "application/json" }), ...(token ? { authorization: `Bearer ${token}` } : {}) },
      body: body === undefined ? undefined : JSON.stringify(body),
      signal: AbortSignal.timeout(CALL_LIMIT_MS * 2),
    });
    const text = await r.text();
    let json: any;
    try {
      json = JSON.parse(text);
    } catch {
      json = { raw: text.slice(0, 300) };
    }
    return { status: r.status, json, retryAfter: r.headers.get("retry-after"), ms: Date.now() - t0 };
  } catch (e) {
    // No answer at all (timed out or the connection dropped): status 0, judged by the caller.
    return { status: 0, json: { raw: String(e) }, retryAfter: null, ms: Date.now() - t0 };
  }
}

async function makeCsrs(count: number, tag: string): Promise<string[]> {
  const csrs: string[] = [];
  await pool(
    Array.from({ length: count }, (_, i) => i),
    4,
    async (i) => {
      const { stdout } = await run("openssl", ["req", "-new", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-keyout", join(work, `${tag}-${i}.key`), "-subj", `/O=Fleet/CN=${tag}-${i}.fleet.example.com`]);
      csrs[i] = stdout;
    },
  );
  return csrs;
}

function submitBody(csr: string, tag: string, i: number) {
  return { csr, contact: { name: "Fleet Operator", email: `${tag}-${i}@example.com` }, hostname: `${tag}-${i}.fleet.example.com`, instance: tag.toUpperCase(), filename: `${tag}-${i}` };
}

async function pool<T>(items: T[], limit: number, task: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(limit, items.length) }, async () => {
      while (next < items.length) await task(items[next++]);
    }),
  );
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function configureCa(base: string, token: string, root: string, directory: string): Promise<string> {
  const cfg = await call(
    "POST",
    `${base}/api/v1/admin/ca`,
    { fileNameRoot: root, directory, keyPassword: CA_KEY_PASSWORD, subject: { O: "Fleet Corp", CN: `${root} CA` }, keyAlgorithm: "ecdsa-p256", caValidityDays: 3650, issuedValidityDays: 90, smtp: { host: "127.0.0.1", port: SMTP_PORT, secure: false, username: "", password: "" }, adminEmail: "fleet-admin@example.com" },
    token,
  );
  expect(cfg.status, JSON.stringify(cfg.json)).toBe(201);
  const ca = await call("GET", `${base}/api/v1/ca`);
  const file = join(work, `${root}.pem`);
  writeFileSync(file, ca.json.pem);
  return file;
}

async function adminToken(base: string): Promise<string> {
  const tok = await call("POST", `${base}/api/v1/auth/token`, { ...ADMIN, name: "faults" });
  expect(tok.status, JSON.stringify(tok.json)).toBe(201);
  return tok.json.token as string;
}

/**
 * The invariants of a consistent CA, read from the database: every request pending (no
 * number, no certificate) or issued with exactly one certificate carrying its number;
 * numbers 1..N with no gap; serials unique; the counter one past the last number.
 * Returns the number of certificates.
 */
async function expectConsistent(dbUrl: string): Promise<{ issued: number; pending: string[] }> {
  const db = new pg.Client({ connectionString: dbUrl });
  await db.connect();
  try {
    const reqs = (await db.query(`SELECT "id", "status", "certificateNumber" FROM "CertificateRequest"`)).rows as { id: string; status: string; certificateNumber: number | null }[];
    const certs = (await db.query(`SELECT "number", "serial", "requestId" FROM "Certificate" ORDER BY "number"`)).rows as { number: number; serial: string; requestId: string }[];
    const server = (await db.query(`SELECT "nextNumber" FROM "CaServer" WHERE "id" = 1`)).rows[0] as { nextNumber: number };
    expect(certs.map((c) => c.number)).toEqual(certs.map((_, i) => i + 1));
    expect(server.nextNumber).toBe(certs.length + 1);
    expect(new Set(certs.map((c) => c.serial.toLowerCase())).size).toBe(certs.length);
    expect(new Set(certs.map((c) => c.requestId)).size).toBe(certs.length);
    const byRequest = new Map(certs.map((c) => [c.requestId, c.number]));
    for (const r of reqs) {
      if (r.status === "issued") expect(byRequest.get(r.id), `request ${r.id}`).toBe(r.certificateNumber);
      else {
        expect(r.status, `request ${r.id}`).toBe("pending");
        expect(r.certificateNumber, `request ${r.id}`).toBeNull();
        expect(byRequest.has(r.id), `request ${r.id} is pending but has a certificate`).toBe(false);
      }
    }
    expect(reqs.filter((r) => r.status === "issued")).toHaveLength(certs.length);
    return { issued: certs.length, pending: reqs.filter((r) => r.status === "pending").map((r) => r.id) };
  } finally {
    await db.end();
  }
}

async function expectAuditChainHolds(base: string, token: string): Promise<void> {
  const v = await call("POST", `${base}/api/v1/admin/audit/verify`, {}, token);
  expect(v.status, JSON.stringify(v.json)).toBe(200);
  expect(v.json.ok, JSON.stringify(v.json)).toBe(true);
  expect(v.json.entries).toBeGreaterThan(0);
}

function srlNumber(caDir: string, root: string): number {
  return parseInt(readFileSync(join(caDir, `${root}.srl`), "utf8").trim(), 16);
}

/** OpenSSL verifies these certificates, downloaded from the server, against the CA. */
async function expectVerified(base: string, caFile: string, tag: string, numbers: number[]): Promise<void> {
  for (const n of numbers) {
    const pem = await (await fetch(`${base}/api/v1/certificates/${n}?format=pem`)).text();
    const f = join(work, `${tag}-cert${n}.pem`);
    writeFileSync(f, pem);
    expect(opensslOk(["verify", "-x509_strict", "-CAfile", caFile, f])).toContain(": OK");
  }
}

/** What a server must never print: a 500 from a route handler, or an error nobody handled. */
function expectCleanLog(server: Server): void {
  expect(server.log()).not.toMatch(/Unhandled error in route handler|unhandledRejection|uncaughtException|Unhandled Rejection/i);
}

test.beforeAll(async () => {
  test.setTimeout(180_000);
  work = mkdtempSync(join(tmpdir(), "pc-faults-"));
  pgEnv = { ...process.env, PORTCULLIS_TEST_PG_PORT: String(await freePort()), PORTCULLIS_TEST_PG_STATE: join(work, "pg.state") };
  await pgScript("start");
  clusterUrl = await pgScript("url");
});

test.afterAll(async () => {
  for (const s of started) s.kill("SIGKILL");
  if (work) {
    await pgScript("stop").catch(() => undefined);
    rmSync(work, { recursive: true, force: true });
  }
});

test("PostgreSQL restarted under load: calls in flight answer 503 unavailable, succeed on retry, nothing half-issued", async () => {
  test.setTimeout(240_000);
  const FLOWS = 80;
  // More transactions in flight than an instance's connection pool holds (10).
  const WORKERS = 16;
  const dbUrl = await createDatabase("portcullis_restart");
  // The outbox worker keeps polling through the outage.
  const env = sharedDatabaseEnv(dbUrl, ADMIN, { PORTCULLIS_MAIL_RETRY_SECONDS: "1" });
  const a = await startServer(instancePort(0), env);
  const b = await startServer(instancePort(1), env);
  const token = await adminToken(a.base);
  const caDir = join(work, "restart-ca");
  const caFile = await configureCa(a.base, token, "RestartCA", caDir);
  const csrs = await makeCsrs(FLOWS + 10, "rs");

  const problems: string[] = [];
  const unavailable: Answer[] = [];
  const issued = new Map<string, number>();
  let outage: { from: number; to: number } | undefined;
  let lostSubmits = 0;

  /** Judges one answer: a 503 must be the clear `unavailable` error, anything else but the expected statuses is a problem. */
  const judge = (what: string, r: Answer, ok: number[]): "ok" | "retry" | "other" => {
    if (r.ms > CALL_LIMIT_MS) problems.push(`${what}: took ${r.ms} ms`);
    if (ok.includes(r.status)) return "ok";
    if (r.status === 503) {
      unavailable.push(r);
      if (r.json?.error?.code !== "unavailable" || typeof r.json?.error?.message !== "string" || !/^\d+$/.test(r.retryAfter ?? "")) problems.push(`${what}: unclear 503 ${r.retryAfter} ${JSON.stringify(r.json)}`);
      return "retry";
    }
    return "other";
  };

  const flow = async (i: number) => {
    const base = i % 2 ? b.base : a.base;
    const deadline = Date.now() + 90_000;
    let id: string | undefined;
    let retried = false;
    while (!id) {
      const s = await call("POST", `${base}/api/v1/csrs`, submitBody(csrs[i], "rs", i), token);
      const v = judge(`submit ${i}`, s, [201]);
      if (v === "ok") id = s.json.id;
      else if (v === "retry" && Date.now() < deadline) {
        retried = true;
        await sleep(300);
      } else if (s.status === 409 && retried) {
        // The first attempt was stored although its answer was lost in the outage; the sweep below issues it.
        lostSubmits++;
        return;
      } else return void problems.push(`submit ${i} via ${base}: ${s.status} ${JSON.stringify(s.json)}`);
    }
    retried = false;
    for (;;) {
      const r = await call("POST", `${base}/api/v1/admin/csrs/${id}/issue`, ISSUE_BODY, token);
      const v = judge(`issue ${i}`, r, [201]);
      if (v === "ok") return void issued.set(id, r.json.number);
      if (v === "retry" && Date.now() < deadline) {
        retried = true;
        await sleep(300);
        continue;
      }
      if (r.status === 409 && retried) {
        // Committed, but the answer was lost: the request must say so.
        const st = await call("GET", `${base}/api/v1/csrs/${id}`);
        if (st.json.status === "issued" && Number.isInteger(st.json.certificateNumber)) return void issued.set(id, st.json.certificateNumber);
      }
      return void problems.push(`issue ${i} via ${base}: ${r.status} ${JSON.stringify(r.json)}`);
    }
  };

  // Two outages: a quick restart (fast shutdown, then start at once), then a stop of a few seconds and a start.
  const outages: { from: number; to: number }[] = [];
  const restart = async () => {
    await expect.poll(() => issued.size, { timeout: 60_000 }).toBeGreaterThanOrEqual(10);
    let from = Date.now();
    await pgScript("restart");
    outages.push({ from, to: Date.now() });
    await expect.poll(() => issued.size, { timeout: 60_000 }).toBeGreaterThanOrEqual(35);
    from = Date.now();
    await pgScript("pause");
    await sleep(4_000);
    await pgScript("resume");
    outages.push({ from, to: Date.now() });
    outage = outages[1];
  };

  await Promise.all([pool(Array.from({ length: FLOWS }, (_, i) => i), WORKERS, flow), restart()]);
  console.log(`restart under load: ${issued.size} issued (${lostSubmits} submissions answered 503 but stored), ${unavailable.length} answers 503 during outages of ${outages.map((o) => ((o.to - o.from) / 1000).toFixed(1)).join(" s and ")} s, slowest ${Math.max(...unavailable.map((u) => u.ms))} ms`);

  expect(problems).toEqual([]);
  // The outage was felt: calls were in flight or arrived while the server was away.
  expect(unavailable.length).toBeGreaterThan(0);
  expect(unavailable[0].json.error.message).toMatch(/database/i);

  // Reconnected without a restart: the same processes answer new flows at the first attempt.
  for (const [k, server] of [a, b].entries()) {
    for (let j = 0; j < 3; j++) {
      const i = FLOWS + k * 5 + j;
      const s = await call("POST", `${server.base}/api/v1/csrs`, submitBody(csrs[i], "rs", i), token);
      expect(s.status, JSON.stringify(s.json)).toBe(201);
      const r = await call("POST", `${server.base}/api/v1/admin/csrs/${s.json.id}/issue`, ISSUE_BODY, token);
      expect(r.status, JSON.stringify(r.json)).toBe(201);
      issued.set(s.json.id, r.json.number);
    }
    expect(server.proc.exitCode).toBeNull();
  }

  // Nothing half-issued: whatever the outage interrupted is pending and issues now.
  const after = await expectConsistent(dbUrl);
  for (const id of after.pending) {
    const r = await call("POST", `${a.base}/api/v1/admin/csrs/${id}/issue`, ISSUE_BODY, token);
    expect(r.status, JSON.stringify(r.json)).toBe(201);
    issued.set(id, r.json.number);
  }
  const final = await expectConsistent(dbUrl);
  expect(final.pending).toEqual([]);
  expect(final.issued).toBe(FLOWS + 6);
  expect(issued.size).toBe(final.issued);
  expect(srlNumber(caDir, "RestartCA")).toBe(final.issued + 1);
  await expectAuditChainHolds(b.base, token);

  // The outbox worker lived through the outage: it kept sending after it, and no mail is
  // lost. A mail whose claim the outage cut short stays "sending" until its lease runs out,
  // and is then sent again (at least once).
  const db = new pg.Client({ connectionString: dbUrl });
  await db.connect();
  try {
    await expect
      .poll(async () => (await db.query(`SELECT count(*)::int AS n FROM "OutboxMessage" WHERE "status" NOT IN ('sent', 'sending')`)).rows[0].n, { timeout: 60_000 })
      .toBe(0);
    const rows = (await db.query(`SELECT "status", "sentAt", "nextAttemptAt" FROM "OutboxMessage"`)).rows as { status: string; sentAt: Date | null; nextAttemptAt: Date }[];
    expect(rows.length).toBeGreaterThanOrEqual(final.issued);
    expect(rows.filter((r) => r.status === "sent" && r.sentAt!.getTime() > outage!.to).length).toBeGreaterThan(0);
    for (const r of rows.filter((x) => x.status === "sending")) expect(r.nextAttemptAt.getTime()).toBeGreaterThan(Date.now());
  } finally {
    await db.end();
  }

  await expectVerified(b.base, caFile, "rs", [1, final.issued]);
  for (const s of [a, b]) {
    expect((await call("GET", `${s.base}/api/v1/health`)).status).toBe(200);
    expectCleanLog(s);
  }
  a.kill();
  b.kill();
});

test("PostgreSQL stopped in the middle of a bulk issuance: 503 unavailable, the chunks stored so far kept, the same batch sent again issues the rest", async () => {
  test.setTimeout(240_000);
  const TOTAL = 500;
  const dbUrl = await createDatabase("portcullis_bulk_outage");
  const s = await startServer(instancePort(0), sharedDatabaseEnv(dbUrl, ADMIN));
  const token = await adminToken(s.base);
  const caDir = join(work, "outage-ca");
  const caFile = await configureCa(s.base, token, "OutageCA", caDir);
  const csrs = await makeCsrs(TOTAL, "bo");
  const submitted = await call("POST", `${s.base}/api/v1/admin/csrs/batch`, { contact: { name: "Fleet Operator", email: "fleet@example.com" }, instance: "BO", requests: csrs.map((csr, i) => ({ csr, hostname: `bo-${i}.fleet.example.com`, filename: `bo-${i}` })) }, token);
  expect(submitted.status, JSON.stringify(submitted.json).slice(0, 300)).toBe(201);
  const batchId = submitted.json.batchId as string;

  // A request of the second chunk (of 250) is locked, so that the second chunk's claim
  // waits: the server goes away once the first chunk is committed and while the second is
  // in its transaction.
  const holder = new pg.Client({ connectionString: dbUrl });
  await holder.connect();
  holder.on("error", () => undefined);
  await holder.query("BEGIN");
  await holder.query(`SELECT "id" FROM "CertificateRequest" WHERE "id" = $1 FOR UPDATE`, [submitted.json.requests[400].id]);
  const bulk = call("POST", `${s.base}/api/v1/admin/csrs/bulk-issue`, { ...ISSUE_BODY, batchId }, token);
  const t0 = Date.now();
  let seen = 0;
  while ((seen = (await holder.query(`SELECT count(*)::int AS n FROM "Certificate"`)).rows[0].n as number) === 0 && Date.now() - t0 < 60_000) await sleep(5);
  expect(seen).toBe(250);
  // By now the second chunk is signed and its transaction waits on the lock.
  await sleep(300);
  await pgScript("pause");
  await holder.end().catch(() => undefined);
  const answer = await bulk;
  await pgScript("resume");

  expect(answer.status, JSON.stringify(answer.json).slice(0, 300)).toBe(503);
  expect(answer.json.error.code).toBe("unavailable");
  expect(answer.retryAfter).toMatch(/^\d+$/);
  expect(answer.ms).toBeLessThan(CALL_LIMIT_MS);
  // Whole chunks or nothing: what was committed before the outage stays, in step with its requests.
  const left = await expectConsistent(dbUrl);
  console.log(`bulk issuance through an outage: ${left.issued} of ${TOTAL} issued before it, answered ${answer.status} after ${answer.ms} ms`);
  expect(left.issued % 250).toBe(0);
  expect(left.issued).toBeGreaterThan(0);
  expect(left.issued).toBeLessThan(TOTAL);

  // Sent again once the server is back (the instance reconnects by itself): the rest is issued.
  const again = await call("POST", `${s.base}/api/v1/admin/csrs/bulk-issue`, { ...ISSUE_BODY, batchId }, token);
  expect(again.status, JSON.stringify(again.json).slice(0, 300)).toBe(200);
  expect(again.json.failed).toEqual([]);
  expect(again.json.issued).toHaveLength(TOTAL - left.issued);
  const final = await expectConsistent(dbUrl);
  expect(final.issued).toBe(TOTAL);
  expect(final.pending).toEqual([]);
  expect(srlNumber(caDir, "OutageCA")).toBe(TOTAL + 1);
  await expectAuditChainHolds(s.base, token);
  await expectVerified(s.base, caFile, "bo", [1, TOTAL]);
  expectCleanLog(s);
  s.kill();
});

test("an instance SIGKILLed in the middle of a bulk issuance: the same selection on another instance finishes it, each request once", async () => {
  test.setTimeout(240_000);
  const TOTAL = 300;
  const KILL_AFTER = 40;
  const dbUrl = await createDatabase("portcullis_kill");
  const env = sharedDatabaseEnv(dbUrl, ADMIN);
  const a = await startServer(instancePort(2), env);
  const b = await startServer(instancePort(3), env);
  const token = await adminToken(b.base);

  // Before the CA exists: a benchmark aimed at this instance stops with a clear message, no stack, no report.
  const benchOut = join(work, "bench-unconfigured.json");
  const bench = await run(process.execPath, [join("node_modules", "tsx", "dist", "cli.mjs"), join("scripts", "bench", "run.ts"), "--short", "--url", b.base, "--out", benchOut], {
    env: { ...process.env, BENCH_TOKEN: token, BENCH_CA_KEY_PASSWORD: CA_KEY_PASSWORD },
    timeout: 120_000,
  }).then(
    () => ({ code: 0, stderr: "" }),
    (e: { code?: number; stderr?: string }) => ({ code: e.code, stderr: e.stderr ?? "" }),
  );
  expect(bench.code, bench.stderr).toBe(1);
  expect(bench.stderr).toContain(`bench: The Certificate Authority server at ${b.base} is not configured`);
  expect(bench.stderr).toMatch(/Configure it first/);
  expect(bench.stderr).not.toMatch(/\n\s+at |Error:/);
  expect(existsSync(benchOut)).toBe(false);

  const caDir = join(work, "kill-ca");
  const caFile = await configureCa(b.base, token, "KillCA", caDir);
  const csrs = await makeCsrs(TOTAL, "kb");
  const ids: string[] = [];
  await pool(
    Array.from({ length: TOTAL }, (_, i) => i),
    8,
    async (i) => {
      const s = await call("POST", `${(i % 2 ? a : b).base}/api/v1/csrs`, submitBody(csrs[i], "kb", i), token);
      expect(s.status, JSON.stringify(s.json)).toBe(201);
      ids[i] = s.json.id;
    },
  );

  const db = new pg.Client({ connectionString: dbUrl });
  await db.connect();
  try {
    const issuedCount = async () => (await db.query(`SELECT count(*)::int AS n FROM "Certificate"`)).rows[0].n as number;
    // A's batch is under way when its whole process tree is killed: no chance to finish, roll back or clean up.
    const batch = call("POST", `${a.base}/api/v1/admin/csrs/bulk-issue`, { ...ISSUE_BODY, ids }, token);
    const t0 = Date.now();
    // Killed once a good part of the batch is stored, with more issuances in flight.
    let seen = 0;
    while ((seen = await issuedCount()) < KILL_AFTER && Date.now() - t0 < 60_000) await sleep(5);
    a.kill("SIGKILL");
    const answer = await batch;
    expect(answer.status, `the batch answered before the kill: ${JSON.stringify(answer.json).slice(0, 300)}`).toBe(0);
    await expect.poll(() => a.proc.exitCode !== null || a.proc.signalCode !== null, { timeout: 10_000 }).toBe(true);

    // What A left: each request pending or fully issued, numbers contiguous, counter in step.
    const left = await expectConsistent(dbUrl);
    console.log(`kill mid-batch: ${seen} seen issued at the kill, ${left.issued} of ${TOTAL} issued by A`);
    expect(left.issued).toBeGreaterThanOrEqual(KILL_AFTER);
    expect(left.issued).toBeLessThan(TOTAL);

    // Resume: the same selection on B issues the rest and skips what A finished.
    const resumed = await call("POST", `${b.base}/api/v1/admin/csrs/bulk-issue`, { ...ISSUE_BODY, ids }, token);
    expect(resumed.status, JSON.stringify(resumed.json).slice(0, 500)).toBe(200);
    expect(resumed.json.failed).toEqual([]);
    expect(resumed.json.requested).toBe(TOTAL);
    expect(resumed.json.issued).toHaveLength(TOTAL - left.issued);
    expect(resumed.json.skipped).toHaveLength(left.issued);
    // Nothing is left for an `all` selection either.
    const rest = await call("POST", `${b.base}/api/v1/admin/csrs/bulk-issue`, { ...ISSUE_BODY, all: true }, token);
    expect(rest.status, JSON.stringify(rest.json)).toBe(200);
    expect(rest.json.requested).toBe(0);

    const final = await expectConsistent(dbUrl);
    expect(final.issued).toBe(TOTAL);
    expect(final.pending).toEqual([]);
    const byRequest = new Map(((await db.query(`SELECT "requestId", "number" FROM "Certificate"`)).rows as { requestId: string; number: number }[]).map((r) => [r.requestId, r.number]));
    expect(ids.every((id) => byRequest.has(id))).toBe(true);
    for (const x of resumed.json.issued as { id: string; number: number }[]) expect(byRequest.get(x.id)).toBe(x.number);
    expect(srlNumber(caDir, "KillCA")).toBe(TOTAL + 1);
  } finally {
    await db.end();
  }
  await expectAuditChainHolds(b.base, token);
  await expectVerified(b.base, caFile, "kb", [1, TOTAL]);
  expectCleanLog(b);
  b.kill();
});
