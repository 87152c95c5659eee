/**
 * Scheduled jobs that run in-process, survive restarts (their state is in the database)
 * and run on one instance at a time when several share a database: before each run an
 * instance takes the job's lease with one conditional UPDATE, which both SQLite and
 * PostgreSQL apply atomically. The lease is kept until the next run is due, so the other
 * instances skip that interval. Jobs must still be idempotent (a lease can expire while a
 * slow run goes on): the work they record is keyed so it happens once.
 */
import { randomUUID } from "node:crypto";
import { getDb, type Db } from "../db/index.ts";
import { isUniqueViolation } from "../db/unique-violation.ts";

export interface ScheduledJob {
  /** Unique name, the lease's key, e.g. "expiry-warnings". */
  name: string;
  /** Time between runs. */
  intervalMs: number;
  /** The work; `now` is the scheduler's clock (tests inject it). */
  run(now: Date): Promise<void>;
}

/** This process's identity as a lease holder. */
export const INSTANCE_ID = `${process.pid}-${randomUUID()}`;

type LeaseDb = Pick<Db, "jobLease">;

/**
 * Takes the lease on `name` until `until` if it is free, expired or already ours.
 * Returns whether this holder now has it.
 */
export async function acquireLease(db: LeaseDb, name: string, holder: string, now: Date, until: Date): Promise<boolean> {
  try {
    await db.jobLease.create({ data: { name, holder, leaseUntil: until } });
    return true;
  } catch (e) {
    if (!isUniqueViolation(e)) throw e;
  }
  const { count } = await db.jobLease.updateMany({
    where: { name, OR: [{ leaseUntil: null }, { leaseUntil: { lte: now } }, { holder }] },
    data: { holder, leaseUntil: until },
  });
  return count === 1;
}

/**
 * One scheduler tick: runs the job if this holder gets its lease. Returns whether it ran.
 * Exposed so tests drive runs with an injected clock instead of timers.
 */
export async function runJobOnce(job: ScheduledJob, opts: { now?: Date; holder?: string; db?: LeaseDb } = {}): Promise<boolean> {
  const db = opts.db ?? (await getDb());
  const now = opts.now ?? new Date();
  const holder = opts.holder ?? INSTANCE_ID;
  const until = new Date(now.getTime() + job.intervalMs);
  if (!(await acquireLease(db, job.name, holder, now, until))) return false;
  await job.run(now);
  await db.jobLease.updateMany({ where: { name: job.name, holder }, data: { lastRunAt: now } });
  return true;
}

interface Running {
  stops: Map<string, () => void>;
}
const running: Running = ((globalThis as { __portcullisJobs?: Running }).__portcullisJobs ??= { stops: new Map() });

/**
 * Runs `job` now and then every `intervalMs` (plus a little jitter, so instances started
 * together do not collide) until the returned function is called. Starting a job that is
 * already running returns its stop function.
 */
export function startScheduledJob(job: ScheduledJob, opts: { firstDelayMs?: number } = {}): () => void {
  const existing = running.stops.get(job.name);
  if (existing) return existing;
  let timer: ReturnType<typeof setTimeout> | undefined;
  let stopped = false;
  const schedule = (ms: number) => {
    if (stopped) return;
    timer = setTimeout(tick, ms);
    timer.unref();
  };
  const tick = async () => {
    try {
      await runJobOnce(job);
    } catch (e) {
      // Message only: the error object may carry query data.
      console.error(`[portcullis] job ${job.name} failed: ${String((e as Error)?.message ?? e).replace(/\s+/g, " ").slice(0, 500)}`);
    }
    schedule(job.intervalMs + Math.floor(Math.random() * Math.min(30_000, job.intervalMs / 10)));
  };
  const stop = () => {
    stopped = true;
    if (timer) clearTimeout(timer);
    if (running.stops.get(job.name) === stop) running.stops.delete(job.name);
  };
  running.stops.set(job.name, stop);
  schedule(opts.firstDelayMs ?? 0);
  return stop;
}
