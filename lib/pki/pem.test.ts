import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { appError } from "../test-support/app-error.ts";
import { countPemBlocks, derToPem, looksLikePem, pemToDer } from "./pem.ts";
import { opensslBytes, opensslSelfSigned, scratchDir } from "./test-support.ts";

const tmp = scratchDir("pem");
let certPem: string;
let certDer: Buffer;

beforeAll(() => {
  const cert = opensslSelfSigned(tmp, "c", { subject: "/CN=pem test" });
  certPem = cert.pem;
  certDer = opensslBytes(["x509", "-in", cert.file, "-outform", "DER"]);
});
afterAll(() => tmp.remove());

describe("pemToDer / derToPem", () => {
  it("decodes OpenSSL's PEM to the DER OpenSSL writes", () => {
    expect(pemToDer(certPem, "CERTIFICATE").equals(certDer)).toBe(true);
  });

  it("ignores text around the block, as in `openssl x509 -text` output", () => {
    const text = `Certificate:\n    Data: something\n${certPem}\ntrailing words\n`;
    expect(pemToDer(text, "CERTIFICATE").equals(certDer)).toBe(true);
  });

  it("accepts CRLF line endings", () => {
    expect(pemToDer(certPem.replace(/\n/g, "\r\n"), "CERTIFICATE").equals(certDer)).toBe(true);
  });

  it("writes PEM byte-identical to OpenSSL's (64-column lines, trailing newline)", () => {
    const pem = derToPem(certDer, "CERTIFICATE");
    expect(pem).toBe(certPem);
    expect(pem.endsWith("-----END CERTIFICATE-----\n")).toBe(true);
    for (const line of pem.trimEnd().split("\n").slice(1, -1).slice(0, -1)) expect(line).toHaveLength(64);
    // And OpenSSL reads it back to the same DER.
    const p = tmp.file("ours.pem", pem);
    expect(opensslBytes(["x509", "-in", p, "-outform", "DER"]).equals(certDer)).toBe(true);
  });

  it("accepts Uint8Array and ArrayBuffer input", () => {
    const u8 = new Uint8Array(certDer);
    expect(derToPem(u8, "CERTIFICATE")).toBe(certPem);
    expect(derToPem(u8.buffer, "CERTIFICATE")).toBe(certPem);
  });

  it("skips RFC 1421 headers of legacy encrypted keys", () => {
    const body = Buffer.from("hello world, this is not really a key").toString("base64");
    const pem = `-----BEGIN RSA PRIVATE KEY-----\nProc-Type: 4,ENCRYPTED\nDEK-Info: AES-256-CBC,00112233445566778899AABBCCDDEEFF\n\n${body}\n-----END RSA PRIVATE KEY-----\n`;
    expect(pemToDer(pem, "RSA PRIVATE KEY").toString()).toBe("hello world, this is not really a key");
  });

  it("refuses a missing block, naming the label", () => {
    const e = appError(() => pemToDer("just text", "CERTIFICATE"));
    expect(e.code).toBe("bad_request");
    expect(e.message).toContain("-----BEGIN CERTIFICATE-----");
  });

  it("does not take a block with another label", () => {
    const csrLike = certPem.replace(/CERTIFICATE/g, "CERTIFICATE REQUEST");
    expect(appError(() => pemToDer(csrLike, "CERTIFICATE")).code).toBe("bad_request");
    expect(pemToDer(csrLike, "CERTIFICATE REQUEST").equals(certDer)).toBe(true);
  });

  it("refuses more than one block", () => {
    const e = appError(() => pemToDer(certPem + certPem, "CERTIFICATE", "file"));
    expect(e.message).toBe("The text holds 2 CERTIFICATE PEM blocks; exactly one is expected");
    expect(e.field).toBe("file");
  });

  it("refuses a truncated block and bad base64", () => {
    expect(appError(() => pemToDer(certPem.split("-----END")[0], "CERTIFICATE")).message).toContain("incomplete");
    const broken = certPem.replace(/\n(.)/, "\n*$1");
    expect(appError(() => pemToDer(broken, "CERTIFICATE")).message).toContain("not valid base64");
    const empty = "-----BEGIN CERTIFICATE-----\n-----END CERTIFICATE-----\n";
    expect(appError(() => pemToDer(empty, "CERTIFICATE")).message).toContain("not valid base64");
  });
});

describe("countPemBlocks / looksLikePem", () => {
  const key = "-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n";

  it("counts complete blocks, optionally by label", () => {
    const text = `${certPem}junk\n${certPem}${key}`;
    expect(countPemBlocks(text)).toBe(3);
    expect(countPemBlocks(text, "CERTIFICATE")).toBe(2);
    expect(countPemBlocks(text, "PRIVATE KEY")).toBe(1);
    expect(countPemBlocks(text, "ENCRYPTED PRIVATE KEY")).toBe(0);
    expect(countPemBlocks(certPem.replace(/CERTIFICATE/g, "TRUSTED CERTIFICATE"), "CERTIFICATE")).toBe(0);
    expect(countPemBlocks("")).toBe(0);
  });

  it("recognises PEM text", () => {
    expect(looksLikePem(certPem)).toBe(true);
    expect(looksLikePem(`text before\n${key}`)).toBe(true);
    expect(looksLikePem("MIIB...base64 only")).toBe(false);
    expect(looksLikePem(certDer.toString("latin1"))).toBe(false);
  });
});
