import { createPrivateKey } from "node:crypto";
import { readFileSync } from "node:fs";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { appError } from "../test-support/app-error.ts";
import { toBuffer } from "./bytes.ts";
import { createSelfSignedCa, parseCertificate } from "./certificates.ts";
import { createCrl } from "./crl.ts";
import { derChildren, parseCsr, readDer, type ParsedCsr } from "./csr.ts";
import { caKeyIdentifier, issueCertificate, type IssuingCa } from "./issue.ts";
import { generateKeyPair } from "./keys.ts";
import { lintCertificate, lintCrl, type LintResult } from "./lint.ts";
import { issueLintedCertificate, previewCertificate } from "./preview.ts";
import { USAGES, type Usage } from "./profiles.ts";
import { buildCertificate, buildCrl, certificateParts, extension, name, oid, seq, time, tlv } from "./test-certificates.ts";
import { EMPTY_REQ_CONFIG, GENPKEY_ARGS, opensslOk, scratchDir } from "./test-support.ts";

const tmp = scratchDir("lint");
afterAll(() => tmp.remove());
let cnf = "";
let counter = 0;
let ec: IssuingCa;
let rsa: IssuingCa;
const keys: Record<string, string> = {};

async function csr(key: keyof typeof GENPKEY_ARGS, subject: string, san?: string): Promise<ParsedCsr> {
  keys[key] ??= (() => {
    const file = tmp.path(`${key}.key`);
    opensslOk(["genpkey", ...GENPKEY_ARGS[key], "-out", file]);
    return file;
  })();
  const file = tmp.path(`r${++counter}.csr`);
  opensslOk(["req", "-new", "-key", keys[key], "-subj", subject, "-config", cnf, ...(san ? ["-addext", `subjectAltName=${san}`] : []), "-out", file]);
  return parseCsr(readFileSync(file, "utf8"));
}

const codes = (r: LintResult) => ({ errors: r.errors.map((f) => f.code), warnings: r.warnings.map((f) => f.code) });

/** The to-be-signed part of a certificate, byte for byte. */
const tbsOf = (der: Buffer) => derChildren(readDer(der))[0].bytes;

beforeAll(async () => {
  cnf = tmp.file("empty.cnf", EMPTY_REQ_CONFIG);
  const [ecKeys, rsaKeys] = await Promise.all([generateKeyPair("ecdsa-p384"), generateKeyPair("rsa-3072")]);
  const ecCa = await createSelfSignedCa({ subject: { C: "DE", O: "Acme", CN: "Lint EC CA" }, keys: ecKeys, validityDays: 3650 });
  const rsaCa = await createSelfSignedCa({ subject: { C: "DE", O: "Acme", CN: "Lint RSA CA" }, keys: rsaKeys, validityDays: 3650 });
  ec = { certificate: ecCa.certificate, privateKey: ecKeys.privateKey };
  rsa = { certificate: rsaCa.certificate, privateKey: rsaKeys.privateKey };
}, 60_000);

const REQUEST_FOR: Record<Usage, [string, string?]> = {
  tls: ["/O=Acme/CN=www.example.com", "DNS:www.example.com,IP:192.0.2.7"],
  "intermediate-ca": ["/O=Acme/CN=Acme Sub CA"],
  "code-signing": ["/O=Acme/CN=Acme Code"],
  "tls-client": ["/CN=alice", "email:alice@example.com"],
  "iot-device": ["/CN=Sensor 42", "email:d:sensor:42"],
  "cockroach-node": ["/CN=node", "DNS:db1.example.com,IP:127.0.0.1"],
  "cockroach-client": ["/CN=maxroach"],
};

