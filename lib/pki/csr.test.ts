import { createPrivateKey, sign } from "node:crypto";
import { readFileSync } from "node:fs";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { appError } from "../test-support/app-error.ts";
import { derChildren, formatIpAddress, isDnsName, parseCsr, parseIpAddress, readDer, sanToString, type ParsedCsr } from "./csr.ts";
import { EMPTY_REQ_CONFIG, GENPKEY_ARGS, openssl, opensslBytes, opensslKeyFiles, opensslOk, scratchDir } from "./test-support.ts";

const tmp = scratchDir("csr");
const SANS = "subjectAltName=DNS:a.example.com,IP:127.0.0.1,email:x@example.com,URI:https://example.com/x";
const EXPECTED_SANS = [
  { type: "dns", value: "a.example.com" },
  { type: "ip", value: "127.0.0.1" },
  { type: "email", value: "x@example.com" },
  { type: "uri", value: "https://example.com/x" },
];
let cnf: string;

type KeyName = keyof typeof GENPKEY_ARGS;
let keys: Record<KeyName, string>;

/** A CSR made by `openssl req` (PEM text); `args` adds -addext options and the like. */
function req(key: KeyName, subj: string, args: string[] = []): string {
  const out = tmp.path(`r${Math.random().toString(36).slice(2)}.csr`);
  opensslOk(["req", "-new", "-key", keys[key], "-subj", subj, "-config", cnf, ...args, "-out", out]);
  return readFileSync(out, "utf8");
}

function der(pem: string): Buffer {
  return opensslBytes(["req", "-in", tmp.file("der-in.csr", pem), "-outform", "DER"]);
}

function len(n: number): Buffer {
  if (n < 0x80) return Buffer.from([n]);
  const b: number[] = [];
  for (let v = n; v > 0; v = Math.floor(v / 256)) b.unshift(v % 256);
  return Buffer.from([0x80 | b.length, ...b]);
}
const tlv = (tag: number, ...parts: Buffer[]) => {
  const c = Buffer.concat(parts);
  return Buffer.concat([Buffer.from([tag]), len(c.length), c]);
};
const OID_CN = Buffer.from("0603550403", "hex");
const OID_OU = Buffer.from("060355040b", "hex");
/** A Name of one RDN per [oid, tag, value]. */
const name = (...avas: [Buffer, number, Buffer][]) => tlv(0x30, ...avas.map(([oid, tag, v]) => tlv(0x31, tlv(0x30, oid, tlv(tag, v)))));

/**
 * The CSR `pem` (signed by the RSA/EC key `key`) with its subject replaced and signed
 * again: what a hostile or broken client could send, which `openssl req` will not make.
 */
function resign(pem: string, key: KeyName, subject: Buffer): Buffer {
  const [cri, sigAlg] = derChildren(readDer(der(pem)));
  const [version, , spki, attributes] = derChildren(cri);
  const newCri = tlv(0x30, version.bytes, subject, spki.bytes, attributes.bytes);
  const signature = sign("sha256", newCri, createPrivateKey(readFileSync(keys[key])));
  return tlv(0x30, newCri, sigAlg.bytes, tlv(0x03, Buffer.from([0]), signature));
}

/** The CSR `pem` with its attributes ([0]) replaced by `attributes` (their contents) and signed again. */
function resignAttributes(pem: string, key: KeyName, attributes: Buffer[]): Buffer {
  const [cri, sigAlg] = derChildren(readDer(der(pem)));
  const [version, subject, spki] = derChildren(cri);
  const newCri = tlv(0x30, version.bytes, subject.bytes, spki.bytes, tlv(0xa0, ...attributes));
  const signature = sign("sha256", newCri, createPrivateKey(readFileSync(keys[key])));
  return tlv(0x30, newCri, sigAlg.bytes, tlv(0x03, Buffer.from([0]), signature));
}

/** What OpenSSL says about the CSR's own signature (it exits 0 either way). */
function opensslVerdict(csr: string | Buffer): string {
  const file = tmp.file("verdict.csr", csr);
  const r = openssl(["req", "-in", file, "-inform", typeof csr === "string" ? "PEM" : "DER", "-verify", "-noout"]);
  return r.stdout + r.stderr;
}

