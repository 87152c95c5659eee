import { beforeAll, beforeEach, describe, expect, it } from "vitest";
import { randomBytes, scryptSync } from "node:crypto";
import { getDb } from "../db/index.ts";
import { hashPassword } from "./password.ts";
import { sessionAdmin } from "./sessions.ts";
import { signIn, verifyCredentials } from "./sign-in.ts";
import { tokenHash } from "./tokens.ts";
import { expectAppError, insertAdmin, useFreshDatabase } from "./test-support.ts";

useFreshDatabase("sign-in");

const PW = "alice's long password";
const WRONG = "not alice's password";
const INCORRECT = "The user name or password is incorrect";
const T0 = new Date("2030-03-01T08:00:00.000Z");
const at = (seconds: number) => new Date(T0.getTime() + seconds * 1000);

let alice: { id: string; username: string };
let aliceHash: string;

beforeAll(() => {
  // Verification uses the parameters stored with the hash: a low-cost hash keeps the many
  // attempts below fast. (Unknown users still cost a full-strength dummy verification.)
  aliceHash = cheapHash(PW);
});

function cheapHash(password: string): string {
  const salt = randomBytes(16);
  const key = scryptSync(password.normalize("NFC"), salt, 32, { N: 1024, r: 8, p: 1 });
  return ["scrypt", 1024, 8, 1, salt.toString("base64"), key.toString("base64")].join("$");
}

beforeEach(async () => {
  const db = await getDb();
  await db.session.deleteMany();
  await db.loginThrottle.deleteMany();
  await db.admin.deleteMany();
  alice = await insertAdmin("alice", aliceHash);
});

async function throttleRows() {
  const db = await getDb();
  return db.loginThrottle.findMany({ orderBy: { key: "asc" }, select: { key: true, failures: true, lockedUntil: true } });
}

/** `n` failed attempts (wrong password) at `now`, each answered "unauthorized". */
async function fail(n: number, input: { username?: string; ip?: string } = {}, now = T0) {
  for (let i = 0; i < n; i++) {
    await expectAppError(verifyCredentials({ username: input.username ?? "alice", password: WRONG, ip: input.ip }, now), "unauthorized");
  }
}

