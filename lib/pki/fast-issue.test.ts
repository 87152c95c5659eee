import { readFileSync } from "node:fs";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createSelfSignedCa } from "./certificates.ts";
import { derChildren, parseCsr, readDer, type ParsedCsr } from "./csr.ts";
import { integerFromHex, ipBytes, keyUsageValue, time } from "./der.mjs";
import { AppError } from "../errors/app-error.ts";
import { createFastIssuer, fastInput, issueFast, issueFromCsrDer, prepareIssuer, unsignedCertificate, type PreparedIssuer } from "./fast-issue.ts";
import { FastPool } from "./fast-pool.ts";
import { issueCertificate, type IssuingCa } from "./issue.ts";
import { generateKeyPair, type KeyPair } from "./keys.ts";
import { lintCertificate } from "./lint.ts";
import { USAGES, type Usage } from "./profiles.ts";
import { x509 } from "./setup.ts";
import { EMPTY_REQ_CONFIG, GENPKEY_ARGS, openssl, opensslKeyFiles, opensslOk, scratchDir } from "./test-support.ts";

const tmp = scratchDir("fast-issue");

const KEY_ARGS = { p256: GENPKEY_ARGS.p256, p384: GENPKEY_ARGS.p384, rsa: GENPKEY_ARGS.rsa2048, ed: GENPKEY_ARGS.ed25519 } as const;
type KeyName = keyof typeof KEY_ARGS;

const REQUESTS = {
  server: ["p256", "/O=Acme/CN=host.example.com", ["-addext", "subjectAltName=DNS:host.example.com,DNS:www.example.com,IP:127.0.0.1,IP:::1"]],
  hostOnly: ["rsa", "/O=Acme/CN=host.example.com", []],
  ipOnly: ["p384", "/CN=10.1.2.3", []],
  all: ["p256", "/CN=a.example.com", ["-addext", "subjectAltName=DNS:a.example.com,IP:127.0.0.1,email:x@example.com,URI:https://example.com/x"]],
  client: ["p256", "/O=Acme/CN=alice", []],
  device: ["p256", "/O=Acme/CN=d:sensor:0042", []],
  deviceSan: ["ed", "/CN=Sensor 42", ["-addext", "subjectAltName=email:d:sensor:42"]],
  inter: ["p384", "/O=Acme/CN=Acme Issuing CA", ["-addext", "basicConstraints=critical,CA:TRUE,pathlen:5"]],
  code: ["ed", "/O=Acme/CN=Acme Code Signing", []],
  codeRsa: ["rsa", "/O=Acme/CN=Acme Code Signing RSA", []],
  crdbNode: ["p256", "/O=Cockroach/CN=node", ["-addext", "subjectAltName=DNS:db1.example.com,DNS:localhost,IP:127.0.0.1,IP:::1"]],
  crdbNodeRsa: ["rsa", "/CN=node", ["-addext", "subjectAltName=DNS:db2.example.com"]],
  crdbClient: ["p256", "/O=Cockroach/CN=maxroach", []],
  crdbRoot: ["ed", "/CN=root", []],
} as const satisfies Record<string, readonly [KeyName, string, readonly string[]]>;
type RequestName = keyof typeof REQUESTS;

// Every usage, with the OpenSSL purposes its certificates must pass.
const CASES: { request: RequestName; usage: Usage; pass: string[] }[] = [
  { request: "server", usage: "tls", pass: ["sslserver", "sslclient"] },
  { request: "hostOnly", usage: "tls", pass: ["sslserver", "sslclient"] },
  { request: "ipOnly", usage: "tls", pass: ["sslserver", "sslclient"] },
  { request: "all", usage: "tls", pass: ["sslserver"] },
  { request: "client", usage: "tls-client", pass: ["sslclient"] },
  { request: "device", usage: "iot-device", pass: ["sslclient"] },
  { request: "deviceSan", usage: "iot-device", pass: ["sslclient"] },
  { request: "inter", usage: "intermediate-ca", pass: ["any"] },
  { request: "code", usage: "code-signing", pass: ["any"] },
  { request: "codeRsa", usage: "code-signing", pass: ["any"] },
  { request: "crdbNode", usage: "cockroach-node", pass: ["sslserver", "sslclient"] },
  { request: "crdbNodeRsa", usage: "cockroach-node", pass: ["sslserver", "sslclient"] },
  { request: "crdbClient", usage: "cockroach-client", pass: ["sslclient"] },
  { request: "crdbRoot", usage: "cockroach-client", pass: ["sslclient"] },
];

