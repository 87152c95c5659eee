import { describe, expect, it } from "vitest";
import { bmpPassword, PKCS12_KDF_ID, pkcs12Kdf, type Pkcs12Digest } from "./pkcs12-kdf.ts";
import { openssl } from "../pki/test-support.ts";

/** OpenSSL's PKCS12KDF (the one `openssl pkcs12` uses), given the BMP password bytes. */
function opensslKdf(o: { password: Buffer; salt: Buffer; id: number; iterations: number; length: number; digest: Pkcs12Digest }): string {
  const args = ["kdf", "-keylen", String(o.length), "-kdfopt", `digest:${o.digest.toUpperCase()}`, "-kdfopt", `hexsalt:${o.salt.toString("hex")}`, "-kdfopt", `iter:${o.iterations}`, "-kdfopt", `id:${o.id}`];
  if (o.password.length) args.push("-kdfopt", `hexpass:${o.password.toString("hex")}`);
  const r = openssl([...args, "PKCS12KDF"]);
  if (r.status !== 0) throw new Error(r.stderr);
  return r.stdout.trim().replace(/:/g, "").toLowerCase();
}

describe("pkcs12Kdf (RFC 7292 B.2), judged by OpenSSL's PKCS12KDF", () => {
  const cases: { password: string; salt: string; id: number; iterations: number; length: number; digest: Pkcs12Digest }[] = [
    { password: "secret", salt: "0102030405060708", id: PKCS12_KDF_ID.key, iterations: 1, length: 24, digest: "sha1" },
    { password: "secret", salt: "0102030405060708", id: PKCS12_KDF_ID.key, iterations: 2048, length: 24, digest: "sha1" },
    { password: "secret", salt: "0102030405060708", id: PKCS12_KDF_ID.iv, iterations: 2048, length: 8, digest: "sha1" },
    { password: "secret", salt: "0102030405060708", id: PKCS12_KDF_ID.mac, iterations: 2048, length: 20, digest: "sha1" },
    { password: "correct horse battery", salt: "00112233445566778899aabbccddeeff", id: PKCS12_KDF_ID.mac, iterations: 10_000, length: 32, digest: "sha256" },
    // Longer than one block of output and of input (v = 64): the I_j carry runs over several blocks.
    { password: "p".repeat(70), salt: "ff".repeat(70), id: PKCS12_KDF_ID.key, iterations: 5, length: 100, digest: "sha256" },
    { password: "pässwörd €", salt: "a1a2a3a4a5a6a7a8", id: PKCS12_KDF_ID.key, iterations: 3, length: 40, digest: "sha1" },
  ];
  for (const c of cases) {
    it(`${c.digest}, id ${c.id}, ${c.iterations} iterations, ${c.length} bytes, password of ${c.password.length} characters`, async () => {
      const password = bmpPassword(c.password);
      const salt = Buffer.from(c.salt, "hex");
      const ours = await pkcs12Kdf({ password, salt, id: c.id, iterations: c.iterations, length: c.length, digest: c.digest });
      expect(ours.length).toBe(c.length);
      expect(ours.toString("hex")).toBe(opensslKdf({ ...c, password, salt }));
    });
  }

  it("BMP passwords: UTF-16 big-endian with a two-byte terminator", () => {
    expect(bmpPassword("ab").toString("hex")).toBe("006100620000");
    expect(bmpPassword("").toString("hex")).toBe("0000");
    expect(bmpPassword("€").toString("hex")).toBe("20ac0000");
  });

  it("refuses a non-positive iteration count", async () => {
    await expect(pkcs12Kdf({ password: bmpPassword("x"), salt: Buffer.alloc(8), id: 1, iterations: 0, length: 8, digest: "sha1" })).rejects.toThrow(RangeError);
  });
});
