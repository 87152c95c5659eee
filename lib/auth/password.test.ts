import { beforeAll, describe, expect, it } from "vitest";
import { scryptSync } from "node:crypto";
import { AppError } from "../errors/app-error.ts";
import { MIN_PASSWORD_LENGTH, assertPasswordRules, dummyHash, hashPassword, passwordProblem, verifyPassword } from "./password.ts";

const PW = "correct horse battery";
const HASH_FORMAT = /^scrypt\$32768\$8\$1\$([A-Za-z0-9+/]{22}==)\$([A-Za-z0-9+/]{43}=)$/;

/** Replaces one field of a `scrypt$N$r$p$salt$hash` string. */
function withField(stored: string, index: number, value: string): string {
  const parts = stored.split("$");
  parts[index] = value;
  return parts.join("$");
}

/** Flips one base64 character in the middle of a field, keeping the decoded length. */
function flipChar(b64: string): string {
  const i = 5;
  return b64.slice(0, i) + (b64[i] === "A" ? "B" : "A") + b64.slice(i + 1);
}

describe("hashPassword / verifyPassword", () => {
  let h1: string;
  let h2: string;
  beforeAll(async () => {
    [h1, h2] = await Promise.all([hashPassword(PW), hashPassword(PW)]);
  });

  it("writes scrypt$N$r$p$salt$hash with N=2^15, r=8, p=1, a 16-byte salt and a 32-byte key", () => {
    const m = HASH_FORMAT.exec(h1);
    expect(m, h1).not.toBeNull();
    expect(Buffer.from(m![1], "base64")).toHaveLength(16);
    expect(Buffer.from(m![2], "base64")).toHaveLength(32);
    expect(h1).not.toContain(PW);
  });

  it("is really scrypt: an independent scryptSync over the stored salt gives the stored key", () => {
    const [, n, r, p, salt, hash] = h1.split("$");
    const key = scryptSync(PW, Buffer.from(salt, "base64"), 32, { N: Number(n), r: Number(r), p: Number(p), maxmem: 64 * 1024 * 1024 });
    expect(key.toString("base64")).toBe(hash);
  });

  it("salts each hash: the same password twice gives different salts and keys", () => {
    expect(h2).toMatch(HASH_FORMAT);
    expect(h1.split("$")[4]).not.toBe(h2.split("$")[4]);
    expect(h1.split("$")[5]).not.toBe(h2.split("$")[5]);
    expect(h1).not.toBe(h2);
  });

  it("verifies the right password against either hash", async () => {
    expect(await verifyPassword(PW, h1)).toBe(true);
    expect(await verifyPassword(PW, h2)).toBe(true);
  });

  it("refuses wrong passwords: another word, other case, a prefix, extra space, empty", async () => {
    const results = await Promise.all(["wrong password 1", PW.toUpperCase(), PW.slice(0, -1), `${PW} `, ""].map((p) => verifyPassword(p, h1)));
    expect(results).toEqual([false, false, false, false, false]);
  });

  it("refuses when the stored key or salt was tampered with", async () => {
    const [, , , , salt, hash] = h1.split("$");
    const tamperedHash = withField(h1, 5, flipChar(hash));
    const tamperedSalt = withField(h1, 4, flipChar(salt));
    expect(tamperedHash).not.toBe(h1);
    expect(tamperedSalt).not.toBe(h1);
    expect(await verifyPassword(PW, tamperedHash)).toBe(false);
    expect(await verifyPassword(PW, tamperedSalt)).toBe(false);
    // Someone else's valid hash does not verify this password either.
    const other = await hashPassword("another password 2");
    expect(await verifyPassword(PW, withField(h1, 5, other.split("$")[5]))).toBe(false);
  });

  it("refuses when the cost parameters were changed (a valid but different N)", async () => {
    expect(await verifyPassword(PW, withField(h1, 1, String(1 << 14)))).toBe(false);
  });

  it("returns false, without throwing, for stored values that are not scrypt hashes", async () => {
    const bad = [
      "",
      "plain text password",
      PW,
      h1.replace(/^scrypt/, "bcrypt"),
      h1.split("$").slice(0, 5).join("$"), // no key
      withField(h1, 4, ""), // empty salt
      withField(h1, 5, ""), // empty key
      withField(h1, 5, "===="), // key that decodes to nothing (once verified every password)
      withField(h1, 5, "AA=="), // one-byte key: 1 in 256 passwords would match
      withField(h1, 5, h1.split("$")[5].slice(0, 12)), // key truncated to 9 bytes
      withField(h1, 4, "AAAA"), // three-byte salt
      `${h1}$extra`, // seven fields
      withField(h1, 1, "abc"), // N not a number
      withField(h1, 1, "1000"), // N not a power of two
      withField(h1, 2, "0"), // r = 0
      withField(h1, 1, String(2 ** 40)), // absurd memory demand
    ];
    for (const stored of bad) {
      await expect(verifyPassword(PW, stored), stored).resolves.toBe(false);
    }
  });

  it("normalises to NFC: a composed é and a decomposed e + U+0301 are the same password", async () => {
    const composed = "caf\u00e9 au lait!";
    const decomposed = "cafe\u0301 au lait!";
    expect(composed).not.toBe(decomposed);
    expect(composed.normalize("NFC")).toBe(decomposed.normalize("NFC"));
    const [fromComposed, fromDecomposed] = await Promise.all([hashPassword(composed), hashPassword(decomposed)]);
    const r = await Promise.all([
      verifyPassword(decomposed, fromComposed),
      verifyPassword(composed, fromDecomposed),
      verifyPassword(composed, fromComposed),
      verifyPassword("cafe au lait!", fromComposed),
    ]);
    expect(r).toEqual([true, true, true, false]);
    // The key is the scrypt of the NFC form.
    const [, , , , salt, hash] = fromDecomposed.split("$");
    const key = scryptSync(composed, Buffer.from(salt, "base64"), 32, { N: 1 << 15, r: 8, p: 1, maxmem: 64 * 1024 * 1024 });
    expect(key.toString("base64")).toBe(hash);
  });
});

