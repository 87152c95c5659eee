/**
 * The bundle builders, each judged by OpenSSL (and tar, and GnuTLS's certtool when
 * installed): what it reads from the file, not what we meant to write.
 */
import { spawnSync } from "node:child_process";
import { mkdirSync, readdirSync, readFileSync, statSync } from "node:fs";
import type { KeyObject } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createSelfSignedCa } from "../pki/certificates.ts";
import { createCsr } from "../client/create-csr.ts";
import { issueCertificate, type IssuingCa } from "../pki/issue.ts";
import { generateKeyPair } from "../pki/keys.ts";
import type { Usage } from "../pki/profiles.ts";
import { openssl, opensslOk, scratchDir } from "../pki/test-support.ts";
import { appError } from "../test-support/app-error.ts";
import { toBuffer } from "../pki/bytes.ts";
import { bundlePasswordProblem, cockroachBundle, PEM_KEY_ITERATIONS, pemWithKeyBundle, pkcs12Bundle, trustBundle, type BundleCertificate } from "./builders.ts";
import { PKCS12_ITERATIONS, PKCS12_LEGACY_ITERATIONS } from "./pkcs12.ts";
import { tar, tarGz } from "./tar.ts";

const tmp = scratchDir("bundles");
const PW = "bundle pass 42";
let root: IssuingCa & { der: Buffer };
let inter: IssuingCa & { der: Buffer };
let n = 0;

interface Issued {
  cert: BundleCertificate;
  key: KeyObject;
}

async function issued(usage: Usage, subject: Record<string, string>, sans: string[] = [], ca: "root" | "inter" = "root", keyAlgorithm = "ecdsa-p256"): Promise<Issued> {
  const made = await createCsr({ subject, keyAlgorithm, sans });
  const issuer = ca === "root" ? root : inter;
  const r = await issueCertificate({ csr: made.csr, usage, ca: issuer, validityDays: 30 });
  return {
    cert: { der: r.der, chain: ca === "root" ? [root.der] : [inter.der, root.der], fileRoot: `leaf-${++n}`, commonName: subject.CN ?? null, usage },
    key: made.privateKey,
  };
}

const file = (name: string, body: Buffer | string) => tmp.file(`${++n}-${name}`, body);
const pemOf = (der: Buffer) => opensslOk(["x509", "-inform", "DER", "-in", file("c.der", der)]);

/** The certificate's public key as OpenSSL prints it. */
const certPubkey = (certFile: string) => opensslOk(["x509", "-in", certFile, "-noout", "-pubkey"]);

beforeAll(async () => {
  const rootKeys = await generateKeyPair("ecdsa-p256");
  const r = await createSelfSignedCa({ subject: { O: "Bundles", CN: "Bundles Root CA" }, keys: rootKeys, validityDays: 365 });
  root = { certificate: r.certificate, privateKey: rootKeys.privateKey, der: r.der };
  const made = await createCsr({ subject: { O: "Bundles", CN: "Bundles Issuing CA" }, keyAlgorithm: "ecdsa-p384" });
  const i = await issueCertificate({ csr: made.csr, usage: "intermediate-ca", ca: root, validityDays: 200 });
  inter = { certificate: i.certificate, privateKey: made.privateKey, der: i.der };
});
afterAll(() => tmp.remove());

describe("bundle passwords", () => {
  it("refuses empty, short and one-character passwords with a clear message", () => {
    expect(bundlePasswordProblem("")).toBe("Enter a password");
    expect(bundlePasswordProblem("seven77")).toBe("The password is too short: use at least 8 characters");
    expect(bundlePasswordProblem("aaaaaaaaaaaa")).toBe("The password is one character repeated: choose one that is harder to guess");
    expect(bundlePasswordProblem("€€€€€€€€")).toMatch(/one character repeated/);
    expect(bundlePasswordProblem("😀😀😀😀")).toMatch(/too short/); // characters, not UTF-16 units
    expect(bundlePasswordProblem("x".repeat(1025) + "y")).toMatch(/at most 1024/);
    expect(bundlePasswordProblem("eight ch")).toBeNull();
  });
});

