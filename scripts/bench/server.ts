/**
 * A production build of Portcullis run by the bench: finding a current build (or making one
 * in .next-bench), starting `next start` on a free loopback port with a scratch data
 * directory, the server's resident memory, and a small JSON client of its API.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { closeSync, existsSync, openSync, readdirSync, readFileSync, statSync, utimesSync, writeFileSync } from "node:fs";
import { createServer } from "node:net";
import { join, resolve } from "node:path";
import { buildPkiWorker } from "../build-workers.mjs";
import { BenchError, sleep } from "./util.ts";

export const BENCH_DIST_DIR = ".next-bench";

// What a production build is made from: a build older than any of these is stale.
const SOURCE_DIRS = ["app", "components", "lib", "prisma", "public"];
const SOURCE_FILES = ["next.config.ts", "proxy.ts", "instrumentation.ts", "package.json", "package-lock.json", "postcss.config.mjs", "tsconfig.json"];

function newestMtime(path: string): number {
  let st;
  try {
    st = statSync(path);
  } catch {
    return 0;
  }
  if (!st.isDirectory()) return /\.(test|spec)\.tsx?$/.test(path) ? 0 : st.mtimeMs;
  let newest = st.mtimeMs;
  for (const name of readdirSync(path)) {
    if (name === "node_modules" || name.startsWith(".")) continue;
    newest = Math.max(newest, newestMtime(join(path, name)));
  }
  return newest;
}

export interface BuildState {
  distDir: string;
  exists: boolean;
  current: boolean;
  builtAt: Date | null;
}

/** Whether `<root>/<distDir>` holds a production build newer than every source file. */
export function buildState(root: string, distDir: string): BuildState {
  const id = join(root, distDir, "BUILD_ID");
  if (!existsSync(id)) return { distDir, exists: false, current: false, builtAt: null };
  const builtAt = statSync(id).mtimeMs;
  const sources = Math.max(...SOURCE_DIRS.map((d) => newestMtime(join(root, d))), ...SOURCE_FILES.map((f) => newestMtime(join(root, f))));
  return { distDir, exists: true, current: builtAt > sources, builtAt: new Date(builtAt) };
}

/** The build directories worth trying, in order: PORTCULLIS_NEXT_DIST_DIR, .next, .next-bench. */
export function candidateDistDirs(): string[] {
  const fromEnv = process.env.PORTCULLIS_NEXT_DIST_DIR;
  return [...new Set([...(fromEnv ? [fromEnv] : []), ".next", BENCH_DIST_DIR])];
}

function nextBin(root: string): string {
  const bin = join(root, "node_modules", "next", "dist", "bin", "next");
  if (!existsSync(bin)) throw new BenchError("node_modules/next is missing: run `npm install` first");
  return bin;
}

/**
 * `next build` into .next-bench. Next.js adds the build directory's type folder to
 * tsconfig.json's "include" as it builds; that entry is taken out again afterwards so the
 * checkout is left as it was found.
 */
export async function buildInto(root: string, distDir: string, logFile: string): Promise<void> {
  const tsconfig = join(root, "tsconfig.json");
  const before = readFileSync(tsconfig, "utf8");
  const beforeStat = statSync(tsconfig);
  const log = openSync(logFile, "w");
  try {
    const code = await new Promise<number | null>((resolve, reject) => {
      const child = spawn(process.execPath, [nextBin(root), "build"], {
        cwd: root,
        env: { ...process.env, PORTCULLIS_NEXT_DIST_DIR: distDir, NODE_ENV: "production", NEXT_TELEMETRY_DISABLED: "1" },
        stdio: ["ignore", log, log],
      });
      child.on("error", reject);
      child.on("close", resolve);
    });
    if (code !== 0) {
      const tail = readFileSync(logFile, "utf8").trim().split("\n").slice(-15).join("\n");
      throw new BenchError(`next build into ${distDir} failed (exit ${code}); the end of ${logFile}:\n${tail}`);
    }
  } finally {
    closeSync(log);
    const after = readFileSync(tsconfig, "utf8");
    if (!before.includes(`"${distDir}/`) && after.includes(`"${distDir}/`)) {
      // Only the entries for this directory go; anything else changed meanwhile stays.
      const cleaned = after.replace(new RegExp(`,\\s*"${distDir.replace(/[.]/g, "\\.")}/[^"]*"`, "g"), "");
      writeFileSync(tsconfig, cleaned);
      // Back to what it was: the old time too, so the file does not make the new build look stale.
      if (cleaned === before) utimesSync(tsconfig, beforeStat.atime, beforeStat.mtime);
    }
  }
}