describe("verifyCredentials", () => {
  it("returns the administrator for the right password and records the sign-in time", async () => {
    const r = await verifyCredentials({ username: "alice", password: PW, ip: "192.0.2.1" }, T0);
    expect(r).toEqual({ id: alice.id, username: "alice" });
    const db = await getDb();
    expect((await db.admin.findUniqueOrThrow({ where: { id: alice.id } })).lastLoginAt?.toISOString()).toBe(T0.toISOString());
    expect(await throttleRows()).toEqual([]);
  });

  it("accepts a full-strength hash from hashPassword", async () => {
    const db = await getDb();
    await db.admin.update({ where: { id: alice.id }, data: { passwordHash: await hashPassword(PW) } });
    expect(await verifyCredentials({ username: "alice", password: PW }, T0)).toEqual({ id: alice.id, username: "alice" });
    await expectAppError(verifyCredentials({ username: "alice", password: WRONG }, T0), "unauthorized");
  });

  it("trims the user name", async () => {
    expect(await verifyCredentials({ username: "  alice\t", password: PW }, T0)).toEqual({ id: alice.id, username: "alice" });
  });

  it("gives the same answer for a wrong password, an unknown user and an empty or overlong name", async () => {
    const attempts = [
      { username: "alice", password: WRONG },
      { username: "alice", password: "" },
      { username: "mallory", password: PW },
      { username: "ALICE", password: PW }, // user names are exact
      { username: "", password: PW },
      { username: "a".repeat(65), password: PW },
    ];
    const errors = [];
    for (const a of attempts) errors.push(await expectAppError(verifyCredentials(a, T0), "unauthorized"));
    for (const e of errors) {
      expect(e.message).toBe(INCORRECT);
      expect(e.status).toBe(401);
      expect(e.fields).toBeUndefined();
      expect(e.retryAfterSeconds).toBeUndefined();
    }
  });

  it("after 5 failures refuses even the right password with too_many_requests for 30 s, then lets it in", async () => {
    await fail(5);
    const e = await expectAppError(verifyCredentials({ username: "alice", password: PW }, T0), "too_many_requests");
    expect(e.retryAfterSeconds).toBe(30);
    expect(e.status).toBe(429);
    expect(e.message).toBe("Too many failed sign-ins. Try again in 30 seconds.");
    const later = await expectAppError(verifyCredentials({ username: "alice", password: PW }, at(29)), "too_many_requests");
    expect(later.retryAfterSeconds).toBe(1);
    // Refused attempts during the lock neither count nor extend it.
    expect(await throttleRows()).toEqual([{ key: "user:alice", failures: 5, lockedUntil: at(30) }]);

    expect(await verifyCredentials({ username: "alice", password: PW }, at(30))).toEqual({ id: alice.id, username: "alice" });
    expect(await throttleRows()).toEqual([]); // success clears the count
  });

  it("a wrong password once the lock has expired locks for 60 s", async () => {
    await fail(5);
    await fail(1, {}, at(30));
    const e = await expectAppError(verifyCredentials({ username: "alice", password: PW }, at(30)), "too_many_requests");
    expect(e.retryAfterSeconds).toBe(60);
    expect(await verifyCredentials({ username: "alice", password: PW }, at(90))).toEqual({ id: alice.id, username: "alice" });
  });

  it("a success resets the count: 4 failures, success, 4 failures is not locked", async () => {
    await fail(4);
    await verifyCredentials({ username: "alice", password: PW }, T0);
    await fail(4);
    expect(await verifyCredentials({ username: "alice", password: PW }, T0)).toEqual({ id: alice.id, username: "alice" });
  });

  it("locks an unknown user name the same way as a real one", async () => {
    await fail(5, { username: "mallory" });
    const e = await expectAppError(verifyCredentials({ username: "mallory", password: PW }, T0), "too_many_requests");
    expect(e.retryAfterSeconds).toBe(30);
  });

  it("counts failures per user name regardless of case and surrounding space", async () => {
    await fail(2, { username: "Alice" });
    await fail(2, { username: " ALICE " });
    await fail(1, { username: "alice" });
    expect(await throttleRows()).toEqual([{ key: "user:alice", failures: 5, lockedUntil: at(30) }]);
    await expectAppError(verifyCredentials({ username: "alice", password: PW }, T0), "too_many_requests");
  });

  it("locks a client address across user names, but not other addresses", async () => {
    const ip = "203.0.113.9";
    for (const name of ["u1", "u2", "u3", "alice", "u5"]) await fail(1, { username: name, ip });
    const e = await expectAppError(verifyCredentials({ username: "alice", password: PW, ip }, T0), "too_many_requests");
    expect(e.retryAfterSeconds).toBe(30);
    await expectAppError(verifyCredentials({ username: "bob", password: PW, ip }, T0), "too_many_requests");
    // alice herself has one failure only, so from another address she gets in.
    expect(await verifyCredentials({ username: "alice", password: PW, ip: "198.51.100.20" }, T0)).toEqual({ id: alice.id, username: "alice" });
    // ...which clears alice's and that address's counts, not the locked address.
    expect((await throttleRows()).map((r) => r.key)).toEqual(["ip:203.0.113.9", "user:u1", "user:u2", "user:u3", "user:u5"]);
    await expectAppError(verifyCredentials({ username: "alice", password: PW, ip }, at(29)), "too_many_requests");
    expect(await verifyCredentials({ username: "alice", password: PW, ip }, at(30))).toEqual({ id: alice.id, username: "alice" });
  });

  it("locks a user name across client addresses", async () => {
    for (let i = 1; i <= 5; i++) await fail(1, { ip: `192.0.2.${i}` });
    const e = await expectAppError(verifyCredentials({ username: "alice", password: PW, ip: "192.0.2.200" }, T0), "too_many_requests");
    expect(e.retryAfterSeconds).toBe(30);
  });

  it("concurrent wrong guesses cannot get past the 5 free failures", async () => {
    const results = await Promise.allSettled(Array.from({ length: 10 }, () => verifyCredentials({ username: "alice", password: WRONG }, T0)));
    const codes = results.map((r) => (r.status === "rejected" ? (r.reason as { code?: string }).code : "fulfilled"));
    expect(codes.filter((c) => c === "unauthorized")).toHaveLength(5);
    expect(codes.filter((c) => c === "too_many_requests")).toHaveLength(5);
    expect(await throttleRows()).toEqual([{ key: "user:alice", failures: 5, lockedUntil: at(30) }]);
  });
});

describe("signIn", () => {
  it("creates a session for the administrator and returns its token", async () => {
    const r = await signIn({ username: "alice", password: PW, ip: "192.0.2.44", userAgent: "TestAgent/1.0" }, T0);
    expect(r.admin).toEqual({ id: alice.id, username: "alice" });
    expect(r.token).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(r.expiresAt.toISOString()).toBe(at(12 * 3600).toISOString());
    const db = await getDb();
    const s = await db.session.findUniqueOrThrow({ where: { id: tokenHash(r.token) } });
    expect(s).toMatchObject({ adminId: alice.id, ip: "192.0.2.44", userAgent: "TestAgent/1.0" });
    expect(await sessionAdmin(db, r.token, at(60))).toEqual({ id: alice.id, username: "alice" });
  });

  it("creates a new session token on every sign-in (no fixation)", async () => {
    const a = await signIn({ username: "alice", password: PW }, T0);
    const b = await signIn({ username: "alice", password: PW }, T0);
    expect(b.token).not.toBe(a.token);
    const db = await getDb();
    expect(await db.session.count({ where: { adminId: alice.id } })).toBe(2);
    expect(await sessionAdmin(db, a.token, T0)).toEqual({ id: alice.id, username: "alice" });
    expect(await sessionAdmin(db, b.token, T0)).toEqual({ id: alice.id, username: "alice" });
  });

  it("creates no session when the credentials are wrong or the account is locked", async () => {
    await expectAppError(signIn({ username: "alice", password: WRONG }, T0), "unauthorized");
    await fail(4);
    await expectAppError(signIn({ username: "alice", password: PW }, T0), "too_many_requests");
    const db = await getDb();
    expect(await db.session.count()).toBe(0);
  });
});
