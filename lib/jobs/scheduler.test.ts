import { describe, expect, it } from "vitest";
import { getDb } from "../db/index.ts";
import { useIsolatedDataDir } from "../test-support/data-dir.ts";
import { acquireLease, runJobOnce, type ScheduledJob } from "./scheduler.ts";

useIsolatedDataDir("jobs");

const T0 = new Date("2031-03-01T00:00:00.000Z");
const at = (minutes: number) => new Date(T0.getTime() + minutes * 60_000);

describe("job leases", () => {
  it("gives a lease to one holder until it expires, then to another", async () => {
    const db = await getDb();
    expect(await acquireLease(db, "lease-a", "one", T0, at(10))).toBe(true);
    expect(await acquireLease(db, "lease-a", "two", at(5), at(15))).toBe(false);
    expect(await acquireLease(db, "lease-a", "one", at(5), at(15))).toBe(true);
    expect(await acquireLease(db, "lease-a", "two", at(14), at(24))).toBe(false);
    expect(await acquireLease(db, "lease-a", "two", at(15), at(25))).toBe(true);
    const row = await db.jobLease.findUniqueOrThrow({ where: { name: "lease-a" } });
    expect(row.holder).toBe("two");
    expect(row.leaseUntil?.toISOString()).toBe(at(25).toISOString());
  });

  it("lets exactly one of many racing holders in", async () => {
    const db = await getDb();
    const results = await Promise.all(Array.from({ length: 12 }, (_, i) => acquireLease(db, "lease-race", `h${i}`, T0, at(1))));
    expect(results.filter(Boolean)).toHaveLength(1);
  });

  it("runs a job once per interval across instances and records the run", async () => {
    const runs: string[] = [];
    const job: ScheduledJob = { name: "job-once", intervalMs: 60 * 60_000, run: async (now) => void runs.push(now.toISOString()) };
    expect(await runJobOnce(job, { now: T0, holder: "instance-1" })).toBe(true);
    expect(await runJobOnce(job, { now: at(1), holder: "instance-2" })).toBe(false);
    expect(await runJobOnce(job, { now: at(61), holder: "instance-2" })).toBe(true);
    expect(runs).toEqual([T0.toISOString(), at(61).toISOString()]);
    const row = await (await getDb()).jobLease.findUniqueOrThrow({ where: { name: "job-once" } });
    expect(row.lastRunAt?.toISOString()).toBe(at(61).toISOString());
  });
});