export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.unref();
    s.on("error", reject);
    s.listen(0, "127.0.0.1", () => {
      const addr = s.address();
      const port = typeof addr === "object" && addr ? addr.port : 0;
      s.close(() => resolve(port));
    });
  });
}

// --- memory -----------------------------------------------------------------------------

function childrenMap(): Map<number, number[]> {
  const map = new Map<number, number[]>();
  for (const name of readdirSync("/proc")) {
    if (!/^\d+$/.test(name)) continue;
    try {
      const stat = readFileSync(`/proc/${name}/stat`, "utf8");
      // pid (comm) state ppid …: comm may hold spaces and parentheses.
      const ppid = Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[1]);
      const list = map.get(ppid) ?? [];
      list.push(Number(name));
      map.set(ppid, list);
    } catch {
      // the process ended meanwhile
    }
  }
  return map;
}

/** The process and all its descendants. */
export function processTree(pid: number): number[] {
  const kids = childrenMap();
  const out: number[] = [];
  const todo = [pid];
  while (todo.length) {
    const p = todo.pop()!;
    out.push(p);
    todo.push(...(kids.get(p) ?? []));
  }
  return out;
}

function vmRssKb(pid: number): number {
  try {
    const m = /^VmRSS:\s+(\d+)\s+kB/m.exec(readFileSync(`/proc/${pid}/status`, "utf8"));
    return m ? Number(m[1]) : 0;
  } catch {
    return 0;
  }
}

/** CPU time (user + system) of a process, in clock ticks; 0 once it is gone. */
function cpuTicks(pid: number): number {
  try {
    // Fields after the command name (which may hold spaces): state is the 3rd, utime the 14th, stime the 15th.
    const fields = readFileSync(`/proc/${pid}/stat`, "utf8").replace(/^.*\) /s, "").split(" ");
    return Number(fields[11]) + Number(fields[12]);
  } catch {
    return 0;
  }
}

/**
 * Waits until a process tree is idle: under 5 % of one core over half a second (a server
 * that just started warms its PKI worker threads up for a second or two). Figures measured
 * beside it are then not measured against that work. Answers the seconds waited; gives up
 * after `maxSeconds`.
 */
export async function waitForIdle(rootPid: number, maxSeconds = 30): Promise<number> {
  const start = performance.now();
  const ticksPerSecond = 100;
  const tree = () => processTree(rootPid).reduce((s, p) => s + cpuTicks(p), 0);
  let before = tree();
  while ((performance.now() - start) / 1000 < maxSeconds) {
    await sleep(500);
    const now = tree();
    if ((now - before) / ticksPerSecond < 0.025) break;
    before = now;
  }
  return (performance.now() - start) / 1000;
}

/** Samples the summed VmRSS of a process tree until stopped; the tree is re-read every few samples. */
export class RssSampler {
  private timer: NodeJS.Timeout | null = null;
  private pids: number[] = [];
  private ticks = 0;
  maxMB = 0;
  samples = 0;

  constructor(
    private readonly rootPid: number,
    private readonly everyMs = 200,
  ) {}

  /** The tree's RSS now, in MB. */
  sample(): number {
    if (this.ticks++ % 10 === 0 || !this.pids.length) this.pids = processTree(this.rootPid);
    const mb = this.pids.reduce((s, p) => s + vmRssKb(p), 0) / 1024;
    this.maxMB = Math.max(this.maxMB, mb);
    this.samples++;
    return mb;
  }

  start(): void {
    this.maxMB = 0;
    this.samples = 0;
    this.sample();
    this.timer = setInterval(() => this.sample(), this.everyMs);
  }

  /** Stops sampling (once; later calls only answer) and answers the highest RSS seen. */
  stop(): number {
    if (this.timer) {
      clearInterval(this.timer);
      this.timer = null;
      this.sample();
    }
    return this.maxMB;
  }
}

// --- the server -------------------------------------------------------------------------

export interface RunningServer {
  base: string;
  pid: number;
  dataDir: string;
  logFile: string;
  stop(): Promise<void>;
}

