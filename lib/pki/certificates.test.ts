import { generateKeyPairSync } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { appError } from "../test-support/app-error.ts";
import {
  certificateToPem,
  createSelfSignedCa,
  describeCertificate,
  isCaCertificate,
  parseCertificate,
  type CertificateResult,
} from "./certificates.ts";
import type { KeyAlgorithm } from "./key-algorithms.ts";
import { keyMatchesCertificate, type KeyPair } from "./keys.ts";
import { unencryptedPkcs8Pem } from "./pkcs8.ts";
import { x509 } from "./setup.ts";
import { EMPTY_REQ_CONFIG, KEY_ALGORITHM_IDS as ALGS, generateKeyPairs, openssl, opensslBytes, opensslOk, opensslSelfSigned, scratchDir } from "./test-support.ts";

const tmp = scratchDir("certificates");
let pairs: Record<KeyAlgorithm, KeyPair>;
const cas = {} as Record<KeyAlgorithm, CertificateResult>;
const SUBJECT = { C: "DE", O: "Acme", CN: "Acme Root CA" };

beforeAll(async () => {
  pairs = await generateKeyPairs(ALGS);
  for (const a of ALGS) cas[a] = await createSelfSignedCa({ subject: SUBJECT, keys: pairs[a], validityDays: 3650 });
});
afterAll(() => tmp.remove());

/** Writes a leaf certificate OpenSSL signs with a throwaway key; `ext` adds extensions. */
function opensslCert(name: string, ext: string[] = []): { file: string; pem: string } {
  // -x509 without the config's v3_ca section: only the extensions given here.
  return opensslSelfSigned(tmp, name, { args: ["-config", tmp.file("empty.cnf", EMPTY_REQ_CONFIG), ...ext] });
}

