import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { createHash } from "node:crypto";
import { resetEnvCache } from "../env.ts";
import { getDb } from "../db/index.ts";
import { IDLE_MINUTES, SESSION_COOKIE, createSession, deleteSession, sessionAdmin } from "./sessions.ts";
import { databaseBytes, insertAdmin, useFreshDatabase, wipeAuthTables } from "./test-support.ts";

useFreshDatabase("sessions");

const T0 = new Date("2030-05-01T09:00:00.000Z");
const min = (m: number) => new Date(T0.getTime() + m * 60_000);
const sha256 = (s: string) => createHash("sha256").update(s).digest("hex");

let alice: { id: string; username: string };

beforeEach(async () => {
  await wipeAuthTables();
  alice = await insertAdmin("alice");
});

afterEach(() => {
  delete process.env.PORTCULLIS_SESSION_HOURS;
  resetEnvCache();
});

async function sessionRow(token: string) {
  const db = await getDb();
  return db.session.findUnique({ where: { id: sha256(token) } });
}

describe("createSession", () => {
  it("returns a random token whose SHA-256 is the row id, with a 12 h lifetime by default", async () => {
    const db = await getDb();
    const { token, expiresAt } = await createSession(db, alice.id, { userAgent: "Firefox", ip: "192.0.2.5" }, T0);
    expect(SESSION_COOKIE).toBe("portcullis_session");
    expect(token).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(expiresAt.toISOString()).toBe(min(12 * 60).toISOString());
    const rows = await db.session.findMany();
    expect(rows).toHaveLength(1);
    expect(rows[0]).toEqual({ id: sha256(token), adminId: alice.id, createdAt: T0, lastSeenAt: T0, expiresAt, userAgent: "Firefox", ip: "192.0.2.5" });
  });

  it("does not store the token itself anywhere in the database", async () => {
    const db = await getDb();
    const { token } = await createSession(db, alice.id, {}, T0);
    const row = await sessionRow(token);
    expect(Object.values(row!).map(String)).not.toContain(token);
    const bytes = databaseBytes();
    expect(bytes.includes(sha256(token)), "the scan sees the stored hash").toBe(true);
    expect(bytes.includes(token)).toBe(false);
  });

  it("truncates a long user agent and address and stores null when absent", async () => {
    const db = await getDb();
    const a = await createSession(db, alice.id, { userAgent: "u".repeat(1000), ip: "1".repeat(100) }, T0);
    const b = await createSession(db, alice.id, {}, T0);
    expect((await sessionRow(a.token))?.userAgent).toBe("u".repeat(256));
    expect((await sessionRow(a.token))?.ip).toBe("1".repeat(64));
    expect(await sessionRow(b.token)).toMatchObject({ userAgent: null, ip: null });
  });

  it("takes its lifetime from PORTCULLIS_SESSION_HOURS", async () => {
    process.env.PORTCULLIS_SESSION_HOURS = "2";
    resetEnvCache();
    const db = await getDb();
    const { expiresAt } = await createSession(db, alice.id, {}, T0);
    expect(expiresAt.toISOString()).toBe(min(120).toISOString());
  });

  it("gives every session a different token", async () => {
    const db = await getDb();
    const tokens = await Promise.all(Array.from({ length: 5 }, () => createSession(db, alice.id, {}, T0).then((s) => s.token)));
    expect(new Set(tokens).size).toBe(5);
    expect(await db.session.count()).toBe(5);
  });
});

