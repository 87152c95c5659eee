import { createPrivateKey, generateKeyPairSync } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { appError } from "../test-support/app-error.ts";
import { DEFAULT_KEY_ALGORITHM, isKeyAlgorithm, KEY_ALGORITHMS, type KeyAlgorithm } from "./key-algorithms.ts";
import { describePublicKey, generateKeyPair, importSigningKey, keyMatchesCertificate, spkiDer, type KeyPair } from "./keys.ts";
import { unencryptedPkcs8Pem } from "./pkcs8.ts";
import { x509 } from "./setup.ts";
import { KEY_ALGORITHM_IDS as ALGS, generateKeyPairs, opensslBytes, opensslOk, scratchDir } from "./test-support.ts";

const tmp = scratchDir("keys");
let pairs: Record<KeyAlgorithm, KeyPair>;
let ticksDuringGeneration = 0;

beforeAll(async () => {
  // Every algorithm once, in parallel; RSA 4096 dominates. A timer ticking meanwhile
  // shows generation runs off the event loop.
  const timer = setInterval(() => ticksDuringGeneration++, 5);
  try {
    pairs = await generateKeyPairs(ALGS);
  } finally {
    clearInterval(timer);
  }
});
afterAll(() => tmp.remove());

describe("key algorithms", () => {
  it("lists the five choices with their labels, P-256 first and default", () => {
    expect(KEY_ALGORITHMS.map((a) => a.id)).toEqual(ALGS);
    expect(KEY_ALGORITHMS.map((a) => a.label)).toEqual(["ECDSA P-256 (recommended)", "ECDSA P-384", "RSA 2048", "RSA 3072", "RSA 4096"]);
    expect(DEFAULT_KEY_ALGORITHM).toBe("ecdsa-p256");
  });

  it("narrows untrusted input", () => {
    for (const a of ALGS) expect(isKeyAlgorithm(a)).toBe(true);
    for (const x of ["ecdsa-p521", "RSA-2048", "rsa-1024", "", null, undefined, 2048, {}]) expect(isKeyAlgorithm(x)).toBe(false);
  });
});

describe("generateKeyPair", () => {
  const expected: Record<KeyAlgorithm, RegExp[]> = {
    "ecdsa-p256": [/Private-Key: \(256 bit\)/, /NIST CURVE: P-256/],
    "ecdsa-p384": [/Private-Key: \(384 bit\)/, /NIST CURVE: P-384/],
    "rsa-2048": [/Private-Key: \(2048 bit, 2 primes\)/, /publicExponent: 65537 \(0x10001\)/],
    "rsa-3072": [/Private-Key: \(3072 bit, 2 primes\)/, /publicExponent: 65537 \(0x10001\)/],
    "rsa-4096": [/Private-Key: \(4096 bit, 2 primes\)/, /publicExponent: 65537 \(0x10001\)/],
  };

  for (const alg of ALGS) {
    it(`makes a ${alg} key OpenSSL agrees with`, () => {
      const { privateKey, publicKey } = pairs[alg];
      const file = tmp.file(`${alg}.pem`, unencryptedPkcs8Pem(privateKey));
      const text = opensslOk(["pkey", "-in", file, "-noout", "-text"]);
      for (const re of expected[alg]) expect(text).toMatch(re);
      expect(opensslOk(["pkey", "-in", file, "-check", "-noout"])).toMatch(/valid/i);
      // The public half is the same key OpenSSL derives from the private one.
      expect(opensslBytes(["pkey", "-in", file, "-pubout", "-outform", "DER"]).equals(spkiDer(publicKey))).toBe(true);
    });
  }

  it("does not block the event loop", () => {
    expect(ticksDuringGeneration).toBeGreaterThan(0);
  });

  it("rejects an unknown algorithm", async () => {
    const e = await appError(() => generateKeyPair("rsa-1024" as KeyAlgorithm));
    expect(e.code).toBe("bad_request");
  });
});

