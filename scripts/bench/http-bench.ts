/**
 * (c) HTTP end to end against a running production build, two ways. One by one: N
 * submissions (POST /api/v1/csrs with an admin token, so the anonymous rate limit does not
 * apply), then N issues (POST /api/v1/admin/csrs/{id}/issue), each with a fixed number in
 * flight. As a fleet: the same CSRs in batch submissions (POST /api/v1/admin/csrs/batch),
 * each batch then issued with one bulk call (POST /api/v1/admin/csrs/bulk-issue {batchId}).
 * The server's resident memory (its whole process tree) is sampled throughout.
 */
import { performance } from "node:perf_hooks";
import type { CsrItem } from "./csr-bench.ts";
import { figure, HTTP_TARGET, RSS_TARGET, type Figure } from "./report.ts";
import { api, ApiError, type RssSampler } from "./server.ts";
import { BenchError, pool, secondsSince, sleep } from "./util.ts";

const MAX_ATTEMPTS = 50;

export const CA_ROOT = "BenchCA";
export const CA_DIRECTORY = "ca";

/** An API token for the administrator the server created from PORTCULLIS_ADMIN_USER/PASSWORD. */
export async function adminToken(base: string, username: string, password: string): Promise<string> {
  const r = await api<{ token: string }>(base, "POST", "/api/v1/auth/token", { body: { username, password, name: "bench" }, expect: [201] });
  return r.body.token;
}

/** The CA the bench configures: P-256, no e-mail; the same fields through the API or in process. */
export function caConfiguration(keyPassword: string, issuedValidityDays: number) {
  return {
    fileNameRoot: CA_ROOT,
    directory: CA_DIRECTORY,
    keyPassword,
    subject: { C: "US", O: "Portcullis Bench", CN: "Portcullis Bench CA" },
    keyAlgorithm: "ecdsa-p256",
    caValidityDays: 3650,
    issuedValidityDays,
    smtp: { host: "" },
    adminEmail: "ca-admin@bench.example.com",
  };
}

/** Configures a new P-256 CA through the API, as an administrator would. */
export async function configureCa(base: string, token: string, keyPassword: string, issuedValidityDays: number): Promise<void> {
  await api(base, "POST", "/api/v1/admin/ca", { token, expect: [201], body: caConfiguration(keyPassword, issuedValidityDays) });
}

export interface ServerCa {
  pem: string;
  subject: string;
}

/**
 * The server's CA certificate; a BenchError saying what to do when the server is not
 * configured as a CA server, or the token is refused.
 */
export async function requireConfiguredCa(base: string, token: string): Promise<ServerCa> {
  let ca: ServerCa;
  try {
    ca = (await api<ServerCa>(base, "GET", "/api/v1/ca")).body;
  } catch (e) {
    if (e instanceof ApiError && e.status === 404) {
      throw new BenchError(
        `The Certificate Authority server at ${base} is not configured (GET /api/v1/ca answered 404${e.code ? ` ${e.code}` : ""}): there is no CA to issue with. Configure it first (the "Configure local Certificate Authority server" page or POST /api/v1/admin/ca), or run the bench without --url so that it starts and configures a server of its own.`,
      );
    }
    throw e;
  }
  try {
    await api(base, "GET", "/api/v1/admin/csrs?limit=1", { token });
  } catch (e) {
    if (e instanceof ApiError && (e.status === 401 || e.status === 403)) {
      throw new BenchError(`The server at ${base} refused the admin token (${e.message}): give an administrator's API token in BENCH_TOKEN`);
    }
    throw e;
  }
  return ca;
}

export interface HttpRun {
  figures: Figure[];
  /** The issued certificates, PEM. */
  issued: string[];
}

interface Issued {
  number: number;
  serial: string;
  pem: string;
}

/**
 * Submits and issues every CSR. `db` names the figures: c.sqlite, c.postgres or c.external.
 * Only c.sqlite carries the end-to-end target; RSS is reported when a sampler is given.
 */
export async function measureHttp(o: { base: string; token: string; caKeyPassword: string; csrs: CsrItem[]; concurrency: number; db: "sqlite" | "postgres" | "external"; dbLabel: string; sampler?: RssSampler }): Promise<HttpRun> {
  o.sampler?.start();
  try {
    return await submitAndIssue(o);
  } finally {
    o.sampler?.stop();
  }
}

async function submitAndIssue(o: Parameters<typeof measureHttp>[0]): Promise<HttpRun> {
  const single = await oneByOne(o);
  const fleet = await asFleet(o);
  const rss = o.sampler?.stop();
  const figures = [...single.figures, ...fleet.figures];
  if (rss !== undefined && o.sampler) {
    const where = `HTTP, ${o.dbLabel}`;
    figures.push(figure({ id: `c.${o.db}.rss`, section: "c", label: `${where}: server RSS, highest`, unit: "MB", value: rss, detail: { samples: o.sampler.samples }, note: "VmRSS of the next-server process tree", target: RSS_TARGET }));
  }
  return { figures, issued: [...single.issued, ...fleet.issued] };
}