type CaName = "ecdsa-p256" | "ecdsa-p384" | "rsa-2048";
interface TestCa extends IssuingCa {
  keys: KeyPair;
  pem: string;
  file: string;
  fast: PreparedIssuer;
}
const cas = {} as Record<CaName, TestCa>;
const csrs = {} as Record<RequestName, { parsed: ParsedCsr; file: string }>;
const URLS = { crlUrl: "https://pki.example.com/crl/acme.crl", ocspUrl: "https://pki.example.com/ocsp", caIssuersUrl: "https://pki.example.com/api/v1/ca/certificate?format=der" };
// An hour on, with milliseconds: certificates carry whole seconds.
const NOW = new Date(Math.floor(Date.now() / 1000) * 1000 + 3_600_123);

beforeAll(async () => {
  const cnf = tmp.file("empty.cnf", EMPTY_REQ_CONFIG);
  const keyFiles = await opensslKeyFiles(tmp, KEY_ARGS);
  for (const [name, [key, subj, args]] of Object.entries(REQUESTS) as [RequestName, (typeof REQUESTS)[RequestName]][]) {
    const file = tmp.path(`${name}.csr`);
    opensslOk(["req", "-new", "-key", keyFiles[key], "-subj", subj, "-config", cnf, ...args, "-out", file]);
    csrs[name] = { parsed: await parseCsr(readFileSync(file, "utf8")), file };
  }
  for (const alg of ["ecdsa-p256", "ecdsa-p384", "rsa-2048"] as const) {
    const keys = await generateKeyPair(alg);
    const result = await createSelfSignedCa({ subject: { C: "DE", O: "Acme", CN: `Acme Root ${alg}` }, keys, validityDays: 3650 });
    cas[alg] = {
      certificate: result.certificate,
      privateKey: keys.privateKey,
      keys,
      pem: result.pem,
      file: tmp.file(`${alg}-ca.cer`, result.pem),
      fast: prepareIssuer({ certificatePem: result.pem, privateKey: keys.privateKey }, URLS),
    };
  }
}, 120_000);
afterAll(() => tmp.remove());

/** The TBSCertificate bytes of a certificate. */
function tbsOf(der: Buffer): Buffer {
  return derChildren(readDer(der))[0].bytes;
}

/** `openssl x509 -text` without the signature value (ECDSA signatures differ on every run). */
function opensslText(file: string): string {
  const text = opensslOk(["x509", "-in", file, "-noout", "-text"]);
  return text.replace(/(\n\s+Signature Value:)[\s\S]*$/, "$1");
}

/** The fields @peculiar/x509 decodes, for a field-by-field comparison. */
function decoded(der: Buffer) {
  const c = new x509.X509Certificate(new Uint8Array(der));
  return {
    serial: c.serialNumber,
    subject: c.subject,
    issuer: c.issuer,
    notBefore: c.notBefore.toISOString(),
    notAfter: c.notAfter.toISOString(),
    publicKey: Buffer.from(c.publicKey.rawData).toString("hex"),
    signatureAlgorithm: JSON.stringify(c.signatureAlgorithm),
    extensions: c.extensions.map((e) => ({ type: e.type, critical: e.critical, value: Buffer.from(e.value).toString("hex") })),
  };
}

function verify(file: string, caFile: string, purpose: string): { ok: boolean; output: string } {
  // At an hour after NOW: inside the validity of everything issued here.
  const at = String(Math.floor(NOW.getTime() / 1000) + 3600);
  const r = openssl(["verify", "-x509_strict", "-attime", at, "-CAfile", caFile, "-purpose", purpose, file]);
  return { ok: r.status === 0 && r.stdout.trim() === `${file}: OK`, output: r.stdout + r.stderr };
}