describe("pkcs12", () => {
  for (const legacy of [false, true]) {
    it(`${legacy ? "legacy (3DES, SHA-1 MAC)" : "default (PBES2 AES-256-CBC, HMAC-SHA256)"}: OpenSSL reads key, certificate and chain with the password, and nothing without it`, async () => {
      const { cert, key } = await issued("tls", { O: "Acme", CN: "web01.example.com" }, ["DNS:web01.example.com"], "inter", legacy ? "rsa-2048" : "ecdsa-p256");
      const f = await pkcs12Bundle(cert, key, { password: PW, legacy });
      expect(f.filename).toBe(`${cert.fileRoot}.p12`);
      expect(f.contentType).toBe("application/x-pkcs12");
      const p12 = file("b.p12", f.body);

      const info = openssl(["pkcs12", "-info", "-noout", "-in", p12, "-passin", `pass:${PW}`]);
      expect(info.status, info.stderr).toBe(0);
      const iterations = legacy ? PKCS12_LEGACY_ITERATIONS : PKCS12_ITERATIONS;
      if (legacy) {
        expect(info.stderr).toContain(`MAC: sha1, Iteration ${iterations}`);
        expect(info.stderr).toContain(`PKCS7 Encrypted data: pbeWithSHA1And3-KeyTripleDES-CBC, Iteration ${iterations}`);
        expect(info.stderr).toContain(`Shrouded Keybag: pbeWithSHA1And3-KeyTripleDES-CBC, Iteration ${iterations}`);
      } else {
        expect(info.stderr).toContain(`MAC: sha256, Iteration ${iterations}`);
        expect(info.stderr).toContain(`PKCS7 Encrypted data: PBES2, PBKDF2, AES-256-CBC, Iteration ${iterations}, PRF hmacWithSHA256`);
        expect(info.stderr).toContain(`Shrouded Keybag: PBES2, PBKDF2, AES-256-CBC, Iteration ${iterations}, PRF hmacWithSHA256`);
      }
      expect(info.stderr.match(/Certificate bag/g)).toHaveLength(3);

      // Extracted: the key matches the certificate; the CA certificates come along.
      const out = opensslOk(["pkcs12", "-in", p12, "-passin", `pass:${PW}`, "-nodes"]);
      const leafFile = file("leaf.pem", opensslOk(["pkcs12", "-in", p12, "-passin", `pass:${PW}`, "-clcerts", "-nokeys"]));
      const keyFile = file("key.pem", opensslOk(["pkcs12", "-in", p12, "-passin", `pass:${PW}`, "-nocerts", "-nodes"]));
      const casFile = file("cas.pem", opensslOk(["pkcs12", "-in", p12, "-passin", `pass:${PW}`, "-cacerts", "-nokeys"]));
      expect(opensslOk(["pkey", "-in", keyFile, "-pubout"])).toBe(certPubkey(leafFile));
      expect(opensslOk(["x509", "-in", leafFile, "-noout", "-fingerprint", "-sha256"])).toBe(opensslOk(["x509", "-inform", "DER", "-in", file("l.der", cert.der), "-noout", "-fingerprint", "-sha256"]));
      const v = openssl(["verify", "-x509_strict", "-purpose", "sslserver", "-CAfile", file("root.pem", pemOf(root.der)), "-untrusted", casFile, leafFile]);
      expect(v.status, v.stdout + v.stderr).toBe(0);
      // friendlyName = CN on the key and its certificate, one localKeyID shared by both.
      expect(out.match(/friendlyName: web01\.example\.com/g)).toHaveLength(2);
      const ids = [...out.matchAll(/localKeyID: ([0-9A-F ]+)/g)].map((m) => m[1].trim());
      expect(ids).toHaveLength(2);
      expect(ids[0]).toBe(ids[1]);
      expect(ids[0].replace(/ /g, ":")).toBe(opensslOk(["x509", "-in", leafFile, "-noout", "-fingerprint", "-sha1"]).trim().split("=")[1]);

      const wrong = openssl(["pkcs12", "-info", "-noout", "-in", p12, "-passin", "pass:wrong password"]);
      expect(wrong.status).not.toBe(0);
      expect(wrong.stderr).toMatch(/Mac verify error/);
    });
  }

  // Skipped only where GnuTLS is not installed (the test command installs gnutls-bin); OpenSSL judges the same files above.
  it.skipIf(spawnSync("certtool", ["--version"]).error !== undefined)("certtool --p12-info reads both modes with the password, and refuses a wrong one", async () => {
    const { cert, key } = await issued("tls-client", { CN: "alice" });
    for (const legacy of [false, true]) {
      const p12 = file("c.p12", (await pkcs12Bundle(cert, key, { password: PW, legacy })).body);
      const ok = spawnSync("certtool", ["--p12-info", "--inder", "--infile", p12, "--password", PW], { encoding: "utf8" });
      expect(ok.status, ok.stderr).toBe(0);
      expect(ok.stdout).toMatch(/MAC info:/);
      expect(ok.stdout).toMatch(/BEGIN ENCRYPTED PRIVATE KEY|BEGIN PRIVATE KEY/);
      expect(ok.stdout).toMatch(/BEGIN CERTIFICATE/);
      const bad = spawnSync("certtool", ["--p12-info", "--inder", "--infile", p12, "--password", "not the password"], { encoding: "utf8" });
      expect(bad.status).not.toBe(0);
    }
  });

  it("refuses weak passwords on the password field", async () => {
    const { cert, key } = await issued("tls-client", { CN: "bob" });
    for (const password of ["", "short", "zzzzzzzzzz"]) {
      const e = await appError(() => pkcs12Bundle(cert, key, { password }));
      expect(e.code).toBe("validation_failed");
      expect(e.fields?.password).toBe(bundlePasswordProblem(password));
    }
  });
});

