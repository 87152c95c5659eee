import { describe, expect, it } from "vitest";
import { newToken, tokenHash } from "./tokens.ts";

describe("newToken", () => {
  it("is 32 random bytes in base64url (43 characters), without a prefix by default", () => {
    const t = newToken();
    expect(t).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(Buffer.from(t, "base64url")).toHaveLength(32);
  });

  it("puts the prefix in front", () => {
    const t = newToken("pcl_");
    expect(t).toMatch(/^pcl_[A-Za-z0-9_-]{43}$/);
  });

  it("never repeats", () => {
    const seen = new Set(Array.from({ length: 1000 }, () => newToken()));
    expect(seen.size).toBe(1000);
  });
});

describe("tokenHash", () => {
  it("is the lower-case hex SHA-256 of the token", () => {
    expect(tokenHash("abc")).toBe("ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
    expect(tokenHash("")).toBe("e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  });

  it("is deterministic and differs between tokens", () => {
    const t = newToken();
    expect(tokenHash(t)).toBe(tokenHash(t));
    expect(tokenHash(t)).toMatch(/^[0-9a-f]{64}$/);
    expect(tokenHash(t)).not.toBe(tokenHash(newToken()));
    expect(tokenHash(t)).not.toContain(t);
  });
});
