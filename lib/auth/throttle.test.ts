import { beforeEach, describe, expect, it } from "vitest";
import { getDb } from "../db/index.ts";
import { BASE_LOCK_SECONDS, FREE_FAILURES, MAX_LOCK_SECONDS, beginAttempt, clearFailures, lockSecondsAfter, lockedForSeconds, recordFailure } from "./throttle.ts";
import { useFreshDatabase, wipeAuthTables } from "./test-support.ts";

useFreshDatabase("throttle");
beforeEach(wipeAuthTables);

const T0 = new Date("2030-01-01T12:00:00.000Z");
const at = (seconds: number) => new Date(T0.getTime() + seconds * 1000);

async function row(key: string) {
  const db = await getDb();
  return db.loginThrottle.findUnique({ where: { key } });
}

describe("lockSecondsAfter", () => {
  it("gives 5 free failures, then 30 s doubling per failure up to 15 minutes", () => {
    expect([FREE_FAILURES, BASE_LOCK_SECONDS, MAX_LOCK_SECONDS]).toEqual([5, 30, 900]);
    const table = Array.from({ length: 13 }, (_, i) => lockSecondsAfter(i));
    expect(table).toEqual([0, 0, 0, 0, 0, 30, 60, 120, 240, 480, 900, 900, 900]);
    expect(lockSecondsAfter(1000)).toBe(900);
    expect(lockSecondsAfter(5000)).toBe(900); // 2^4995 overflows to Infinity; still capped
  });
});

describe("recordFailure / lockedForSeconds", () => {
  it("does not lock for the first four failures, locks for 30 s on the fifth", async () => {
    const db = await getDb();
    const keys = ["user:alice"];
    for (let i = 1; i <= 4; i++) {
      await recordFailure(db, keys, T0);
      expect(await lockedForSeconds(db, keys, T0)).toBe(0);
      expect((await row("user:alice"))?.failures).toBe(i);
      expect((await row("user:alice"))?.lockedUntil).toBeNull();
    }
    await recordFailure(db, keys, T0);
    const r = await row("user:alice");
    expect(r?.failures).toBe(5);
    expect(r?.lockedUntil?.toISOString()).toBe(at(30).toISOString());
    expect(await lockedForSeconds(db, keys, T0)).toBe(30);
    expect(await lockedForSeconds(db, keys, at(10))).toBe(20);
    expect(await lockedForSeconds(db, keys, at(29.001))).toBe(1); // rounds up
    expect(await lockedForSeconds(db, keys, at(30))).toBe(0);
    expect(await lockedForSeconds(db, keys, at(3600))).toBe(0);
  });

  it("doubles the lock with each further failure, capped at 15 minutes", async () => {
    const db = await getDb();
    const keys = ["ip:192.0.2.7"];
    let now = T0;
    for (let i = 0; i < 5; i++) await recordFailure(db, keys, now);
    const locks: number[] = [];
    for (let i = 0; i < 8; i++) {
      const wait = await lockedForSeconds(db, keys, now);
      locks.push(wait);
      now = new Date(now.getTime() + wait * 1000); // wait the lock out, then fail again
      expect(await lockedForSeconds(db, keys, now)).toBe(0);
      await recordFailure(db, keys, now);
    }
    expect(locks).toEqual([30, 60, 120, 240, 480, 900, 900, 900]);
    expect((await row("ip:192.0.2.7"))?.failures).toBe(13);
  });

  it("reports the longest wait over all keys and ignores unknown ones", async () => {
    const db = await getDb();
    for (let i = 0; i < 5; i++) await recordFailure(db, ["user:a"], T0); // 30 s
    for (let i = 0; i < 6; i++) await recordFailure(db, ["ip:b"], T0); // 60 s
    expect(await lockedForSeconds(db, ["user:a"], T0)).toBe(30);
    expect(await lockedForSeconds(db, ["ip:b"], T0)).toBe(60);
    expect(await lockedForSeconds(db, ["user:a", "ip:b"], T0)).toBe(60);
    expect(await lockedForSeconds(db, ["user:a", "ip:b"], at(45))).toBe(15);
    expect(await lockedForSeconds(db, ["user:nobody", "ip:none"], T0)).toBe(0);
    expect(await lockedForSeconds(db, [], T0)).toBe(0);
  });

  it("counts every key given and keeps keys apart", async () => {
    const db = await getDb();
    await recordFailure(db, ["user:alice", "ip:198.51.100.1"], T0);
    await recordFailure(db, ["user:alice", "ip:198.51.100.2"], T0);
    expect((await row("user:alice"))?.failures).toBe(2);
    expect((await row("ip:198.51.100.1"))?.failures).toBe(1);
    expect((await row("ip:198.51.100.2"))?.failures).toBe(1);
    expect(await row("user:bob")).toBeNull();
  });

  it("counts concurrent failures exactly", async () => {
    const db = await getDb();
    await Promise.all(Array.from({ length: 7 }, () => recordFailure(db, ["user:race"], T0)));
    expect((await row("user:race"))?.failures).toBe(7);
    expect(await lockedForSeconds(db, ["user:race"], T0)).toBe(120);
  });
});