describe("lintCertificate on what Portcullis issues", () => {
  it.each(USAGES.map((u) => u.id))("finds no errors in a %s certificate from an ECDSA and from an RSA CA, with EC, RSA and Ed25519 keys", async (usage) => {
    const [subject, san] = REQUEST_FOR[usage];
    for (const key of ["p256", "rsa2048", "ed25519"] as const) {
      const request = await csr(key, subject, san);
      for (const ca of [ec, rsa]) {
        const issued = await issueCertificate({ csr: request, usage, ca, validityDays: 200, crlUrl: "http://pki.example.com/crl/x.crl", ocspUrl: "http://pki.example.com/ocsp" });
        const r = lintCertificate(issued.der, { issuer: ca.certificate, usage });
        expect(r.errors, `${usage} ${key}`).toEqual([]);
        const expected = [...(usage === "cockroach-node" ? ["cn_not_in_san"] : []), ...(key === "ed25519" && (usage === "tls" || usage === "cockroach-node") ? ["ed25519_tls_server"] : [])];
        expect(codes(r).warnings.sort(), `${usage} ${key}`).toEqual(expected.sort());
      }
    }
  });

  it("finds no errors in the CA certificates, and none in an OpenSSL-made root (the lint is not tuned to one generator)", () => {
    expect(lintCertificate(ec.certificate, { usage: "ca" })).toEqual({ errors: [], warnings: [] });
    expect(lintCertificate(rsa.certificate, { usage: "ca" })).toEqual({ errors: [], warnings: [] });
    const key = tmp.path("osl-ca.key");
    opensslOk(["genpkey", ...GENPKEY_ARGS.p256, "-out", key]);
    const file = tmp.path("osl-ca.pem");
    opensslOk(["req", "-x509", "-key", key, "-subj", "/C=US/O=Example/CN=OpenSSL Root", "-days", "30", "-config", cnf, "-addext", "basicConstraints=critical,CA:TRUE", "-addext", "keyUsage=critical,keyCertSign,cRLSign", "-addext", "subjectKeyIdentifier=hash", "-out", file]);
    expect(lintCertificate(parseCertificate(readFileSync(file, "utf8")), { usage: "ca" }).errors).toEqual([]);
  });

  it("checks the usage's profile: a certificate of one usage linted as another is an error", async () => {
    const issued = await issueCertificate({ csr: await csr("p256", "/O=Acme/CN=Acme Code"), usage: "code-signing", ca: ec, validityDays: 30 });
    const asTls = codes(lintCertificate(issued.der, { issuer: ec.certificate, usage: "tls-client" }));
    expect(asTls.errors).toEqual(["eku_mismatch"]);
    const asCa = codes(lintCertificate(issued.der, { issuer: ec.certificate, usage: "intermediate-ca" }));
    expect(asCa.errors).toEqual(expect.arrayContaining(["basic_constraints_mismatch", "key_usage_mismatch", "eku_mismatch"]));
  });

  it("warns about a TLS server certificate valid for more than 398 days", async () => {
    const issued = await issueCertificate({ csr: await csr("p256", "/CN=long.example.com", "DNS:long.example.com"), usage: "tls", ca: ec, validityDays: 400 });
    const r = lintCertificate(issued.der, { issuer: ec.certificate, usage: "tls" });
    expect(codes(r)).toEqual({ errors: [], warnings: ["validity_over_398_days"] });
    expect(r.warnings[0].message).toContain("valid for 401 days");
  });

  it("knows the other CA from the issuing one: another CA's certificate fails issuer, AKI and signature checks", async () => {
    const issued = await issueCertificate({ csr: await csr("p256", "/CN=x.example.com", "DNS:x.example.com"), usage: "tls", ca: ec, validityDays: 30 });
    expect(codes(lintCertificate(issued.der, { issuer: rsa.certificate, usage: "tls" })).errors).toEqual(["signature_algorithm_not_ca_key", "issuer_not_ca_subject", "aki_not_ca_ski"]);
  });
});