describe("pem-with-key", () => {
  it("certificate, chain and a PBES2-encrypted PKCS#8 key that OpenSSL decrypts with the password only", async () => {
    const { cert, key } = await issued("tls", { CN: "api.example.com" }, [], "inter");
    const f = await pemWithKeyBundle(cert, key, { password: PW });
    expect(f.filename).toBe(`${cert.fileRoot}.pem`);
    const text = f.body.toString("utf8");
    expect(text.match(/-----BEGIN CERTIFICATE-----/g)).toHaveLength(3);
    expect(text).toContain("-----BEGIN ENCRYPTED PRIVATE KEY-----");
    expect(text).not.toContain("-----BEGIN PRIVATE KEY-----");
    const bundle = file("bundle.pem", f.body);

    // The first certificate is the leaf; the rest is the chain up to the root.
    expect(opensslOk(["x509", "-in", bundle, "-noout", "-subject"])).toBe("subject=CN = api.example.com\n");
    const blocks = text.match(/-----BEGIN CERTIFICATE-----[\s\S]*?-----END CERTIFICATE-----\n/g)!;
    const v = openssl(["verify", "-x509_strict", "-purpose", "sslserver", "-CAfile", file("r.pem", blocks[2]), "-untrusted", file("i.pem", blocks[1]), file("l.pem", blocks[0])]);
    expect(v.status, v.stdout + v.stderr).toBe(0);

    const pub = opensslOk(["pkey", "-in", bundle, "-passin", `pass:${PW}`, "-pubout"]);
    expect(pub).toBe(certPubkey(bundle));
    expect(openssl(["pkey", "-in", bundle, "-passin", "pass:not it at all", "-noout"]).status).not.toBe(0);
    const keyDer = opensslOk(["asn1parse", "-in", file("k.pem", text.slice(text.indexOf("-----BEGIN ENCRYPTED")))]);
    expect(keyDer).toContain(":PBES2");
    expect(keyDer).toContain(":PBKDF2");
    expect(keyDer).toContain(":hmacWithSHA256");
    expect(keyDer).toContain(":aes-256-cbc");
    expect(keyDer).toMatch(new RegExp(`INTEGER\\s+:0*${PEM_KEY_ITERATIONS.toString(16).toUpperCase()}\n`));
  });

  it("unencrypted: plain PKCS#8 that OpenSSL reads without a password", async () => {
    const { cert, key } = await issued("tls", { CN: "plain.example.com" }, [], "root", "rsa-2048");
    const f = await pemWithKeyBundle(cert, key, { unencrypted: true });
    const text = f.body.toString("utf8");
    expect(text).toContain("-----BEGIN PRIVATE KEY-----");
    expect(text.match(/-----BEGIN CERTIFICATE-----/g)).toHaveLength(2);
    const bundle = file("plain.pem", f.body);
    expect(opensslOk(["pkey", "-in", bundle, "-pubout", "-passin", "pass:"])).toBe(certPubkey(bundle));
    expect(opensslOk(["rsa", "-in", bundle, "-check", "-noout"])).toMatch(/RSA key ok/);
  });

  it("refuses a weak password", async () => {
    const { cert, key } = await issued("tls-client", { CN: "carol" });
    expect((await appError(() => pemWithKeyBundle(cert, key, { password: "1234567" }))).fields?.password).toMatch(/too short/);
  });
});

