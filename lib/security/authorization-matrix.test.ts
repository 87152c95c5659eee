/**
 * The authorization matrix of the HTTP API, in process: every route handler under app/
 * is found by globbing the route files and importing them, every exported method must
 * be classified below (a new route or method without a row fails the suite), and every
 * admin one is called with no credentials, dead sessions and dead tokens (all 401), a
 * live token (let through), and cookie-authenticated writes from other origins (403).
 */
import { beforeAll, describe, expect, it } from "vitest";
import { readdirSync } from "node:fs";
import { join, relative, sep } from "node:path";
import { randomUUID } from "node:crypto";
import { fileURLToPath } from "node:url";
import { getDb } from "../db/index.ts";
import { createSession, deleteSession, SESSION_COOKIE } from "../auth/sessions.ts";
import { createApiToken, revokeApiToken } from "../auth/api-tokens.ts";
import { useIsolatedDataDir } from "../test-support/data-dir.ts";

type Access = "public" | "admin";

/**
 * Who may call each route handler, by route file (relative to app/, without
 * "/route.ts") and method. Keep it in step with the routes: a route or method missing
 * here, or a row for one that no longer exists, fails the suite.
 */
const ROUTES: Record<string, Partial<Record<Method, Access>>> = {
  "api/v1/[...path]": { GET: "public", POST: "public", PUT: "public", PATCH: "public", DELETE: "public" },
  "api/v1/health": { GET: "public" },
  "api/v1/auth/token": { POST: "public" },
  "api/v1/ca": { GET: "public" },
  "api/v1/ca/certificate": { GET: "public" },
  "api/v1/csrs": { POST: "public" },
  "api/v1/csrs/[id]": { GET: "public" },
  "api/v1/certificates": { GET: "public" },
  "api/v1/certificates/[number]": { GET: "public" },
  "api/v1/certificates/[number]/renewal": { POST: "public" },
  "api/v1/certificates/[number]/bundle": { GET: "admin", POST: "admin" },
  "api/v1/iot/device-check": { POST: "public" },
  "api/v1/iot/trust-bundle": { GET: "public" },
  "crl/[file]": { GET: "public" },
  "ocsp": { POST: "public" },
  "ocsp/[...b64]": { GET: "public" },

  "api/v1/admin/ca": { GET: "admin", POST: "admin", PATCH: "admin", DELETE: "admin" },
  "api/v1/admin/ca/unlock": { POST: "admin", DELETE: "admin" },
  "api/v1/admin/crl": { GET: "admin", POST: "admin", PATCH: "admin" },
  "api/v1/admin/audit": { GET: "admin" },
  "api/v1/admin/audit/export": { GET: "admin" },
  "api/v1/admin/audit/verify": { POST: "admin" },
  "api/v1/admin/certificates": { GET: "admin" },
  "api/v1/admin/certificates/expiring.ics": { GET: "admin" },
  "api/v1/admin/certificates/[number]/revoke": { POST: "admin" },
  "api/v1/admin/csrs": { GET: "admin" },
  "api/v1/admin/csrs/[id]": { DELETE: "admin" },
  "api/v1/admin/csrs/[id]/issue": { POST: "admin" },
  "api/v1/admin/csrs/[id]/preview": { GET: "admin" },
  "api/v1/admin/csrs/bulk-issue": { POST: "admin" },
  "api/v1/admin/csrs/batch": { POST: "admin" },
  "api/v1/admin/iot/ca-certificates": { GET: "admin", POST: "admin" },
  "api/v1/admin/iot/ca-certificates/[id]": { GET: "admin", PATCH: "admin", DELETE: "admin" },
  "api/v1/admin/iot/ca-certificates/[id]/crl": { POST: "admin" },
  "api/v1/admin/iot/ca-certificates/local": { POST: "admin" },
  "api/v1/admin/iot/ca-certificates/preview": { POST: "admin" },
  "api/v1/admin/iot/messaging-certificates": { GET: "admin", POST: "admin" },
  "api/v1/admin/iot/messaging-certificates/[id]": { GET: "admin", DELETE: "admin" },
  "api/v1/admin/iot/messaging-certificates/[id]/certificate": { POST: "admin" },
  "api/v1/admin/iot/messaging-certificates/csr": { POST: "admin" },
  "api/v1/admin/iot/messaging-certificates/default": { PUT: "admin" },
  "api/v1/admin/iot/messaging-certificates/default/export": { GET: "admin" },
  "api/v1/client/files/[name]": { GET: "admin" },
};