describe("lintCertificate rules on hand-built certificates", () => {
  let base: ReturnType<typeof certificateParts>;
  const lint = (change: (p: typeof base) => typeof base, usage: Parameters<typeof lintCertificate>[1]["usage"] = "tls") =>
    codes(lintCertificate(buildCertificate(change({ ...base }), ec.privateKey), { issuer: ec.certificate, usage }));

  beforeAll(async () => {
    const issued = await issueCertificate({ csr: await csr("p256", "/C=DE/O=Acme/CN=host.example.com", "DNS:host.example.com"), usage: "tls", ca: ec, validityDays: 90, serialHex: "5A0102030405060708090A0B0C0D0E0F" });
    base = certificateParts(issued.der);
  });

  it("the rebuilt base is clean", () => {
    expect(lint((p) => p)).toEqual({ errors: [], warnings: [] });
  });

  it("serial numbers: too short for 64 random bits, 63 bits at most, not DER", () => {
    expect(lint((p) => ({ ...p, serial: Buffer.from([0x12, 0x34, 0x56]) })).errors).toEqual(["serial_low_entropy"]);
    expect(lint((p) => ({ ...p, serial: Buffer.from("7F01020304050607", "hex") })).warnings).toEqual(["serial_may_lack_entropy"]);
    expect(lint((p) => ({ ...p, serial: Buffer.from("00000102030405060708090A", "hex") })).errors).toContain("serial_not_der");
  });

  it("subject strings: country case and ISO list, white space, legacy string types, control characters", () => {
    const subject = (...attrs: [string, number, string][]) => (p: typeof base) => ({ ...p, subject: name(...attrs, ["2.5.4.3", 0x0c, "host.example.com"]) });
    expect(lint(subject(["2.5.4.6", 0x13, "de"]))).toEqual({ errors: [], warnings: ["country_lower_case"] });
    expect(lint(subject(["2.5.4.6", 0x13, "ZZ"])).errors).toEqual(["country_not_iso"]);
    expect(lint(subject(["2.5.4.10", 0x0c, " Acme"])).warnings).toEqual(["subject_attribute_whitespace"]);
    expect(lint(subject(["2.5.4.10", 0x1e, "\u0000A\u0000c"])).warnings).toEqual(["directory_string_legacy"]);
    expect(lint(subject(["2.5.4.10", 0x0c, "Ac\u0007me"])).errors).toEqual(["subject_control_characters"]);
    expect(lint((p) => ({ ...p, subject: seq(tlv(0x31, seq(oid("2.5.4.10"), tlv(0x0c, Buffer.from([0xc3, 0x28]))))) })).errors).toEqual(expect.arrayContaining(["utf8_string_invalid"]));
    expect(lint(subject(["1.2.840.113549.1.9.1", 0x0c, "a@example.com"])).errors).toEqual(["ia5_string_required"]);
  });

  it("key usage encoding, criticality of extensions, unknown critical extensions", () => {
    const ku = (bytes: number[]) => (p: typeof base) => ({ ...p, extensions: p.extensions!.map((e) => (derChildren(readDer(e))[0].bytes.equals(oid("2.5.29.15")) ? extension("2.5.29.15", true, tlv(0x03, Buffer.from(bytes))) : e)) });
    // digitalSignature with 0 unused bits: trailing zero bits not dropped.
    expect(lint(ku([0, 0x80])).errors).toEqual(["key_usage_encoding"]);
    expect(lint((p) => ({ ...p, extensions: [...p.extensions!, extension("1.2.3.4.5", true, Buffer.from([0x05, 0x00]))] })).errors).toEqual(["unknown_critical_extension"]);
    expect(lint((p) => ({ ...p, extensions: [...p.extensions!, extension("1.2.3.4.5", false, Buffer.from([0x05, 0x00]))] })).errors).toEqual([]);
    expect(lint((p) => ({ ...p, extensions: [...p.extensions!, extension("2.5.29.30", false, seq(tlv(0xa0, seq(seq(tlv(0x82, Buffer.from("example.com")))))))] })).errors).toEqual(
      expect.arrayContaining(["extension_must_be_critical", "name_constraints_not_in_ca"]),
    );
    // "critical FALSE" spelled out is not DER.
    expect(lint((p) => ({ ...p, extensions: [...p.extensions!, seq(oid("1.2.3.4.6"), Buffer.from([0x01, 0x01, 0x00]), tlv(0x04, Buffer.from([0x05, 0x00])))] })).errors).toEqual(["extension_encoding"]);
  });

  it("the key is the CA's own; 2050 as GeneralizedTime is well encoded (only beyond the CA), as UTCTime it reads 1950", () => {
    expect(lint((p) => ({ ...p, spki: toBuffer(ec.certificate.publicKey.rawData) })).errors).toEqual(expect.arrayContaining(["subject_key_is_ca_key"]));
    expect(lint((p) => ({ ...p, notAfter: time(new Date(Date.UTC(2050, 0, 1))) })).errors).toEqual(["validity_exceeds_ca"]);
    expect(lint((p) => ({ ...p, notAfter: time(new Date(Date.UTC(2050, 0, 1)), "utc") })).errors).toEqual(expect.arrayContaining(["validity_not_positive"]));
  });

  it("never throws on garbage: an unreadable certificate is one finding", () => {
    expect(codes(lintCertificate(Buffer.from("not a certificate"), { usage: "tls", issuer: ec.certificate }))).toEqual({ errors: ["malformed"], warnings: [] });
    const der = buildCertificate(base, ec.privateKey);
    expect(codes(lintCertificate(der.subarray(0, der.length - 3), { usage: "tls", issuer: ec.certificate })).errors).toEqual(["malformed"]);
  });
});