/** Requests per batch submission in the fleet flow (the API takes at most 1000). */
const FLEET_BATCH = 500;

/** Rounds of the fleet flow; its figures are the median round's (by end-to-end time), as (d) is a median of runs. */
const FLEET_ROUNDS = 3;

/**
 * The fleet flow on the same server, with the same CSRs (issued above, so none is pending),
 * FLEET_ROUNDS times: POST /api/v1/admin/csrs/batch with up to FLEET_BATCH requests each,
 * then one POST /api/v1/admin/csrs/bulk-issue {batchId} per batch. The certificates are
 * fetched afterwards (not timed) for the OpenSSL check.
 */
async function asFleet(o: Parameters<typeof measureHttp>[0]): Promise<HttpRun> {
  const rounds: FleetRound[] = [];
  for (let r = 0; r < FLEET_ROUNDS; r++) rounds.push(await fleetRound(o, r));
  const byTime = [...rounds].sort((a, b) => a.submitSeconds + a.issueSeconds - (b.submitSeconds + b.issueSeconds));
  const { submitSeconds, issueSeconds, batches } = byTime[Math.floor(byTime.length / 2)]!;
  const n = o.csrs.length;
  const tag = `c.${o.db}`;
  const where = `HTTP, ${o.dbLabel}, fleet`;
  const seconds = (x: number) => Math.round(x * 1000) / 1000;
  const detail = {
    certificates: n,
    batches,
    batchSize: FLEET_BATCH,
    submitSeconds: seconds(submitSeconds),
    issueSeconds: seconds(issueSeconds),
    rounds: rounds.map((x) => Math.round(n / (x.submitSeconds + x.issueSeconds))).join(" "),
  };
  return {
    issued: rounds.flatMap((x) => x.issued),
    figures: [
      figure({ id: `${tag}.fleet-submit`, section: "c", label: `${where}: submit (POST …/csrs/batch)`, unit: "req/s", value: n / submitSeconds, detail, note: `${batches} batch${batches === 1 ? "" : "es"} of ≤ ${FLEET_BATCH}` }),
      figure({ id: `${tag}.fleet-issue`, section: "c", label: `${where}: issue (POST …/bulk-issue {batchId})`, unit: "certs/s", value: n / issueSeconds, detail, note: "one password entry per batch" }),
      figure({
        id: `${tag}.fleet-end-to-end`,
        section: "c",
        label: `${where}: submit + issue, end to end`,
        unit: "certs/s",
        value: n / (submitSeconds + issueSeconds),
        detail,
        note: `${n} certificates; median of ${FLEET_ROUNDS} rounds`,
        ...(o.db === "sqlite" ? { target: HTTP_TARGET } : {}),
      }),
    ],
  };
}

interface FleetRound {
  submitSeconds: number;
  issueSeconds: number;
  batches: number;
  issued: string[];
}

async function fleetRound(o: Parameters<typeof measureHttp>[0], round: number): Promise<FleetRound> {
  const batches: CsrItem[][] = [];
  for (let i = 0; i < o.csrs.length; i += FLEET_BATCH) batches.push(o.csrs.slice(i, i + FLEET_BATCH));
  const t0 = performance.now();
  const batchIds: { id: string; count: number }[] = [];
  for (const batch of batches) {
    const r = await api<{ batchId: string; count: number }>(o.base, "POST", "/api/v1/admin/csrs/batch", {
      token: o.token,
      expect: [201],
      body: { contact: { name: "Bench Fleet", email: "fleet@bench.example.com" }, instance: "bench-fleet", requests: batch.map((c) => ({ csr: c.pem, hostname: c.hostname, filename: `fleet${round}-${c.index}` })) },
    });
    if (r.body.count !== batch.length) throw new BenchError(`POST /api/v1/admin/csrs/batch stored ${r.body.count} of ${batch.length} requests`);
    batchIds.push({ id: r.body.batchId, count: r.body.count });
  }
  const submitSeconds = secondsSince(t0);
  const t1 = performance.now();
  const numbers: number[] = [];
  for (const b of batchIds) {
    const r = await api<{ issued: { number: number }[]; failed: unknown[]; skipped: unknown[] }>(o.base, "POST", "/api/v1/admin/csrs/bulk-issue", {
      token: o.token,
      expect: [200],
      body: { batchId: b.id, usage: "tls", caKeyPassword: o.caKeyPassword, fingerprintVerified: true, verificationNote: "bench fleet" },
    });
    if (r.body.issued.length !== b.count) throw new BenchError(`bulk issue of batch ${b.id} issued ${r.body.issued.length} of ${b.count} (${r.body.failed.length} failed, ${r.body.skipped.length} skipped)`);
    numbers.push(...r.body.issued.map((x) => x.number));
  }
  const issueSeconds = secondsSince(t1);
  const n = o.csrs.length;
  if (new Set(numbers).size !== n) throw new BenchError(`the fleet's bulk issues answered ${new Set(numbers).size} distinct numbers for ${n} requests`);
  const issued = await pool(numbers, o.concurrency, async (num) => {
    const r = await fetch(`${o.base}/api/v1/certificates/${num}?format=pem`);
    if (r.status !== 200) throw new BenchError(`GET /api/v1/certificates/${num}?format=pem answered ${r.status}`);
    return r.text();
  });

  return { submitSeconds, issueSeconds, batches: batchIds.length, issued };
}

