import { spawn, spawnSync } from "node:child_process";
import { createPrivateKey } from "node:crypto";
import { readFileSync } from "node:fs";
import { createServer } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { appError } from "../test-support/app-error.ts";
import { createSelfSignedCa, type CertificateResult } from "./certificates.ts";
import { derChildren, parseCsr, readDer, type ParsedCsr } from "./csr.ts";
import { issueCertificate, type IssuingCa } from "./issue.ts";
import { generateKeyPair, type KeyPair } from "./keys.ts";
import type { Usage } from "./profiles.ts";
import { x509 } from "./setup.ts";
import { EMPTY_REQ_CONFIG, GENPKEY_ARGS, openssl, opensslKeyFiles, opensslOk, scratchDir } from "./test-support.ts";

const tmp = scratchDir("issue");
let cnf: string;

type CaName = "ecdsa-p256" | "rsa-2048";
interface TestCa extends IssuingCa {
  result: CertificateResult;
  keys: KeyPair;
  file: string;
}
const cas = {} as Record<CaName, TestCa>;

const KEY_ARGS = {
  p256: GENPKEY_ARGS.p256,
  p256b: GENPKEY_ARGS.p256,
  p384: GENPKEY_ARGS.p384,
  rsa: GENPKEY_ARGS.rsa2048,
  ed: GENPKEY_ARGS.ed25519,
} as const;
type KeyName = keyof typeof KEY_ARGS;
let keyFiles: Record<KeyName, string>;

// The requests, made by `openssl req`: [key, -subj, extra arguments].
const REQUESTS = {
  server: ["p256", "/O=Acme/CN=host.example.com", ["-addext", "subjectAltName=DNS:host.example.com,DNS:www.example.com,IP:127.0.0.1,IP:::1"]],
  hostOnly: ["rsa", "/O=Acme/CN=host.example.com", []],
  ipOnly: ["p256", "/CN=10.1.2.3", []],
  all: ["p256", "/CN=all", ["-addext", "subjectAltName=DNS:a.example.com,IP:127.0.0.1,email:x@example.com,URI:https://example.com/x"]],
  client: ["p256b", "/O=Acme/CN=alice", []],
  device: ["p256", "/O=Acme/CN=d:sensor:0042", []],
  deviceSan: ["ed", "/CN=Sensor 42", ["-addext", "subjectAltName=email:d:sensor:42"]],
  plainDevice: ["p256", "/CN=plain", []],
  laptop: ["p256", "/CN=My Laptop", []],
  inter: ["p384", "/O=Acme/CN=Acme Issuing CA", ["-addext", "basicConstraints=critical,CA:TRUE,pathlen:5"]],
  code: ["ed", "/O=Acme/CN=Acme Code Signing", []],
  crdbNode: ["p256", "/O=Cockroach/CN=node", ["-addext", "subjectAltName=DNS:db1.example.com,DNS:localhost,IP:127.0.0.1,IP:::1"]],
  crdbNodeRsa: ["rsa", "/CN=node", ["-addext", "subjectAltName=DNS:db2.example.com"]],
  crdbNodeNoSan: ["p256", "/CN=node", []],
  crdbNodeEmailOnly: ["p256", "/CN=node", ["-addext", "subjectAltName=email:ops@example.com"]],
  crdbClient: ["p256b", "/O=Cockroach/CN=maxroach", []],
  crdbRoot: ["ed", "/CN=root", []],
  crdbBadUser: ["p256b", "/CN=Max Roach", []],
  crdbUpper: ["p256b", "/CN=MaxRoach", []],
  crdbLong: ["p256b", `/CN=u${"x".repeat(63)}`, []],
  crdbNodeAsClient: ["p256b", "/CN=node", []],
} as const satisfies Record<string, readonly [KeyName, string, readonly string[]]>;
type RequestName = keyof typeof REQUESTS;
const csrs = {} as Record<RequestName, { parsed: ParsedCsr; file: string }>;

