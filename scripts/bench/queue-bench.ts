/**
 * (f) Queue-page latency: pending requests seeded straight through Prisma (createMany in
 * chunks; rows shaped like those submitRequest writes, from real CSRs), then the first page
 * and a deep keyset page of listPendingRequests — in this process, and over HTTP
 * (GET /api/v1/admin/csrs) when a server shares the database — timed at a small and at a
 * large queue.
 */
import { randomBytes, randomUUID } from "node:crypto";
import { performance } from "node:perf_hooks";
import { closeDb, getDb } from "../../lib/db/index.ts";
import { resetEnvCache } from "../../lib/env.ts";
import { listPendingRequests } from "../../lib/ca/requests.ts";
import { parseCsr, sanToString } from "../../lib/pki/csr.ts";
import type { CsrItem } from "./csr-bench.ts";
import { figure, QUEUE_TARGET, type Figure } from "./report.ts";
import { api } from "./server.ts";
import { BenchError, percentile, round } from "./util.ts";

/** Points this process's lib/db at a database: the data directory and, optionally, DATABASE_URL. */
export async function useDatabase(dataDir: string, databaseUrl?: string): Promise<void> {
  await closeDb();
  process.env.PORTCULLIS_DATA_DIR = dataDir;
  if (databaseUrl) process.env.DATABASE_URL = databaseUrl;
  else delete process.env.DATABASE_URL;
  resetEnvCache();
}

function fingerprint(bytes: number): string {
  return randomBytes(bytes).toString("hex").toUpperCase().match(/../g)!.join(":");
}

interface Template {
  csrPem: string;
  subject: string;
  commonName: string | null;
  sans: string;
  keyLabel: string;
  hostname: string;
}

async function templates(csrs: CsrItem[]): Promise<Template[]> {
  const out: Template[] = [];
  for (const c of csrs.slice(0, 20)) {
    const p = await parseCsr(c.pem);
    out.push({ csrPem: p.pem, subject: p.subject, commonName: p.commonName, sans: JSON.stringify(p.sans.map(sanToString)), keyLabel: p.publicKey.label, hostname: c.hostname });
  }
  return out;
}

const DAY_MS = 86_400_000;

/**
 * Adds pending rows until the queue holds `target`. Each row is a real CSR of the corpus with
 * its own id and fingerprints (the queue allows one pending copy of a CSR), received at a
 * random moment of the last 30 days, so new rows interleave with old ones in the queue's order.
 */
export async function seedPending(csrs: CsrItem[], target: number, chunk = 500): Promise<{ added: number; seconds: number }> {
  const db = await getDb();
  const have = await db.certificateRequest.count({ where: { status: "pending" } });
  const tpl = await templates(csrs);
  const now = Date.now();
  const start = performance.now();
  let added = 0;
  while (have + added < target) {
    const n = Math.min(chunk, target - have - added);
    const data = Array.from({ length: n }, (_, k) => {
      const i = have + added + k;
      const t = tpl[i % tpl.length];
      const sha256 = fingerprint(32);
      return {
        id: randomUUID(),
        status: "pending",
        csrPem: t.csrPem,
        subject: t.subject,
        commonName: t.commonName,
        sans: t.sans,
        keyLabel: t.keyLabel,
        sha1Fingerprint: fingerprint(20),
        sha256Fingerprint: sha256,
        contactName: `Contact ${i % 997}`,
        contactPhone: "+1 555 0100",
        contactEmail: `contact${i % 997}@bench.example.com`,
        hostname: t.hostname,
        instance: `site-${i % 13}`,
        filename: `seed${i}`,
        receivedAt: new Date(now - Math.floor(Math.random() * 30 * DAY_MS)),
        submitterIp: "192.0.2.10",
        pendingKey: sha256,
      };
    });
    await db.certificateRequest.createMany({ data });
    added += n;
  }
  return { added, seconds: (performance.now() - start) / 1000 };
}

/** A keyset cursor about 90 % into the queue, reached by walking it as a client would. */
async function deepCursor(total: number): Promise<string> {
  const pages = Math.max(1, Math.floor((total * 0.9) / 200));
  let cursor: string | null = null;
  for (let i = 0; i < pages; i++) {
    const page = await listPendingRequests({ cursor, take: 200 });
    if (!page.nextCursor) break;
    cursor = page.nextCursor;
  }
  if (!cursor) throw new BenchError(`the pending queue of ${total} rows has no second page`);
  return cursor;
}