/** One POST /api/v1/csrs per request, then one POST …/issue per request: how a person or a small script uses the API. */
async function oneByOne(o: Parameters<typeof measureHttp>[0]): Promise<HttpRun> {
  const t0 = performance.now();
  const ids = await pool(o.csrs, o.concurrency, async (c) => {
    const r = await api<{ id: string; status: string }>(o.base, "POST", "/api/v1/csrs", {
      token: o.token,
      expect: [201],
      body: { csr: c.pem, contact: { name: "Bench Contact", phone: "+1 555 0100", email: "contact@bench.example.com" }, hostname: c.hostname, instance: "bench", filename: `bench${c.index}` },
    });
    if (r.body.status !== "pending") throw new BenchError(`POST /api/v1/csrs answered status ${r.body.status}, not pending`);
    return r.body.id;
  });
  const submitSeconds = secondsSince(t0);
  const t1 = performance.now();
  let retries = 0;
  const issued = await pool(ids, o.concurrency, async (id) => {
    for (let attempt = 1; ; attempt++) {
      try {
        const r = await api<Issued>(o.base, "POST", `/api/v1/admin/csrs/${id}/issue`, { token: o.token, expect: [201], body: { usage: "tls", caKeyPassword: o.caKeyPassword, fingerprintVerified: true } });
        return r.body;
      } catch (e) {
        // A conflict with another issuance, or a busy database, is retried as a client
        // would, while the request is still pending; the retries are reported.
        if (!(e instanceof ApiError) || (e.status !== 409 && e.status !== 503) || attempt >= MAX_ATTEMPTS) throw e;
        const state = await api<{ status: string }>(o.base, "GET", `/api/v1/csrs/${id}`);
        if (state.body.status !== "pending") throw new BenchError(`${e.message} — and the request is now ${state.body.status}`);
        retries++;
        await sleep(Math.min(10 * attempt, 200) + Math.random() * 20);
      }
    }
  });
  const issueSeconds = secondsSince(t1);
  const n = o.csrs.length;
  const numbers = new Set(issued.map((c) => c.number));
  const serials = new Set(issued.map((c) => c.serial));
  if (numbers.size !== n || serials.size !== n) throw new BenchError(`${n} issues answered ${numbers.size} distinct certificate numbers and ${serials.size} distinct serials`);

  const tag = `c.${o.db}`;
  const where = `HTTP, ${o.dbLabel}`;
  const detail = { certificates: n, concurrency: o.concurrency, issueRetries: retries, submitSeconds: Math.round(submitSeconds * 1000) / 1000, issueSeconds: Math.round(issueSeconds * 1000) / 1000 };
  const figures: Figure[] = [
    figure({ id: `${tag}.submit`, section: "c", label: `${where}: submit (POST /api/v1/csrs)`, unit: "req/s", value: n / submitSeconds, detail, note: `${o.concurrency} in flight` }),
    figure({ id: `${tag}.issue`, section: "c", label: `${where}: issue (POST …/issue)`, unit: "certs/s", value: n / issueSeconds, detail, note: `${o.concurrency} in flight${retries ? `; ${retries} retries after 409/503` : ""}` }),
    figure({
      id: `${tag}.end-to-end`,
      section: "c",
      label: `${where}: submit + issue, end to end`,
      unit: "certs/s",
      value: n / (submitSeconds + issueSeconds),
      detail,
      // A person's path, one request per CSR and per issuance: the HTTP target is judged on the fleet row, the batch path beside a batch tool.
      note: `${n} certificates, one request per call${o.db === "sqlite" ? "; the target is judged on the fleet row" : ""}`,
    }),
  ];
  return { figures, issued: issued.map((c) => c.pem) };
}