describe("sessionAdmin", () => {
  it("returns the administrator (id and name only) of a live session", async () => {
    const db = await getDb();
    const { token } = await createSession(db, alice.id, {}, T0);
    expect(await sessionAdmin(db, token, T0)).toEqual({ id: alice.id, username: "alice" });
    expect(await sessionAdmin(db, token, min(30))).toEqual({ id: alice.id, username: "alice" });
  });

  it("returns null for missing, unknown, altered and overlong tokens", async () => {
    const db = await getDb();
    const { token } = await createSession(db, alice.id, {}, T0);
    const altered = (token[0] === "A" ? "B" : "A") + token.slice(1);
    for (const t of [undefined, null, "", "nonsense", altered, token.slice(0, -1), `${token}x`, sha256(token), "a".repeat(129)]) {
      expect(await sessionAdmin(db, t, T0), String(t)).toBeNull();
    }
    // The real one still works (nothing above deleted it).
    expect(await sessionAdmin(db, token, T0)).toEqual({ id: alice.id, username: "alice" });
  });

  it("refuses after 60 idle minutes and deletes the row", async () => {
    expect(IDLE_MINUTES).toBe(60);
    const db = await getDb();
    const { token } = await createSession(db, alice.id, {}, T0);
    const justBefore = new Date(min(60).getTime() - 1);
    const other = await createSession(db, alice.id, {}, T0);
    expect(await sessionAdmin(db, other.token, justBefore)).toEqual({ id: alice.id, username: "alice" });
    expect(await sessionAdmin(db, token, min(60))).toBeNull();
    expect(await sessionRow(token)).toBeNull();
    // Once refused it stays refused, whatever time is claimed later.
    expect(await sessionAdmin(db, token, T0)).toBeNull();
  });

  it("refreshes the idle timer on use, writing at most once a minute", async () => {
    const db = await getDb();
    const { token } = await createSession(db, alice.id, {}, T0);
    await sessionAdmin(db, token, new Date(T0.getTime() + 30_000));
    expect((await sessionRow(token))?.lastSeenAt).toEqual(T0); // within the minute: not written
    await sessionAdmin(db, token, min(50));
    expect((await sessionRow(token))?.lastSeenAt).toEqual(min(50));
    // 100 minutes after creation, but only 50 after the last use: still live.
    expect(await sessionAdmin(db, token, min(100))).toEqual({ id: alice.id, username: "alice" });
    expect(await sessionAdmin(db, token, min(160))).toBeNull(); // 60 idle minutes after 100
  });

  it("refuses at the absolute expiry even when kept busy, and deletes the row", async () => {
    const db = await getDb();
    const { token, expiresAt } = await createSession(db, alice.id, {}, T0);
    for (let m = 45; m < 12 * 60; m += 45) expect(await sessionAdmin(db, token, min(m)), `minute ${m}`).not.toBeNull();
    expect(await sessionAdmin(db, token, new Date(expiresAt.getTime() - 1))).toEqual({ id: alice.id, username: "alice" });
    expect(await sessionAdmin(db, token, expiresAt)).toBeNull();
    expect(await sessionRow(token)).toBeNull();
    expect(await db.session.count()).toBe(0);
  });

  it("ends when the administrator is deleted", async () => {
    const db = await getDb();
    const { token } = await createSession(db, alice.id, {}, T0);
    await db.admin.delete({ where: { id: alice.id } });
    expect(await sessionAdmin(db, token, T0)).toBeNull();
    expect(await db.session.count()).toBe(0);
  });
});

describe("deleteSession", () => {
  it("makes the token useless and leaves the administrator's other sessions alone", async () => {
    const db = await getDb();
    const a = await createSession(db, alice.id, {}, T0);
    const b = await createSession(db, alice.id, {}, T0);
    await deleteSession(db, a.token);
    expect(await sessionRow(a.token)).toBeNull();
    expect(await sessionAdmin(db, a.token, T0)).toBeNull();
    expect(await sessionAdmin(db, b.token, T0)).toEqual({ id: alice.id, username: "alice" });
  });

  it("does nothing for a missing or unknown token", async () => {
    const db = await getDb();
    const a = await createSession(db, alice.id, {}, T0);
    await deleteSession(db, undefined);
    await deleteSession(db, null);
    await deleteSession(db, "");
    await deleteSession(db, "not a session");
    expect(await db.session.count()).toBe(1);
    await deleteSession(db, a.token);
    await deleteSession(db, a.token); // twice is fine
    expect(await db.session.count()).toBe(0);
  });
});