describe("previewCertificate and the lint gate", () => {
  it("previews exactly what the CA then signs: the same to-be-signed bytes for the same time and serial (ECDSA P-384 and RSA CAs)", async () => {
    const request = await csr("p256", "/O=Acme/CN=same.example.com", "DNS:same.example.com");
    for (const ca of [ec, rsa]) {
      const now = new Date();
      const opts = { csr: request, usage: "tls" as const, validityDays: 90, now, serialHex: "4B2C0D0E0F101112131415161718191A", crlUrl: "http://pki.example.com/crl/x.crl" };
      const preview = await previewCertificate({ ...opts, caCertificate: ca.certificate });
      const issued = await issueCertificate({ ...opts, ca });
      expect(tbsOf(preview.der).equals(tbsOf(issued.der))).toBe(true);
      expect(preview.lint).toEqual({ errors: [], warnings: [] });
      // Only the signature differs, and the preview's does not verify with the CA key.
      expect(await preview.certificate.verify({ publicKey: ca.certificate.publicKey, signatureOnly: true })).toBe(false);
    }
  });

  it("refuses before signing when the lint finds errors, with the findings in the message", async () => {
    const request = await csr("p256", "/O=Acme/CN=www.example.com", "DNS:api.example.com");
    const e = await appError(() => issueLintedCertificate({ csr: request, usage: "tls", ca: ec, validityDays: 90 }));
    expect(e.code).toBe("validation_failed");
    expect(e.message).toContain("fails the checks run before signing");
    expect(e.message).toContain("[cn_not_in_san]");
    const ok = await issueLintedCertificate({ csr: request, usage: "tls-client", ca: ec, validityDays: 90 });
    expect(ok.lintWarnings).toEqual([]);
    expect(lintCertificate(ok.der, { issuer: ec.certificate, usage: "tls-client" }).errors).toEqual([]);
  });

  it("passes the usage's own refusals through unchanged (no host name for TLS)", async () => {
    const request = await csr("p256", "/CN=My Laptop");
    const e = await appError(() => issueLintedCertificate({ csr: request, usage: "tls", ca: ec, validityDays: 90 }));
    expect(e.code).toBe("validation_failed");
    expect(e.fields?.usage).toMatch(/no host name for a TLS server certificate/);
  });
});

