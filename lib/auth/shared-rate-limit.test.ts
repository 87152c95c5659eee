/**
 * The shared limiter counts in the database: on SQLite, and on PostgreSQL in the test
 * command's second pass, where concurrent hits go over several pooled connections.
 */
import { describe, expect, it, vi } from "vitest";
import { getDb } from "../db/index.ts";
import { expectAppError } from "../test-support/app-error.ts";
import { useIsolatedDataDir } from "../test-support/data-dir.ts";
import { hitSharedLimit } from "./shared-rate-limit.ts";

useIsolatedDataDir("shared-rate-limit");
const MINUTE = 60_000;

describe("hitSharedLimit", () => {
  it("lets `limit` hits per key through in a window, then 429 with the seconds left; a new window starts afresh", async () => {
    const t0 = new Date("2026-11-23T10:00:00.000Z");
    for (let i = 0; i < 3; i++) await hitSharedLimit("csr-api", "198.51.100.1", 3, 10 * MINUTE, new Date(t0.getTime() + i * 1000));
    const e = await expectAppError(hitSharedLimit("csr-api", "198.51.100.1", 3, 10 * MINUTE, new Date(t0.getTime() + 4 * MINUTE)), "too_many_requests");
    expect(e.retryAfterSeconds).toBe(6 * 60);
    expect(e.message).toBe("Too many requests from this address; try again in 360 seconds");
    // Other addresses and other scopes have windows of their own.
    await hitSharedLimit("csr-api", "198.51.100.2", 3, 10 * MINUTE, t0);
    await hitSharedLimit("csr-form", "198.51.100.1", 3, 10 * MINUTE, t0);
    // Once the window is over, counting starts again.
    await hitSharedLimit("csr-api", "198.51.100.1", 3, 10 * MINUTE, new Date(t0.getTime() + 10 * MINUTE));
    const row = await (await getDb()).rateWindow.findUniqueOrThrow({ where: { key: "csr-api:198.51.100.1" } });
    expect(row).toMatchObject({ count: 1, windowStart: new Date(t0.getTime() + 10 * MINUTE) });
  });

  it("keeps no count in the process: a fresh copy of the module (another instance) sees the same window", async () => {
    const t0 = new Date("2026-11-23T11:00:00.000Z");
    await hitSharedLimit("csr-api", "198.51.100.9", 2, MINUTE, t0);
    await hitSharedLimit("csr-api", "198.51.100.9", 2, MINUTE, t0);
    vi.resetModules();
    const other = await import("./shared-rate-limit.ts");
    expect(other.hitSharedLimit).not.toBe(hitSharedLimit);
    await expect(other.hitSharedLimit("csr-api", "198.51.100.9", 2, MINUTE, t0)).rejects.toMatchObject({ code: "too_many_requests", retryAfterSeconds: 60 });
  });

  it("counts concurrent hits exactly: of 25 at once with a limit of 10, 10 pass", async () => {
    const t0 = new Date("2026-11-23T12:00:00.000Z");
    const results = await Promise.allSettled(Array.from({ length: 25 }, () => hitSharedLimit("csr-api", "198.51.100.20", 10, MINUTE, t0)));
    expect(results.filter((r) => r.status === "fulfilled")).toHaveLength(10);
    expect(results.filter((r) => r.status === "rejected").every((r) => (r as PromiseRejectedResult).reason.code === "too_many_requests")).toBe(true);
    expect((await (await getDb()).rateWindow.findUniqueOrThrow({ where: { key: "csr-api:198.51.100.20" } })).count).toBe(25);
  });
});