const METHODS = ["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"] as const;
type Method = (typeof METHODS)[number];
const WRITES = new Set<Method>(["POST", "PUT", "PATCH", "DELETE"]);

type Handler = (req: Request, ctx: { params: Promise<Record<string, string | string[]>> }) => Promise<Response>;

interface RouteUnderTest {
  route: string;
  method: Method;
  access: Access | undefined;
  handler: Handler;
}

const APP_DIR = fileURLToPath(new URL("../../app/", import.meta.url));

function routeFiles(): string[] {
  return (readdirSync(APP_DIR, { recursive: true }) as string[])
    .filter((f) => f === "route.ts" || f.endsWith(`${sep}route.ts`))
    .map((f) => relative(APP_DIR, join(APP_DIR, f)).split(sep).join("/").replace(/\/?route\.ts$/, ""))
    .sort();
}

/** Sample values for the dynamic segments of a route, and the URL path they give. */
function sample(route: string): { path: string; params: Record<string, string | string[]> } {
  const params: Record<string, string | string[]> = {};
  const parts = route.split("/").map((seg) => {
    const catchAll = /^\[\.\.\.(\w+)\]$/.exec(seg);
    if (catchAll) {
      params[catchAll[1]] = ["sample"];
      return "sample";
    }
    const dyn = /^\[(\w+)\]$/.exec(seg);
    if (!dyn) return seg;
    const value = { id: randomUUID(), number: "1", name: "sample.cer", file: "sample.crl" }[dyn[1]] ?? "sample";
    params[dyn[1]] = value;
    return value;
  });
  return { path: `/${parts.join("/")}`, params };
}

const ORIGIN = "http://portcullis.test";

function call(r: RouteUnderTest, headers: Record<string, string> = {}): Promise<Response> {
  const { path, params } = sample(r.route);
  const body = WRITES.has(r.method) ? "{}" : undefined;
  const req = new Request(`${ORIGIN}${path}`, {
    method: r.method,
    headers: { host: new URL(ORIGIN).host, ...(body ? { "content-type": "application/json" } : {}), ...headers },
    body,
  });
  return r.handler(req, { params: Promise.resolve(params) });
}

async function expect401(res: Response, what: string): Promise<void> {
  expect(res.status, what).toBe(401);
  expect(res.headers.get("content-type"), what).toMatch(/^application\/json/);
  expect((await res.json()).error.code, what).toBe("unauthorized");
  expect(res.headers.get("www-authenticate"), what).toMatch(/^Bearer /);
}

useIsolatedDataDir("authz-matrix", { PORTCULLIS_SESSION_HOURS: "12", PORTCULLIS_PUBLIC_URL: undefined });

const found: RouteUnderTest[] = [];
const creds = {
  liveSession: "",
  expiredSession: "",
  idleSession: "",
  signedOutSession: "",
  liveToken: "",
  revokedToken: "",
  expiredToken: "",
};