let counter = 0;
describe("the fast engine gives the reference engine's certificates", () => {
  for (const caName of ["ecdsa-p256", "ecdsa-p384", "rsa-2048"] as const) {
    for (const c of CASES) {
      it(`${c.usage} for "${c.request}" from the ${caName} CA`, async () => {
        const ca = cas[caName];
        const csr = csrs[c.request].parsed;
        const serialHex = `4${(++counter).toString(16).padStart(31, "0")}`;
        const ref = await issueCertificate({ csr, usage: c.usage, ca, validityDays: 90, now: NOW, serialHex, ...URLS });
        const fast = issueFast(ca.fast, fastInput(ca.fast, { csr, usage: c.usage, validityDays: 90, now: NOW, serialHex }));

        // Content: the to-be-signed bytes are identical; RSA signatures are deterministic, so whole certificates are.
        expect(tbsOf(fast.der).toString("hex")).toBe(tbsOf(ref.der).toString("hex"));
        if (caName === "rsa-2048") expect(fast.der.equals(ref.der)).toBe(true);
        expect(decoded(fast.der)).toEqual(decoded(ref.der));
        expect(fast.serial).toBe(ref.serial);
        expect(fast.notBefore.getTime()).toBe(ref.notBefore.getTime());
        expect(fast.notAfter.getTime()).toBe(ref.notAfter.getTime());

        const refFile = tmp.file(`ref-${caName}-${c.request}.cer`, ref.pem);
        const fastFile = tmp.file(`fast-${caName}-${c.request}.cer`, fast.pem);
        expect(opensslText(fastFile)).toBe(opensslText(refFile));
        expect(opensslText(fastFile)).toContain(`Signature Algorithm: ${{ "ecdsa-p256": "ecdsa-with-SHA256", "ecdsa-p384": "ecdsa-with-SHA384", "rsa-2048": "sha256WithRSAEncryption" }[caName]}`);
        for (const purpose of c.pass) {
          const v = verify(fastFile, ca.file, purpose);
          expect(v.ok, `${purpose}: ${v.output}`).toBe(true);
        }
        const lint = lintCertificate(fast.der, { issuer: ca.certificate, usage: c.usage, now: NOW });
        expect(lint.errors).toEqual([]);
        // Issuance lints the certificate before the CA key signs it, with a stand-in signature value: the same findings.
        const unsigned = unsignedCertificate(ca.fast, tbsOf(fast.der));
        expect(tbsOf(unsigned).equals(tbsOf(fast.der))).toBe(true);
        expect(lintCertificate(unsigned, { issuer: ca.certificate, usage: c.usage, now: NOW })).toEqual(lint);
        expect(opensslOk(["x509", "-inform", "DER", "-in", tmp.file(`unsigned-${caName}-${c.request}.der`, unsigned), "-noout", "-subject"])).toContain("subject=");
      });
    }
  }

  it("covers every usage", () => {
    expect(new Set(CASES.map((c) => c.usage))).toEqual(new Set(USAGES.map((u) => u.id)));
  });

  it("leaves out the CRL and AIA extensions without URLs, as the reference does", async () => {
    const ca = cas["ecdsa-p256"];
    const bare = prepareIssuer({ certificatePem: ca.pem, privateKey: ca.privateKey });
    const csr = csrs.server.parsed;
    const ref = await issueCertificate({ csr, usage: "tls", ca, validityDays: 30, now: NOW, serialHex: "0123" });
    const fast = issueFast(bare, fastInput(bare, { csr, usage: "tls", validityDays: 30, now: NOW, serialHex: "0123" }));
    expect(tbsOf(fast.der).equals(tbsOf(ref.der))).toBe(true);
    expect(opensslText(tmp.file("bare.cer", fast.pem))).not.toMatch(/CRL Distribution|Authority Information Access/);
  });

  it("refuses what the reference refuses", async () => {
    const ca = cas["ecdsa-p256"];
    const bad: [RequestName, Usage, RegExp][] = [
      ["client", "iot-device", /device identity/],
      ["client", "cockroach-node", /common name "node"/],
      ["server", "cockroach-client", /SQL user name/],
      ["code", "tls", /host name/],
    ];
    for (const [request, usage, message] of bad) {
      await expect(issueCertificate({ csr: csrs[request].parsed, usage, ca, validityDays: 30, now: NOW })).rejects.toThrow();
      expect(() => fastInput(ca.fast, { csr: csrs[request].parsed, usage, validityDays: 30, now: NOW })).toThrow(message);
    }
    for (const validityDays of [0, 2.5, 36_501]) expect(() => fastInput(ca.fast, { csr: csrs.server.parsed, usage: "tls", validityDays, now: NOW })).toThrow(/Validity/);
    for (const serialHex of ["", "00", "xyz", "80" + "00".repeat(19)]) {
      expect(() => issueFast(ca.fast, { ...fastInput(ca.fast, { csr: csrs.server.parsed, usage: "tls", validityDays: 30, now: NOW }), serialHex })).toThrow(/serial number/);
    }
    expect(() => fastInput(ca.fast, { csr: csrs.server.parsed, usage: "tls", validityDays: 30, now: new Date("2040-01-01") })).toThrow(/expired/);
    expect(() => prepareIssuer({ certificatePem: ca.pem, privateKey: cas["rsa-2048"].privateKey })).toThrow(/does not match/);
    expect(() => prepareIssuer({ certificatePem: ca.pem, privateKey: ca.privateKey }, { crlUrl: "ftp://x" })).toThrow(/crlUrl/);
  });
});