describe("createSelfSignedCa", () => {
  const sigAlg: Record<KeyAlgorithm, string> = {
    "ecdsa-p256": "ecdsa-with-SHA256",
    "ecdsa-p384": "ecdsa-with-SHA384",
    "rsa-2048": "sha256WithRSAEncryption",
    "rsa-3072": "sha256WithRSAEncryption",
    "rsa-4096": "sha256WithRSAEncryption",
  };
  const keyText: Record<KeyAlgorithm, RegExp> = {
    "ecdsa-p256": /Public-Key: \(256 bit\)[\s\S]*NIST CURVE: P-256/,
    "ecdsa-p384": /Public-Key: \(384 bit\)[\s\S]*NIST CURVE: P-384/,
    "rsa-2048": /Public-Key: \(2048 bit\)/,
    "rsa-3072": /Public-Key: \(3072 bit\)/,
    "rsa-4096": /Public-Key: \(4096 bit\)/,
  };

  for (const alg of ALGS) {
    it(`makes a ${alg} root that \`openssl verify -x509_strict\` accepts, with the CA extensions`, () => {
      const file = tmp.file(`${alg}.cer`, cas[alg].pem);
      const verify = openssl(["verify", "-x509_strict", "-CAfile", file, file]);
      expect(verify.stdout.trim(), verify.stderr).toBe(`${file}: OK`);
      expect(verify.status).toBe(0);
      // Usable as a CA for issuing, not only as a trust anchor.
      expect(opensslOk(["x509", "-in", file, "-noout", "-purpose"])).toMatch(/SSL server CA : Yes/);

      const text = opensslOk(["x509", "-in", file, "-noout", "-text"]);
      expect(text).toMatch(/Version: 3 \(0x2\)/);
      expect(text).toMatch(new RegExp(`Signature Algorithm: ${sigAlg[alg]}`));
      expect(text).toMatch(keyText[alg]);
      expect(text).toMatch(/X509v3 Basic Constraints: critical\n\s+CA:TRUE\n/);
      expect(text).not.toMatch(/pathlen/i);
      expect(text).toMatch(/X509v3 Key Usage: critical\n\s+Digital Signature, Certificate Sign, CRL Sign\n/);
      const ski = /X509v3 Subject Key Identifier: ?\n\s+([0-9A-F:]+)\n/.exec(text)?.[1];
      const aki = /X509v3 Authority Key Identifier: ?\n\s+(?:keyid:)?([0-9A-F:]+)\n/.exec(text)?.[1];
      expect(ski).toMatch(/^([0-9A-F]{2}:){19}[0-9A-F]{2}$/);
      expect(aki).toBe(ski);
      expect(text).toMatch(/Subject: CN = Acme Root CA, O = Acme, C = DE|Subject: C = DE, O = Acme, CN = Acme Root CA/);
      expect(keyMatchesCertificate(pairs[alg].privateKey, cas[alg].certificate)).toBe(true);
    });
  }

  it("backdates five minutes and lasts validityDays, in whole seconds", async () => {
    const now = new Date(Date.now() - 3_600_000 + 789); // an hour ago, with milliseconds
    const { pem, certificate } = await createSelfSignedCa({ subject: SUBJECT, keys: pairs["ecdsa-p256"], validityDays: 30, now });
    const file = tmp.file("dates.cer", pem);
    const dates = opensslOk(["x509", "-in", file, "-noout", "-startdate", "-enddate", "-dateopt", "iso_8601"]);
    const start = new Date(/notBefore=(.+)/.exec(dates)![1].replace(" ", "T"));
    const end = new Date(/notAfter=(.+)/.exec(dates)![1].replace(" ", "T"));
    const whole = (ms: number) => Math.floor(ms / 1000) * 1000;
    expect(start.getTime()).toBe(whole(now.getTime() - 5 * 60_000));
    expect(end.getTime()).toBe(whole(now.getTime() + 30 * 86_400_000));
    expect(certificate.notBefore.getTime()).toBe(start.getTime());
    expect(certificate.notAfter.getTime()).toBe(end.getTime());
    expect(openssl(["verify", "-x509_strict", "-CAfile", file, file]).status).toBe(0);
  });

  it("writes dates after 2049 as GeneralizedTime, which OpenSSL accepts", async () => {
    const { pem } = await createSelfSignedCa({ subject: SUBJECT, keys: pairs["ecdsa-p256"], validityDays: 36_500 });
    const file = tmp.file("long.cer", pem);
    const asn1 = opensslOk(["asn1parse", "-in", file]);
    expect(asn1).toMatch(/UTCTIME\s+:\d{12}Z\n.*GENERALIZEDTIME\s+:21\d{12}Z\n/);
    expect(openssl(["verify", "-x509_strict", "-CAfile", file, file]).status).toBe(0);
  });

  it("gives every certificate a new random serial", async () => {
    const a = describeCertificate(cas["ecdsa-p256"].certificate).serial;
    const b = describeCertificate((await createSelfSignedCa({ subject: SUBJECT, keys: pairs["ecdsa-p256"], validityDays: 1 })).certificate).serial;
    expect(a).toMatch(/^[4-7][0-9A-F]{31}$/);
    expect(a).not.toBe(b);
  });

  it("signs with Ed25519 keys too", async () => {
    const ed = generateKeyPairSync("ed25519");
    const { pem } = await createSelfSignedCa({ subject: { CN: "Ed CA" }, keys: ed, validityDays: 1 });
    const file = tmp.file("ed.cer", pem);
    expect(openssl(["verify", "-x509_strict", "-CAfile", file, file]).status).toBe(0);
    expect(opensslOk(["x509", "-in", file, "-noout", "-text"])).toMatch(/Signature Algorithm: ED25519/);
  });

  it("refuses bad validity, a bad subject and mismatched keys", async () => {
    const keys = pairs["ecdsa-p256"];
    for (const validityDays of [0, -1, 1.5, 36_501, Number.NaN]) {
      const e = await appError(() => createSelfSignedCa({ subject: SUBJECT, keys, validityDays }));
      expect(e.code, String(validityDays)).toBe("validation_failed");
      expect(e.field).toBe("validityDays");
    }
    const bad = await appError(() => createSelfSignedCa({ subject: { C: "XX" }, keys, validityDays: 1 }));
    expect(bad.code).toBe("validation_failed");
    expect(bad.fields).toHaveProperty("subject.C");
    const mixed = { privateKey: keys.privateKey, publicKey: pairs["ecdsa-p384"].publicKey };
    expect((await appError(() => createSelfSignedCa({ subject: SUBJECT, keys: mixed, validityDays: 1 }))).code).toBe("key_mismatch");
  });
});