let rsa: string;
let parsedRsa: ParsedCsr;

beforeAll(async () => {
  cnf = tmp.file("empty.cnf", `${EMPTY_REQ_CONFIG}[dir_sect]\nCN=dir\n`);
  keys = await opensslKeyFiles(tmp, GENPKEY_ARGS);
  rsa = req("rsa2048", "/C=DE/O=Acme GmbH/OU=Ops/CN=a.example.com", ["-addext", SANS]);
  parsedRsa = await parseCsr(rsa);
});
afterAll(() => tmp.remove());

describe("parseCsr: what OpenSSL makes", () => {
  it("reads an RSA 2048 CSR with all four SAN types", () => {
    const p = parsedRsa;
    expect(p.subject).toBe("C=DE, O=Acme GmbH, OU=Ops, CN=a.example.com");
    expect(p.subjectAttributes.map(({ type, value }) => ({ type, value }))).toEqual([
      { type: "C", value: "DE" },
      { type: "O", value: "Acme GmbH" },
      { type: "OU", value: "Ops" },
      { type: "CN", value: "a.example.com" },
    ]);
    expect(p.commonName).toBe("a.example.com");
    expect(p.publicKey).toEqual({ algorithm: "RSA", bits: 2048, label: "RSA 2048" });
    expect(p.sans).toEqual(EXPECTED_SANS);
    expect(p.sans.map(sanToString)).toEqual(["DNS:a.example.com", "IP:127.0.0.1", "email:x@example.com", "URI:https://example.com/x"]);
    expect(p.requestedExtensions).toEqual([]);
    expect(p.signatureAlgorithm).toBe("sha256WithRSAEncryption");
    expect(p.signatureValid).toBe(true);

    // OpenSSL is the judge of the bytes, the fingerprints and the public key.
    const file = tmp.file("rsa.csr", rsa);
    expect(p.der.equals(der(rsa))).toBe(true);
    expect(opensslVerdict(p.pem)).toMatch(/verify OK/);
    const digest = (alg: string) => opensslOk(["dgst", `-${alg}`, "-c"], p.der).split("= ")[1].trim().toUpperCase();
    expect(p.sha1Fingerprint).toBe(digest("sha1"));
    expect(p.sha256Fingerprint).toBe(digest("sha256"));
    expect(p.sha1Fingerprint).toMatch(/^([0-9A-F]{2}:){19}[0-9A-F]{2}$/);
    const spki = opensslBytes(["pkey", "-pubin", "-in", tmp.file("pub.pem", opensslOk(["req", "-in", file, "-noout", "-pubkey"])), "-outform", "DER"]);
    expect(p.spkiDer.equals(spki)).toBe(true);
  });

  it("accepts ECDSA P-256 and P-384 and Ed25519, and RSA with exponent 3", async () => {
    const cases: [KeyName, string, string][] = [
      ["p256", "ECDSA P-256", "ecdsa-with-SHA256"],
      ["p384", "ECDSA P-384", "ecdsa-with-SHA256"],
      ["ed25519", "Ed25519", "ED25519"],
      ["rsaE3", "RSA 2048", "sha256WithRSAEncryption"],
    ];
    for (const [key, label, sigAlg] of cases) {
      const p = await parseCsr(req(key, "/CN=a.example.com", ["-addext", SANS]));
      expect(p.publicKey.label, key).toBe(label);
      expect(p.signatureAlgorithm, key).toBe(sigAlg);
      expect(p.sans, key).toEqual(EXPECTED_SANS);
    }
    const p384 = await parseCsr(req("p384", "/CN=x", ["-sha384"]));
    expect(p384.signatureAlgorithm).toBe("ecdsa-with-SHA384");
    expect(p384.publicKey).toEqual({ algorithm: "ECDSA", bits: 384, curve: "P-384", label: "ECDSA P-384" });
  });

  it("refuses RSA 1024, P-521 and secp256k1 keys, naming the problem", async () => {
    const small = await appError(() => parseCsr(req("rsa1024", "/CN=x")));
    expect(small.code).toBe("validation_failed");
    expect(small.field).toBe("csr");
    expect(small.message).toMatch(/1024 bits; at least 2048/);
    for (const [key, curve] of [["p521", "P-521"], ["k1", "secp256k1"]] as const) {
      const e = await appError(() => parseCsr(req(key, "/CN=x"), "request"));
      expect(e.code).toBe("validation_failed");
      expect(e.field).toBe("request");
      expect(e.message).toContain(`curve ${curve}`);
    }
  });

  it("accepts the NEW CERTIFICATE REQUEST label, text around the block, PEM bytes and DER bytes", async () => {
    const d = der(rsa);
    const inputs: (string | Uint8Array)[] = [
      rsa.replace(/CERTIFICATE REQUEST/g, "NEW CERTIFICATE REQUEST"),
      `Certificate Request:\n    Data: whatever openssl -text printed\n${rsa}\n`,
      rsa.replace(/\n/g, "\r\n"),
      Buffer.from(rsa),
      d,
      new Uint8Array(d),
    ];
    for (const input of inputs) {
      const p = await parseCsr(input);
      expect(p.der.equals(d)).toBe(true);
      expect(p.sha1Fingerprint).toBe(parsedRsa.sha1Fingerprint);
    }
  });

  it("lists other requested extensions without trusting them", async () => {
    const p = await parseCsr(
      req("p256", "/CN=x", [
        "-addext", "basicConstraints=critical,CA:TRUE",
        "-addext", "keyUsage=critical,keyCertSign",
        "-addext", "extendedKeyUsage=codeSigning",
        "-addext", "1.2.3.4=ASN1:UTF8String:hello",
      ]),
    );
    expect(p.requestedExtensions).toEqual([
      { oid: "2.5.29.19", name: "Basic Constraints", critical: true },
      { oid: "2.5.29.15", name: "Key Usage", critical: true },
      { oid: "2.5.29.37", name: "Extended Key Usage", critical: false },
      { oid: "1.2.3.4", name: "Unknown extension", critical: false },
    ]);
    expect(p.sans).toEqual([]);
  });

  it("returns a CN with <script> verbatim (escaping is the page's job)", async () => {
    const p = await parseCsr(req("p256", "/O=<b>Acme<\\/b>/CN=<script>alert(1)<\\/script>"));
    expect(p.commonName).toBe("<script>alert(1)</script>");
    expect(p.subjectAttributes).toContainEqual({ type: "O", oid: "2.5.4.10", value: "<b>Acme</b>" });
    expect(p.subject).toContain("script");
  });
});

