/**
 * Small pieces the benchmark sections share: the error that stops a run with a message,
 * statistics, timing loops, a concurrency pool, child processes.
 */
import { spawn, type SpawnOptions } from "node:child_process";
import { performance } from "node:perf_hooks";

/** A problem the person running the bench must fix; printed without a stack trace. */
export class BenchError extends Error {
  override name = "BenchError";
}

export function median(xs: number[]): number {
  if (!xs.length) return Number.NaN;
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}

/** The p-th percentile (0–100), nearest rank. */
export function percentile(xs: number[], p: number): number {
  if (!xs.length) return Number.NaN;
  const s = [...xs].sort((a, b) => a - b);
  const rank = Math.ceil((p / 100) * s.length);
  return s[Math.min(s.length - 1, Math.max(0, rank - 1))];
}

export function round(x: number, digits = 2): number {
  if (!Number.isFinite(x)) return x;
  const f = 10 ** digits;
  return Math.round(x * f) / f;
}

/** Seconds since `start` (a performance.now() value). */
export function secondsSince(start: number): number {
  return (performance.now() - start) / 1000;
}

/**
 * Operations per second of `op` run one after another for about `seconds`.
 * `op` may be synchronous or return a promise (awaited before the next one).
 */
export async function rateSerial(op: () => unknown, seconds: number): Promise<number> {
  const start = performance.now();
  const until = start + seconds * 1000;
  let n = 0;
  do {
    const r = op();
    if (r instanceof Promise) await r;
    n++;
  } while (performance.now() < until);
  return n / secondsSince(start);
}

/** Operations per second of `op` with `inFlight` of them running at once, for about `seconds`. */
export async function rateConcurrent(op: () => Promise<unknown>, seconds: number, inFlight: number): Promise<number> {
  const start = performance.now();
  const until = start + seconds * 1000;
  let n = 0;
  const lane = async () => {
    while (performance.now() < until) {
      await op();
      n++;
    }
  };
  await Promise.all(Array.from({ length: inFlight }, lane));
  return n / secondsSince(start);
}

/** The median of `repeats` measurements. */
export async function medianOf(repeats: number, measure: () => Promise<number>): Promise<{ median: number; runs: number[] }> {
  const runs: number[] = [];
  for (let i = 0; i < repeats; i++) runs.push(await measure());
  return { median: median(runs), runs };
}

/** Runs `fn` over `items` with at most `concurrency` calls at once; the first failure stops new calls and is thrown. */
export async function pool<T, R>(items: readonly T[], concurrency: number, fn: (item: T, index: number) => Promise<R>): Promise<R[]> {
  const out = new Array<R>(items.length);
  let next = 0;
  let failed: unknown = null;
  const lane = async () => {
    while (failed === null && next < items.length) {
      const i = next++;
      try {
        out[i] = await fn(items[i], i);
      } catch (e) {
        failed ??= e;
      }
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, Math.min(concurrency, items.length)) }, lane));
  if (failed !== null) throw failed;
  return out;
}

export interface RunResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Runs a command to its end, collecting its output (never through a shell). */
export function run(cmd: string, args: readonly string[], opts: SpawnOptions & { input?: string } = {}): Promise<RunResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { ...opts, stdio: ["pipe", "pipe", "pipe"] });
    let stdout = "";
    let stderr = "";
    child.stdout!.setEncoding("utf8").on("data", (d: string) => (stdout += d));
    child.stderr!.setEncoding("utf8").on("data", (d: string) => (stderr += d));
    child.on("error", reject);
    child.on("close", (code) => resolve({ code, stdout, stderr }));
    // A command that exits without reading its input closes the pipe first (EPIPE): its exit code tells the rest.
    child.stdin!.on("error", () => {});
    child.stdin!.end(opts.input ?? "");
  });
}

export function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

/** Counts PEM blocks of one label in a text. */
export function countPem(text: string, label = "CERTIFICATE"): number {
  return text.split(`-----BEGIN ${label}-----`).length - 1;
}

/** The PEM blocks of one label in a text. */
export function pemBlocks(text: string, label = "CERTIFICATE"): string[] {
  const re = new RegExp(`-----BEGIN ${label}-----[\\s\\S]*?-----END ${label}-----`, "g");
  return text.match(re) ?? [];
}