describe("parseCertificate", () => {
  it("reads PEM text, PEM bytes and DER bytes", () => {
    const { pem, der } = cas["rsa-2048"];
    for (const input of [pem, Buffer.from(pem), new Uint8Array(der), der, `Certificate:\n  text OpenSSL prints\n${pem}`]) {
      expect(Buffer.from(parseCertificate(input).rawData).equals(der)).toBe(true);
    }
  });

  it("reads what OpenSSL writes", () => {
    const { file } = opensslCert("leaf", ["-addext", "basicConstraints=critical,CA:FALSE"]);
    const der = opensslBytes(["x509", "-in", file, "-outform", "DER"]);
    expect(Buffer.from(parseCertificate(der).rawData).equals(der)).toBe(true);
  });

  it("reads certificates with keys Portcullis does not generate", () => {
    const cases: [string[], string][] = [
      [["-algorithm", "ED448"], "Ed448"],
      [["-algorithm", "ED25519"], "Ed25519"],
      [["-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:secp256k1"], "ECDSA secp256k1"],
      [["-algorithm", "RSA-PSS", "-pkeyopt", "rsa_keygen_bits:2048"], "RSA-PSS 2048"],
    ];
    for (const [args, label] of cases) {
      const key = tmp.path("odd.key");
      opensslOk(["genpkey", ...args, "-out", key]);
      const pem = opensslOk(["req", "-x509", "-key", key, "-subj", "/CN=odd", "-days", "1"]);
      expect(describeCertificate(parseCertificate(pem)).keyLabel, label).toBe(label);
    }
  });

  it("wants exactly one certificate", async () => {
    const { pem } = cas["ecdsa-p256"];
    const two = await appError(() => parseCertificate(pem + cas["ecdsa-p384"].pem, "caFile"));
    expect(two.code).toBe("bad_request");
    expect(two.message).toBe("The file holds 2 certificates; exactly one is expected");
    expect(two.field).toBe("caFile");
    const three = await appError(() => parseCertificate(Buffer.from(pem + pem + pem)));
    expect(three.message).toBe("The file holds 3 certificates; exactly one is expected");
    const csr = opensslOk(["req", "-new", "-key", tmp.file("k.pem", unencryptedPkcs8Pem(pairs["ecdsa-p256"].privateKey)), "-subj", "/CN=x"]);
    expect((await appError(() => parseCertificate(csr))).message).toMatch(/holds no certificate/);
  });

  it("refuses what is not a certificate", async () => {
    const { der } = cas["ecdsa-p256"];
    const keyDer = opensslBytes(["pkey", "-in", tmp.file("k.pem", unencryptedPkcs8Pem(pairs["ecdsa-p256"].privateKey)), "-outform", "DER"]);
    const inputs: (string | Uint8Array)[] = [
      "",
      "hello",
      der.toString("base64"),
      new Uint8Array(),
      Buffer.from("hello"),
      der.subarray(0, der.length - 1),
      Buffer.concat([der, Buffer.from([0])]),
      keyDer,
      "-----BEGIN CERTIFICATE-----\nMAMCAQA=\n-----END CERTIFICATE-----\n",
    ];
    for (const input of inputs) {
      const e = await appError(() => parseCertificate(input));
      expect(e.code).toBe("bad_request");
      expect(e.message).toBe("The file is not an X.509 certificate (PEM or DER)");
      expect(e.field).toBe("certificate");
    }
  });
});