beforeAll(async () => {
  for (const route of routeFiles()) {
    const mod = (await import(/* @vite-ignore */ join(APP_DIR, route, "route.ts"))) as Record<string, unknown>;
    for (const method of METHODS) {
      if (typeof mod[method] === "function") found.push({ route, method, access: ROUTES[route]?.[method], handler: mod[method] as Handler });
    }
  }

  const db = await getDb();
  const admin = await db.admin.create({ data: { id: randomUUID(), username: "matrix-admin", passwordHash: "scrypt$32768$8$1$AAAA$AAAA" } });
  const hour = 3600_000;
  creds.liveSession = (await createSession(db, admin.id)).token;
  // Past its absolute lifetime (12 h), and idle for more than 60 minutes within it.
  creds.expiredSession = (await createSession(db, admin.id, {}, new Date(Date.now() - 13 * hour))).token;
  creds.idleSession = (await createSession(db, admin.id, {}, new Date(Date.now() - 2 * hour))).token;
  const signedOut = await createSession(db, admin.id);
  await deleteSession(db, signedOut.token);
  creds.signedOutSession = signedOut.token;

  creds.liveToken = (await createApiToken(admin.id, { name: "live" })).token;
  const revoked = await createApiToken(admin.id, { name: "revoked" });
  await revokeApiToken(admin.id, revoked.view.id);
  creds.revokedToken = revoked.token;
  creds.expiredToken = (await createApiToken(admin.id, { name: "expired", expiresInDays: 1 }, new Date(Date.now() - 2 * 86400_000))).token;
});

const cookie = (token: string) => ({ cookie: `${SESSION_COOKIE}=${encodeURIComponent(token)}` });
const bearer = (token: string) => ({ authorization: `Bearer ${token}` });

describe("the route table", () => {
  it("finds the route handlers (the glob works)", () => {
    expect(found.length).toBeGreaterThan(30);
    expect(found.some((r) => r.route === "api/v1/admin/ca" && r.method === "DELETE")).toBe(true);
  });

  it("classifies every exported method of every route file", () => {
    const missing = found.filter((r) => !r.access).map((r) => `${r.method} ${r.route}`);
    expect(missing, "add these to ROUTES in lib/security/authorization-matrix.test.ts").toEqual([]);
  });

  it("has no rows for routes or methods that do not exist", () => {
    const have = new Set(found.map((r) => `${r.method} ${r.route}`));
    const stale = Object.entries(ROUTES).flatMap(([route, methods]) => Object.keys(methods).filter((m) => !have.has(`${m} ${route}`)).map((m) => `${m} ${route}`));
    expect(stale).toEqual([]);
  });

  it("keeps every handler under /api/v1/admin admin-only", () => {
    const open = found.filter((r) => r.route.startsWith("api/v1/admin/") && r.access !== "admin").map((r) => `${r.method} ${r.route}`);
    expect(open).toEqual([]);
  });
});

describe("admin route handlers refuse callers who are not signed in", () => {
  const admin = () => found.filter((r) => r.access === "admin");

  it("without credentials: 401 JSON", async () => {
    for (const r of admin()) await expect401(await call(r), `${r.method} ${r.route}`);
  });

  it("with a session cookie past its lifetime, idle too long, signed out, or made up: 401", async () => {
    for (const r of admin()) {
      for (const [label, token] of [
        ["expired", creds.expiredSession],
        ["idle", creds.idleSession],
        ["signed out", creds.signedOutSession],
        ["made up", "not-a-session"],
      ] as const) {
        await expect401(await call(r, { ...cookie(token), origin: ORIGIN }), `${r.method} ${r.route} (${label} session)`);
      }
    }
  });

  it("with a revoked, an expired, a made-up or a malformed token: 401", async () => {
    for (const r of admin()) {
      for (const [label, headers] of [
        ["revoked", bearer(creds.revokedToken)],
        ["expired", bearer(creds.expiredToken)],
        ["made up", bearer("pcl_madeUpTokenmadeUpTokenmadeUpTokenmadeUpTok")],
        ["session token as Bearer", bearer(creds.liveSession)],
        ["malformed header", { authorization: `Basic ${Buffer.from("matrix-admin:x").toString("base64")}` }],
      ] as const) {
        await expect401(await call(r, headers), `${r.method} ${r.route} (${label} token)`);
      }
    }
  });

  it("a bad Bearer token is not rescued by a live session cookie", async () => {
    for (const r of admin()) await expect401(await call(r, { ...bearer(creds.revokedToken), ...cookie(creds.liveSession), origin: ORIGIN }), `${r.method} ${r.route}`);
  });

  it("the session cookie is not accepted as a token and the token not as the cookie", async () => {
    for (const r of admin()) await expect401(await call(r, { ...cookie(creds.liveToken), origin: ORIGIN }), `${r.method} ${r.route}`);
  });
});