describe("der.mjs, judged by openssl asn1parse", () => {
  it("UTCTime through 2049, GeneralizedTime from 2050", () => {
    const parse = (der: Buffer) => opensslOk(["asn1parse", "-inform", "DER", "-in", tmp.file(`t-${++counter}.der`, der)]);
    expect(parse(time(new Date("2049-12-31T23:59:59Z")))).toContain("UTCTIME           :491231235959Z");
    expect(parse(time(new Date("2050-01-01T00:00:00Z")))).toContain("GENERALIZEDTIME   :20500101000000Z");
    expect(parse(time(new Date("1999-02-03T04:05:06.999Z")))).toContain("UTCTIME           :990203040506Z");
  });

  it("INTEGER, keyUsage bits and IP addresses", () => {
    const parse = (der: Buffer) => opensslOk(["asn1parse", "-inform", "DER", "-in", tmp.file(`i-${++counter}.der`, der)]);
    expect(parse(integerFromHex("80"))).toContain("INTEGER           :80");
    expect(integerFromHex("80").toString("hex")).toBe("02020080");
    expect(integerFromHex("0001").toString("hex")).toBe("020101");
    expect(keyUsageValue(["digitalSignature"]).toString("hex")).toBe("03020780");
    expect(keyUsageValue(["digitalSignature", "keyEncipherment"]).toString("hex")).toBe("030205a0");
    expect(keyUsageValue(["keyCertSign", "cRLSign"]).toString("hex")).toBe("03020106");
    expect(ipBytes("::1").toString("hex")).toBe("00000000000000000000000000000001");
    expect(ipBytes("2001:db8::ffff:1.2.3.4").toString("hex")).toBe("20010db8000000000000ffff01020304");
    expect(ipBytes("10.1.2.3").toString("hex")).toBe("0a010203");
  });
});

it("refuses damaged requests with a clear error, never a crash", () => {
  const ca = cas["ecdsa-p256"];
  const good = csrs.server.parsed.der;
  expect(issueFromCsrDer(ca.fast, good, "tls", 30).der.length).toBeGreaterThan(0);
  let seed = 7;
  const rnd = (n: number) => ((seed = (seed * 1103515245 + 12345) % 2 ** 31), seed % n);
  for (let i = 0; i < 400; i++) {
    const bad = Buffer.from(good);
    if (i % 4 === 0) bad[rnd(bad.length)] ^= 1 << rnd(8);
    else if (i % 4 === 1) bad[rnd(bad.length)] = rnd(256);
    const input = i % 4 === 2 ? bad.subarray(0, rnd(bad.length)) : i % 4 === 3 ? Buffer.concat([bad, Buffer.from([0])]) : bad;
    if (input.equals(good)) continue;
    let error: unknown = null;
    try {
      issueFromCsrDer(ca.fast, input, "tls", 30);
    } catch (e) {
      error = e;
    }
    expect(error, `variant ${i}`).toBeInstanceOf(AppError);
    expect((error as AppError).code).toMatch(/bad_request|validation_failed/);
  }
});

