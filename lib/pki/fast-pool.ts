/**
 * Worker threads for bulk issuance with the fast engine (fast-issue.ts). Each worker
 * (fast-worker.mjs) gets the CA key once, as PKCS#8 DER handed over at start and then
 * wiped on both sides, and issues batches of jobs. issue() queues one job; jobs queued
 * in the same turn of the event loop go out together, split over the least busy
 * workers. issueMany() is issue() for a list.
 */
import { availableParallelism } from "node:os";
import { Worker } from "node:worker_threads";
import { AppError } from "../errors/app-error.ts";
import type { San } from "./csr.ts";
import { toPem } from "./der.mjs";
import { extensionSpec, normalizeSerial, type FastIssued, type PreparedIssuer } from "./fast-issue.ts";
import { COCKROACH_NODE_CN, COCKROACH_USER, DEVICE_IDENTITY, PROFILES, USAGES, type Usage } from "./profiles.ts";

export type PoolJob =
  /** A CSR (DER): parsed and its signature checked in the worker (der.mjs leanParseCsr). */
  | { csrDer: Buffer; usage: Usage; validityDays: number; serialHex?: string }
  /** Already-checked parts (fast-issue.ts fastInput's output). */
  | { subjectDer: Buffer; spkiDer: Buffer; sans: readonly San[]; keyAlgorithm: string; usage: Usage; serialHex?: string; notBefore: Date; notAfter: Date };

interface Pending {
  job: PoolJob;
  resolve: (r: FastIssued) => void;
  reject: (e: Error) => void;
}

interface Slot {
  worker: Worker;
  busy: number;
  batches: Map<number, Pending[]>;
}

/** The worker's rules per usage: plain data (profiles.ts functions do not cross threads). */
function usageTable() {
  return Object.fromEntries(
    USAGES.map(({ id, label }) => {
      const p = PROFILES[id];
      return [
        id,
        {
          label,
          rules: { requiresServerName: p.requiresServerName, commonNameAsServerName: p.commonNameAsServerName },
          specRsa: extensionSpec(id, "RSA"),
          specOther: extensionSpec(id, "ECDSA"),
          commonNamePattern: id === "cockroach-node" ? `^${COCKROACH_NODE_CN}$` : id === "cockroach-client" ? `^(?!${COCKROACH_NODE_CN}$)(?:${COCKROACH_USER.source.slice(1, -1)})$` : null,
          devicePattern: p.requiresDeviceIdentity ? DEVICE_IDENTITY.source : null,
        },
      ];
    }),
  );
}

const BATCH = 64;

export class FastPool {
  private slots: Slot[];
  private queue: Pending[] = [];
  private scheduled = false;
  private nextId = 1;
  private closed = false;

  private constructor(slots: Slot[]) {
    this.slots = slots;
  }

  /** Starts `size` workers (default: os.availableParallelism()), each holding the CA key. */
  static async start(issuer: PreparedIssuer, opts: { size?: number } = {}): Promise<FastPool> {
    const size = Math.max(1, opts.size ?? availableParallelism());
    const parts = { issuerNameDer: issuer.issuerNameDer, signatureAlgorithmDer: issuer.signatureAlgorithmDer, akiDer: issuer.akiDer, cdpDer: issuer.cdpDer, aiaDer: issuer.aiaDer };
    const usages = usageTable();
    const slots: Slot[] = [];
    for (let i = 0; i < size; i++) {
      const pkcs8 = issuer.privateKey.export({ format: "der", type: "pkcs8" });
      // workerData is copied when the Worker is constructed; this copy is wiped right after.
      const worker = new Worker(new URL("./fast-worker.mjs", import.meta.url), {
        workerData: { pkcs8, parts, digest: issuer.digest, caNotBefore: issuer.caNotBefore.getTime(), caNotAfter: issuer.caNotAfter.getTime(), usages },
      });
      pkcs8.fill(0);
      slots.push({ worker, busy: 0, batches: new Map() });
    }
    const pool = new FastPool(slots);
    for (const slot of slots) {
      slot.worker.on("message", (m: { id: number; results: ({ der: Uint8Array; serial: string; notBefore: number; notAfter: number } | { error: string })[] }) => pool.settle(slot, m));
      slot.worker.on("error", (e) => pool.fail(slot, e));
      slot.worker.on("exit", (code) => pool.fail(slot, new Error(`A certificate worker thread stopped (exit code ${code})`)));
    }
    // Ready when every worker has imported the key (an empty batch answers after that).
    try {
      await Promise.all(slots.map((slot) => pool.send(slot, [])));
    } catch (e) {
      await pool.close();
      throw new AppError("internal_error", `The certificate worker threads did not start: ${(e as Error).message}`);
    }
    return pool;
  }

