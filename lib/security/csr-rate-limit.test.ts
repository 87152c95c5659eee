/**
 * The limit on anonymous CSR submissions, through the real route handlers: per client
 * address, shared by new requests and renewals, 429 with Retry-After, and administrators
 * with a live token are not counted (bulk enrolment) while a dead token is.
 * (e2e/setup.spec.ts and e2e/public.spec.ts check the same limit over HTTP and on /request.)
 */
import { beforeAll, describe, expect, it } from "vitest";
import { randomUUID } from "node:crypto";
import { getDb } from "../db/index.ts";
import { createApiToken, revokeApiToken } from "../auth/api-tokens.ts";
import { useIsolatedDataDir } from "../test-support/data-dir.ts";
import { POST as submitCsr } from "../../app/api/v1/csrs/route.ts";
import { POST as submitRenewal } from "../../app/api/v1/certificates/[number]/renewal/route.ts";

const LIMIT = 3;
// Read by the limiter when it is first used, i.e. in this file's process.
process.env.PORTCULLIS_CSR_RATE_LIMIT = String(LIMIT);
useIsolatedDataDir("csr-rate-limit");

let liveToken = "";
let revokedToken = "";

beforeAll(async () => {
  const db = await getDb();
  const admin = await db.admin.create({ data: { id: randomUUID(), username: "limit-admin", passwordHash: "scrypt$32768$8$1$AAAA$AAAA" } });
  liveToken = (await createApiToken(admin.id, { name: "bulk" })).token;
  const r = await createApiToken(admin.id, { name: "revoked" });
  await revokeApiToken(admin.id, r.view.id);
  revokedToken = r.token;
});

/** An invalid submission: refused with a 4xx of its own, but counted like any other. */
function post(ip: string, headers: Record<string, string> = {}, renewal = false): Promise<Response> {
  const init = {
    method: "POST",
    headers: { "content-type": "application/json", "x-forwarded-for": `10.9.9.9, ${ip}`, ...headers },
    body: JSON.stringify({ csr: "not a CSR", contact: { name: "Rate Limit" }, filename: "limited" }),
  };
  return renewal
    ? submitRenewal(new Request("http://portcullis.test/api/v1/certificates/1/renewal", init), { params: Promise.resolve({ number: "1" }) })
    : submitCsr(new Request("http://portcullis.test/api/v1/csrs", init), undefined);
}

async function expect429(res: Response): Promise<void> {
  expect(res.status).toBe(429);
  const retry = Number(res.headers.get("retry-after"));
  expect(retry).toBeGreaterThan(0);
  expect(retry).toBeLessThanOrEqual(600);
  const e = (await res.json()).error;
  expect(e.code).toBe("too_many_requests");
  expect(e.message).toMatch(/try again in \d+ seconds/);
}

describe("POST /api/v1/csrs rate limit", () => {
  it(`lets ${LIMIT} anonymous submissions per address through, then answers 429 with Retry-After`, async () => {
    for (let i = 0; i < LIMIT; i++) {
      const res = await post("203.0.113.1");
      expect(res.status).not.toBe(429);
      expect(res.status).toBeGreaterThanOrEqual(400);
      expect(res.status).toBeLessThan(500);
    }
    await expect429(await post("203.0.113.1"));
    await expect429(await post("203.0.113.1"));
  });

  it("counts the last X-Forwarded-For entry: another address is not limited, a spoofed first entry does not help", async () => {
    expect((await post("203.0.113.2")).status).not.toBe(429);
    await expect429(await post("203.0.113.1", { "x-forwarded-for": "198.51.100.200, 203.0.113.1" }));
  });

  it("renewals count against the same limit", async () => {
    for (let i = 0; i < LIMIT - 1; i++) expect((await post("203.0.113.3")).status).not.toBe(429);
    expect((await post("203.0.113.3", {}, true)).status).not.toBe(429);
    await expect429(await post("203.0.113.3", {}, true));
    await expect429(await post("203.0.113.3"));
  });

  it("does not count an administrator's live token, even from a throttled address", async () => {
    for (let i = 0; i < LIMIT + 2; i++) {
      const res = await post("203.0.113.1", { authorization: `Bearer ${liveToken}` });
      expect(res.status).toBe(400);
      expect((await res.json()).error.code).toBe("bad_request");
    }
  });

  it("counts a revoked or made-up token like an anonymous caller", async () => {
    for (let i = 0; i < LIMIT; i++) expect((await post("203.0.113.4", { authorization: `Bearer ${revokedToken}` })).status).not.toBe(429);
    await expect429(await post("203.0.113.4", { authorization: `Bearer ${revokedToken}` }));
    await expect429(await post("203.0.113.4", { authorization: "Bearer pcl_madeUp" }));
  });
});
