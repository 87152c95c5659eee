import { createPrivateKey, generateKeyPairSync, type KeyObject } from "node:crypto";
import { readFileSync } from "node:fs";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { AppError } from "../errors/app-error.ts";
import { appError } from "../test-support/app-error.ts";
import { generateKeyPair, importSigningKey, spkiDer } from "./keys.ts";
import { derToPem, pemToDer } from "./pem.ts";
import { decryptPrivateKey, encryptPrivateKey, isEncryptedPrivateKeyPem, unencryptedPkcs8Pem } from "./pkcs8.ts";
import { openssl, opensslBytes, opensslOk, scratchDir } from "./test-support.ts";

const tmp = scratchDir("pkcs8");
const PW = "correct horse battery staple";
let ec: KeyObject;
let rsa: KeyObject;
let ecPem: string;
let rsaPem: string;

beforeAll(async () => {
  [ec, rsa] = await Promise.all([generateKeyPair("ecdsa-p256"), generateKeyPair("rsa-2048")]).then((p) => p.map((k) => k.privateKey));
  [ecPem, rsaPem] = await Promise.all([encryptPrivateKey(ec, PW), encryptPrivateKey(rsa, PW)]);
});
afterAll(() => tmp.remove());

/** SPKI DER of the key OpenSSL reads from `file` with `password`. */
function opensslPublicKey(file: string, password: string): Buffer {
  return opensslBytes(["pkey", "-in", file, "-passin", `pass:${password}`, "-pubout", "-outform", "DER"]);
}

describe("encryptPrivateKey", () => {
  it("writes an ENCRYPTED PRIVATE KEY that OpenSSL decrypts with the password, to the same key", () => {
    expect(ecPem).toMatch(/^-----BEGIN ENCRYPTED PRIVATE KEY-----\n([A-Za-z0-9+/=]{64}\n)*[A-Za-z0-9+/=]{1,64}\n-----END ENCRYPTED PRIVATE KEY-----\n$/);
    for (const [name, pem, key] of [["ec", ecPem, ec], ["rsa", rsaPem, rsa]] as const) {
      const file = tmp.file(`${name}.key`, pem);
      expect(openssl(["pkey", "-in", file, "-passin", `pass:${PW}`, "-noout"]).status, name).toBe(0);
      expect(opensslPublicKey(file, PW).equals(spkiDer(key)), name).toBe(true);
    }
  });

  it("is refused by OpenSSL with a wrong or empty password", () => {
    const file = tmp.file("ec.key", ecPem);
    for (const wrong of ["wrong", PW.toUpperCase(), ""]) {
      const r = openssl(["pkey", "-in", file, "-passin", `pass:${wrong}`, "-noout"]);
      expect(r.status, wrong).not.toBe(0);
      expect(r.stderr).toMatch(/bad decrypt|Could not read|unable to load/i);
    }
  });

  it("uses PBES2 with scrypt (N=16384, r=8, p=1, 16-byte salt, key length 32) and AES-256-CBC", () => {
    const asn1 = opensslOk(["asn1parse", "-in", tmp.file("ec.key", ecPem)]);
    expect(asn1).toMatch(/OBJECT\s+:PBES2/);
    expect(asn1).toMatch(/OBJECT\s+:scrypt/);
    expect(asn1).toMatch(/OBJECT\s+:aes-256-cbc/);
    expect(asn1).toMatch(/l=\s*16 prim: OCTET STRING\s+\[HEX DUMP\]:[0-9A-F]{32}\n.*INTEGER\s+:4000\n.*INTEGER\s+:08\n.*INTEGER\s+:01\n.*INTEGER\s+:20\n/);
    // The scrypt OID by number (1.3.6.1.4.1.11591.4.11), not only by OpenSSL's name for it.
    opensslOk(["asn1parse", "-in", tmp.path("ec.key"), "-out", tmp.path("ec.der"), "-noout"]);
    expect(readFileSync(tmp.path("ec.der")).includes(Buffer.from("06092b06010401da47040b", "hex"))).toBe(true);
  });

  it("uses a fresh salt and IV every time", async () => {
    const again = await encryptPrivateKey(ec, PW);
    expect(again).not.toBe(ecPem);
    const salts = [ecPem, again].map((p) => /OCTET STRING\s+\[HEX DUMP\]:([0-9A-F]+)/.exec(opensslOk(["asn1parse"], p))![1]);
    expect(salts[0]).not.toBe(salts[1]);
  });

  it("encodes the password as UTF-8, as OpenSSL does", async () => {
    const pw = "pässwörd 日本 🔑";
    const file = tmp.file("utf8.key", await encryptPrivateKey(ec, pw));
    expect(opensslPublicKey(file, pw).equals(spkiDer(ec))).toBe(true);
  });

  it("refuses public keys and empty passwords", async () => {
    await expect(encryptPrivateKey(generateKeyPairSync("ec", { namedCurve: "P-256" }).publicKey, PW)).rejects.toMatchObject({ code: "bad_request" });
    await expect(encryptPrivateKey(ec, "")).rejects.toMatchObject({ code: "validation_failed", field: "keyPassword" });
  });
});

