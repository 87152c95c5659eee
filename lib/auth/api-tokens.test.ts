import { beforeEach, describe, expect, it } from "vitest";
import { createHash } from "node:crypto";
import { getDb } from "../db/index.ts";
import { TOKEN_PREFIX, createApiToken, listApiTokens, revokeApiToken, tokenAdmin } from "./api-tokens.ts";
import { databaseBytes, expectAppError, insertAdmin, useFreshDatabase, wipeAuthTables } from "./test-support.ts";

useFreshDatabase("api-tokens");

const T0 = new Date("2030-07-01T10:00:00.000Z");
const DAY = 86400_000;
const later = (ms: number) => new Date(T0.getTime() + ms);
const sha256 = (s: string) => createHash("sha256").update(s).digest("hex");
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;

let alice: { id: string; username: string };
let bob: { id: string; username: string };

beforeEach(async () => {
  await wipeAuthTables();
  alice = await insertAdmin("alice");
  bob = await insertAdmin("bob");
});

describe("createApiToken", () => {
  it("returns a pcl_ token once and a view without secrets", async () => {
    const { token, view } = await createApiToken(alice.id, { name: "  backup script  " }, T0);
    expect(TOKEN_PREFIX).toBe("pcl_");
    expect(token).toMatch(/^pcl_[A-Za-z0-9_-]{43}$/);
    expect(view).toEqual({ id: expect.stringMatching(UUID), name: "backup script", prefix: token.slice(0, 10), createdAt: T0, lastUsedAt: null, expiresAt: null, revokedAt: null });
    expect(view).not.toHaveProperty("tokenHash");
    expect(view).not.toHaveProperty("adminId");
  });

  it("stores only the SHA-256 of the token", async () => {
    const { token, view } = await createApiToken(alice.id, { name: "ci" }, T0);
    const db = await getDb();
    const row = await db.apiToken.findUniqueOrThrow({ where: { id: view.id } });
    expect(row.tokenHash).toBe(sha256(token));
    expect(row.adminId).toBe(alice.id);
    expect(Object.values(row).map(String)).not.toContain(token);
    const bytes = databaseBytes();
    expect(bytes.includes(sha256(token)), "the scan sees the stored hash").toBe(true);
    expect(bytes.includes(token)).toBe(false);
  });

  it("sets the expiry from expiresInDays", async () => {
    const a = await createApiToken(alice.id, { name: "a", expiresInDays: 1 }, T0);
    const b = await createApiToken(alice.id, { name: "b", expiresInDays: 3650 }, T0);
    const c = await createApiToken(alice.id, { name: "c", expiresInDays: null }, T0);
    expect(a.view.expiresAt).toEqual(later(DAY));
    expect(b.view.expiresAt).toEqual(later(3650 * DAY));
    expect(c.view.expiresAt).toBeNull();
  });

  it("validates the name", async () => {
    for (const name of ["", "   ", "x".repeat(81), "two\nlines", "tab\there", "del\u007f"]) {
      const e = await expectAppError(createApiToken(alice.id, { name }, T0), "validation_failed");
      expect(e.field, JSON.stringify(name)).toBe("name");
      expect(e.message).toBe("Give the token a name of 1 to 80 characters");
    }
    const e = await expectAppError(createApiToken(alice.id, { name: undefined as unknown as string }, T0), "validation_failed");
    expect(e.field).toBe("name");
    expect((await createApiToken(alice.id, { name: "x".repeat(80) }, T0)).view.name).toBe("x".repeat(80));
    expect((await createApiToken(alice.id, { name: "Zertifikat-Ablauf für Gerät №7" }, T0)).view.name).toBe("Zertifikat-Ablauf für Gerät №7");
    const db = await getDb();
    expect(await db.apiToken.count()).toBe(2);
  });

  it("validates the expiry", async () => {
    for (const expiresInDays of [0, -1, 1.5, 3651, Number.NaN, Number.POSITIVE_INFINITY]) {
      const e = await expectAppError(createApiToken(alice.id, { name: "t", expiresInDays }, T0), "validation_failed");
      expect(e.field, String(expiresInDays)).toBe("expiresInDays");
    }
    const db = await getDb();
    expect(await db.apiToken.count()).toBe(0);
  });
});

