import { afterAll, describe, expect, it } from "vitest";
import { importSigningKey, generateKeyPair } from "./keys.ts";
import { randomSerialHex } from "./serial.ts";
import { x509 } from "./setup.ts";
import { opensslOk, scratchDir } from "./test-support.ts";

const tmp = scratchDir("serial");
afterAll(() => tmp.remove());

describe("randomSerialHex", () => {
  it("is 32 upper-case hex digits whose first octet is 0x40–0x7F", () => {
    for (let i = 0; i < 2000; i++) expect(randomSerialHex()).toMatch(/^[4-7][0-9A-F]{31}$/);
  });

  it("varies in every position (random, not a counter)", () => {
    const serials = Array.from({ length: 2000 }, randomSerialHex);
    expect(new Set(serials).size).toBe(serials.length);
    for (let pos = 0; pos < 32; pos++) {
      const digits = new Set(serials.map((s) => s[pos]));
      expect(digits.size, `position ${pos}`).toBe(pos === 0 ? 4 : 16);
    }
  });

  it("is the serial @peculiar/x509 writes, and OpenSSL reads it as a positive 16-octet INTEGER", async () => {
    const keys = await generateKeyPair("ecdsa-p256");
    const signing = await importSigningKey(keys.privateKey);
    for (let i = 0; i < 3; i++) {
      const serial = randomSerialHex();
      const cert = await x509.X509CertificateGenerator.createSelfSigned({
        serialNumber: serial,
        name: "CN=serial test",
        keys: { privateKey: signing.privateKey, publicKey: signing.publicKey },
        signingAlgorithm: signing.signingAlgorithm,
      });
      // The library hands serials back in lower case.
      expect(cert.serialNumber.toUpperCase()).toBe(serial);
      const file = tmp.file("c.cer", cert.toString("pem"));
      expect(opensslOk(["x509", "-in", file, "-noout", "-serial"]).trim()).toBe(`serial=${serial}`);
      // tbsCertificate: version [0] then the serial INTEGER, 16 content octets, no 00 pad.
      expect(opensslOk(["asn1parse", "-in", file])).toMatch(new RegExp(`l=\\s*16 prim: INTEGER\\s+:${serial}\\n`));
    }
  });
});