let counter = 0;
/** Issues and writes the certificate to a file. */
async function issue(request: RequestName, usage: Usage, ca: IssuingCa = cas["ecdsa-p256"], more: { validityDays?: number; now?: Date; serialHex?: string } = {}) {
  const result = await issueCertificate({ csr: csrs[request].parsed, usage, ca, validityDays: more.validityDays ?? 90, now: more.now, serialHex: more.serialHex });
  const file = tmp.file(`${request}-${usage}-${++counter}.cer`, result.pem);
  return { result, file, text: opensslOk(["x509", "-in", file, "-noout", "-text"]) };
}

function verify(file: string, caFile: string, purpose?: string, untrusted?: string): { ok: boolean; output: string } {
  const args = ["verify", "-x509_strict", "-CAfile", caFile, ...(untrusted ? ["-untrusted", untrusted] : []), ...(purpose ? ["-purpose", purpose] : []), file];
  const r = openssl(args);
  return { ok: r.status === 0 && r.stdout.trim() === `${file}: OK`, output: r.stdout + r.stderr };
}

/** The extension's lines from `openssl x509 -text`, e.g. ext(text, "Key Usage") → { critical, value }. */
function ext(text: string, label: string): { critical: boolean; value: string } | null {
  const m = new RegExp(`X509v3 ${label}:( critical)?\\s*\\n\\s+(.+)\\n`).exec(text);
  return m ? { critical: m[1] !== undefined, value: m[2].trim() } : null;
}

/** SKI as OpenSSL computes it (subjectKeyIdentifier=hash) for the request's key. */
function opensslSki(request: RequestName): string {
  const extFile = tmp.file("ski.cnf", "[e]\nsubjectKeyIdentifier=hash\n");
  const out = tmp.path("ski.cer");
  const [key] = REQUESTS[request];
  opensslOk(["x509", "-req", "-in", csrs[request].file, "-signkey", keyFiles[key], "-extfile", extFile, "-extensions", "e", "-days", "1", "-out", out]);
  return ext(opensslOk(["x509", "-in", out, "-noout", "-text"]), "Subject Key Identifier")!.value;
}

/** The DER Name of the subject (or issuer) inside a certificate. */
function certName(der: Buffer, which: "subject" | "issuer"): Buffer {
  const fields = derChildren(derChildren(readDer(der))[0]);
  return fields[which === "subject" ? 5 : 3].bytes;
}

beforeAll(async () => {
  cnf = tmp.file("empty.cnf", EMPTY_REQ_CONFIG);
  keyFiles = await opensslKeyFiles(tmp, KEY_ARGS);
  for (const [name, [key, subj, args]] of Object.entries(REQUESTS) as [RequestName, (typeof REQUESTS)[RequestName]][]) {
    const file = tmp.path(`${name}.csr`);
    opensslOk(["req", "-new", "-key", keyFiles[key], "-subj", subj, "-config", cnf, ...args, "-out", file]);
    csrs[name] = { parsed: await parseCsr(readFileSync(file, "utf8")), file };
  }
  for (const alg of ["ecdsa-p256", "rsa-2048"] as const) {
    const keys = await generateKeyPair(alg);
    const result = await createSelfSignedCa({ subject: { C: "DE", O: "Acme", CN: `Acme Root ${alg}` }, keys, validityDays: 3650 });
    cas[alg] = { certificate: result.certificate, privateKey: keys.privateKey, result, keys, file: tmp.file(`${alg}-ca.cer`, result.pem) };
  }
});
afterAll(() => tmp.remove());

const SIGNATURE: Record<CaName, string> = { "ecdsa-p256": "ecdsa-with-SHA256", "rsa-2048": "sha256WithRSAEncryption" };

