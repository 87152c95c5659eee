import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { fingerprint, fingerprints } from "./fingerprint.ts";
import { opensslBytes, opensslOk, opensslSelfSigned, scratchDir } from "./test-support.ts";

const tmp = scratchDir("fingerprint");
let certFile: string;
let der: Buffer;

beforeAll(() => {
  certFile = opensslSelfSigned(tmp, "c", { subject: "/CN=fingerprint test" }).file;
  der = opensslBytes(["x509", "-in", certFile, "-outform", "DER"]);
});
afterAll(() => tmp.remove());

describe("fingerprint", () => {
  it("equals `openssl x509 -fingerprint -sha1`", () => {
    const out = opensslOk(["x509", "-in", certFile, "-noout", "-fingerprint", "-sha1"]).trim();
    // OpenSSL 3.0 prints "sha1 Fingerprint=", 1.1 printed "SHA1 Fingerprint=".
    expect(out).toMatch(/^sha1 Fingerprint=/i);
    expect(fingerprint(der, "SHA-1")).toBe(out.replace(/^sha1 Fingerprint=/i, ""));
  });

  it("equals `openssl x509 -fingerprint -sha256`", () => {
    const out = opensslOk(["x509", "-in", certFile, "-noout", "-fingerprint", "-sha256"]).trim();
    expect(out).toMatch(/^sha256 Fingerprint=/i);
    expect(fingerprint(new Uint8Array(der).buffer, "SHA-256")).toBe(out.replace(/^sha256 Fingerprint=/i, ""));
  });

  it("formats upper-case colon hex", () => {
    const { sha1, sha256 } = fingerprints(der);
    expect(sha1).toMatch(/^([0-9A-F]{2}:){19}[0-9A-F]{2}$/);
    expect(sha256).toMatch(/^([0-9A-F]{2}:){31}[0-9A-F]{2}$/);
    // SHA-1 of the empty string, a fixed point that needs no OpenSSL.
    expect(fingerprint(new Uint8Array(), "SHA-1")).toBe("DA:39:A3:EE:5E:6B:4B:0D:32:55:BF:EF:95:60:18:90:AF:D8:07:09");
  });

  it("hashes only the bytes of a view, not its whole buffer", () => {
    const padded = Buffer.concat([Buffer.from([1, 2, 3]), der, Buffer.from([4])]);
    const view = new Uint8Array(padded.buffer, padded.byteOffset + 3, der.length);
    expect(fingerprint(view, "SHA-1")).toBe(fingerprint(der, "SHA-1"));
  });
});
