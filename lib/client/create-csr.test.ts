import { describe, expect, it, afterAll } from "vitest";
import { createPrivateKey } from "node:crypto";
import { AppError } from "../errors/app-error.ts";
import { openssl, opensslOk, scratchDir } from "../pki/test-support.ts";
import { unencryptedPkcs8Pem } from "../pki/pkcs8.ts";
import { createCsr, parseSanList } from "./create-csr.ts";

const tmp = scratchDir("client-csr");
afterAll(() => tmp.remove());

/** `openssl req -verify` exits 0 even when the signature is bad: read what it prints. */
function verifyCsr(pem: string): string {
  const r = openssl(["req", "-in", tmp.file(`v${Math.random().toString(36).slice(2)}.csr`, pem), "-verify", "-noout"]);
  const out = `${r.stdout}${r.stderr}`;
  expect(r.status, out).toBe(0);
  expect(out).not.toMatch(/verify failure/i);
  expect(out).toMatch(/verify OK/);
  return out;
}

describe("createCsr", () => {
  for (const alg of ["ecdsa-p256", "ecdsa-p384", "rsa-2048"] as const) {
    it(`makes a CSR OpenSSL verifies (${alg}), with the subject and SANs asked for`, async () => {
      const r = await createCsr({ subject: { C: "de", O: "Example GmbH", CN: "client.example.com" }, keyAlgorithm: alg, sans: "DNS:client.example.com, IP:192.0.2.7\nwww.example.com 2001:db8::1" });
      verifyCsr(r.csrPem);
      const text = opensslOk(["req", "-in", tmp.file(`t-${alg}.csr`, r.csrPem), "-noout", "-text"]);
      expect(text).toMatch(/Subject: C\s?=\s?DE, O\s?=\s?Example GmbH, CN\s?=\s?client\.example\.com/);
      expect(text).toContain("X509v3 Subject Alternative Name");
      expect(text).toMatch(/DNS:client\.example\.com, IP Address:192\.0\.2\.7, DNS:www\.example\.com, IP Address:2001:DB8:0:0:0:0:0:1/);
      expect(r.csr.sans).toEqual([
        { type: "dns", value: "client.example.com" },
        { type: "ip", value: "192.0.2.7" },
        { type: "dns", value: "www.example.com" },
        { type: "ip", value: "2001:db8::1" },
      ]);
      expect(r.csr.sha1Fingerprint).toMatch(/^([0-9A-F]{2}:){19}[0-9A-F]{2}$/);
      // The CSR carries the public half of the key returned.
      const keyFile = tmp.file(`k-${alg}.key`, unencryptedPkcs8Pem(r.privateKey));
      const fromKey = opensslOk(["pkey", "-in", keyFile, "-pubout"]);
      const fromCsr = opensslOk(["req", "-in", tmp.path(`t-${alg}.csr`), "-noout", "-pubkey"]);
      expect(fromCsr).toBe(fromKey);
      expect(r.csr.publicKey.label).toBe({ "ecdsa-p256": "ECDSA P-256", "ecdsa-p384": "ECDSA P-384", "rsa-2048": "RSA 2048" }[alg]);
    });
  }

  it("without SANs there is no extension request, and ecdsa-p256 is the default", async () => {
    const r = await createCsr({ subject: { CN: "Documentation Test Client" } });
    verifyCsr(r.csrPem);
    expect(r.keyAlgorithm).toBe("ecdsa-p256");
    const text = opensslOk(["req", "-in", tmp.file("nosan.csr", r.csrPem), "-noout", "-text"]);
    expect(text).not.toContain("Subject Alternative Name");
    expect(text).toContain("ecdsa-with-SHA256");
  });

  it("a tampered CSR is caught by the same OpenSSL check (the judge is not blind)", async () => {
    const r = await createCsr({ subject: { CN: "tamper.example.com" } });
    const der = Buffer.from(r.csrPem.replace(/-----[^-]+-----|\s/g, ""), "base64");
    const i = der.indexOf(Buffer.from("tamper"));
    der[i] = "T".charCodeAt(0);
    const pem = `-----BEGIN CERTIFICATE REQUEST-----\n${der.toString("base64").match(/.{1,64}/g)!.join("\n")}\n-----END CERTIFICATE REQUEST-----\n`;
    const out = openssl(["req", "-in", tmp.file("bad.csr", pem), "-verify", "-noout"]);
    expect(`${out.stdout}${out.stderr}`).toMatch(/verify failure/i);
  });

  it("refuses bad input with one message per field, before generating anything", async () => {
    const e = await createCsr({ subject: { C: "XX", CN: "" }, keyAlgorithm: "dsa-1024", sans: "DNS:bad_name!" }).catch((x) => x);
    expect(e).toBeInstanceOf(AppError);
    expect(e.code).toBe("validation_failed");
    expect(Object.keys(e.fields).sort()).toEqual(["keyAlgorithm", "sans", "subject.C"]);
    const empty = await createCsr({ subject: {} }).catch((x) => x);
    expect(empty.fields).toEqual({ "subject.CN": "Enter at least one subject attribute" });
  });

  it("keys generated are independent: two CSRs never share a key", async () => {
    const [a, b] = await Promise.all([createCsr({ subject: { CN: "a" } }), createCsr({ subject: { CN: "a" } })]);
    expect(a.csr.spkiDer.equals(b.csr.spkiDer)).toBe(false);
    expect(createPrivateKey(unencryptedPkcs8Pem(a.privateKey)).asymmetricKeyType).toBe("ec");
  });
});

describe("parseSanList", () => {
  it("reads prefixed and bare names, removes repeats, normalizes case and IPv6", () => {
    expect(parseSanList(["DNS:A.Example.com", "a.example.com", "ip:10.0.0.1", "IP:2001:DB8:0::1", "email:x@example.com", "URI:https://example.com/x"])).toEqual({
      sans: [
        { type: "dns", value: "a.example.com" },
        { type: "ip", value: "10.0.0.1" },
        { type: "ip", value: "2001:db8::1" },
        { type: "email", value: "x@example.com" },
        { type: "uri", value: "https://example.com/x" },
      ],
    });
    expect(parseSanList("")).toEqual({ sans: [] });
    expect(parseSanList(undefined)).toEqual({ sans: [] });
  });

  it("names the entry that is wrong", () => {
    expect(parseSanList("DNS:ok.example.com, IP:300.1.1.1")).toEqual({ problem: '"IP:300.1.1.1" is not an IPv4 or IPv6 address' });
    expect(parseSanList("DNS:-x.example.com")).toMatchObject({ problem: expect.stringContaining("not a valid DNS name") });
    expect(parseSanList("email:nobody")).toMatchObject({ problem: expect.stringContaining("not a valid e-mail") });
    expect(parseSanList(42)).toMatchObject({ problem: expect.any(String) });
    expect(parseSanList(Array.from({ length: 101 }, (_, i) => `h${i}.example.com`))).toMatchObject({ problem: expect.stringContaining("At most 100") });
  });
});