interface Case {
  request: RequestName;
  usage: Usage;
  pass: string[];
  fail: string[];
  basic: string;
  keyUsage: string;
  eku: string | null;
  san: string | null;
}
const CASES: Case[] = [
  {
    request: "server",
    usage: "tls",
    pass: ["sslserver", "sslclient"],
    fail: [],
    basic: "CA:FALSE",
    keyUsage: "Digital Signature",
    eku: "TLS Web Server Authentication, TLS Web Client Authentication",
    san: "DNS:host.example.com, DNS:www.example.com, IP Address:127.0.0.1, IP Address:0:0:0:0:0:0:0:1",
  },
  {
    request: "hostOnly",
    usage: "tls",
    pass: ["sslserver", "sslclient"],
    fail: [],
    basic: "CA:FALSE",
    keyUsage: "Digital Signature, Key Encipherment",
    eku: "TLS Web Server Authentication, TLS Web Client Authentication",
    san: "DNS:host.example.com",
  },
  {
    request: "client",
    usage: "tls-client",
    pass: ["sslclient"],
    fail: ["sslserver"],
    basic: "CA:FALSE",
    keyUsage: "Digital Signature",
    eku: "TLS Web Client Authentication",
    san: null,
  },
  {
    request: "device",
    usage: "iot-device",
    pass: ["sslclient"],
    fail: ["sslserver"],
    basic: "CA:FALSE",
    keyUsage: "Digital Signature",
    eku: "TLS Web Client Authentication",
    san: null,
  },
  {
    request: "deviceSan",
    usage: "iot-device",
    pass: ["sslclient"],
    fail: ["sslserver"],
    basic: "CA:FALSE",
    keyUsage: "Digital Signature",
    eku: "TLS Web Client Authentication",
    san: "email:d:sensor:42",
  },
  {
    request: "code",
    usage: "code-signing",
    pass: [],
    fail: ["sslserver", "sslclient"],
    basic: "CA:FALSE",
    keyUsage: "Digital Signature",
    eku: "Code Signing",
    san: null,
  },
  {
    request: "crdbNode",
    usage: "cockroach-node",
    pass: ["sslserver", "sslclient"],
    fail: [],
    basic: "CA:FALSE",
    keyUsage: "Digital Signature",
    eku: "TLS Web Server Authentication, TLS Web Client Authentication",
    san: "DNS:db1.example.com, DNS:localhost, IP Address:127.0.0.1, IP Address:0:0:0:0:0:0:0:1",
  },
  {
    request: "crdbNodeRsa",
    usage: "cockroach-node",
    pass: ["sslserver", "sslclient"],
    fail: [],
    basic: "CA:FALSE",
    keyUsage: "Digital Signature, Key Encipherment",
    eku: "TLS Web Server Authentication, TLS Web Client Authentication",
    san: "DNS:db2.example.com",
  },
  {
    request: "crdbClient",
    usage: "cockroach-client",
    pass: ["sslclient"],
    fail: ["sslserver"],
    basic: "CA:FALSE",
    keyUsage: "Digital Signature",
    eku: "TLS Web Client Authentication",
    san: null,
  },
  {
    request: "crdbRoot",
    usage: "cockroach-client",
    pass: ["sslclient"],
    fail: ["sslserver"],
    basic: "CA:FALSE",
    keyUsage: "Digital Signature",
    eku: "TLS Web Client Authentication",
    san: null,
  },
  {
    request: "inter",
    usage: "intermediate-ca",
    pass: ["any"],
    fail: [],
    basic: "CA:TRUE, pathlen:0",
    keyUsage: "Certificate Sign, CRL Sign",
    eku: null,
    san: null,
  },
];