describe("decryptPrivateKey", () => {
  it("round-trips our own files", () => {
    expect(decryptPrivateKey(ecPem, PW).equals(ec)).toBe(true);
    expect(decryptPrivateKey(rsaPem, PW).equals(rsa)).toBe(true);
  });

  it("reads keys OpenSSL encrypted, in PKCS#8 and legacy PEM forms", () => {
    const cases: [string, string[]][] = [
      ["genpkey EC -aes-256-cbc", ["genpkey", "-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-256", "-aes-256-cbc", "-pass", "pass:x"]],
      ["genrsa -aes256 (PKCS#8 in OpenSSL 3)", ["genrsa", "-aes256", "-passout", "pass:x", "2048"]],
      ["genrsa -aes256 -traditional (legacy RSA PRIVATE KEY)", ["genrsa", "-aes256", "-traditional", "-passout", "pass:x", "2048"]],
    ];
    for (const [label, args] of cases) {
      const pem = opensslOk(args);
      const file = tmp.file("openssl.key", pem);
      const key = decryptPrivateKey(pem, "x");
      expect(spkiDer(key).equals(opensslPublicKey(file, "x")), label).toBe(true);
    }
    expect(opensslOk(["genrsa", "-aes256", "-traditional", "-passout", "pass:x", "1024"])).toMatch(/BEGIN RSA PRIVATE KEY-----\nProc-Type: 4,ENCRYPTED/);
  });

  it("reads other PBES2 variants OpenSSL writes, and legacy EC keys", () => {
    const plain = tmp.file("plain.key", unencryptedPkcs8Pem(ec));
    const variants: [string, string[]][] = [
      ["scrypt", ["pkcs8", "-topk8", "-scrypt"]],
      ["pbkdf2 sha512 aes-128", ["pkcs8", "-topk8", "-v2", "aes-128-cbc", "-v2prf", "hmacWithSHA512"]],
      ["3des", ["pkcs8", "-topk8", "-v2", "des3"]],
      ["legacy EC", ["ec", "-aes256"]],
    ];
    for (const [label, args] of variants) {
      const pem = opensslOk([...args, "-in", plain, "-passout", "pass:x"]);
      if (label === "legacy EC") expect(pem).toMatch(/BEGIN EC PRIVATE KEY-----\nProc-Type: 4,ENCRYPTED/);
      expect(decryptPrivateKey(pem, "x").equals(ec), label).toBe(true);
    }
  });

  it("says wrong_password for a wrong or empty password, on the given field", () => {
    const legacy = opensslOk(["genrsa", "-aes256", "-traditional", "-passout", "pass:x", "1024"]);
    for (const pem of [ecPem, legacy]) {
      for (const wrong of ["wrong", ""]) {
        const e = appError(() => decryptPrivateKey(pem, wrong));
        expect(e.code).toBe("wrong_password");
        expect(e.message).toBe("The password does not decrypt the private key");
        expect(e.field).toBe("keyPassword");
      }
    }
    expect(appError(() => decryptPrivateKey(ecPem, "wrong", "caKeyPassword")).field).toBe("caKeyPassword");
  });

  it("says wrong_password even when a wrong key happens to pass the padding check", () => {
    // A legacy AES-CBC key derives in one MD5 round, so many guesses are cheap; about one
    // in 256 wrong passwords yields valid padding and then garbage, not "bad decrypt".
    const plain = tmp.file("plain.key", unencryptedPkcs8Pem(ec));
    const legacy = opensslOk(["ec", "-aes128", "-in", plain, "-passout", "pass:x"]);
    const codes = new Set<string>();
    const nodeCodes = new Set<string>();
    for (let i = 0; i < 3000; i++) {
      const e = appError(() => decryptPrivateKey(legacy, `guess ${i}`));
      codes.add(e.code);
      nodeCodes.add(String((e.cause as NodeJS.ErrnoException).code));
    }
    expect([...codes]).toEqual(["wrong_password"]);
    // The lucky-padding case really occurred (chance it does not in 3000 tries: ~1e-5).
    expect([...nodeCodes].filter((c) => c !== "ERR_OSSL_BAD_DECRYPT").length).toBeGreaterThan(0);
  });

  it("leaves no OpenSSL error behind after a failed decryption", async () => {
    appError(() => decryptPrivateKey(ecPem, "wrong"));
    await expect(importSigningKey(ec)).resolves.toBeDefined();
  });

  it("refuses an unencrypted key and says how to encrypt it", () => {
    for (const pem of [unencryptedPkcs8Pem(ec), opensslOk(["genrsa", "-traditional", "1024"])]) {
      const e = appError(() => decryptPrivateKey(pem, PW, "caKey"));
      expect(e.code).toBe("bad_request");
      expect(e.message).toMatch(/^The private key file is not encrypted/);
      expect(e.message).toContain("openssl pkcs8 -topk8 -v2 aes-256-cbc");
      expect(e.field).toBe("caKey");
    }
  });

  it("refuses text that is not a PEM private key", () => {
    const cert = opensslOk(["req", "-x509", "-key", tmp.file("plain.key", unencryptedPkcs8Pem(ec)), "-subj", "/CN=x", "-days", "1"]);
    const garbage = [
      "hello",
      "",
      cert,
      "-----BEGIN ENCRYPTED PRIVATE KEY-----\nAAAA\n-----END ENCRYPTED PRIVATE KEY-----\n",
      "-----BEGIN ENCRYPTED PRIVATE KEY-----\n!!notbase64!!\n-----END ENCRYPTED PRIVATE KEY-----\n",
      "-----BEGIN RSA PRIVATE KEY-----\nProc-Type: 4,ENCRYPTED\n\nAAAA\n-----END RSA PRIVATE KEY-----\n",
    ];
    for (const text of garbage) {
      const e = appError(() => decryptPrivateKey(text, PW));
      expect(e.code, text).toBe("bad_request");
      expect(e.message).toBe("The file is not a PEM private key");
    }
  });

  it("explains scrypt parameters beyond OpenSSL's 32 MiB limit instead of blaming the password", () => {
    // Our file with r raised from 8 to 16 (same encoding length): 128·16·(16384+2) bytes > 32 MiB.
    const der = pemToDer(ecPem, "ENCRYPTED PRIVATE KEY");
    const params = Buffer.from("020240000201080201010201", "hex");
    const at = der.indexOf(params);
    expect(at).toBeGreaterThan(0);
    der[at + 6] = 16;
    const heavy = derToPem(der, "ENCRYPTED PRIVATE KEY");
    const r = openssl(["pkey", "-in", tmp.file("heavy.key", heavy), "-passin", `pass:${PW}`, "-noout"]);
    expect(r.status).not.toBe(0);
    expect(r.stderr).toMatch(/memory limit exceeded/);
    const e = appError(() => decryptPrivateKey(heavy, PW));
    expect(e.code).toBe("bad_request");
    expect(e.message).toMatch(/scrypt parameters needing more than 32 MiB \(N=16384, r=16\)/);
  });

  it("refuses a file holding two keys", () => {
    expect(appError(() => decryptPrivateKey(ecPem + rsaPem, PW)).message).toBe("The file holds 2 private keys; exactly one is expected");
  });

  it("explains an encryption scheme OpenSSL 3 no longer reads by default", () => {
    // PBES1 MD5/DES needs OpenSSL's legacy provider, which Node does not load.
    const plain = tmp.file("plain.key", unencryptedPkcs8Pem(ec));
    const r = openssl(["pkcs8", "-topk8", "-v1", "PBE-MD5-DES", "-in", plain, "-passout", "pass:x", "-provider", "legacy", "-provider", "default"]);
    expect(r.status, r.stderr).toBe(0);
    const e = appError(() => decryptPrivateKey(r.stdout, "x"));
    expect(e.code).toBe("bad_request");
    expect(e.message).toMatch(/cannot be read here; re-encrypt it with: openssl pkcs8 -topk8 -v2 aes-256-cbc/);
  });
});

