import { describe, expect, it } from "vitest";
import { RateLimiter } from "./rate-limit.ts";
import { AppError } from "../errors/app-error.ts";

describe("RateLimiter", () => {
  it("allows `limit` hits per window and key, then answers 429 with Retry-After", () => {
    const l = new RateLimiter(3, 60_000);
    const t0 = 1_000_000;
    for (let i = 0; i < 3; i++) l.hit("a", t0 + i);
    let err: unknown;
    try {
      l.hit("a", t0 + 10_000);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(AppError);
    expect((err as AppError).code).toBe("too_many_requests");
    expect((err as AppError).retryAfterSeconds).toBe(50);
    expect(() => l.hit("b", t0 + 10_000)).not.toThrow();
    expect(() => l.hit("a", t0 + 60_000)).not.toThrow();
  });
});