describe("describePublicKey", () => {
  it("labels every generated key, from private, public and SPKI forms", () => {
    const labels: Record<KeyAlgorithm, string> = {
      "ecdsa-p256": "ECDSA P-256",
      "ecdsa-p384": "ECDSA P-384",
      "rsa-2048": "RSA 2048",
      "rsa-3072": "RSA 3072",
      "rsa-4096": "RSA 4096",
    };
    for (const alg of ALGS) {
      const { privateKey, publicKey } = pairs[alg];
      const spki = spkiDer(publicKey);
      for (const form of [privateKey, publicKey, spki, new Uint8Array(spki).buffer, new x509.PublicKey(new Uint8Array(spki))]) {
        expect(describePublicKey(form).label, alg).toBe(labels[alg]);
      }
    }
    expect(describePublicKey(pairs["ecdsa-p384"].publicKey)).toEqual({ algorithm: "ECDSA", bits: 384, curve: "P-384", label: "ECDSA P-384" });
    expect(describePublicKey(pairs["rsa-3072"].publicKey)).toEqual({ algorithm: "RSA", bits: 3072, label: "RSA 3072" });
  });

  it("describes keys OpenSSL made, including Ed25519 and P-521", () => {
    const cases: [string[], string][] = [
      [["-algorithm", "ED25519"], "Ed25519"],
      [["-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-521"], "ECDSA P-521"],
      [["-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:secp256k1"], "ECDSA secp256k1"],
    ];
    for (const [args, label] of cases) {
      const file = tmp.path("other.pem");
      opensslOk(["genpkey", ...args, "-out", file]);
      expect(describePublicKey(opensslBytes(["pkey", "-in", file, "-pubout", "-outform", "DER"])).label).toBe(label);
    }
  });

  it("names an algorithm Node cannot load by its OID, and refuses non-keys", async () => {
    // An SPKI with a made-up algorithm OID 1.2.3.4 and an empty key.
    const unknown = Buffer.from("300a300506032a03040301 00".replace(/ /g, ""), "hex");
    expect(describePublicKey(unknown).label).toBe("Unknown key type (1.2.3.4)");
    expect((await appError(() => describePublicKey(Buffer.from("not a key")))).code).toBe("bad_request");
  });
});

describe("keyMatchesCertificate", () => {
  let cert: x509.X509Certificate;
  let keyFile: string;

  beforeAll(() => {
    keyFile = tmp.file("match.pem", unencryptedPkcs8Pem(pairs["ecdsa-p256"].privateKey));
    opensslOk(["req", "-x509", "-key", keyFile, "-subj", "/CN=match", "-days", "1", "-out", tmp.path("match.cer")]);
    cert = new x509.X509Certificate(new Uint8Array(opensslBytes(["x509", "-in", tmp.path("match.cer"), "-outform", "DER"])));
  });

  it("is true for the certificate's key, private or public", () => {
    expect(keyMatchesCertificate(pairs["ecdsa-p256"].privateKey, cert)).toBe(true);
    expect(keyMatchesCertificate(pairs["ecdsa-p256"].publicKey, cert)).toBe(true);
  });

  it("is false for any other key", () => {
    for (const alg of ALGS.filter((a) => a !== "ecdsa-p256")) expect(keyMatchesCertificate(pairs[alg].privateKey, cert), alg).toBe(false);
    const other = generateKeyPairSync("ec", { namedCurve: "P-256" }).privateKey;
    expect(keyMatchesCertificate(other, cert)).toBe(false);
  });

  it("leaves no OpenSSL error behind that breaks the next key import", async () => {
    // Comparing keys of different types once made Node's next WebCrypto import fail.
    expect(keyMatchesCertificate(pairs["rsa-2048"].privateKey, cert)).toBe(false);
    await expect(importSigningKey(pairs["ecdsa-p256"].privateKey)).resolves.toBeDefined();
  });

  it("matches a certificate that encodes the EC point compressed", () => {
    const compressed = tmp.path("compressed.pem");
    opensslOk(["ec", "-in", keyFile, "-conv_form", "compressed", "-out", compressed]);
    opensslOk(["req", "-x509", "-key", compressed, "-subj", "/CN=compressed", "-days", "1", "-out", tmp.path("compressed.cer")]);
    const c = new x509.X509Certificate(new Uint8Array(opensslBytes(["x509", "-in", tmp.path("compressed.cer"), "-outform", "DER"])));
    // The SPKI bytes really differ (33-byte point instead of 65), so only key equality can match.
    expect(Buffer.from(c.publicKey.rawData).equals(spkiDer(pairs["ecdsa-p256"].publicKey))).toBe(false);
    expect(keyMatchesCertificate(pairs["ecdsa-p256"].privateKey, c)).toBe(true);
    expect(keyMatchesCertificate(pairs["ecdsa-p384"].privateKey, c)).toBe(false);
  });
});

