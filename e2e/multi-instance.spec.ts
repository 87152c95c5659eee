/**
 * Several instances, one truth: two production servers on one fresh PostgreSQL database
 * and one shared CA directory issue concurrently. The database is the judge afterwards:
 * every request issued exactly once, certificate numbers unique and contiguous, serials
 * unique, nothing lost, and `<root>.srl` mirrors the counter.
 */
import { test, expect } from "@playwright/test";
import { execFile } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { randomBytes } from "node:crypto";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import pg from "pg";
import { instancePort, opensslOk, sharedDatabaseEnv, startInstance, type Instance } from "./support";

const PG_URL = process.env.PORTCULLIS_TEST_POSTGRES_URL;
const ADMIN = { username: "scale-admin", password: "scale admin password" };
const CA_KEY_PASSWORD = "multi instance CA key password";
const FLOWS_PER_INSTANCE = 100;
const RACED = 10;
/** Issued by two bulk calls at once, one per instance, over the same ids. */
const BULK = 20;
const CONCURRENCY = 10;

const run = promisify(execFile);

test.describe.configure({ mode: "serial" });
// Needs a PostgreSQL server: the test command starts one and sets the URL, so it runs there; a bare `playwright test` skips it, saying why.
test.skip(!PG_URL, "PORTCULLIS_TEST_POSTGRES_URL is not set: no PostgreSQL server for the multi-instance test (scripts/test.sh starts one)");

let admin: pg.Client | undefined;
let database = "";
let dbUrl = "";
let work = "";
let caDir = "";
const instances: Instance[] = [];

test.beforeAll(async () => {
  test.setTimeout(240_000);
  admin = new pg.Client({ connectionString: PG_URL });
  await admin.connect();
  database = `portcullis_multi_${randomBytes(6).toString("hex")}`;
  await admin.query(`CREATE DATABASE "${database}"`);
  const u = new URL(PG_URL!);
  u.pathname = `/${database}`;
  dbUrl = u.toString();
  work = mkdtempSync(join(tmpdir(), "pc-multi-"));
  caDir = join(work, "ca");
  const env = sharedDatabaseEnv(dbUrl, ADMIN);
  // One after the other: the first migrates the fresh database.
  instances.push(await startInstance(instancePort(0), env, { dataDirPrefix: "portcullis-multi-a-", timeout: 120_000 }));
  instances.push(await startInstance(instancePort(1), env, { dataDirPrefix: "portcullis-multi-b-", timeout: 120_000 }));
});

test.afterAll(async () => {
  for (const i of instances) i.stop();
  if (admin) {
    if (database) await admin.query(`DROP DATABASE IF EXISTS "${database}" WITH (FORCE)`).catch(() => undefined);
    await admin.end();
  }
  if (work) rmSync(work, { recursive: true, force: true });
});

async function post(base: string, path: string, body: unknown, token?: string): Promise<{ status: number; json: any }> {
  const r = await fetch(`${base}${path}`, {
    method: "POST",
    headers: { "content-type": "application/json", ...(token ? { authorization: `Bearer ${token}` } : {}) },
    body: JSON.stringify(body),
  });
  const text = await r.text();
  let json: any;
  try {
    json = JSON.parse(text);
  } catch {
    json = { raw: text };
  }
  return { status: r.status, json };
}

async function makeCsr(i: number): Promise<string> {
  const keyFile = join(work, `k${i}.pem`);
  const { stdout } = await run("openssl", ["req", "-new", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-keyout", keyFile, "-subj", `/O=Fleet/CN=device-${i}.fleet.example.com`]);
  return stdout;
}

/** Runs `tasks` with at most `limit` in flight. */
async function pool<T>(items: T[], limit: number, task: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: limit }, async () => {
      while (next < items.length) await task(items[next++]);
    }),
  );
}