/** Starts `next start` from `distDir` with the environment given (the caller's PORTCULLIS_* and DATABASE_URL are not passed on). */
export async function startServer(o: { root: string; distDir: string; dataDir: string; logFile: string; env: Record<string, string>; timeoutMs?: number }): Promise<RunningServer> {
  // The PKI worker threads' bundle, as `npm run build` makes it (a second or less): a build
  // made with `next build` alone, or before the workers existed, gets it too.
  await buildPkiWorker(resolve(o.root, o.distDir, "portcullis", "pki-worker.cjs"));
  const port = await freePort();
  const base = `http://127.0.0.1:${port}`;
  const env: Record<string, string | undefined> = {};
  for (const [k, v] of Object.entries(process.env)) if (!k.startsWith("PORTCULLIS_") && k !== "DATABASE_URL") env[k] = v;
  Object.assign(env, { NODE_ENV: "production", NEXT_TELEMETRY_DISABLED: "1", PORTCULLIS_NEXT_DIST_DIR: o.distDir, PORTCULLIS_DATA_DIR: o.dataDir }, o.env);
  const log = openSync(o.logFile, "a");
  let child: ChildProcess;
  try {
    child = spawn(process.execPath, [nextBin(o.root), "start", "-H", "127.0.0.1", "-p", String(port)], { cwd: o.root, env: env as NodeJS.ProcessEnv, stdio: ["ignore", log, log], detached: true });
  } finally {
    closeSync(log);
  }
  let exited: number | null | undefined;
  child.on("exit", (code) => (exited = code));
  const stop = async () => {
    if (exited !== undefined || !child.pid) return;
    try {
      process.kill(-child.pid, "SIGTERM");
    } catch {
      return;
    }
    for (let i = 0; i < 50 && exited === undefined; i++) await sleep(100);
    if (exited === undefined) {
      try {
        process.kill(-child.pid, "SIGKILL");
      } catch {
        // gone
      }
    }
  };
  const deadline = Date.now() + (o.timeoutMs ?? 120_000);
  for (;;) {
    if (exited !== undefined) {
      const tail = readFileSync(o.logFile, "utf8").trim().split("\n").slice(-15).join("\n");
      throw new BenchError(`the Portcullis server (${o.distDir}) exited with code ${exited} before answering; the end of ${o.logFile}:\n${tail}`);
    }
    try {
      const r = await fetch(`${base}/api/v1/health`);
      if (r.status === 200) break;
    } catch {
      // not listening yet
    }
    if (Date.now() > deadline) {
      await stop();
      throw new BenchError(`the Portcullis server did not answer ${base}/api/v1/health within ${Math.round((o.timeoutMs ?? 120_000) / 1000)} s (log: ${o.logFile})`);
    }
    await sleep(250);
  }
  return { base, pid: child.pid!, dataDir: o.dataDir, logFile: o.logFile, stop };
}

// --- API client -------------------------------------------------------------------------

export interface ApiAnswer<T> {
  status: number;
  body: T;
}

/** One JSON call; any status outside `expect` is a BenchError naming the call and the server's error message. */
export async function api<T = Record<string, unknown>>(base: string, method: string, path: string, o: { token?: string; body?: unknown; expect?: number[] } = {}): Promise<ApiAnswer<T>> {
  const headers: Record<string, string> = { accept: "application/json" };
  if (o.token) headers.authorization = `Bearer ${o.token}`;
  if (o.body !== undefined) headers["content-type"] = "application/json";
  let res: Response;
  for (let attempt = 1; ; attempt++) {
    try {
      res = await fetch(`${base}${path}`, { method, headers, body: o.body === undefined ? undefined : JSON.stringify(o.body) });
      break;
    } catch (e) {
      // A kept-alive connection the server closed while this process was busy fails the next
      // request sent on it; a read is sent again once on a fresh connection.
      if (method === "GET" && attempt === 1) continue;
      throw new BenchError(`${method} ${base}${path}: cannot reach the server (${(e as Error).cause instanceof Error ? ((e as Error).cause as Error).message : (e as Error).message})`);
    }
  }
  const text = await res.text();
  let body: unknown = text;
  try {
    body = text ? JSON.parse(text) : null;
  } catch {
    // not JSON: keep the text for the message
  }
  if (!(o.expect ?? [200, 201]).includes(res.status)) {
    const err = (body as { error?: { code?: string; message?: string } } | null)?.error;
    throw new ApiError(res.status, err?.code ?? "", `${method} ${path} answered ${res.status}${err ? ` ${err.code}: ${err.message}` : `: ${String(text).slice(0, 200)}`}`);
  }
  return { status: res.status, body: body as T };
}

export class ApiError extends BenchError {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}