describe("importSigningKey", () => {
  it("picks the signature algorithm for each key type", async () => {
    const want: Record<KeyAlgorithm, object> = {
      "ecdsa-p256": { name: "ECDSA", hash: "SHA-256" },
      "ecdsa-p384": { name: "ECDSA", hash: "SHA-384" },
      "rsa-2048": { name: "RSASSA-PKCS1-v1_5", hash: "SHA-256" },
      "rsa-3072": { name: "RSASSA-PKCS1-v1_5", hash: "SHA-256" },
      "rsa-4096": { name: "RSASSA-PKCS1-v1_5", hash: "SHA-256" },
    };
    for (const alg of ALGS) {
      const k = await importSigningKey(pairs[alg].privateKey);
      expect(k.signingAlgorithm, alg).toEqual(want[alg]);
      expect(k.privateKey.type).toBe("private");
      expect(k.privateKey.extractable).toBe(false);
      expect(k.publicKey.type).toBe("public");
      // The imported public key is the pair's public key.
      const spki = Buffer.from(await globalThis.crypto.subtle.exportKey("spki", k.publicKey));
      expect(spki.equals(spkiDer(pairs[alg].publicKey))).toBe(true);
    }
  });

  it("signs so that OpenSSL verifies (RSA PKCS#1 v1.5, SHA-256)", async () => {
    const k = await importSigningKey(pairs["rsa-2048"].privateKey);
    const data = Buffer.from("portcullis");
    const sig = Buffer.from(await globalThis.crypto.subtle.sign(k.signingAlgorithm, k.privateKey, data));
    const pub = tmp.file("rsa-pub.pem", pairs["rsa-2048"].publicKey.export({ format: "pem", type: "spki" }) as string);
    const out = opensslOk(["dgst", "-sha256", "-verify", pub, "-signature", tmp.file("sig.bin", sig), tmp.file("data.bin", data)]);
    expect(out.trim()).toBe("Verified OK");
  });

  it("supports P-521 (SHA-512) and Ed25519 keys from OpenSSL", async () => {
    const p521 = tmp.path("p521.pem");
    opensslOk(["genpkey", "-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-521", "-out", p521]);
    expect((await importSigningKey(createPrivateKey(opensslOk(["pkey", "-in", p521])))).signingAlgorithm).toEqual({ name: "ECDSA", hash: "SHA-512" });
    const ed = tmp.path("ed.pem");
    opensslOk(["genpkey", "-algorithm", "ED25519", "-out", ed]);
    expect((await importSigningKey(createPrivateKey(opensslOk(["pkey", "-in", ed])))).signingAlgorithm).toEqual({ name: "Ed25519" });
  });

  it("refuses public keys and unsupported key types", async () => {
    expect((await appError(() => importSigningKey(pairs["ecdsa-p256"].publicKey))).code).toBe("bad_request");
    const x25519 = generateKeyPairSync("x25519").privateKey;
    expect((await appError(() => importSigningKey(x25519))).code).toBe("bad_request");
    const k1 = generateKeyPairSync("ec", { namedCurve: "secp256k1" }).privateKey;
    expect((await appError(() => importSigningKey(k1))).code).toBe("bad_request");
    const pss = generateKeyPairSync("rsa-pss", { modulusLength: 2048 }).privateKey;
    expect((await appError(() => importSigningKey(pss))).code).toBe("bad_request");
  });
});