describe("worker threads", () => {
  it("issue the reference's certificates from checked parts, and certificates from CSRs that OpenSSL verifies", async () => {
    const ca = cas["ecdsa-p256"];
    const pool = await FastPool.start(ca.fast, { size: 2 });
    try {
      const inputs = CASES.map((c, i) => ({ c, input: fastInput(ca.fast, { csr: csrs[c.request].parsed, usage: c.usage, validityDays: 90, now: NOW, serialHex: `5${i.toString(16).padStart(31, "0")}` }) }));
      const issued = await pool.issueMany(inputs.map(({ input }) => input));
      for (const [i, { c, input }] of inputs.entries()) {
        const ref = await issueCertificate({ csr: csrs[c.request].parsed, usage: c.usage, ca, validityDays: 90, now: NOW, serialHex: input.serialHex, ...URLS });
        expect(tbsOf(issued[i].der).toString("hex"), c.request).toBe(tbsOf(ref.der).toString("hex"));
      }

      // From the CSR itself: parsed and signature-checked in the worker; one bad request fails alone.
      const jobs = CASES.map((c) => ({ csrDer: csrs[c.request].parsed.der, usage: c.usage, validityDays: 30 }));
      const tampered = Buffer.from(csrs.server.parsed.der);
      tampered[tampered.length - 5] ^= 0x01;
      const results = await Promise.allSettled([...jobs.map((j) => pool.issue(j)), pool.issue({ csrDer: tampered, usage: "tls", validityDays: 30 })]);
      expect(results.at(-1)).toMatchObject({ status: "rejected", reason: { message: expect.stringMatching(/signature/) } });
      for (const [i, c] of CASES.entries()) {
        const r = results[i];
        expect(r.status, c.request).toBe("fulfilled");
        const cert = (r as PromiseFulfilledResult<{ pem: string; der: Buffer }>).value;
        const file = tmp.file(`pool-${c.request}.cer`, cert.pem);
        for (const purpose of c.pass) expect(verify(file, ca.file, purpose).ok, `${c.request} ${purpose}`).toBe(true);
        const ref = await issueCertificate({ csr: csrs[c.request].parsed, usage: c.usage, ca, validityDays: 30, ...URLS });
        expect(decoded(cert.der).extensions).toEqual(decoded(ref.der).extensions);
        expect(lintCertificate(cert.der, { issuer: ca.certificate, usage: c.usage }).errors).toEqual([]);
      }
      await expect(pool.issue({ csrDer: csrs.server.parsed.der, usage: "cockroach-node", validityDays: 30 })).rejects.toThrow(/common name/);
      await expect(pool.issue({ csrDer: csrs.client.parsed.der, usage: "cockroach-node", validityDays: 30 })).rejects.toThrow(/host name/);
      await expect(pool.issue({ csrDer: csrs.client.parsed.der, usage: "iot-device", validityDays: 30 })).rejects.toThrow(/device identity/);
    } finally {
      await pool.close();
    }
    await expect(pool.issue({ csrDer: csrs.client.parsed.der, usage: "tls-client", validityDays: 30 })).rejects.toThrow(/closed/);
  }, 60_000);

  it("a worker that dies fails only its own jobs; the others go on", async () => {
    const ca = cas["ecdsa-p256"];
    const pool = await FastPool.start(ca.fast, { size: 2 });
    try {
      const job = { csrDer: csrs.server.parsed.der, usage: "tls" as const, validityDays: 30 };
      const inFlight = pool.issueMany(Array.from({ length: 200 }, () => job));
      await new Promise((r) => setImmediate(r));
      const slots = (pool as unknown as { slots: { worker: { terminate(): Promise<number> } }[] }).slots;
      await slots[0].worker.terminate();
      await expect(inFlight).rejects.toThrow(/worker thread stopped/);
      expect(pool.size).toBe(1);
      const after = await pool.issueMany(Array.from({ length: 20 }, () => job));
      expect(new Set(after.map((c) => c.serial)).size).toBe(20);
      expect(verify(tmp.file("after-crash.cer", after[19].pem), ca.file, "sslserver").ok).toBe(true);
    } finally {
      await pool.close();
    }
  }, 60_000);

  it("the benchmark's createFastIssuer, in this thread and with workers, for a P-256 CA", async () => {
    const ca = cas["ecdsa-p256"];
    for (const workers of [0, 2]) {
      const issuer = await createFastIssuer({ caCertificatePem: ca.pem, caPrivateKey: ca.privateKey, usage: "tls", validityDays: 30, workers });
      try {
        const pem = await issuer.issue(readFileSync(csrs.server.file, "utf8"));
        expect(verify(tmp.file(`bench-${workers}.cer`, pem), ca.file, "sslserver").ok).toBe(true);
        await expect(issuer.issue("not a csr")).rejects.toThrow();
      } finally {
        await issuer.close();
      }
    }
  }, 60_000);
});