describe("lintCrl", () => {
  const DAY = 86_400_000;
  it("finds nothing to report in a CRL from createCrl, with and without reason codes", async () => {
    const now = new Date();
    const crl = await createCrl({ ca: ec, crlNumber: 12, thisUpdate: now, nextUpdate: new Date(now.getTime() + 7 * DAY), revoked: [{ serialHex: "4A0102030405060708", revokedAt: now, reason: "unspecified" }, { serialHex: "4A0102030405060709", revokedAt: now, reason: "superseded" }] });
    const r = codes(lintCrl(crl.der, { issuer: ec.certificate, now }));
    expect(r.errors).toEqual([]);
    expect(r.warnings).toEqual([]);
    const clean = await createCrl({ ca: rsa, crlNumber: 1, thisUpdate: now, nextUpdate: new Date(now.getTime() + DAY), revoked: [] });
    expect(lintCrl(clean.der, { issuer: rsa.certificate, now })).toEqual({ errors: [], warnings: [] });
  });

  it("checks order of the dates, the CRL number, the AKI, the issuer and duplicate entries", () => {
    const now = new Date();
    const base = {
      signatureAlgorithm: seq(oid("1.2.840.10045.4.3.3")),
      issuer: derChildren(derChildren(readDer(toBuffer(ec.certificate.rawData)))[0])[5].bytes,
      thisUpdate: time(now),
      nextUpdate: time(new Date(now.getTime() + DAY)) as Buffer | null,
      entries: [] as [Buffer, Buffer, Buffer[] | null][],
      extensions: [extension("2.5.29.35", false, seq(tlv(0x80, Buffer.from(caKeyIdentifier(ec.certificate), "hex")))), extension("2.5.29.20", false, tlv(0x02, Buffer.from([3])))],
    };
    const lint = (p: typeof base) => codes(lintCrl(buildCrl(p, ec.privateKey), { issuer: ec.certificate, now })).errors;
    expect(lint(base)).toEqual([]);
    expect(lint({ ...base, nextUpdate: time(new Date(now.getTime() - DAY)) })).toEqual(["crl_next_update_before_this_update"]);
    expect(lint({ ...base, extensions: [base.extensions[0]] })).toEqual(["crl_number_missing"]);
    expect(lint({ ...base, extensions: [base.extensions[1]] })).toEqual(["crl_aki_missing"]);
    expect(lint({ ...base, extensions: [extension("2.5.29.35", false, seq(tlv(0x80, Buffer.alloc(20, 1)))), base.extensions[1]] })).toEqual(["crl_aki_not_ca_ski"]);
    expect(lint({ ...base, issuer: name(["2.5.4.3", 0x0c, "Someone else"]) })).toEqual(["crl_issuer_not_ca_subject"]);
    const entry: [Buffer, Buffer, null] = [Buffer.from("4A01020304050607", "hex"), time(now), null];
    expect(lint({ ...base, entries: [entry, entry] })).toEqual(["crl_entry_duplicate"]);
    expect(lint({ ...base, entries: [[Buffer.from([0xff]), time(now), null]] })).toEqual(["crl_entry_serial_not_positive"]);
    expect(lint({ ...base, signatureAlgorithm: seq(oid("1.2.840.113549.1.1.11"), tlv(0x05, Buffer.alloc(0))) })).toEqual(["signature_algorithm_not_ca_key"]);
  });

  it("flags a CA that may not sign CRLs", () => {
    const key = tmp.path("nocrl.key");
    opensslOk(["genpkey", ...GENPKEY_ARGS.p256, "-out", key]);
    const file = tmp.path("nocrl.pem");
    opensslOk(["req", "-x509", "-key", key, "-subj", "/CN=No CRL CA", "-days", "5", "-config", cnf, "-addext", "basicConstraints=critical,CA:TRUE", "-addext", "keyUsage=critical,keyCertSign", "-addext", "subjectKeyIdentifier=hash", "-out", file]);
    const ca = parseCertificate(readFileSync(file, "utf8"));
    const now = new Date();
    const der = buildCrl(
      {
        signatureAlgorithm: seq(oid("1.2.840.10045.4.3.2")),
        issuer: derChildren(derChildren(readDer(toBuffer(ca.rawData)))[0])[5].bytes,
        thisUpdate: time(now),
        nextUpdate: time(new Date(now.getTime() + DAY)),
        entries: [],
        extensions: [extension("2.5.29.35", false, seq(tlv(0x80, Buffer.from(caKeyIdentifier(ca), "hex")))), extension("2.5.29.20", false, tlv(0x02, Buffer.from([1])))],
      },
      createPrivateKey(readFileSync(key)),
    );
    expect(codes(lintCrl(der, { issuer: ca, now })).errors).toEqual(["ca_without_crl_sign"]);
    expect(codes(lintCertificate(ca, { usage: "ca" })).errors).toEqual(["ca_without_crl_sign"]);
  });
});