describe("isCaCertificate", () => {
  it("is true only with basicConstraints CA:TRUE", () => {
    expect(isCaCertificate(cas["rsa-3072"].certificate)).toBe(true);
    const leaf = opensslCert("not-ca", ["-addext", "basicConstraints=critical,CA:FALSE"]);
    expect(isCaCertificate(parseCertificate(leaf.pem))).toBe(false);
    const bare = opensslCert("bare");
    expect(opensslOk(["x509", "-in", bare.file, "-noout", "-text"])).not.toMatch(/Basic Constraints/);
    expect(isCaCertificate(parseCertificate(bare.pem))).toBe(false);
    const other = opensslCert("other-ca", ["-addext", "basicConstraints=critical,CA:TRUE,pathlen:0"]);
    expect(isCaCertificate(parseCertificate(other.pem))).toBe(true);
  });
});

describe("describeCertificate / certificateToPem", () => {
  it("agrees with OpenSSL on serial, fingerprints and dates", () => {
    for (const alg of ["ecdsa-p384", "rsa-4096"] as const) {
      const { certificate } = cas[alg];
      const file = tmp.file("d.cer", cas[alg].pem);
      const d = describeCertificate(certificate);
      const out = opensslOk(["x509", "-in", file, "-noout", "-serial", "-fingerprint", "-sha1", "-startdate", "-enddate", "-dateopt", "iso_8601"]);
      expect(`serial=${d.serial}`).toBe(/^serial=.*$/m.exec(out)![0]);
      expect(d.sha1Fingerprint).toBe(/^sha1 Fingerprint=(.*)$/im.exec(out)![1]);
      const sha256 = opensslOk(["x509", "-in", file, "-noout", "-fingerprint", "-sha256"]).trim().replace(/^sha256 Fingerprint=/i, "");
      expect(d.sha256Fingerprint).toBe(sha256);
      expect(d.notBefore.getTime()).toBe(new Date(/notBefore=(.+)/.exec(out)![1].replace(" ", "T")).getTime());
      expect(d.notAfter.getTime()).toBe(new Date(/notAfter=(.+)/.exec(out)![1].replace(" ", "T")).getTime());
      expect(d.subject).toBe("C=DE, O=Acme, CN=Acme Root CA");
      expect(d.issuer).toBe(d.subject);
      expect(d.isCa).toBe(true);
      expect(d.keyLabel).toBe(alg === "rsa-4096" ? "RSA 4096" : "ECDSA P-384");
    }
  });

  it("describes a non-CA certificate from OpenSSL", () => {
    const leaf = opensslCert("describe-leaf", ["-addext", "basicConstraints=critical,CA:FALSE"]);
    const d = describeCertificate(parseCertificate(leaf.pem));
    expect(d.isCa).toBe(false);
    expect(d.subject).toBe("CN=describe-leaf");
    expect(d.keyLabel).toBe("ECDSA P-256");
    expect(`serial=${d.serial}`).toBe(opensslOk(["x509", "-in", leaf.file, "-noout", "-serial"]).trim());
  });

  it("writes PEM exactly as OpenSSL re-encodes it", () => {
    for (const alg of ALGS) {
      const pem = certificateToPem(cas[alg].certificate);
      expect(pem).toBe(cas[alg].pem);
      expect(opensslOk(["x509", "-in", tmp.file("p.cer", pem)])).toBe(pem);
    }
  });

  it("returns DER and PEM of the same certificate", () => {
    const { der, pem, certificate } = cas["ecdsa-p256"];
    expect(Buffer.from(certificate.rawData).equals(der)).toBe(true);
    expect(opensslBytes(["x509", "-in", tmp.file("same.cer", pem), "-outform", "DER"]).equals(der)).toBe(true);
    expect(certificate).toBeInstanceOf(x509.X509Certificate);
  });
});
