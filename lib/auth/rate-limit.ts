/**
 * A fixed-window request limiter per key (client address), in process memory. Enough
 * to stop one client flooding the public submission endpoint of one instance.
 */
import { AppError } from "../errors/app-error.ts";

export class RateLimiter {
  private readonly hits = new Map<string, { start: number; count: number }>();

  constructor(
    readonly limit: number,
    readonly windowMs: number,
  ) {}

  /** Counts one hit for `key`; throws 429 with Retry-After when over the limit. */
  hit(key: string, now = Date.now()): void {
    if (this.hits.size > 10_000) this.sweep(now);
    const h = this.hits.get(key);
    if (!h || now - h.start >= this.windowMs) {
      this.hits.set(key, { start: now, count: 1 });
      return;
    }
    h.count++;
    if (h.count > this.limit) {
      const retry = Math.ceil((h.start + this.windowMs - now) / 1000);
      throw new AppError("too_many_requests", `Too many requests from this address; try again in ${retry} seconds`, { retryAfterSeconds: retry });
    }
  }

  private sweep(now: number): void {
    for (const [k, h] of this.hits) if (now - h.start >= this.windowMs) this.hits.delete(k);
  }
}