describe("dummyHash", () => {
  it("is one well-formed scrypt hash, computed once", async () => {
    const a = await dummyHash();
    const b = await dummyHash();
    expect(a).toMatch(HASH_FORMAT);
    expect(b).toBe(a);
    expect(dummyHash()).toBe(dummyHash());
    expect(await verifyPassword("", a)).toBe(false);
  });
});

describe("passwordProblem", () => {
  it("requires at least 10 characters", () => {
    expect(MIN_PASSWORD_LENGTH).toBe(10);
    expect(passwordProblem("")).toBe("Use at least 10 characters");
    expect(passwordProblem("123456789")).toBe("Use at least 10 characters");
    expect(passwordProblem("1234567890")).toBeNull();
  });

  it("allows at most 1024 characters", () => {
    expect(passwordProblem("x".repeat(1024))).toBeNull();
    expect(passwordProblem("x".repeat(1025))).toBe("Use at most 1024 characters");
  });

  it("refuses the user name as password, ignoring case", () => {
    expect(passwordProblem("administrator", "administrator")).toBe("The password must differ from the user name");
    expect(passwordProblem("AdministraTOR", "administrator")).toBe("The password must differ from the user name");
    expect(passwordProblem("administrator1", "administrator")).toBeNull();
    expect(passwordProblem("administrator")).toBeNull();
    expect(passwordProblem("administrator", "")).toBeNull();
  });

  it("counts characters as they are hashed (NFC code points), not UTF-16 units", () => {
    // Five accented letters typed as e + combining accent: ten UTF-16 units, five characters.
    expect(passwordProblem("e\u0301".repeat(5))).toBe("Use at least 10 characters");
    expect(passwordProblem("\u00e9".repeat(9))).toBe("Use at least 10 characters");
    expect(passwordProblem("\u00e9".repeat(10))).toBeNull();
    // Astral characters (two UTF-16 units each) count once.
    expect(passwordProblem("\u{1F511}".repeat(5))).toBe("Use at least 10 characters");
    expect(passwordProblem("\u{1F511}".repeat(10))).toBeNull();
  });
});

describe("assertPasswordRules", () => {
  it("throws a validation_failed AppError tied to the field", () => {
    let e: unknown;
    try {
      assertPasswordRules("short", "newPassword");
    } catch (x) {
      e = x;
    }
    expect(e).toBeInstanceOf(AppError);
    expect((e as AppError).code).toBe("validation_failed");
    expect((e as AppError).status).toBe(422);
    expect((e as AppError).field).toBe("newPassword");
    expect((e as AppError).fields).toEqual({ newPassword: "Use at least 10 characters" });
  });

  it("defaults the field to 'password', checks the user name, and passes good passwords", () => {
    expect(() => assertPasswordRules("operator-01", "password", "Operator-01")).toThrow("The password must differ from the user name");
    try {
      assertPasswordRules("tiny");
    } catch (e) {
      expect((e as AppError).field).toBe("password");
    }
    expect(() => assertPasswordRules("long enough password")).not.toThrow();
  });
});