test("two instances on one PostgreSQL issue 2 × 100 requests concurrently: each once, numbers contiguous, nothing lost", async () => {
  test.setTimeout(240_000);
  const [a, b] = instances;
  const tok = await post(a.base, "/api/v1/auth/token", { ...ADMIN, name: "multi" });
  expect(tok.status, JSON.stringify(tok.json)).toBe(201);
  const token = tok.json.token as string;

  // The CA is configured once, through A; B finds it in the shared database and directory.
  const cfg = await post(
    a.base,
    "/api/v1/admin/ca",
    { fileNameRoot: "FleetCA", directory: caDir, keyPassword: CA_KEY_PASSWORD, subject: { O: "Fleet Corp", CN: "Fleet CA" }, keyAlgorithm: "ecdsa-p256", caValidityDays: 3650, issuedValidityDays: 90, adminEmail: "fleet-admin@example.com" },
    token,
  );
  expect(cfg.status, JSON.stringify(cfg.json)).toBe(201);
  const caPem = (await (await fetch(`${b.base}/api/v1/ca`)).json()).pem as string;
  writeFileSync(join(work, "ca.pem"), caPem);

  const total = 2 * FLOWS_PER_INSTANCE + RACED + BULK;
  const csrs: string[] = [];
  await pool(
    Array.from({ length: total }, (_, i) => i),
    4,
    async (i) => void (csrs[i] = await makeCsr(i)),
  );

  const submitted: string[] = [];
  const issued = new Map<string, number>();
  const problems: string[] = [];
  const issueBody = { usage: "tls-client", caKeyPassword: CA_KEY_PASSWORD, fingerprintVerified: true, verificationChannel: "other" };
  const submit = async (base: string, i: number): Promise<string | undefined> => {
    const s = await post(base, "/api/v1/csrs", { csr: csrs[i], contact: { name: "Fleet Operator", email: `device-${i}@example.com` }, hostname: `device-${i}.fleet.example.com`, instance: "FLEET", filename: `device-${i}` }, token);
    if (s.status !== 201) {
      problems.push(`submit ${i} via ${base}: ${s.status} ${JSON.stringify(s.json)}`);
      return undefined;
    }
    submitted.push(s.json.id);
    return s.json.id as string;
  };

  // Requests raced from both instances at once: exactly one 201, the other 409.
  const raceIds: string[] = [];
  for (let i = 2 * FLOWS_PER_INSTANCE; i < 2 * FLOWS_PER_INSTANCE + RACED; i++) {
    const id = await submit(i % 2 ? a.base : b.base, i);
    if (id) raceIds.push(id);
  }
  const bulkIds: string[] = [];
  for (let i = 2 * FLOWS_PER_INSTANCE + RACED; i < total; i++) {
    const id = await submit(i % 2 ? a.base : b.base, i);
    if (id) bulkIds.push(id);
  }

  const flows = Array.from({ length: 2 * FLOWS_PER_INSTANCE }, (_, i) => i);
  const started = Date.now();
  await Promise.all([
    pool(flows, CONCURRENCY, async (i) => {
      const base = i % 2 ? b.base : a.base;
      const id = await submit(base, i);
      if (!id) return;
      const r = await post(base, `/api/v1/admin/csrs/${id}/issue`, issueBody, token);
      if (r.status === 201) issued.set(id, r.json.number);
      else problems.push(`issue ${i} via ${base}: ${r.status} ${JSON.stringify(r.json)}`);
    }),
    pool(raceIds, 2, async (id) => {
      const [ra, rb] = await Promise.all([post(a.base, `/api/v1/admin/csrs/${id}/issue`, issueBody, token), post(b.base, `/api/v1/admin/csrs/${id}/issue`, issueBody, token)]);
      const statuses = [ra.status, rb.status].sort();
      if (statuses[0] !== 201 || statuses[1] !== 409) problems.push(`race ${id}: ${ra.status} ${JSON.stringify(ra.json)} / ${rb.status} ${JSON.stringify(rb.json)}`);
      const winner = ra.status === 201 ? ra : rb;
      if (winner.status === 201) issued.set(id, winner.json.number);
    }),
    // The same batch sent to both instances at once: each request is issued by one of them, skipped by the other.
    Promise.all([post(a.base, "/api/v1/admin/csrs/bulk-issue", { ...issueBody, ids: bulkIds }, token), post(b.base, "/api/v1/admin/csrs/bulk-issue", { ...issueBody, ids: [...bulkIds].reverse() }, token)]).then((rs) => {
      for (const r of rs) {
        if (r.status !== 200 || r.json.failed.length) problems.push(`bulk: ${r.status} ${JSON.stringify(r.json)}`);
        else for (const x of r.json.issued as { id: string; number: number }[]) {
          if (issued.has(x.id)) problems.push(`bulk: ${x.id} issued twice`);
          issued.set(x.id, x.number);
        }
      }
      if (rs.every((r) => r.status === 200) && rs[0].json.issued.length + rs[1].json.issued.length !== BULK) problems.push(`bulk: ${rs[0].json.issued.length} + ${rs[1].json.issued.length} issued of ${BULK}`);
    }),
  ]);
  const seconds = (Date.now() - started) / 1000;
  console.log(`multi-instance: ${issued.size} certificates in ${seconds.toFixed(1)} s (${(issued.size / seconds).toFixed(1)}/s) through 2 instances`);

  expect(problems).toEqual([]);
  expect(submitted).toHaveLength(total);
  expect(issued.size).toBe(total);

  // The database, read directly, is the judge.
  const db = new pg.Client({ connectionString: dbUrl });
  await db.connect();
  try {
    const reqs = (await db.query(`SELECT "id", "status", "certificateNumber" FROM "CertificateRequest"`)).rows as { id: string; status: string; certificateNumber: number | null }[];
    expect(reqs.map((r) => r.id).sort()).toEqual([...submitted].sort());
    expect(reqs.filter((r) => r.status !== "issued")).toEqual([]);
    const certs = (await db.query(`SELECT "number", "serial", "requestId" FROM "Certificate" ORDER BY "number"`)).rows as { number: number; serial: string; requestId: string }[];
    expect(certs).toHaveLength(total);
    expect(certs.map((c) => c.number)).toEqual(Array.from({ length: total }, (_, i) => i + 1));
    expect(new Set(certs.map((c) => c.serial.toLowerCase())).size).toBe(total);
    expect(new Set(certs.map((c) => c.requestId)).size).toBe(total);
    const byRequest = new Map(reqs.map((r) => [r.id, r.certificateNumber]));
    for (const c of certs) {
      expect(byRequest.get(c.requestId)).toBe(c.number);
      expect(issued.get(c.requestId)).toBe(c.number);
    }
    const server = (await db.query(`SELECT "nextNumber" FROM "CaServer" WHERE "id" = 1`)).rows[0] as { nextNumber: number };
    expect(server.nextNumber).toBe(total + 1);
    // The SRL mirrors the database's counter (hex, as OpenSSL writes it).
    expect(parseInt(readFileSync(join(caDir, "FleetCA.srl"), "utf8").trim(), 16)).toBe(total + 1);
  } finally {
    await db.end();
  }

  // A sample from each instance chains to the CA, as OpenSSL judges it.
  for (const n of [1, Math.ceil(total / 2), total]) {
    const pem = await (await fetch(`${(n % 2 ? b : a).base}/api/v1/certificates/${n}?format=pem`)).text();
    const f = join(work, `cert${n}.pem`);
    writeFileSync(f, pem);
    expect(opensslOk(["verify", "-x509_strict", "-CAfile", join(work, "ca.pem"), f])).toContain(": OK");
  }
});