describe("tokenAdmin", () => {
  it("returns the owner of a live token and records when it was used (at most once a minute)", async () => {
    const { token, view } = await createApiToken(alice.id, { name: "t" }, T0);
    const db = await getDb();
    expect(await tokenAdmin(db, token, later(1000))).toEqual({ id: alice.id, username: "alice" });
    const lastUsed = async () => (await db.apiToken.findUniqueOrThrow({ where: { id: view.id } })).lastUsedAt;
    expect(await lastUsed()).toEqual(later(1000));
    await tokenAdmin(db, token, later(31_000));
    expect(await lastUsed()).toEqual(later(1000));
    await tokenAdmin(db, token, later(62_000));
    expect(await lastUsed()).toEqual(later(62_000));
    expect((await listApiTokens(alice.id))[0].lastUsedAt).toEqual(later(62_000));
  });

  it("returns null for unknown, altered, unprefixed and overlong tokens", async () => {
    const { token } = await createApiToken(alice.id, { name: "t" }, T0);
    const db = await getDb();
    const body = token.slice(TOKEN_PREFIX.length);
    const altered = token.slice(0, -1) + (token.endsWith("A") ? "B" : "A");
    for (const t of ["", "pcl_", `pcl_${"A".repeat(43)}`, altered, body, `PCL_${body}`, sha256(token), `${token}${"x".repeat(100)}`]) {
      expect(await tokenAdmin(db, t, T0), t).toBeNull();
    }
    expect(await tokenAdmin(db, token, T0)).toEqual({ id: alice.id, username: "alice" });
  });

  it("returns null once the token is revoked", async () => {
    const { token, view } = await createApiToken(alice.id, { name: "t" }, T0);
    const db = await getDb();
    await revokeApiToken(alice.id, view.id, later(5000));
    expect(await tokenAdmin(db, token, later(6000))).toBeNull();
    expect((await listApiTokens(alice.id))[0].revokedAt).toEqual(later(5000));
  });

  it("returns null once the token has expired", async () => {
    const { token } = await createApiToken(alice.id, { name: "t", expiresInDays: 1 }, T0);
    const db = await getDb();
    expect(await tokenAdmin(db, token, later(DAY - 1))).toEqual({ id: alice.id, username: "alice" });
    expect(await tokenAdmin(db, token, later(DAY))).toBeNull();
    expect(await tokenAdmin(db, token, later(30 * DAY))).toBeNull();
  });

  it("returns null when the owner has been deleted", async () => {
    const { token } = await createApiToken(alice.id, { name: "t" }, T0);
    const db = await getDb();
    await db.admin.delete({ where: { id: alice.id } });
    expect(await tokenAdmin(db, token, T0)).toBeNull();
  });
});

describe("revokeApiToken", () => {
  it("refuses another administrator's token with not_found and leaves it working", async () => {
    const { token, view } = await createApiToken(alice.id, { name: "t" }, T0);
    const e = await expectAppError(revokeApiToken(bob.id, view.id, T0), "not_found");
    expect(e.message).toBe("No such token");
    expect(e.status).toBe(404);
    const db = await getDb();
    expect(await tokenAdmin(db, token, T0)).toEqual({ id: alice.id, username: "alice" });
    expect((await listApiTokens(alice.id))[0].revokedAt).toBeNull();
  });

  it("refuses an unknown id with not_found", async () => {
    await expectAppError(revokeApiToken(alice.id, "00000000-0000-4000-8000-000000000000", T0), "not_found");
  });

  it("is idempotent and keeps the first revocation time", async () => {
    const { view } = await createApiToken(alice.id, { name: "t" }, T0);
    await revokeApiToken(alice.id, view.id, later(1000));
    await revokeApiToken(alice.id, view.id, later(2000));
    expect((await listApiTokens(alice.id))[0].revokedAt).toEqual(later(1000));
  });

  it("revokes only the token named", async () => {
    const a = await createApiToken(alice.id, { name: "a" }, T0);
    const b = await createApiToken(alice.id, { name: "b" }, T0);
    await revokeApiToken(alice.id, a.view.id, T0);
    const db = await getDb();
    expect(await tokenAdmin(db, a.token, T0)).toBeNull();
    expect(await tokenAdmin(db, b.token, T0)).toEqual({ id: alice.id, username: "alice" });
  });
});

describe("listApiTokens", () => {
  it("lists the administrator's own tokens, newest first, without hashes", async () => {
    await createApiToken(alice.id, { name: "old" }, T0);
    await createApiToken(bob.id, { name: "bob's" }, later(1000));
    await createApiToken(alice.id, { name: "new" }, later(2000));
    const list = await listApiTokens(alice.id);
    expect(list.map((t) => t.name)).toEqual(["new", "old"]);
    for (const t of list) {
      expect(t).not.toHaveProperty("tokenHash");
      expect(t).not.toHaveProperty("adminId");
    }
    expect((await listApiTokens(bob.id)).map((t) => t.name)).toEqual(["bob's"]);
  });
});