describe("issueCertificate: profiles, judged by OpenSSL", () => {
  for (const caName of ["ecdsa-p256", "rsa-2048"] as const) {
    for (const c of CASES) {
      it(`${c.usage} for "${c.request}" from the ${caName} CA`, async () => {
        const ca = cas[caName];
        const { result, file, text } = await issue(c.request, c.usage, ca);
        const csr = csrs[c.request].parsed;

        const plain = verify(file, ca.file);
        expect(plain.ok, plain.output).toBe(true);
        for (const purpose of c.pass) expect(verify(file, ca.file, purpose).ok, `${purpose}: ${verify(file, ca.file, purpose).output}`).toBe(true);
        for (const purpose of c.fail) expect(verify(file, ca.file, purpose).ok, purpose).toBe(false);

        expect(text).toMatch(/Version: 3 \(0x2\)/);
        expect(text).toMatch(new RegExp(`Signature Algorithm: ${SIGNATURE[caName]}`));
        expect(ext(text, "Basic Constraints")).toEqual({ critical: true, value: c.basic });
        expect(ext(text, "Key Usage")).toEqual({ critical: true, value: c.keyUsage });
        expect(ext(text, "Extended Key Usage")).toEqual(c.eku === null ? null : { critical: false, value: c.eku });
        expect(ext(text, "Subject Alternative Name")).toEqual(c.san === null ? null : { critical: false, value: c.san });
        // Nothing the request asked for beyond SANs (e.g. "inter" asks for pathlen:5).
        expect(text.match(/X509v3 [A-Z][A-Za-z ]+:/g)!.sort()).toEqual(
          ["X509v3 Authority Key Identifier:", "X509v3 Basic Constraints:", "X509v3 Key Usage:", "X509v3 Subject Key Identifier:"]
            .concat(c.eku ? ["X509v3 Extended Key Usage:"] : [], c.san ? ["X509v3 Subject Alternative Name:"] : [])
            .sort(),
        );

        // SKI by RFC 5280 method 1 (as OpenSSL computes it); AKI is the CA's SKI.
        const caSki = ext(opensslOk(["x509", "-in", ca.file, "-noout", "-text"]), "Subject Key Identifier")!.value;
        expect(ext(text, "Subject Key Identifier")!.value).toBe(opensslSki(c.request));
        expect(ext(text, "Authority Key Identifier")!.value.replace(/^keyid:/, "")).toBe(caSki);

        // Subject and issuer copied byte for byte; OpenSSL prints them the same.
        expect(certName(result.der, "subject").equals(csr.subjectDer)).toBe(true);
        expect(certName(result.der, "issuer").equals(certName(ca.result.der, "subject"))).toBe(true);
        const subjectOf = (args: string[]) => opensslOk([...args, "-noout", "-subject", "-nameopt", "RFC2253"]).replace(/^subject=/, "");
        expect(subjectOf(["x509", "-in", file])).toBe(subjectOf(["req", "-in", csrs[c.request].file]));
        expect(opensslOk(["x509", "-in", file, "-noout", "-issuer"]).replace("issuer=", "")).toBe(opensslOk(["x509", "-in", ca.file, "-noout", "-subject"]).replace("subject=", ""));

        // Serial: positive, at most 20 octets, as OpenSSL prints it.
        expect(opensslOk(["x509", "-in", file, "-noout", "-serial"]).trim()).toBe(`serial=${result.serial}`);
        expect(result.serial).toMatch(/^[1-9A-F][0-9A-F]*$/);
        expect(result.serial.length).toBeLessThanOrEqual(40);
        expect(opensslOk(["asn1parse", "-in", file])).toMatch(/INTEGER\s+:[0-7][0-9A-F]/); // no "-" and top bit clear
      });
    }
  }

  // OpenSSL 3.0 has no code-signing -purpose; GnuTLS checks the EKU in path validation.
  // Skipped only where GnuTLS is not installed (the test command installs gnutls-bin): OpenSSL 3.0 has no code-signing purpose to check with.
  it.skipIf(spawnSync("certtool", ["--version"]).error !== undefined)("code-signing passes certtool --verify-purpose codeSigning; TLS does not", async () => {
    const ca = cas["ecdsa-p256"];
    const certtool = (file: string) =>
      spawnSync("certtool", ["--verify", "--load-ca-certificate", ca.file, "--infile", file, "--verify-purpose", "1.3.6.1.5.5.7.3.3"], { encoding: "utf8" });
    const code = certtool((await issue("code", "code-signing", ca)).file);
    expect(code.status, code.stdout + code.stderr).toBe(0);
    expect(code.stdout).toMatch(/Chain verification output: Verified/);
    expect(certtool((await issue("server", "tls", ca)).file).status).not.toBe(0);
  });

  it("dates: five minutes back, validityDays on, whole seconds; never past the CA", async () => {
    // A little ahead: the CA was made moments ago, and no certificate starts before its CA.
    const now = new Date(Date.now() + 60_000 + 321);
    const { result, file } = await issue("client", "tls-client", cas["ecdsa-p256"], { now, validityDays: 10 });
    const whole = (ms: number) => Math.floor(ms / 1000) * 1000;
    expect(result.notBefore.getTime()).toBe(whole(now.getTime() - 5 * 60_000));
    expect(result.notAfter.getTime()).toBe(whole(now.getTime() + 10 * 86_400_000));
    const dates = opensslOk(["x509", "-in", file, "-noout", "-enddate", "-dateopt", "iso_8601"]);
    expect(new Date(/notAfter=(.+)/.exec(dates)![1].replace(" ", "T")).getTime()).toBe(result.notAfter.getTime());

    const keys = await generateKeyPair("ecdsa-p256");
    const short = await createSelfSignedCa({ subject: { CN: "Short-lived CA" }, keys, validityDays: 30 });
    const shortCa = { certificate: short.certificate, privateKey: keys.privateKey };
    const clamped = await issue("client", "tls-client", shortCa, { validityDays: 365 });
    expect(clamped.result.notAfter.getTime()).toBe(short.certificate.notAfter.getTime());
    const end = (f: string) => opensslOk(["x509", "-in", f, "-noout", "-enddate"]);
    expect(end(clamped.file)).toBe(end(tmp.file("short-ca.cer", short.pem)));
    expect(verify(clamped.file, tmp.path("short-ca.cer"), "sslclient").ok).toBe(true);

    // Issued "before" the CA existed (a clock set back): starts with the CA, not before it.
    const early = await issue("client", "tls-client", shortCa, { now: new Date(short.certificate.notBefore.getTime() + 60_000) });
    expect(early.result.notBefore.getTime()).toBe(short.certificate.notBefore.getTime());
  });

  it("adds the CN as a SAN for TLS when it is a host name or IP, and refuses when it is neither", async () => {
    expect(ext((await issue("hostOnly", "tls")).text, "Subject Alternative Name")?.value).toBe("DNS:host.example.com");
    const ip = await issue("ipOnly", "tls");
    expect(ext(ip.text, "Subject Alternative Name")?.value).toBe("IP Address:10.1.2.3");
    expect(openssl(["verify", "-x509_strict", "-CAfile", cas["ecdsa-p256"].file, "-purpose", "sslserver", "-verify_ip", "10.1.2.3", ip.file]).status).toBe(0);
    expect(ext((await issue("all", "tls")).text, "Subject Alternative Name")?.value).toBe(
      "DNS:a.example.com, IP Address:127.0.0.1, email:x@example.com, URI:https://example.com/x",
    );
    // The CN is only a fallback: other usages leave SANs as requested.
    expect(ext((await issue("hostOnly", "tls-client")).text, "Subject Alternative Name")).toBeNull();

    const laptop = await appError(() => issue("laptop", "tls"));
    expect(laptop.code).toBe("validation_failed");
    expect(laptop.field).toBe("usage");
    expect(laptop.message).toMatch(/no host name for a TLS server certificate/);
    expect(laptop.message).toContain('"My Laptop"');
    // The same request is fine as a client certificate.
    expect(verify((await issue("laptop", "tls-client")).file, cas["ecdsa-p256"].file, "sslclient").ok).toBe(true);
  });

  it("refuses an IoT certificate without a device identity", async () => {
    const e = await appError(() => issue("plainDevice", "iot-device"));
    expect(e.code).toBe("validation_failed");
    expect(e.field).toBe("usage");
    expect(e.message).toMatch(/CN=d:<type>:<id> or the SAN email:d:<type>:<id>/);
  });

  it("CockroachDB: a node certificate needs CN=node and DNS/IP SANs from the request; a client certificate a SQL user name", async () => {
    // The node's names are the request's, never its CN ("node" is a host name, but not the node's).
    const node = await issue("crdbNode", "cockroach-node");
    expect(node.text).toMatch(/Subject: O = Cockroach, CN = node\n/);
    const v = openssl(["verify", "-x509_strict", "-CAfile", cas["ecdsa-p256"].file, "-purpose", "sslserver", "-verify_hostname", "db1.example.com", node.file]);
    expect(v.status, v.stderr).toBe(0);

    const refusals: [RequestName, Usage, RegExp][] = [
      ["crdbNodeNoSan", "cockroach-node", /^A CockroachDB node certificate needs the host names or IP addresses it serves as DNS or IP subject alternative names in the request; this request has none$/],
      ["crdbNodeEmailOnly", "cockroach-node", /DNS or IP subject alternative names/],
      ["crdbClient", "cockroach-node", /^A CockroachDB node certificate needs the common name "node"; this request's common name is "maxroach"$/],
      ["server", "cockroach-node", /common name "node"; this request's common name is "host\.example\.com"/],
      ["crdbBadUser", "cockroach-client", /SQL user name as its common name \(lowercase letters, digits and "_", starting with a letter or "_", at most 63 characters\); "Max Roach" is not one/],
      ["crdbUpper", "cockroach-client", /"MaxRoach" is not one/],
      ["crdbLong", "cockroach-client", /is not one/],
      ["crdbNodeAsClient", "cockroach-client", /^The common name "node" is the CockroachDB node identity/],
    ];
    for (const [request, usage, message] of refusals) {
      const e = await appError(() => issue(request, usage));
      expect(e.code, request).toBe("validation_failed");
      expect(e.field, request).toBe("usage");
      expect(e.message, request).toMatch(message);
    }
    // A 63-character user name is the longest accepted.
    const longest = tmp.path("crdb-63.csr");
    opensslOk(["req", "-new", "-key", keyFiles.p256b, "-subj", `/CN=u${"x".repeat(62)}`, "-config", cnf, "-out", longest]);
    const ok = await issueCertificate({ csr: await parseCsr(readFileSync(longest, "utf8")), usage: "cockroach-client", ca: cas["ecdsa-p256"], validityDays: 1 });
    expect(ok.certificate.subject).toBe(`CN=u${"x".repeat(62)}`);
  });

  it("an issued intermediate CA issues leaves that verify through it, but no further CAs", async () => {
    const root = cas["ecdsa-p256"];
    const inter = await issue("inter", "intermediate-ca", root);
    expect(inter.text).toMatch(/X509v3 Basic Constraints: critical\n\s+CA:TRUE, pathlen:0\n/);
    const interCa: IssuingCa = { certificate: inter.result.certificate, privateKey: createPrivateKey(readFileSync(keyFiles.p384)) };

    const leaf = await issue("server", "tls", interCa);
    expect(leaf.text).toMatch(/Signature Algorithm: ecdsa-with-SHA384/);
    expect(leaf.text).toMatch(/Issuer: O = Acme, CN = Acme Issuing CA/);
    const chained = verify(leaf.file, root.file, "sslserver", inter.file);
    expect(chained.ok, chained.output).toBe(true);
    expect(verify(leaf.file, root.file, "sslserver").ok).toBe(false); // not without the intermediate

    const again = await appError(() => issue("inter", "intermediate-ca", interCa));
    expect(again.code).toBe("validation_failed");
    expect(again.message).toMatch(/path length constraint \(0\)/);
  });
});

describe("issueCertificate: refusals", () => {
  it("refuses an expired or not yet valid CA, a mismatched key and a non-CA", async () => {
    const keys = await generateKeyPair("ecdsa-p256");
    const day = 86_400_000;
    const old = await createSelfSignedCa({ subject: { CN: "Old CA" }, keys, validityDays: 30, now: new Date(Date.now() - 60 * day) });
    const expired = await appError(() => issue("client", "tls-client", { certificate: old.certificate, privateKey: keys.privateKey }));
    expect(expired.code).toBe("validation_failed");
    expect(expired.message).toBe(`The CA certificate expired on ${old.certificate.notAfter.toISOString()}`);

    const future = await createSelfSignedCa({ subject: { CN: "Future CA" }, keys, validityDays: 30, now: new Date(Date.now() + 2 * day) });
    expect((await appError(() => issue("client", "tls-client", { certificate: future.certificate, privateKey: keys.privateKey }))).message).toMatch(
      /^The CA certificate is not valid until /,
    );

    const mismatch = await appError(() => issue("client", "tls-client", { certificate: cas["ecdsa-p256"].certificate, privateKey: cas["rsa-2048"].privateKey }));
    expect(mismatch.code).toBe("key_mismatch");

    const leaf = await issue("hostOnly", "tls");
    const notCa = await appError(() => issue("client", "tls-client", { certificate: leaf.result.certificate, privateKey: createPrivateKey(readFileSync(keyFiles.rsa)) }));
    expect(notCa.code).toBe("not_a_ca");
  });

  it("refuses bad validity, serials and usages; honours a given serial", async () => {
    for (const validityDays of [0, -1, 2.5, 36_501, Number.NaN]) {
      const e = await appError(() => issue("client", "tls-client", undefined, { validityDays }));
      expect(e.field, String(validityDays)).toBe("validityDays");
    }
    for (const serialHex of ["", "0", "00", "xyz", "-1", "80" + "00".repeat(19), "7F" + "00".repeat(20)]) {
      expect((await appError(() => issue("client", "tls-client", undefined, { serialHex }))).field, serialHex).toBe("serial");
    }
    expect((await issue("client", "tls-client", undefined, { serialHex: "00ab" })).result.serial).toBe("AB");
    const top = await issue("client", "tls-client", undefined, { serialHex: "FF" + "00".repeat(18) });
    expect(top.result.serial).toBe("FF" + "00".repeat(18));
    expect(opensslOk(["x509", "-in", top.file, "-noout", "-serial"]).trim()).toBe(`serial=FF${"00".repeat(18)}`);
    const e = await appError(() => issueCertificate({ csr: csrs.client.parsed, usage: "server" as Usage, ca: cas["ecdsa-p256"], validityDays: 1 }));
    expect(e.code).toBe("bad_request");
    expect(e.field).toBe("usage");
  });

  it("gives every certificate a new random serial", async () => {
    const a = (await issue("client", "tls-client")).result.serial;
    const b = (await issue("client", "tls-client")).result.serial;
    expect(a).toMatch(/^[4-7][0-9A-F]{31}$/);
    expect(a).not.toBe(b);
  });
});

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.on("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}

describe("a real TLS handshake with the issued certificates", () => {
  it("s_server with a tls certificate accepts s_client with a tls-client certificate, both verified", async () => {
    const ca = cas["ecdsa-p256"];
    const server = await issue("server", "tls", ca);
    const client = await issue("client", "tls-client", ca);
    const port = await freePort();
    const child = spawn("openssl", [
      "s_server", "-cert", server.file, "-key", keyFiles.p256, "-CAfile", ca.file,
      "-Verify", "1", "-verify_return_error", "-www", "-accept", String(port),
    ]);
    let serverOut = "";
    child.stdout.on("data", (d) => (serverOut += d));
    child.stderr.on("data", (d) => (serverOut += d));
    try {
      await new Promise<void>((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`s_server did not start: ${serverOut}`)), 10_000);
        const check = () => {
          if (serverOut.includes("ACCEPT")) {
            clearTimeout(timer);
            resolve();
          }
        };
        child.stdout.on("data", check);
        child.on("exit", (code) => {
          clearTimeout(timer);
          reject(new Error(`s_server exited ${code}: ${serverOut}`));
        });
      });
      const connect = (auth: string[]) =>
        spawnSync(
          "openssl",
          ["s_client", "-connect", `127.0.0.1:${port}`, "-CAfile", ca.file, ...auth, "-verify_return_error", "-servername", "host.example.com", "-verify_hostname", "host.example.com", "-ign_eof"],
          { input: "GET / HTTP/1.0\r\n\r\n", encoding: "utf8", timeout: 10_000 },
        );
      const ok = connect(["-cert", client.file, "-key", keyFiles.p256b]);
      expect(ok.stdout, ok.stderr).toMatch(/Verify return code: 0 \(ok\)/);
      expect(ok.stdout).toMatch(/Verified peername: host.example.com/);
      // The server's status page shows the client certificate it verified.
      expect(ok.stdout).toMatch(/HTTP\/1.0 200 ok/);
      expect(ok.stdout).toMatch(/Client certificate[\s\S]*Subject: O=Acme, CN=alice/);

      // Without a client certificate the server refuses the connection.
      const anonymous = connect([]);
      expect(anonymous.stdout).not.toMatch(/HTTP\/1.0 200 ok/);
      expect(anonymous.stdout + anonymous.stderr).toMatch(/certificate required|alert/);
    } finally {
      child.kill();
    }
  });
});