describe("trust", () => {
  it("trust_ca_cert.pem is the CA chain, enough to verify the certificate", async () => {
    const { cert } = await issued("tls", { CN: "t.example.com" }, [], "inter");
    const f = trustBundle(cert);
    expect(f.filename).toBe("trust_ca_cert.pem");
    const text = f.body.toString("utf8");
    expect(text.match(/-----BEGIN CERTIFICATE-----/g)).toHaveLength(2);
    expect(text).not.toContain("PRIVATE KEY");
    const v = openssl(["verify", "-x509_strict", "-purpose", "sslserver", "-CAfile", file("trust.pem", f.body), file("leaf.pem", pemOf(cert.der))]);
    expect(v.status, v.stdout + v.stderr).toBe(0);
  });
});

describe("cockroach", () => {
  function extract(body: Buffer): { dir: string; listing: string } {
    const archive = file("certs.tar.gz", body);
    const listing = spawnSync("tar", ["-tvzf", archive], { encoding: "utf8" });
    expect(listing.status, listing.stderr).toBe(0);
    const dir = tmp.path(`x${++n}`);
    mkdirSync(dir);
    const x = spawnSync("tar", ["-xzf", archive, "-C", dir], { encoding: "utf8" });
    expect(x.status, x.stderr).toBe(0);
    return { dir, listing: listing.stdout };
  }
  const modeOf = (p: string) => statSync(p).mode & 0o777;

  it("node: certs/ca.crt, node.crt (0644) and node.key (0600, unencrypted PKCS#8) that verify and match", async () => {
    const { cert, key } = await issued("cockroach-node", { O: "Cockroach", CN: "node" }, ["DNS:db1.example.com", "DNS:localhost", "IP:127.0.0.1"], "inter");
    const f = cockroachBundle(cert, key);
    expect(f.filename).toBe("certs.tar.gz");
    expect(f.contentType).toBe("application/gzip");
    const { dir, listing } = extract(f.body);
    const lines = listing.trim().split("\n");
    expect(lines).toHaveLength(4);
    expect(lines[0]).toMatch(/^drwx------ root\/root\s+0 .* certs\/$/);
    expect(lines[1]).toMatch(/^-rw-r--r-- root\/root\s+\d+ .* certs\/ca\.crt$/);
    expect(lines[2]).toMatch(/^-rw-r--r-- root\/root\s+\d+ .* certs\/node\.crt$/);
    expect(lines[3]).toMatch(/^-rw------- root\/root\s+\d+ .* certs\/node\.key$/);
    expect(readdirSync(`${dir}/certs`).sort()).toEqual(["ca.crt", "node.crt", "node.key"]);
    expect(modeOf(`${dir}/certs`)).toBe(0o700);
    expect(modeOf(`${dir}/certs/node.key`)).toBe(0o600);
    expect(modeOf(`${dir}/certs/node.crt`)).toBe(0o644);

    const ca = `${dir}/certs/ca.crt`;
    expect(readFileSync(ca, "utf8").match(/BEGIN CERTIFICATE/g)).toHaveLength(2);
    for (const purpose of ["sslserver", "sslclient"]) {
      const v = openssl(["verify", "-x509_strict", "-purpose", purpose, "-CAfile", ca, `${dir}/certs/node.crt`]);
      expect(v.status, v.stdout + v.stderr).toBe(0);
    }
    const keyText = readFileSync(`${dir}/certs/node.key`, "utf8");
    expect(keyText).toMatch(/^-----BEGIN PRIVATE KEY-----\n/);
    expect(opensslOk(["pkey", "-in", `${dir}/certs/node.key`, "-pubout"])).toBe(certPubkey(`${dir}/certs/node.crt`));
    expect(opensslOk(["x509", "-in", `${dir}/certs/node.crt`, "-noout", "-ext", "subjectAltName"])).toContain("DNS:db1.example.com, DNS:localhost, IP Address:127.0.0.1");
  });

  it("client: client.<user>.crt and client.<user>.key", async () => {
    const { cert, key } = await issued("cockroach-client", { CN: "maxroach" });
    const { dir, listing } = extract(cockroachBundle(cert, key).body);
    expect(listing).toMatch(/-rw-r--r-- .* certs\/client\.maxroach\.crt\n/);
    expect(listing).toMatch(/-rw------- .* certs\/client\.maxroach\.key\n/);
    expect(readdirSync(`${dir}/certs`).sort()).toEqual(["ca.crt", "client.maxroach.crt", "client.maxroach.key"]);
    const v = openssl(["verify", "-x509_strict", "-purpose", "sslclient", "-CAfile", `${dir}/certs/ca.crt`, `${dir}/certs/client.maxroach.crt`]);
    expect(v.status, v.stdout + v.stderr).toBe(0);
    expect(opensslOk(["pkey", "-in", `${dir}/certs/client.maxroach.key`, "-pubout"])).toBe(certPubkey(`${dir}/certs/client.maxroach.crt`));
  });

  it("refuses other usages, naming the two CockroachDB usages", async () => {
    const { cert, key } = await issued("tls", { CN: "web.example.com" });
    const e = await appError(() => cockroachBundle(cert, key));
    expect(e.code).toBe("validation_failed");
    expect(e.field).toBe("format");
    expect(e.message).toBe(
      'A CockroachDB certs directory is made only for certificates issued with the usage "CockroachDB node" (cockroach-node) or "CockroachDB client" (cockroach-client); this certificate\'s usage is "TLS/SSL and XML security" (tls)',
    );
  });
});

