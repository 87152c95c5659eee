/**
 * PKI worker threads for a fleet's CPU work: a batch submission's CSR checks and a bulk
 * issuance's signing are spread over `PORTCULLIS_PKI_WORKERS` threads (two by default, or
 * one per core when fewer), while the main thread answers other requests and writes to
 * the database. The worker is a bundle that `npm run build` writes next to the Next.js
 * build (scripts/build-workers.mjs); without it (the dev server, tests, a build made with
 * `next build` alone), or with PORTCULLIS_PKI_WORKERS=0, the same jobs run on the main
 * thread. Results are identical either way (lib/pki/worker/pool.test.ts).
 */
import { existsSync } from "node:fs";
import { availableParallelism } from "node:os";
import { resolve } from "node:path";
import { Worker } from "node:worker_threads";
import type { KeyObject } from "node:crypto";
import { env } from "../../env.ts";
import { toBuffer } from "../bytes.ts";
import type { x509 } from "../setup.ts";
import { checkSubmittedCsr, fromJobError, signItem, withCertificate, type JobResult, type SignedCertificate, type SignItem, type SignSettings, type SubmittedCsr } from "./jobs.ts";
import type { CheckedCertificate } from "../preview.ts";

export type WorkerRequest =
  | { id: number; op: "warm-up"; rounds: number }
  | { id: number; op: "check-csrs"; csrs: (string | Uint8Array)[] }
  | { id: number; op: "sign"; caCertificateDer: Uint8Array; caKey: KeyObject; settings: SignSettings; items: SignItem[] };

export type WorkerReply = { id: number; results: JobResult<unknown>[] } | { id: number; failure: string };

/** Where `npm run build` puts the worker bundle: in the Next.js build directory. */
export function defaultWorkerBundle(): string {
  return resolve(process.cwd(), process.env.PORTCULLIS_NEXT_DIST_DIR || ".next", "portcullis", "pki-worker.cjs");
}

/** The bundle the workers run. */
export function workerBundle(): string {
  return env().PORTCULLIS_PKI_WORKER_BUNDLE || defaultWorkerBundle();
}

function workerCount(): number {
  return env().PORTCULLIS_PKI_WORKERS ?? Math.min(2, availableParallelism());
}

interface Slot {
  worker: Worker;
  pending: Map<number, { resolve: (r: JobResult<unknown>[]) => void; reject: (e: Error) => void }>;
}

interface PoolState {
  bundle: string;
  size: number;
  slots: (Slot | null)[];
  nextId: number;
}

// One pool per process, whichever Next.js bundle asks for it.
const holder = ((globalThis as { __portcullisPkiPool?: { pool?: PoolState | null } }).__portcullisPkiPool ??= {});

/** The pool, or null when the jobs run on the main thread. */
function pool(): PoolState | null {
  if (holder.pool !== undefined) return holder.pool;
  const bundle = workerBundle();
  const size = workerCount();
  holder.pool = size > 0 && existsSync(bundle) ? { bundle, size, slots: Array.from({ length: size }, () => null), nextId: 1 } : null;
  return holder.pool;
}

/** Forgets the pool (tests): the next job reads the environment again. Running workers are ended. */
export async function resetPkiWorkers(): Promise<void> {
  const p = holder.pool;
  holder.pool = undefined;
  if (p) await Promise.all(p.slots.map((s) => s?.worker.terminate()));
}

/** How the jobs run: for the bench and the logs. */
export function pkiWorkerThreads(): number {
  return pool()?.size ?? 0;
}

/** The start-up log's words for how the PKI jobs run. */
export function pkiWorkerStatus(): string {
  const n = pkiWorkerThreads();
  if (n) return `${n} PKI worker thread${n === 1 ? "" : "s"}`;
  return `PKI work on the main thread (${env().PORTCULLIS_PKI_WORKERS === 0 ? "PORTCULLIS_PKI_WORKERS=0" : `no worker bundle at ${workerBundle()}: npm run build writes it`})`;
}

