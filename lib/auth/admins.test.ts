import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { resetEnvCache } from "../env.ts";
import { getDb } from "../db/index.ts";
import { AppError } from "../errors/app-error.ts";
import { USERNAME_PATTERN, adminCount, createFirstAdmin, ensureAdminFromEnv } from "./admins.ts";
import { verifyPassword } from "./password.ts";
import { verifyCredentials } from "./sign-in.ts";
import { expectAppError, useFreshDatabase, wipeAuthTables } from "./test-support.ts";

useFreshDatabase("admins");
beforeEach(wipeAuthTables);

const PW = "a fine long password";
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;

function setAdminEnv(user: string | undefined, password: string | undefined) {
  if (user === undefined) delete process.env.PORTCULLIS_ADMIN_USER;
  else process.env.PORTCULLIS_ADMIN_USER = user;
  if (password === undefined) delete process.env.PORTCULLIS_ADMIN_PASSWORD;
  else process.env.PORTCULLIS_ADMIN_PASSWORD = password;
  resetEnvCache();
}

afterEach(() => setAdminEnv(undefined, undefined));

describe("createFirstAdmin: validation", () => {
  it("checks the user name pattern", async () => {
    for (const username of ["", "   ", "has space", "semi;colon", "slash/", "ümlaut", "x".repeat(65)]) {
      const e = await expectAppError(createFirstAdmin({ username, password: PW, passwordConfirm: PW }), "validation_failed");
      expect(e.fields, JSON.stringify(username)).toEqual({ username: "Use 1 to 64 letters, digits, '.', '_', '@' or '-'" });
    }
    expect(USERNAME_PATTERN.test("x".repeat(64))).toBe(true);
    expect(USERNAME_PATTERN.test("ops.admin_1@example-corp")).toBe(true);
    expect(await adminCount()).toBe(0);
  });

  it("checks the password rules", async () => {
    const short = await expectAppError(createFirstAdmin({ username: "root", password: "short", passwordConfirm: "short" }), "validation_failed");
    expect(short.fields).toEqual({ password: "Use at least 10 characters" });
    expect(short.message).toBe("Use at least 10 characters");
    const same = await expectAppError(createFirstAdmin({ username: "administrator", password: "Administrator" }), "validation_failed");
    expect(same.fields).toEqual({ password: "The password must differ from the user name" });
    expect(await adminCount()).toBe(0);
  });

  it("checks the confirmation", async () => {
    const e = await expectAppError(createFirstAdmin({ username: "root", password: PW, passwordConfirm: `${PW}!` }), "validation_failed");
    expect(e.fields).toEqual({ passwordConfirm: "The passwords do not match" });
    expect(e.status).toBe(422);
    expect(await adminCount()).toBe(0);
  });

  it("reports every problem at once", async () => {
    const e = await expectAppError(createFirstAdmin({ username: "bad name", password: "short", passwordConfirm: "other" }), "validation_failed");
    expect(Object.keys(e.fields ?? {}).sort()).toEqual(["password", "passwordConfirm", "username"]);
    expect(e.message).toMatch(/^3 fields need attention: /);
    expect(await adminCount()).toBe(0);
  });
});