describe("isEncryptedPrivateKeyPem / unencryptedPkcs8Pem", () => {
  it("tells encrypted from plain keys", () => {
    expect(isEncryptedPrivateKeyPem(ecPem)).toBe(true);
    expect(isEncryptedPrivateKeyPem(opensslOk(["genrsa", "-aes256", "-traditional", "-passout", "pass:x", "1024"]))).toBe(true);
    expect(isEncryptedPrivateKeyPem(unencryptedPkcs8Pem(ec))).toBe(false);
    expect(isEncryptedPrivateKeyPem(opensslOk(["genrsa", "-traditional", "1024"]))).toBe(false);
    expect(isEncryptedPrivateKeyPem("nothing")).toBe(false);
  });

  it("writes plain PKCS#8 that OpenSSL reads without a password", () => {
    const pem = unencryptedPkcs8Pem(rsa);
    expect(pem).toMatch(/^-----BEGIN PRIVATE KEY-----\n/);
    const file = tmp.file("plain-rsa.key", pem);
    expect(opensslBytes(["pkey", "-in", file, "-pubout", "-outform", "DER"]).equals(spkiDer(rsa))).toBe(true);
    expect(() => unencryptedPkcs8Pem(generateKeyPairSync("ec", { namedCurve: "P-256" }).publicKey)).toThrow(AppError);
  });
});