describe("admin route handlers let administrators through", () => {
  it("with a live token, and no Origin header (a script, not a browser): neither 401 nor 403, and no 5xx", async () => {
    for (const r of found.filter((x) => x.access === "admin")) {
      const res = await call(r, bearer(creds.liveToken));
      const what = `${r.method} ${r.route} → ${res.status} ${res.status >= 400 ? await res.clone().text() : ""}`;
      expect([401, 403], what).not.toContain(res.status);
      expect(res.status, what).toBeLessThan(500);
    }
  });

  it("with a token even when a foreign Origin is sent (a token cannot be forged cross-site)", async () => {
    for (const r of found.filter((x) => x.access === "admin" && WRITES.has(x.method))) {
      const res = await call(r, { ...bearer(creds.liveToken), origin: "https://evil.example" });
      expect([401, 403], `${r.method} ${r.route}`).not.toContain(res.status);
    }
  });

  it("with a live session cookie, from this origin", async () => {
    for (const r of found.filter((x) => x.access === "admin")) {
      const headers = WRITES.has(r.method) ? { ...cookie(creds.liveSession), origin: ORIGIN } : { ...cookie(creds.liveSession), "sec-fetch-site": "same-origin" };
      const res = await call(r, headers);
      expect([401, 403], `${r.method} ${r.route} → ${res.status}`).not.toContain(res.status);
    }
  });
});

describe("CSRF: cookie-authenticated writes must come from this origin", () => {
  const writes = () => found.filter((r) => r.access === "admin" && WRITES.has(r.method));

  it("covers every admin write", () => {
    expect(writes().length).toBeGreaterThan(10);
  });

  for (const [label, headers] of [
    ["a foreign Origin", { origin: "https://evil.example" }],
    ["a look-alike Origin (same host name, other port)", { origin: "http://portcullis.test:8443" }],
    ["Origin: null (sandboxed frame, data: URL)", { origin: "null" }],
    ["no Origin and no Sec-Fetch-Site", {}],
    ["no Origin, Sec-Fetch-Site: cross-site", { "sec-fetch-site": "cross-site" }],
    ["no Origin, Sec-Fetch-Site: same-site (a sibling subdomain)", { "sec-fetch-site": "same-site" }],
  ] as const) {
    it(`refuses ${label} with 403`, async () => {
      for (const r of writes()) {
        const res = await call(r, { ...cookie(creds.liveSession), ...headers });
        const what = `${r.method} ${r.route}`;
        expect(res.status, what).toBe(403);
        expect((await res.json()).error.code, what).toBe("forbidden");
      }
    });
  }

  it("accepts Sec-Fetch-Site: same-origin when a browser sends no Origin", async () => {
    for (const r of writes()) {
      const res = await call(r, { ...cookie(creds.liveSession), "sec-fetch-site": "same-origin" });
      expect([401, 403], `${r.method} ${r.route}`).not.toContain(res.status);
    }
  });

  it("reads are authenticated by the cookie from anywhere (some, like a key bundle, still refuse other sites: 403)", async () => {
    for (const r of found.filter((x) => x.access === "admin" && !WRITES.has(x.method))) {
      const res = await call(r, { ...cookie(creds.liveSession), "sec-fetch-site": "cross-site" });
      expect(res.status, `${r.method} ${r.route}`).not.toBe(401);
    }
  });
});

describe("public route handlers", () => {
  it("answer without credentials (never 401), and never 5xx for sample input", async () => {
    for (const r of found.filter((x) => x.access === "public")) {
      const res = await call(r);
      const what = `${r.method} ${r.route} → ${res.status}`;
      expect(res.status, what).not.toBe(401);
      expect(res.status, what).toBeLessThan(500);
    }
  });
});