describe("createFirstAdmin", () => {
  it("creates the administrator with a trimmed name and a scrypt hash of the password", async () => {
    expect(await adminCount()).toBe(0);
    const r = await createFirstAdmin({ username: "  root  ", password: PW, passwordConfirm: PW });
    expect(r).toEqual({ id: expect.stringMatching(UUID), username: "root" });
    expect(await adminCount()).toBe(1);
    const db = await getDb();
    const row = await db.admin.findUniqueOrThrow({ where: { id: r.id } });
    expect(row.username).toBe("root");
    expect(row.passwordHash).toMatch(/^scrypt\$32768\$8\$1\$/);
    expect(row.passwordHash).not.toContain(PW);
    expect(await verifyPassword(PW, row.passwordHash)).toBe(true);
    expect(await verifyCredentials({ username: "root", password: PW })).toEqual({ id: r.id, username: "root" });
  });

  it("refuses a second administrator with conflict", async () => {
    await createFirstAdmin({ username: "root", password: PW });
    const e = await expectAppError(createFirstAdmin({ username: "intruder", password: "intruder password" }), "conflict");
    expect(e.message).toBe("An administrator already exists; sign in instead");
    expect(e.status).toBe(409);
    const db = await getDb();
    expect((await db.admin.findMany()).map((a) => a.username)).toEqual(["root"]);
  });

  it("creates exactly one administrator when called concurrently", async () => {
    const names = ["first", "second", "third", "fourth"];
    const results = await Promise.allSettled(names.map((username) => createFirstAdmin({ username, password: PW, passwordConfirm: PW })));
    const ok = results.filter((r) => r.status === "fulfilled");
    const failed = results.filter((r): r is PromiseRejectedResult => r.status === "rejected");
    expect(ok).toHaveLength(1);
    expect(failed.map((r) => (r.reason as AppError).code)).toEqual(["conflict", "conflict", "conflict"]);
    const db = await getDb();
    const admins = await db.admin.findMany();
    expect(admins).toHaveLength(1);
    expect(admins[0].username).toBe((ok[0] as PromiseFulfilledResult<{ username: string }>).value.username);
  });
});

describe("ensureAdminFromEnv", () => {
  it("does nothing unless both variables are set", async () => {
    setAdminEnv(undefined, undefined);
    expect(await ensureAdminFromEnv()).toBe("not-set");
    setAdminEnv("root", undefined);
    expect(await ensureAdminFromEnv()).toBe("not-set");
    setAdminEnv(undefined, PW);
    expect(await ensureAdminFromEnv()).toBe("not-set");
    setAdminEnv("root", "");
    expect(await ensureAdminFromEnv()).toBe("not-set");
    expect(await adminCount()).toBe(0);
  });

  it("creates the administrator once, then reports that one exists", async () => {
    setAdminEnv("envadmin", PW);
    expect(await ensureAdminFromEnv()).toBe("created");
    expect(await ensureAdminFromEnv()).toBe("exists");
    expect(await adminCount()).toBe(1);
    const admin = await verifyCredentials({ username: "envadmin", password: PW });
    expect(admin.username).toBe("envadmin");
    // A different name/password in the environment later does not add or change anyone.
    setAdminEnv("other", "another long password");
    expect(await ensureAdminFromEnv()).toBe("exists");
    const db = await getDb();
    expect((await db.admin.findMany()).map((a) => a.username)).toEqual(["envadmin"]);
  });

  it("reports 'exists' when an administrator was created another way", async () => {
    await createFirstAdmin({ username: "root", password: PW });
    setAdminEnv("envadmin", PW);
    expect(await ensureAdminFromEnv()).toBe("exists");
    expect(await adminCount()).toBe(1);
  });

  it("creates one administrator when two starts race", async () => {
    setAdminEnv("envadmin", PW);
    const r = await Promise.all([ensureAdminFromEnv(), ensureAdminFromEnv()]);
    expect(r.sort()).toEqual(["created", "exists"]);
    expect(await adminCount()).toBe(1);
  });

  it("rejects a too-short password with a plain Error naming the variables", async () => {
    setAdminEnv("envadmin", "short");
    const e = await ensureAdminFromEnv().then(
      () => null,
      (x: unknown) => x,
    );
    expect(e).toBeInstanceOf(Error);
    expect(e).not.toBeInstanceOf(AppError);
    expect((e as Error).message).toBe("PORTCULLIS_ADMIN_USER/PORTCULLIS_ADMIN_PASSWORD rejected: Use at least 10 characters");
    expect(await adminCount()).toBe(0);
  });

  it("rejects an invalid user name the same way", async () => {
    setAdminEnv("not a valid name", PW);
    await expect(ensureAdminFromEnv()).rejects.toThrow("PORTCULLIS_ADMIN_USER/PORTCULLIS_ADMIN_PASSWORD rejected: Use 1 to 64 letters, digits, '.', '_', '@' or '-'");
    expect(await adminCount()).toBe(0);
  });
});