describe("tar writer", () => {
  it("writes ustar that tar reads back byte for byte, with mode, size and time", () => {
    const big = Buffer.from(Array.from({ length: 1500 }, (_, i) => i % 251));
    const when = new Date("2030-01-02T03:04:05Z");
    const archive = file("t.tar.gz", tarGz([{ name: "d/", mode: 0o755 }, { name: "d/big.bin", mode: 0o640, content: big }, { name: "d/empty", mode: 0o600, content: "" }], when));
    const out = spawnSync("tar", ["-xOzf", archive, "d/big.bin"]);
    expect(out.status).toBe(0);
    expect(toBuffer(out.stdout).equals(big)).toBe(true);
    const list = spawnSync("tar", ["--utc", "-tvzf", archive], { encoding: "utf8" }).stdout.trim().split("\n");
    expect(list[0]).toMatch(/^drwxr-xr-x root\/root\s+0 2030-01-02 03:04 d\/$/);
    expect(list[1]).toMatch(/^-rw-r----- root\/root\s+1500 2030-01-02 03:04 d\/big\.bin$/);
    expect(list[2]).toMatch(/^-rw------- root\/root\s+0 2030-01-02 03:04 d\/empty$/);
    // Whole 512-byte blocks, two zero blocks at the end.
    const raw = tar([{ name: "a", mode: 0o644, content: "x" }]);
    expect(raw.length).toBe(512 * 4);
    expect(raw.subarray(1024).every((b) => b === 0)).toBe(true);
    expect(() => tar([{ name: "x".repeat(101), mode: 0o644, content: "" }])).toThrow(RangeError);
  });
});