  get size(): number {
    return this.slots.length;
  }

  /** Issues one certificate on a worker thread. */
  issue(job: PoolJob): Promise<FastIssued> {
    if (this.closed) return Promise.reject(new AppError("unavailable", "The certificate worker pool is closed"));
    if (job.serialHex !== undefined) {
      try {
        job = { ...job, serialHex: normalizeSerial(job.serialHex) };
      } catch (e) {
        return Promise.reject(e);
      }
    }
    return new Promise((resolve, reject) => {
      this.queue.push({ job, resolve, reject });
      if (!this.scheduled) {
        this.scheduled = true;
        setImmediate(() => this.flush());
      }
    });
  }

  /** Issues every job, spread over the workers; results in the order of `jobs` (a failed job rejects). */
  issueMany(jobs: readonly PoolJob[]): Promise<FastIssued[]> {
    return Promise.all(jobs.map((j) => this.issue(j)));
  }

  /** Ends the worker threads; jobs not yet answered are refused. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    const slots = this.slots;
    await Promise.all(slots.map((s) => s.worker.terminate()));
    for (const p of this.queue.splice(0)) p.reject(new AppError("unavailable", "The certificate worker pool was closed"));
  }

  private flush(): void {
    this.scheduled = false;
    while (this.queue.length > 0) {
      const per = Math.min(BATCH, Math.max(1, Math.ceil(this.queue.length / this.slots.length)));
      const slot = this.slots.reduce((a, b) => (b.busy < a.busy ? b : a));
      void this.send(slot, this.queue.splice(0, per)).catch(() => {});
    }
  }

  private send(slot: Slot, batch: Pending[]): Promise<void> {
    const id = this.nextId++;
    slot.busy += batch.length;
    const done = new Promise<void>((resolve, reject) => {
      // The batch's own promise: resolves after its results are handed out.
      slot.batches.set(id, [...batch, { job: undefined as never, resolve: () => resolve(), reject }]);
    });
    slot.worker.postMessage({
      id,
      jobs: batch.map(({ job }) =>
        "csrDer" in job
          ? { csrDer: job.csrDer, usage: job.usage, validityDays: job.validityDays, serialHex: job.serialHex }
          : { subjectDer: job.subjectDer, spkiDer: job.spkiDer, sans: job.sans, keyType: job.keyAlgorithm === "RSA" ? "rsa" : "other", usage: job.usage, serialHex: job.serialHex, notBefore: job.notBefore.getTime(), notAfter: job.notAfter.getTime() },
      ),
    });
    return done;
  }

  private settle(slot: Slot, m: { id: number; results: ({ der: Uint8Array; serial: string; notBefore: number; notAfter: number } | { error: string })[] }): void {
    const batch = slot.batches.get(m.id);
    if (!batch) return;
    slot.batches.delete(m.id);
    const marker = batch.pop()!;
    slot.busy -= batch.length;
    batch.forEach((p, i) => {
      const r = m.results[i];
      if (!r) p.reject(new AppError("internal_error", "A certificate worker thread answered too few results"));
      else if ("error" in r) p.reject(new AppError("validation_failed", r.error, { field: "csr" }));
      else {
        const der = Buffer.from(r.der.buffer, r.der.byteOffset, r.der.byteLength);
        p.resolve({ der, pem: toPem(der), serial: r.serial.replace(/^(00)+/, ""), notBefore: new Date(r.notBefore), notAfter: new Date(r.notAfter) });
      }
    });
    marker.resolve(undefined as never);
  }

  private fail(slot: Slot, e: Error): void {
    for (const batch of slot.batches.values()) {
      const marker = batch.pop()!;
      for (const p of batch) p.reject(this.closed ? new AppError("unavailable", "The certificate worker pool was closed") : new AppError("internal_error", e.message));
      marker.reject(e);
    }
    slot.batches.clear();
    slot.busy = Number.POSITIVE_INFINITY;
    const alive = this.slots.filter((s) => s !== slot);
    if (alive.length > 0) this.slots = alive;
    else if (!this.closed) {
      this.closed = true;
      for (const p of this.queue.splice(0)) p.reject(new AppError("internal_error", e.message));
    }
  }
}