function slot(p: PoolState, i: number): Slot {
  const existing = p.slots[i];
  if (existing) return existing;
  // A small young generation keeps each worker's memory near 30 MB at full speed.
  const worker = new Worker(p.bundle, { resourceLimits: { maxYoungGenerationSizeMb: 8 } });
  // Idle workers do not keep a script or a test process alive.
  worker.unref();
  const s: Slot = { worker, pending: new Map() };
  const fail = (e: Error) => {
    if (p.slots[i] === s) p.slots[i] = null;
    for (const job of s.pending.values()) job.reject(e);
    s.pending.clear();
  };
  worker.on("message", (m: WorkerReply) => {
    const job = s.pending.get(m.id);
    if (!job) return;
    s.pending.delete(m.id);
    if ("failure" in m) job.reject(new Error(`PKI worker: ${m.failure}`));
    else job.resolve(m.results);
  });
  worker.on("error", (e) => fail(e));
  worker.on("exit", (code) => fail(new Error(`PKI worker stopped (exit code ${code})`)));
  p.slots[i] = s;
  return s;
}

function post(p: PoolState, i: number, make: (id: number) => WorkerRequest): Promise<JobResult<unknown>[]> {
  const s = slot(p, i);
  const id = p.nextId++;
  return new Promise((resolve, reject) => {
    s.pending.set(id, { resolve, reject });
    // While a job is out, the worker keeps the process alive as any pending I/O would.
    s.worker.ref();
    s.worker.postMessage(make(id));
  }).finally(() => {
    if (s.pending.size === 0) s.worker.unref();
  }) as Promise<JobResult<unknown>[]>;
}

/**
 * Starts the workers and has each run its jobs on throwaway data (at server start, in the
 * background): the first fleet then finds them loaded and compiled. Never throws.
 */
export async function warmPkiWorkers(rounds = 300): Promise<void> {
  const p = pool();
  if (!p) return;
  await Promise.allSettled(p.slots.map((_, i) => post(p, i, (id) => ({ id, op: "warm-up", rounds }))));
}

/** Contiguous slices, one per worker, in order. */
function slices<T>(items: T[], n: number): T[][] {
  const out: T[][] = [];
  const size = Math.ceil(items.length / n);
  for (let i = 0; i < items.length; i += size) out.push(items.slice(i, i + size));
  return out;
}

type Outcome<R> = { ok: R } | { error: Error };

/** Runs `inThread` on each item, or sends slices to the workers and maps their answers with `fromWorker`. */
async function spread<T, R, W>(items: T[], inThread: (item: T) => Promise<R>, make: (slice: T[]) => (id: number) => WorkerRequest, fromWorker: (w: W) => R): Promise<Outcome<R>[]> {
  const p = pool();
  if (!p || items.length === 0) return onThisThread(items, inThread);
  const settled = await Promise.allSettled(slices(items, Math.min(p.size, items.length)).map((slice, i) => post(p, i, make(slice))));
  const failed = settled.find((r) => r.status === "rejected");
  if (failed) {
    // A worker that died (its replacement starts with the next job) does not fail the
    // caller's batch: the same work is done here instead.
    console.error(`Portcullis: ${(failed.reason as Error)?.message ?? failed.reason}; the batch is done on the main thread`);
    return onThisThread(items, inThread);
  }
  const parts = settled.map((r) => (r as PromiseFulfilledResult<JobResult<unknown>[]>).value);
  return (parts.flat() as JobResult<W>[]).map((r) => ("ok" in r ? { ok: fromWorker(r.ok) } : { error: fromJobError(r.error) }));
}

async function onThisThread<T, R>(items: T[], run: (item: T) => Promise<R>): Promise<Outcome<R>[]> {
  const out: Outcome<R>[] = [];
  for (const item of items) {
    try {
      out.push({ ok: await run(item) });
    } catch (e) {
      out.push({ error: e as Error });
    }
    // Let the server answer others between items of a large batch.
    if (out.length % 50 === 0) await new Promise((r) => setImmediate(r));
  }
  return out;
}

/** Each CSR checked in full (parseCsr), in order; a refusal is the error parseCsr throws. */
export function checkSubmittedCsrs(csrs: (string | Uint8Array)[]): Promise<Outcome<SubmittedCsr>[]> {
  return spread(csrs, checkSubmittedCsr, (slice) => (id) => ({ id, op: "check-csrs", csrs: slice }), (w: SubmittedCsr) => w);
}

/** Certificates for stored requests, built, linted and signed, in order; nothing is stored. */
export function signItems(items: SignItem[], settings: SignSettings, ca: { certificate: x509.X509Certificate; privateKey: KeyObject }): Promise<Outcome<CheckedCertificate>[]> {
  return spread(
    items,
    (item) => signItem(item, settings, ca),
    (slice) => (id) => ({ id, op: "sign", caCertificateDer: new Uint8Array(toBuffer(ca.certificate.rawData)), caKey: ca.privateKey, settings, items: slice }),
    (w: SignedCertificate) => withCertificate(w),
  );
}