describe("parseCsr: refusals", () => {
  it("refuses garbage, empty input and a certificate", async () => {
    for (const input of ["", "hello", "MIIBIjANBgkqhkiG9w0BAQEFAAOCAQ8AMIIBCgKCAQEA", Buffer.from("just some bytes"), Buffer.from([0x30, 0x03, 0x02, 0x01, 0x00]), new Uint8Array(0)]) {
      const e = await appError(() => parseCsr(input));
      expect(e.code, String(input)).toBe("bad_request");
      expect(e.field).toBe("csr");
    }
    const certFile = tmp.path("self.cer");
    opensslOk(["req", "-x509", "-key", keys.p256, "-subj", "/CN=x", "-days", "1", "-config", cnf, "-out", certFile]);
    const cert = await appError(() => parseCsr(readFileSync(certFile, "utf8")));
    expect(cert.message).toMatch(/certificate, not a certificate signing request/);
  });

  it("refuses an attribute that is not SEQUENCE { type, SET of values }, as OpenSSL does; accepts one that is", async () => {
    const pem = req("p256", "/CN=attributes.example.com");
    const OID_CHALLENGE = Buffer.from("06092a864886f70d010907", "hex");
    const utf8 = (s: string) => tlv(0x0c, Buffer.from(s));
    // Found by the CSR fuzz test: the values of an attribute given as a bare string, not a SET.
    const bare = resignAttributes(pem, "p256", [tlv(0x30, OID_CN, utf8("attributes.example.com"))]);
    const emptySet = resignAttributes(pem, "p256", [tlv(0x30, OID_CHALLENGE, tlv(0x31))]);
    const extraPart = resignAttributes(pem, "p256", [tlv(0x30, OID_CHALLENGE, tlv(0x31, utf8("secret")), utf8("more"))]);
    for (const [label, input] of [["bare value", bare], ["empty SET", emptySet], ["extra part", extraPart]] as const) {
      const e = await appError(() => parseCsr(input));
      expect(e.code, label).toBe("bad_request");
      expect(e.message, label).toBe("The CSR's attributes (its requested extensions among them) are not validly encoded");
    }
    expect(opensslVerdict(bare)).toMatch(/Unable to load X509 request|nested asn1 error/);
    const good = resignAttributes(pem, "p256", [tlv(0x30, OID_CHALLENGE, tlv(0x31, utf8("secret")))]);
    expect(opensslVerdict(good)).toMatch(/verify OK/);
    expect((await parseCsr(good)).commonName).toBe("attributes.example.com");
  });

  it("refuses truncated PEM", async () => {
    const lines = rsa.split("\n");
    const noEnd = await appError(() => parseCsr(lines.slice(0, 8).join("\n")));
    expect(noEnd.code).toBe("bad_request");
    expect(noEnd.message).toMatch(/incomplete/);
    const cutBody = await appError(() => parseCsr([...lines.slice(0, 8), lines[lines.length - 2]].join("\n")));
    expect(cutBody.code).toBe("bad_request");
    const cutBase64 = await appError(() => parseCsr([...lines.slice(0, 8), lines[8].slice(0, 10), lines[lines.length - 2]].join("\n")));
    expect(cutBase64.code).toBe("bad_request");
  });

  it("refuses two PEM blocks and a private key pasted along", async () => {
    const two = await appError(() => parseCsr(rsa + req("p256", "/CN=x")));
    expect(two.code).toBe("bad_request");
    expect(two.message).toMatch(/holds 2 PEM blocks \(2 certificate signing requests\); exactly one/);
    const withKey = await appError(() => parseCsr(rsa + readFileSync(keys.p256, "utf8")));
    expect(withKey.code).toBe("bad_request");
    expect(withKey.message).toMatch(/private key/);
  });

  it("refuses input over 64 KB", async () => {
    const e = await appError(() => parseCsr(rsa + " ".repeat(64 * 1024)));
    expect(e.code).toBe("payload_too_large");
    expect(e.status).toBe(413);
  });

  it("refuses a CSR whose signature or signed data was altered, as OpenSSL does", async () => {
    for (const key of ["rsa2048", "p256", "ed25519"] as const) {
      const pem = req(key, "/CN=tamper.example.com");
      const flipped = der(pem);
      flipped[flipped.length - 1] ^= 0x01; // last byte of the signature
      expect(opensslVerdict(flipped), key).toMatch(/verify failure/);
      const e = await appError(() => parseCsr(flipped));
      expect(e.code, key).toBe("validation_failed");
      expect(e.message).toMatch(/^The CSR's signature does not verify/);

      const renamed = der(pem);
      const at = renamed.indexOf(Buffer.from("tamper"));
      renamed[at] = "d".charCodeAt(0); // "damper.example.com": signed bytes changed
      expect(opensslVerdict(renamed), key).toMatch(/verify failure/);
      expect((await appError(() => parseCsr(renamed))).message).toMatch(/^The CSR's signature does not verify/);
    }
  });

  it("refuses a 100 KB subject for its size and a 2 KB one for the subject limit", async () => {
    const base = req("p256", "/CN=x");
    const huge = resign(base, "p256", name([OID_OU, 0x0c, Buffer.alloc(100 * 1024, "a")]));
    expect(opensslVerdict(huge)).toMatch(/verify OK/); // a well-formed, correctly signed request
    expect((await appError(() => parseCsr(huge))).code).toBe("payload_too_large");

    const big = resign(base, "p256", name(...Array.from({ length: 40 }, (): [Buffer, number, Buffer] => [OID_OU, 0x0c, Buffer.alloc(50, "o")])));
    expect(opensslVerdict(big)).toMatch(/verify OK/);
    const e = await appError(() => parseCsr(big));
    expect(e.code).toBe("validation_failed");
    expect(e.message).toMatch(/subject is \d+ bytes long; at most 1024/);
  });

  it("refuses attribute values over 64 characters, control characters and bad encodings", async () => {
    const base = req("rsa2048", "/CN=x");
    const ok64 = await parseCsr(resign(base, "rsa2048", name([OID_CN, 0x0c, Buffer.from("é".repeat(64))])));
    expect(ok64.commonName).toBe("é".repeat(64));
    const long = await appError(() => parseCsr(resign(base, "rsa2048", name([OID_CN, 0x0c, Buffer.alloc(65, "a")]))));
    expect(long.message).toMatch(/CN is 65 characters long; at most 64/);

    const control = await appError(() => parseCsr(req("p256", "/CN=a\x01b")));
    expect(control.code).toBe("validation_failed");
    expect(control.message).toMatch(/CN contains control characters/);
    const del = await appError(() => parseCsr(resign(base, "rsa2048", name([OID_CN, 0x0c, Buffer.from("a\nb")]))));
    expect(del.message).toMatch(/control characters/);

    // OpenSSL refuses to even load some of these; others it loads, signature and all.
    const cases: [string, Buffer, RegExp][] = [
      ["invalid UTF-8", name([OID_CN, 0x0c, Buffer.from([0x61, 0xc3, 0x28])]), /invalid utf8string/],
      ["PrintableString with @", name([OID_CN, 0x13, Buffer.from("a@b")]), /verify OK/],
      ["IA5String with 8-bit bytes", name([OID_CN, 0x16, Buffer.from([0x61, 0xe9])]), /verify OK/],
      ["an odd-length BMPString", name([OID_CN, 0x1e, Buffer.from([0x00, 0x61, 0x00])]), /Unable to load/],
      ["an OCTET STRING value", name([OID_CN, 0x04, Buffer.from("abc")]), /Unable to load/],
    ];
    for (const [what, subject, opensslSays] of cases) {
      const csr = resign(base, "rsa2048", subject);
      expect(opensslVerdict(csr), what).toMatch(opensslSays);
      const e = await appError(() => parseCsr(csr));
      expect(e.code, what).toBe("validation_failed");
      expect(e.message, what).toMatch(/CN is not a valid text string/);
    }
    const bmp = await parseCsr(resign(base, "rsa2048", name([OID_CN, 0x1e, Buffer.from("00680069", "hex")])));
    expect(bmp.commonName).toBe("hi");
  });

  it("refuses an empty subject, two CNs and a bad country", async () => {
    expect((await appError(() => parseCsr(req("p256", "/", ["-addext", "subjectAltName=DNS:x.example.com"])))).message).toMatch(/subject is empty/);
    expect((await appError(() => parseCsr(req("p256", "/CN=a/CN=b")))).message).toMatch(/more than one common name/);
    expect((await appError(() => parseCsr(req("p256", "/C=D1/CN=a")))).message).toMatch(/country/);
  });
});

describe("parseCsr: subject alternative names", () => {
  async function sans(spec: string) {
    return (await parseCsr(req("p256", "/CN=x", ["-addext", `subjectAltName=${spec}`]))).sans.map(sanToString);
  }
  async function refused(spec: string): Promise<string> {
    const e = await appError(() => parseCsr(req("p256", "/CN=x", ["-addext", `subjectAltName=${spec}`])));
    expect(e.code, spec).toBe("validation_failed");
    return e.message;
  }

  it("accepts wildcards, IPv6 (canonical form), device identities and URNs; drops repeats", async () => {
    expect(await sans("DNS:*.example.com,DNS:xn--bcher-kva.example,DNS:localhost,DNS:A.example.com,DNS:a.EXAMPLE.com")).toEqual([
      "DNS:*.example.com",
      "DNS:xn--bcher-kva.example",
      "DNS:localhost",
      "DNS:A.example.com",
    ]);
    expect(await sans("IP:2001:DB8:0:0:0:0:0:1,IP:::1,IP:fe80:0:0:1:0:0:0:1,IP:::ffff:10.0.0.1")).toEqual([
      "IP:2001:db8::1",
      "IP:::1",
      "IP:fe80:0:0:1::1",
      "IP:::ffff:a00:1",
    ]);
    expect(await sans("email:d:sensor:0042,email:first.last+tag@mail.example.org,URI:urn:uuid:123e4567-e89b-12d3-a456-426614174000,URI:spiffe://acme/ns/web")).toEqual([
      "email:d:sensor:0042",
      "email:first.last+tag@mail.example.org",
      "URI:urn:uuid:123e4567-e89b-12d3-a456-426614174000",
      "URI:spiffe://acme/ns/web",
    ]);
  });

  it("refuses malformed names, other types and more than 100", async () => {
    expect(await refused("DNS:bad_name.example.com")).toMatch(/DNS:bad_name.example.com is not a valid host name/);
    expect(await refused("DNS:*.com")).toMatch(/not a valid host name/);
    expect(await refused("DNS:a.*.example.com")).toMatch(/not a valid host name/);
    expect(await refused("DNS:-a.example.com")).toMatch(/not a valid host name/);
    expect(await refused("DNS:1.2.3.4")).toMatch(/not a valid host name/);
    expect(await refused(`DNS:${"a".repeat(64)}.example.com`)).toMatch(/not a valid host name/);
    expect(await refused("email:not-an-address")).toMatch(/not a valid e-mail address/);
    expect(await refused("email:a@b@example.com")).toMatch(/not a valid e-mail address/);
    expect(await refused("URI:example.com/x")).toMatch(/not an absolute URI/);
    expect(await refused("URI:https://exa mple.com")).toMatch(/URI|printable/);
    expect(await refused("otherName:1.2.3.4;UTF8:foo")).toMatch(/type otherName; only DNS names/);
    expect(await refused("dirName:dir_sect")).toMatch(/directoryName/);
    expect(await refused("RID:1.2.3.4")).toMatch(/registeredID/);
    const many = Array.from({ length: 101 }, (_, i) => `DNS:h${i}.example.com`).join(",");
    expect(await refused(many)).toMatch(/101 subject alternative names; at most 100/);
    expect(await sans(Array.from({ length: 100 }, (_, i) => `DNS:h${i}.example.com`).join(","))).toHaveLength(100);
  });
});

describe("helpers", () => {
  it("isDnsName", () => {
    for (const ok of ["example.com", "a-b.example", "localhost", "*.example.com", "x".repeat(63) + ".com"]) expect(isDnsName(ok), ok).toBe(true);
    for (const bad of ["", "My Laptop", "a..b", "a.", ".a", "*.com", "*", "a_b.com", "ex-.com", "10.0.0.1", "bücher.de", "x".repeat(64) + ".com", `${"a.".repeat(127)}ab`]) {
      expect(isDnsName(bad), bad).toBe(false);
    }
    expect(isDnsName("*.example.com", { wildcard: false })).toBe(false);
  });

  it("parseIpAddress and formatIpAddress", () => {
    expect(parseIpAddress("10.0.0.1")).toEqual(Buffer.from([10, 0, 0, 1]));
    for (const bad of ["10.0.0", "10.0.0.256", "010.0.0.1", "1::2::3", "fe80::1%eth0", "example.com", ""]) expect(parseIpAddress(bad), bad).toBeNull();
    for (const [text, canonical] of [
      ["::", "::"],
      ["::1", "::1"],
      ["2001:db8::", "2001:db8::"],
      ["2001:DB8:0:0:1:0:0:1", "2001:db8::1:0:0:1"],
      ["1:2:3:4:5:6:7:8", "1:2:3:4:5:6:7:8"],
      ["1:0:3:4:5:6:7:8", "1:0:3:4:5:6:7:8"],
      ["::ffff:192.168.0.1", "::ffff:c0a8:1"],
      ["64:ff9b::1.2.3.4", "64:ff9b::102:304"],
    ]) {
      const bytes = parseIpAddress(text);
      expect(bytes, text).not.toBeNull();
      expect(formatIpAddress(bytes!), text).toBe(canonical);
    }
  });
});