describe("clearFailures", () => {
  it("removes the given keys (lock included) and leaves the others", async () => {
    const db = await getDb();
    for (let i = 0; i < 5; i++) await recordFailure(db, ["user:alice", "ip:203.0.113.5", "user:bob"], T0);
    expect(await lockedForSeconds(db, ["user:alice"], T0)).toBe(30);
    await clearFailures(db, ["user:alice", "ip:203.0.113.5"]);
    expect(await row("user:alice")).toBeNull();
    expect(await row("ip:203.0.113.5")).toBeNull();
    expect(await lockedForSeconds(db, ["user:alice", "ip:203.0.113.5"], T0)).toBe(0);
    expect((await row("user:bob"))?.failures).toBe(5);
    expect(await lockedForSeconds(db, ["user:bob"], T0)).toBe(30);
    // Counting starts again from zero.
    await recordFailure(db, ["user:alice"], T0);
    expect((await row("user:alice"))?.failures).toBe(1);
    expect(await lockedForSeconds(db, ["user:alice"], T0)).toBe(0);
  });
});

describe("beginAttempt", () => {
  it("counts the attempt on every key before the outcome is known", async () => {
    const db = await getDb();
    expect(await beginAttempt(db, ["user:alice", "ip:192.0.2.1"], T0)).toBe(0);
    expect((await row("user:alice"))?.failures).toBe(1);
    expect((await row("ip:192.0.2.1"))?.failures).toBe(1);
    expect((await row("user:alice"))?.lockedUntil).toBeNull();
  });

  it("the fifth attempt sets the 30 s lock at once; locked attempts are refused and not counted", async () => {
    const db = await getDb();
    const keys = ["user:alice"];
    for (let i = 0; i < 5; i++) expect(await beginAttempt(db, keys, T0)).toBe(0);
    expect((await row("user:alice"))?.lockedUntil?.toISOString()).toBe(at(30).toISOString());
    expect(await beginAttempt(db, keys, T0)).toBe(30);
    expect(await beginAttempt(db, keys, at(20))).toBe(10);
    expect((await row("user:alice"))?.failures).toBe(5);
    // After the lock: the sixth counted attempt locks for 60 s.
    expect(await beginAttempt(db, keys, at(30))).toBe(0);
    expect((await row("user:alice"))?.failures).toBe(6);
    expect(await lockedForSeconds(db, keys, at(30))).toBe(60);
    // A success (clearFailures) resets it.
    await clearFailures(db, keys);
    expect(await beginAttempt(db, keys, at(30))).toBe(0);
    expect((await row("user:alice"))?.failures).toBe(1);
  });

  it("a lock on any key refuses the attempt without counting it on the others", async () => {
    const db = await getDb();
    for (let i = 0; i < 5; i++) await recordFailure(db, ["ip:203.0.113.1"], T0);
    expect(await beginAttempt(db, ["user:bob", "ip:203.0.113.1"], T0)).toBe(30);
    expect(await row("user:bob")).toBeNull();
  });

  it("lets exactly 5 of 20 parallel attempts through", async () => {
    const db = await getDb();
    const waits = await Promise.all(Array.from({ length: 20 }, () => beginAttempt(db, ["user:alice", "ip:192.0.2.9"], T0)));
    expect(waits.filter((w) => w === 0)).toHaveLength(5);
    expect(waits.filter((w) => w === 30)).toHaveLength(15);
    expect((await row("user:alice"))?.failures).toBe(5);
    expect((await row("ip:192.0.2.9"))?.failures).toBe(5);
  });
});