async function timeCalls(calls: number, call: () => Promise<void>): Promise<{ p50: number; p95: number }> {
  for (let i = 0; i < Math.min(10, Math.ceil(calls / 5)); i++) await call();
  const ms: number[] = [];
  for (let i = 0; i < calls; i++) {
    const t = performance.now();
    await call();
    ms.push(performance.now() - t);
  }
  return { p50: percentile(ms, 50), p95: percentile(ms, 95) };
}

type Timings = Record<"libFirst" | "libDeep" | "httpFirst" | "httpDeep", { p50: number; p95: number } | null>;

async function timeQueue(total: number, calls: number, http: { base: string; token: string } | null): Promise<Timings> {
  const cursor = await deepCursor(total);
  const expectFull = async (p: Promise<{ items: unknown[] }>) => {
    const page = await p;
    if (page.items.length !== 50) throw new BenchError(`a queue page of ${total} pending requests held ${page.items.length} items, not 50`);
  };
  const httpPage = async (query: string) => {
    const r = await api<{ items: unknown[] }>(http!.base, "GET", `/api/v1/admin/csrs${query}`, { token: http!.token });
    return r.body;
  };
  return {
    libFirst: await timeCalls(calls, () => expectFull(listPendingRequests({}))),
    libDeep: await timeCalls(calls, () => expectFull(listPendingRequests({ cursor }))),
    httpFirst: http ? await timeCalls(calls, () => expectFull(httpPage(""))) : null,
    httpDeep: http ? await timeCalls(calls, () => expectFull(httpPage(`?cursor=${encodeURIComponent(cursor)}`))) : null,
  };
}

function sizeLabel(n: number): string {
  return n >= 1000 && n % 1000 === 0 ? `${n / 1000}k` : String(n);
}

/**
 * Seeds the database lib/db points at to `small` then `large` pending requests and times the
 * pages at each size. `http` (a server on the same database) adds the HTTP figures.
 */
/**
 * A queue that grew to 100k over days has been vacuumed and analysed by PostgreSQL's
 * autovacuum; one seeded in seconds has not yet (no visibility map, so the capped count reads
 * the heap, and statistics of the small queue). Do now what autovacuum would do within a minute.
 */
async function settle(db: "sqlite" | "postgres"): Promise<void> {
  if (db !== "postgres") return;
  await (await getDb()).$executeRawUnsafe(`VACUUM ANALYZE "CertificateRequest"`);
}

export async function measureQueue(o: { db: "sqlite" | "postgres"; dbLabel: string; csrs: CsrItem[]; small: number; large: number; calls: number; http: { base: string; token: string } | null; log: (s: string) => void }): Promise<Figure[]> {
  const seededSmall = await seedPending(o.csrs, o.small);
  await settle(o.db);
  const small = await timeQueue(o.small, o.calls, o.http);
  const seededLarge = await seedPending(o.csrs, o.large);
  await settle(o.db);
  o.log(`  seeded ${o.large} pending requests (${round(seededSmall.seconds + seededLarge.seconds, 1)} s)`);
  const large = await timeQueue(o.large, o.calls, o.http);
  const s = sizeLabel(o.small);
  const l = sizeLabel(o.large);
  const figures: Figure[] = [];
  const kinds = [
    ["libFirst", "lib.first", "listPendingRequests, first page"],
    ["libDeep", "lib.deep", "listPendingRequests, deep keyset page"],
    ["httpFirst", "http.first", "GET /api/v1/admin/csrs, first page"],
    ["httpDeep", "http.deep", "GET /api/v1/admin/csrs, deep page"],
  ] as const;
  for (const [key, id, label] of kinds) {
    const a = small[key];
    const b = large[key];
    if (!a || !b) continue;
    const ratio = b.p95 / a.p95;
    figures.push(
      figure({
        id: `f.${o.db}.${id}`,
        section: "f",
        label: `queue, ${o.dbLabel}: ${label}, p95 at ${l}`,
        unit: "ms",
        value: b.p95,
        detail: { [`p50At${s}`]: round(a.p50, 3), [`p95At${s}`]: round(a.p95, 3), [`p50At${l}`]: round(b.p50, 3), [`p95At${l}`]: round(b.p95, 3), ratio: round(ratio, 3), small: o.small, large: o.large, calls: o.calls },
        note: `p95 ${round(a.p95, 2)} ms at ${s}; ratio ${round(ratio, 2)}`,
        target: QUEUE_TARGET,
      }),
    );
  }
  return figures;
}

export async function pendingCount(): Promise<number> {
  const db = await getDb();
  return db.certificateRequest.count({ where: { status: "pending" } });
}

export { getDb, closeDb };