// Keeps the x509 import honest: the library parses what we wrote.
it("the issued PEM parses back as the same certificate", async () => {
  const { result } = await issue("server", "tls");
  const again = new x509.X509Certificate(result.pem);
  expect(Buffer.from(again.rawData).equals(result.der)).toBe(true);
  expect(result.sha1Fingerprint).toBe(opensslOk(["x509", "-noout", "-fingerprint", "-sha1"], result.pem).trim().replace(/^sha1 Fingerprint=/i, ""));
  expect(result.sha256Fingerprint).toBe(opensslOk(["x509", "-noout", "-fingerprint", "-sha256"], result.pem).trim().replace(/^sha256 Fingerprint=/i, ""));
});

describe("issueCertificate: CRL distribution point and authorityInfoAccess", () => {
  it("carries the CRL URL, the OCSP URL and caIssuers when given, non-critical, and nothing when not", async () => {
    const urls = {
      crlUrl: "https://pki.example.com/crl/ExampleCA.crl",
      ocspUrl: "https://pki.example.com/ocsp",
      caIssuersUrl: "https://pki.example.com/api/v1/ca/certificate?format=der",
    };
    const result = await issueCertificate({ csr: csrs.server.parsed, usage: "tls", ca: cas["ecdsa-p256"], validityDays: 30, ...urls });
    const file = tmp.file("with-urls.cer", result.pem);
    const text = opensslOk(["x509", "-in", file, "-noout", "-text"]);
    expect(text).toMatch(/X509v3 CRL Distribution Points:\s*\n(?!.*critical)/);
    expect(text).toMatch(/Full Name:\s*\n\s*URI:https:\/\/pki\.example\.com\/crl\/ExampleCA\.crl/);
    expect(text).toMatch(/Authority Information Access:\s*\n/);
    expect(text).not.toMatch(/Authority Information Access: critical/);
    expect(text).not.toMatch(/CRL Distribution Points: critical/);
    expect(text).toContain("OCSP - URI:https://pki.example.com/ocsp");
    expect(text).toContain("CA Issuers - URI:https://pki.example.com/api/v1/ca/certificate?format=der");
    expect(opensslOk(["x509", "-in", file, "-noout", "-ocsp_uri"]).trim()).toBe(urls.ocspUrl);
    expect(verify(file, cas["ecdsa-p256"].file, "sslserver").ok).toBe(true);

    const plain = await issue("server", "tls");
    expect(plain.text).not.toContain("CRL Distribution Points");
    expect(plain.text).not.toContain("Authority Information Access");

    const ocspOnly = await issueCertificate({ csr: csrs.server.parsed, usage: "tls", ca: cas["ecdsa-p256"], validityDays: 30, ocspUrl: urls.ocspUrl });
    const ocspText = opensslOk(["x509", "-noout", "-text"], ocspOnly.pem);
    expect(ocspText).toContain("OCSP - URI:https://pki.example.com/ocsp");
    expect(ocspText).not.toContain("CA Issuers");
    expect(ocspText).not.toContain("CRL Distribution Points");

    const err = await appError(() => issueCertificate({ csr: csrs.server.parsed, usage: "tls", ca: cas["ecdsa-p256"], validityDays: 30, crlUrl: "ldap://x/y" }));
    expect(err.fields?.crlUrl).toMatch(/http or https/);
  });
});
