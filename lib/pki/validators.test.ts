/**
 * Independent judges of everything Portcullis signs: zlint (the linter public CAs run
 * before issuance), OpenSSL, GnuTLS and NSS look at a certificate of every usage, the
 * CA certificate, the delegated OCSP responder's certificate, a leaf issued under an
 * intermediate CA, a CRL and an OCSP response. Then a set of deliberately broken
 * certificates and CRLs shows that Portcullis's own lint (lint.ts) and zlint flag the
 * same problems. scripts/test.sh installs the tools from Debian; a missing tool skips
 * its tests with the reason in the test name.
 */
import { spawnSync } from "node:child_process";
import { createPrivateKey, type KeyObject } from "node:crypto";
import { mkdirSync, readFileSync } from "node:fs";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { toBuffer } from "./bytes.ts";
import { createSelfSignedCa } from "./certificates.ts";
import { createCrl } from "./crl.ts";
import { derChildren, parseCsr, readDer } from "./csr.ts";
import { caKeyIdentifier, type IssuingCa } from "./issue.ts";
import { generateKeyPair } from "./keys.ts";
import { lintCertificate, lintCrl, type LintTarget } from "./lint.ts";
import { buildOcspResponse, parseOcspRequest } from "./ocsp.ts";
import { issueOcspSigner } from "./ocsp-signer.ts";
import { derToPem } from "./pem.ts";
import { issueLintedCertificate } from "./preview.ts";
import { EKU_OIDS, PROFILES, USAGES, type Usage } from "./profiles.ts";
import { x509 } from "./setup.ts";
import { buildCertificate, buildCrl, certificateParts, extension, extensionOid, name, oid, seq, time, tlv, type CertificateParts } from "./test-certificates.ts";
import { EMPTY_REQ_CONFIG, GENPKEY_ARGS, openssl, opensslOk, scratchDir } from "./test-support.ts";

const tmp = scratchDir("validators");
afterAll(() => tmp.remove());

function installed(cmd: string): boolean {
  return spawnSync("sh", ["-c", `command -v ${cmd}`]).status === 0;
}
const HAVE = {
  zlint: installed("zlint"),
  certtool: installed("certtool"),
  ocsptool: installed("ocsptool"),
  nss: installed("vfychain") && installed("certutil") && installed("crlutil"),
};
const missing = (tool: string, pkg: string) => `SKIPPED: ${tool} is not installed (scripts/test.sh installs ${pkg} from Debian)`;
for (const [tool, ok] of Object.entries(HAVE)) if (!ok) console.warn(`validators.test.ts: ${tool} is not installed; its tests are skipped`);

// ---------------------------------------------------------------------------------
// zlint and the lints that do not apply to a private CA.

type ZlintResults = Record<string, { result: string; details?: string }>;

function zlint(file: string): ZlintResults {
  const r = spawnSync("zlint", [file], { encoding: "utf8", maxBuffer: 16 * 1024 * 1024 });
  if (r.status !== 0) throw new Error(`zlint ${file} exited ${r.status}: ${r.stderr}`);
  return JSON.parse(r.stdout) as ZlintResults;
}

/** What zlint reports as error or fatal. */
function zlintErrors(results: ZlintResults): string[] {
  return Object.entries(results)
    .filter(([, v]) => v.result === "error" || v.result === "fatal")
    .map(([k]) => k);
}

type Subject = LintTarget | "leaf-of-intermediate" | "crl";

/**
 * zlint lints every certificate as if a publicly-trusted web CA had issued it. These
 * lints encode rules of that world that a private CA deliberately does not follow;
 * each is exempted by name, for the certificates it concerns, with the reason.
 */
const ZLINT_EXEMPTIONS: { lint: string; for: Subject[] | "all"; reason: string }[] = [
  {
    lint: "e_sub_cert_certificate_policies_missing",
    for: "all",
    reason: "CA/Browser Forum policy OIDs (DV/OV/IV) assert compliance with the public-TLS Baseline Requirements; a private CA has no such policy to assert",
  },
  { lint: "e_sub_cert_cert_policy_empty", for: "all", reason: "the same rule: no certificatePolicies extension at all in a private CA's certificates" },
  { lint: "e_sub_ca_certificate_policies_missing", for: ["intermediate-ca"], reason: "the same rule for subordinate CAs of the public web PKI" },
  {
    lint: "e_sub_cert_country_name_must_appear",
    for: "all",
    reason: "public OV certificates must carry a validated country with the organization; a private CA issues the subject the administrator verified with the contact, as requested",
  },
  { lint: "e_sub_cert_locality_name_must_appear", for: "all", reason: "the same OV subject-validation rule (locality)" },
  { lint: "e_sub_cert_province_must_appear", for: "all", reason: "the same OV subject-validation rule (state or province)" },
  {
    lint: "e_ca_country_name_missing",
    for: ["intermediate-ca", "ca"],
    reason: "Baseline Requirements 7.1.4.3.1 naming for publicly-trusted CAs; a private CA (and the intermediates it issues) is named as its administrator chooses",
  },
  {
    lint: "e_dnsname_not_valid_tld",
    for: "all",
    reason: "private CAs certify internal host names (localhost, *.internal, *.corp) that are not on the public suffix list",
  },
  {
    lint: "e_ext_san_contains_reserved_ip",
    for: "all",
    reason: "private CAs certify loopback and private addresses (127.0.0.1, 10.0.0.0/8) that no public CA may",
  },
  {
    lint: "e_subject_common_name_not_exactly_from_san",
    for: ["cockroach-node"],
    reason: 'CockroachDB requires CN=node on every node certificate; clients match the node\'s DNS/IP SANs (Portcullis\'s own lint warns: cn_not_in_san)',
  },
];
const exemptionsUsed = new Set<string>();

function zlintVerdict(file: string, subject: Subject): { errors: string[]; warnings: string[] } {
  const results = zlint(file);
  const errors: string[] = [];
  for (const lint of zlintErrors(results)) {
    const exemption = ZLINT_EXEMPTIONS.find((e) => e.lint === lint && (e.for === "all" || e.for.includes(subject)));
    if (exemption) exemptionsUsed.add(lint);
    else errors.push(`${lint}: ${results[lint].details ?? ""}`);
  }
  const warnings = Object.entries(results)
    .filter(([, v]) => v.result === "warn")
    .map(([k]) => k);
  return { errors, warnings };
}

// ---------------------------------------------------------------------------------
// What gets judged.

/** A request per usage, as an operator would make it with `openssl req`: [subject, -addext values]. */
const REQUESTS: Record<Usage, { subject: string; addext?: string[] }> = {
  tls: { subject: "/O=Acme/CN=host.example.com", addext: ["subjectAltName=DNS:host.example.com,DNS:www.example.com,IP:127.0.0.1"] },
  "intermediate-ca": { subject: "/O=Acme/CN=Acme Issuing CA" },
  "code-signing": { subject: "/O=Acme/CN=Acme Code Signing" },
  "tls-client": { subject: "/O=Acme/CN=alice", addext: ["subjectAltName=email:alice@example.com"] },
  "iot-device": { subject: "/O=Acme/CN=d:sensor:0042" },
  "cockroach-node": { subject: "/CN=node", addext: ["subjectAltName=DNS:localhost,DNS:db1.example.com,IP:127.0.0.1"] },
  "cockroach-client": { subject: "/CN=roach" },
};

const URLS = {
  crlUrl: "http://pki.example.com/crl/AcmeRoot.crl",
  ocspUrl: "http://pki.example.com/ocsp",
  caIssuersUrl: "http://pki.example.com/api/v1/ca/certificate?format=der",
};

interface Judged {
  label: string;
  subject: Subject;
  file: string;
  der: Buffer;
  /** The CA certificate file that anchors it. */
  caFile: string;
  /** Intermediate certificates between it and the anchor, as a PEM file. */
  untrusted?: string;
  issuer?: x509.X509Certificate;
  /** extendedKeyUsage OIDs it carries (none for CAs). */
  ekus: string[];
}

const judged: Judged[] = [];
let root: IssuingCa & { file: string; der: Buffer };
let rsaRoot: IssuingCa & { file: string };
let crlFile = "";
let crlDer: Buffer;
let ocspResponseFile = "";
let ocspRequestFile = "";
let ocspResponderFile = "";
let tlsFile = "";
let cnf = "";
let counter = 0;

async function request(key: string, subject: string, addext: string[] = []) {
  const file = tmp.path(`req-${++counter}.csr`);
  opensslOk(["req", "-new", "-key", key, "-subj", subject, "-config", cnf, ...addext.flatMap((a) => ["-addext", a]), "-out", file]);
  return parseCsr(readFileSync(file, "utf8"));
}

function keyFile(args: readonly string[]): string {
  const file = tmp.path(`key-${++counter}.pem`);
  opensslOk(["genpkey", ...args, "-out", file]);
  return file;
}

beforeAll(async () => {
  cnf = tmp.file("empty.cnf", EMPTY_REQ_CONFIG);
  const now = new Date();
  const keys = await generateKeyPair("ecdsa-p256");
  const ca = await createSelfSignedCa({ subject: { C: "DE", O: "Acme", CN: "Acme Root CA" }, keys, validityDays: 3650, now });
  root = { certificate: ca.certificate, privateKey: keys.privateKey, file: tmp.file("root.pem", ca.pem), der: ca.der };
  judged.push({ label: "CA certificate (ECDSA P-256)", subject: "ca", file: root.file, der: ca.der, caFile: root.file, ekus: [] });
  const rsaKeys = await generateKeyPair("rsa-2048");
  const rsaCa = await createSelfSignedCa({ subject: { C: "DE", O: "Acme", CN: "Acme RSA Root CA" }, keys: rsaKeys, validityDays: 3650, now });
  rsaRoot = { certificate: rsaCa.certificate, privateKey: rsaKeys.privateKey, file: tmp.file("rsa-root.pem", rsaCa.pem) };
  judged.push({ label: "CA certificate (RSA 2048)", subject: "ca", file: rsaRoot.file, der: rsaCa.der, caFile: rsaRoot.file, ekus: [] });

  const ecKey = keyFile(GENPKEY_ARGS.p256);
  let interKey = "";
  for (const { id } of USAGES) {
    const key = id === "intermediate-ca" ? (interKey = keyFile(GENPKEY_ARGS.p384)) : ecKey;
    const csr = await request(key, REQUESTS[id].subject, REQUESTS[id].addext);
    const issued = await issueLintedCertificate({ csr, usage: id, ca: root, validityDays: 365, now, ...URLS });
    const file = tmp.file(`${id}.pem`, issued.pem);
    if (id === "tls") tlsFile = file;
    judged.push({ label: `${id} certificate`, subject: id, file, der: issued.der, caFile: root.file, issuer: root.certificate, ekus: PROFILES[id].extendedKeyUsage.map((n) => EKU_OIDS[n]) });
    if (id === "intermediate-ca") {
      // The intermediate at work: a TLS server certificate it issues, judged through the chain.
      const inter: IssuingCa = { certificate: issued.certificate, privateKey: createPrivateKey(readFileSync(interKey)) };
      const leafCsr = await request(ecKey, "/CN=svc.example.com", ["subjectAltName=DNS:svc.example.com"]);
      const leaf = await issueLintedCertificate({ csr: leafCsr, usage: "tls", ca: inter, validityDays: 90, now, ...URLS });
      judged.push({
        label: "TLS certificate under the intermediate CA",
        subject: "leaf-of-intermediate",
        file: tmp.file("leaf-of-intermediate.pem", leaf.pem),
        der: leaf.der,
        caFile: root.file,
        untrusted: file,
        issuer: issued.certificate,
        ekus: [EKU_OIDS.serverAuth, EKU_OIDS.clientAuth],
      });
    }
  }
  // RSA: the keyEncipherment variant of the TLS profile, signed with sha256WithRSAEncryption.
  const rsaCsr = await request(keyFile(GENPKEY_ARGS.rsa2048), "/O=Acme/CN=rsa.example.com");
  const rsaTls = await issueLintedCertificate({ csr: rsaCsr, usage: "tls", ca: rsaRoot, validityDays: 365, now, ...URLS });
  judged.push({ label: "tls certificate (RSA key, RSA CA)", subject: "tls", file: tmp.file("rsa-tls.pem", rsaTls.pem), der: rsaTls.der, caFile: rsaRoot.file, issuer: rsaRoot.certificate, ekus: [EKU_OIDS.serverAuth, EKU_OIDS.clientAuth] });

  // The delegated OCSP responder and one response from it.
  const responder = await issueOcspSigner({ ca: root, now });
  ocspResponderFile = tmp.file("ocsp-responder.pem", responder.pem);
  judged.push({ label: "OCSP responder certificate", subject: "ocsp-responder", file: ocspResponderFile, der: toBuffer(responder.certificate.rawData), caFile: root.file, issuer: root.certificate, ekus: ["1.3.6.1.5.5.7.3.9"] });
  ocspRequestFile = tmp.path("ocsp-request.der");
  opensslOk(["ocsp", "-issuer", root.file, "-cert", tlsFile, "-reqout", ocspRequestFile]);
  const ocspRequest = parseOcspRequest(readFileSync(ocspRequestFile));
  const response = buildOcspResponse({
    responder: { certificate: responder.certificate, privateKey: responder.privateKey },
    answers: ocspRequest.certIds.map((certId) => ({ certId, certStatus: { status: "good" } })),
    nonceExtension: ocspRequest.nonceExtension,
    now,
  });
  ocspResponseFile = tmp.file("ocsp-response.der", response);

  // A CRL listing two certificates (one without a reason: unspecified is left out).
  const serialOf = (label: string) => new x509.X509Certificate(new Uint8Array(judged.find((j) => j.label === label)!.der)).serialNumber;
  const crl = await createCrl({
    ca: root,
    crlNumber: 7,
    thisUpdate: now,
    nextUpdate: new Date(now.getTime() + 7 * 86_400_000),
    revoked: [
      { serialHex: serialOf("tls-client certificate"), revokedAt: new Date(now.getTime() - 60_000), reason: "keyCompromise" },
      { serialHex: serialOf("code-signing certificate"), revokedAt: new Date(now.getTime() - 30_000), reason: "unspecified" },
    ],
  });
  crlDer = crl.der;
  crlFile = tmp.file("root.crl.pem", crl.pem);
  tmp.file("root.crl", crl.der);
}, 120_000);

describe("Portcullis's own lint on what Portcullis signs", () => {
  it("finds no errors in a certificate of every usage, the CA certificates, the OCSP responder and a leaf under an intermediate", () => {
    expect(judged.length).toBe(USAGES.length + 5);
    for (const j of judged) {
      const target: LintTarget = j.subject === "leaf-of-intermediate" ? "tls" : (j.subject as LintTarget);
      const r = lintCertificate(j.der, { issuer: j.subject === "ca" ? undefined : j.issuer, usage: target });
      expect(r.errors, j.label).toEqual([]);
    }
  });

  it("finds no errors in the CRL", () => {
    expect(lintCrl(crlDer, { issuer: root.certificate }).errors).toEqual([]);
  });
});

// Skipped only where the tool is missing (zlint comes from Debian trixie; the test command installs it and skips visibly only when that install fails); the describe title then names what to install.
describe.skipIf(!HAVE.zlint)(HAVE.zlint ? "zlint" : missing("zlint", "zlint (trixie)"), () => {
  it("reports 0 errors (exemptions by name) for every certificate", () => {
    const report: string[] = [];
    for (const j of judged) {
      const v = zlintVerdict(j.file, j.subject);
      report.push(`${j.label}: ${v.errors.length} errors; warnings: ${v.warnings.join(", ") || "none"}`);
      expect(v.errors, j.label).toEqual([]);
    }
    console.log(`zlint:\n  ${report.join("\n  ")}`);
  });

  it("reports 0 errors for the CRL", () => {
    const results = zlint(crlFile);
    expect(Object.keys(results).length).toBeGreaterThan(0);
    expect(zlintErrors(results)).toEqual([]);
  });

  it("needs every exemption in the table (none is stale)", () => {
    for (const j of judged) zlintVerdict(j.file, j.subject);
    const unused = ZLINT_EXEMPTIONS.map((e) => e.lint).filter((l) => !exemptionsUsed.has(l));
    expect(unused, "exemptions no certificate needs").toEqual([]);
  });
});

// ---------------------------------------------------------------------------------
// Purposes: OpenSSL, GnuTLS, NSS.

const OPENSSL_PURPOSE: Record<string, string> = { [EKU_OIDS.serverAuth]: "sslserver", [EKU_OIDS.clientAuth]: "sslclient", "1.3.6.1.5.5.7.3.9": "ocsphelper" };
const NSS_USAGE: Record<string, string> = { [EKU_OIDS.serverAuth]: "1", [EKU_OIDS.clientAuth]: "0", [EKU_OIDS.codeSigning]: "6", "1.3.6.1.5.5.7.3.9": "10" };

/** A purpose the certificate does not have, to show each judge can say no. */
function absentEku(j: Judged): string {
  return j.ekus.includes(EKU_OIDS.codeSigning) ? EKU_OIDS.serverAuth : EKU_OIDS.codeSigning;
}

function opensslVerify(j: Judged, purpose?: string, extra: string[] = []): boolean {
  const args = ["verify", "-x509_strict", "-CAfile", j.caFile, ...(j.untrusted ? ["-untrusted", j.untrusted] : []), ...(purpose ? ["-purpose", purpose] : []), ...extra, j.file];
  const r = openssl(args);
  return r.status === 0 && r.stdout.trim() === `${j.file}: OK`;
}

describe("OpenSSL verify -x509_strict -purpose", () => {
  it("accepts every certificate for each of its purposes, and refuses a purpose it lacks", () => {
    for (const j of judged) {
      expect(opensslVerify(j), `${j.label}`).toBe(true);
      for (const eku of j.ekus) if (OPENSSL_PURPOSE[eku]) expect(opensslVerify(j, OPENSSL_PURPOSE[eku]), `${j.label} ${OPENSSL_PURPOSE[eku]}`).toBe(true);
      if (j.ekus.length) expect(opensslVerify(j, j.ekus.includes(EKU_OIDS.serverAuth) ? "smimesign" : "sslserver"), `${j.label} wrong purpose`).toBe(false);
    }
  });

  it("verifies the CRL's signature and the OCSP response", () => {
    const crl = openssl(["crl", "-in", crlFile, "-CAfile", root.file, "-noout", "-verify"]);
    expect(crl.stdout + crl.stderr).toMatch(/verify OK/);
    // With -reqin alone (adding -cert would make OpenSSL build a new request with a new nonce), the nonce is checked too.
    const ocsp = openssl(["ocsp", "-reqin", ocspRequestFile, "-respin", ocspResponseFile, "-CAfile", root.file, "-resp_text"]);
    expect(ocsp.stderr + ocsp.stdout).toMatch(/Response verify OK/);
    expect(ocsp.stdout).toMatch(/Cert Status: good/);
    const other = openssl(["ocsp", "-reqin", ocspRequestFile, "-respin", ocspResponseFile, "-CAfile", rsaRoot.file]);
    expect(other.stderr + other.stdout).not.toMatch(/Response verify OK/);
  });
});

// Skipped only where the tool is missing (certtool is in gnutls-bin, which the test command installs); the describe title then names what to install.
describe.skipIf(!HAVE.certtool)(HAVE.certtool ? "GnuTLS certtool --verify" : missing("certtool", "gnutls-bin"), () => {
  function certtoolVerify(j: Judged, purpose?: string): boolean {
    // certtool reads the chain from --infile: the certificate, then its intermediates.
    const infile = j.untrusted ? tmp.file(`chain-${++counter}.pem`, readFileSync(j.file, "utf8") + readFileSync(j.untrusted, "utf8")) : j.file;
    const r = spawnSync("certtool", ["--verify", "--load-ca-certificate", j.caFile, "--infile", infile, ...(purpose ? ["--verify-purpose", purpose] : [])], { encoding: "utf8" });
    return r.status === 0 && /Chain verification output: Verified\./.test(r.stdout);
  }

  it("verifies every certificate for each of its purposes, and refuses a purpose it lacks", () => {
    for (const j of judged) {
      expect(certtoolVerify(j), j.label).toBe(true);
      for (const eku of j.ekus) expect(certtoolVerify(j, eku), `${j.label} ${eku}`).toBe(true);
      if (j.ekus.length) expect(certtoolVerify(j, absentEku(j)), `${j.label} wrong purpose`).toBe(false);
    }
  });

  it("verifies the CRL", () => {
    const r = spawnSync("certtool", ["--verify-crl", "--load-ca-certificate", root.file, "--infile", crlFile], { encoding: "utf8" });
    expect(r.status, r.stdout + r.stderr).toBe(0);
    expect(r.stdout).toMatch(/Verification output: Verified/);
    const wrongCa = spawnSync("certtool", ["--verify-crl", "--load-ca-certificate", rsaRoot.file, "--infile", crlFile], { encoding: "utf8" });
    expect(wrongCa.stdout).not.toMatch(/Verification output: Verified/);
  });

  // Skipped only where GnuTLS's ocsptool is missing (the test command installs gnutls-bin); openssl ocsp checks the same response above.
  it.skipIf(!HAVE.ocsptool)("verifies the OCSP response (ocsptool)", () => {
    const r = spawnSync("ocsptool", ["--verify-response", "--load-trust", root.file, "--infile", ocspResponseFile], { encoding: "utf8" });
    expect(r.status, r.stdout + r.stderr).toBe(0);
    expect(r.stdout + r.stderr).toMatch(/Verifying OCSP Response: Success\./);
    const wrongCa = spawnSync("ocsptool", ["--verify-response", "--load-trust", rsaRoot.file, "--infile", ocspResponseFile], { encoding: "utf8" });
    expect(wrongCa.stdout + wrongCa.stderr).not.toMatch(/Verifying OCSP Response: Success\./);
  });
});

// Skipped only where the tool is missing (vfychain, certutil and crlutil are in libnss3-tools, which the test command installs); the describe title then names what to install.
describe.skipIf(!HAVE.nss)(HAVE.nss ? "NSS vfychain and crlutil" : missing("vfychain/certutil/crlutil", "libnss3-tools"), () => {
  const dbs = new Map<string, string>();
  /** A temporary NSS database trusting one CA certificate. */
  function nssDb(caFile: string): string {
    let db = dbs.get(caFile);
    if (!db) {
      const dir = tmp.path(`nss-${dbs.size}`);
      mkdirSync(dir);
      db = `sql:${dir}`;
      for (const args of [
        ["-N", "-d", db, "--empty-password"],
        ["-A", "-d", db, "-n", "anchor", "-t", "CT,C,C", "-a", "-i", caFile],
      ]) {
        const r = spawnSync("certutil", args, { encoding: "utf8" });
        if (r.status !== 0) throw new Error(`certutil ${args.join(" ")}: ${r.stderr}`);
      }
      dbs.set(caFile, db);
    }
    return db;
  }

  function vfychain(j: Judged, usage: string): boolean {
    const r = spawnSync("vfychain", ["-d", nssDb(j.caFile), "-pp", "-u", usage, "-a", j.file, ...(j.untrusted ? ["-a", j.untrusted] : [])], { encoding: "utf8" });
    return r.status === 0 && /Chain is good!/.test(r.stdout + r.stderr);
  }

  it("validates every certificate for each of its purposes (CAs as SSL CA), and refuses a purpose it lacks", () => {
    for (const j of judged) {
      if (j.subject === "ca" || j.subject === "intermediate-ca") {
        expect(vfychain(j, "3"), `${j.label} SSL CA`).toBe(true);
        continue;
      }
      for (const eku of j.ekus) expect(vfychain(j, NSS_USAGE[eku]), `${j.label} ${eku}`).toBe(true);
      expect(vfychain(j, NSS_USAGE[absentEku(j)]), `${j.label} wrong purpose`).toBe(false);
    }
  });

  it("imports the CRL (its signature checked against the CA), and refuses a tampered one", () => {
    const db = nssDb(root.file);
    const ok = spawnSync("crlutil", ["-I", "-d", db, "-i", tmp.path("root.crl"), "-t", "1"], { encoding: "utf8" });
    expect(ok.status, ok.stdout + ok.stderr).toBe(0);
    const listed = spawnSync("crlutil", ["-L", "-d", db], { encoding: "utf8" });
    expect(listed.stdout).toMatch(/^anchor\s+CRL/m);
    const tampered = Buffer.from(crlDer);
    tampered[tampered.length - 5] ^= 0x01;
    const bad = spawnSync("crlutil", ["-I", "-d", db, "-i", tmp.file("tampered.crl", tampered), "-t", "1"], { encoding: "utf8" });
    expect(bad.status).not.toBe(0);
  });
});

// ---------------------------------------------------------------------------------
// Deliberately broken certificates: Portcullis's lint and zlint must both flag each.

/** A TLS certificate from Portcullis, taken apart: the base every broken case changes one thing of. */
let base: CertificateParts;
let caKey: KeyObject;

const OID_SAN = "2.5.29.17";
const OID_SKI = "2.5.29.14";
const OID_AKI = "2.5.29.35";
const OID_KU = "2.5.29.15";
const OID_BC = "2.5.29.19";
const HOUR = 3_600_000;

const without = (exts: Buffer[] | null, id: string) => (exts ?? []).filter((e) => extensionOid(e) !== id);
const replace = (exts: Buffer[] | null, id: string, by: Buffer) => (exts ?? []).map((e) => (extensionOid(e) === id ? by : e));
const keyUsage = (bits: number[], critical = true) => {
  // bits as RFC 5280 numbers them (0 = digitalSignature); DER drops trailing zero bits.
  let value = 0;
  for (const b of bits) value |= 0x80 >> b;
  const unused = value === 0 ? 0 : Math.log2(value & -value);
  return extension(OID_KU, critical, tlv(0x03, Buffer.from(value === 0 ? [0] : [unused, value])));
};
const basicConstraints = (ca: boolean, pathLen: number | undefined, critical: boolean) =>
  extension(OID_BC, critical, seq(...(ca ? [Buffer.from([0x01, 0x01, 0xff])] : []), ...(pathLen !== undefined ? [tlv(0x02, Buffer.from([pathLen]))] : [])));
const dnsSan = (...names: string[]) => extension(OID_SAN, false, seq(...names.map((n) => tlv(0x82, Buffer.from(n, "latin1")))));
const spkiOf = (args: readonly string[]) => opensslBytesOf(["pkey", "-in", keyFile(args), "-pubout", "-outform", "DER"]);
function opensslBytesOf(args: string[]): Buffer {
  const r = spawnSync("openssl", args);
  if (r.status !== 0) throw new Error(`openssl ${args.join(" ")}: ${r.stderr}`);
  return r.stdout;
}

interface BrokenCase {
  name: string;
  /** The certificate's intended usage, for Portcullis's lint. */
  usage: LintTarget;
  change: (p: CertificateParts) => CertificateParts;
  /** The finding code Portcullis's lint must report as an error. */
  lint: string;
  /**
   * The independent judge: a zlint lint name that must say error, or, for rules that
   * need the issuer (zlint sees one certificate alone), OpenSSL's chain verification
   * that must fail with the given message.
   */
  judge: { zlint: string } | { zlintRefuses: RegExp } | { openssl: RegExp; at?: () => Date };
}

const BROKEN: BrokenCase[] = [
  { name: "negative serial", usage: "tls", change: (p) => ({ ...p, serial: Buffer.from([0x80, 0x11, 0x22, 0x33, 0x44, 0x55, 0x66, 0x77, 0x88]) }), lint: "serial_not_positive", judge: { zlint: "e_serial_number_not_positive" } },
  { name: "zero serial", usage: "tls", change: (p) => ({ ...p, serial: Buffer.from([0x00]) }), lint: "serial_not_positive", judge: { zlint: "e_serial_number_not_positive" } },
  { name: "serial of 21 octets", usage: "tls", change: (p) => ({ ...p, serial: Buffer.concat([Buffer.from([0x40]), Buffer.alloc(20, 0x11)]) }), lint: "serial_too_long", judge: { zlint: "e_serial_number_longer_than_20_octets" } },
  { name: "TLS server certificate without SAN", usage: "tls", change: (p) => ({ ...p, extensions: without(p.extensions, OID_SAN) }), lint: "san_missing_for_tls", judge: { zlint: "e_ext_san_missing" } },
  {
    name: "common name not among the SANs",
    usage: "tls",
    change: (p) => ({ ...p, subject: name(["2.5.4.10", 0x0c, "Acme"], ["2.5.4.3", 0x0c, "other.example.com"]) }),
    lint: "cn_not_in_san",
    judge: { zlint: "e_subject_common_name_not_exactly_from_san" },
  },
  {
    name: "SAN with an empty subject, not critical",
    usage: "tls",
    change: (p) => ({ ...p, subject: seq() }),
    lint: "empty_subject_san_not_critical",
    judge: { zlint: "e_ext_san_not_critical_without_subject" },
  },
  { name: "SAN with no names", usage: "tls-client", change: (p) => ({ ...p, extensions: replace(p.extensions, OID_SAN, extension(OID_SAN, false, seq())) }), lint: "san_empty", judge: { zlint: "e_ext_san_no_entries" } },
  { name: "wildcard not in the first label", usage: "tls", change: (p) => ({ ...p, subject: name(["2.5.4.3", 0x0c, "host.example.com"]), extensions: replace(p.extensions, OID_SAN, dnsSan("host.example.com", "www.*.example.com")) }), lint: "san_dns_invalid", judge: { zlint: "e_san_wildcard_not_first" } },
  {
    name: "CA certificate without keyCertSign",
    usage: "intermediate-ca",
    change: (p) => ({ ...p, extensions: replace(replace(without(p.extensions, "2.5.29.37"), OID_KU, keyUsage([6])), OID_BC, basicConstraints(true, undefined, true)) }),
    lint: "ca_without_key_cert_sign",
    judge: { zlint: "e_ca_key_cert_sign_not_set" },
  },
  {
    name: "CA certificate with basicConstraints not critical",
    usage: "intermediate-ca",
    change: (p) => ({ ...p, extensions: replace(replace(without(p.extensions, "2.5.29.37"), OID_KU, keyUsage([5, 6])), OID_BC, basicConstraints(true, 0, false)) }),
    lint: "basic_constraints_not_critical",
    judge: { zlint: "e_basic_constraints_not_critical" },
  },
  {
    name: "CA certificate with keyUsage not critical",
    usage: "intermediate-ca",
    change: (p) => ({ ...p, extensions: replace(replace(without(p.extensions, "2.5.29.37"), OID_KU, keyUsage([5, 6], false)), OID_BC, basicConstraints(true, 0, true)) }),
    lint: "key_usage_not_critical",
    judge: { zlint: "e_ca_key_usage_not_critical" },
  },
  { name: "keyCertSign on an end-entity certificate", usage: "tls", change: (p) => ({ ...p, extensions: replace(p.extensions, OID_KU, keyUsage([0, 5])) }), lint: "key_cert_sign_without_ca", judge: { zlint: "e_sub_cert_key_usage_cert_sign_bit_set" } },
  { name: "pathLenConstraint without cA", usage: "tls", change: (p) => ({ ...p, extensions: replace(p.extensions, OID_BC, basicConstraints(false, 0, true)) }), lint: "path_len_without_ca", judge: { zlint: "e_path_len_constraint_improperly_included" } },
  { name: "keyEncipherment on an ECDSA key", usage: "tls", change: (p) => ({ ...p, extensions: replace(p.extensions, OID_KU, keyUsage([0, 2])) }), lint: "key_usage_not_for_key", judge: { zlint: "e_ecdsa_allowed_ku" } },
  { name: "keyUsage without bits", usage: "tls", change: (p) => ({ ...p, extensions: replace(p.extensions, OID_KU, keyUsage([])) }), lint: "key_usage_empty", judge: { zlint: "e_ext_key_usage_without_bits" } },
  { name: "subjectKeyIdentifier critical", usage: "tls", change: (p) => ({ ...p, extensions: (p.extensions ?? []).map((e) => (extensionOid(e) === OID_SKI ? extension(OID_SKI, true, readSkiValue(e)) : e)) }), lint: "ski_critical", judge: { zlint: "e_ext_subject_key_identifier_critical" } },
  { name: "authorityKeyIdentifier missing", usage: "tls", change: (p) => ({ ...p, extensions: without(p.extensions, OID_AKI) }), lint: "aki_missing", judge: { zlint: "e_ext_authority_key_identifier_no_key_identifier" } },
  { name: "an extension twice", usage: "tls", change: (p) => ({ ...p, extensions: [...(p.extensions ?? []), (p.extensions ?? []).find((e) => extensionOid(e) === OID_SKI)!] }), lint: "extension_duplicate", judge: { zlint: "e_ext_duplicate_extension" } },
  { name: "RSA key of 1024 bits", usage: "tls", change: (p) => ({ ...p, spki: spkiOf(GENPKEY_ARGS.rsa1024), extensions: replace(p.extensions, OID_KU, keyUsage([0, 2])) }), lint: "rsa_key_too_small", judge: { zlint: "e_rsa_mod_less_than_2048_bits" } },
  { name: "RSA modulus not a multiple of 8 bits", usage: "tls", change: (p) => ({ ...p, spki: spkiOf(["-algorithm", "RSA", "-pkeyopt", "rsa_keygen_bits:2052"]), extensions: replace(p.extensions, OID_KU, keyUsage([0, 2])) }), lint: "rsa_modulus_not_multiple_of_8", judge: { zlint: "e_mp_modulus_must_be_divisible_by_8" } },
  { name: "EC key on secp256k1", usage: "tls", change: (p) => ({ ...p, spki: spkiOf(GENPKEY_ARGS.k1) }), lint: "ec_curve_not_allowed", judge: { zlintRefuses: /unsupported elliptic curve/ } },
  { name: "GeneralizedTime before 2050", usage: "tls", change: (p) => ({ ...p, notBefore: time(new Date(Date.now() - HOUR), "generalized") }), lint: "time_encoding", judge: { zlint: "e_wrong_time_format_pre2050" } },
  { name: "UTCTime without seconds", usage: "tls", change: (p) => ({ ...p, notBefore: tlv(0x17, Buffer.from(`${new Date(Date.now() - HOUR).toISOString().replace(/[-:T]/g, "").slice(2, 12)}Z`, "latin1")) }), lint: "time_format", judge: { zlint: "e_utc_time_does_not_include_seconds" } },
  { name: "notAfter before notBefore", usage: "tls", change: (p) => ({ ...p, notBefore: time(new Date(Date.now() + 48 * HOUR)), notAfter: time(new Date(Date.now() + 24 * HOUR)) }), lint: "validity_not_positive", judge: { zlint: "e_validity_time_not_positive" } },
  { name: "PrintableString with a character outside its set", usage: "tls", change: (p) => ({ ...p, subject: name(["2.5.4.10", 0x13, "Acme & Co"], ["2.5.4.3", 0x0c, "host.example.com"]) }), lint: "printable_string_invalid", judge: { zlint: "e_subject_printable_string_badalpha" } },
  { name: "country of three letters", usage: "tls", change: (p) => ({ ...p, subject: name(["2.5.4.6", 0x13, "DEU"], ["2.5.4.3", 0x0c, "host.example.com"]) }), lint: "country_not_two_letters", judge: { zlint: "e_subject_country_not_iso" } },
  { name: "country as UTF8String", usage: "tls", change: (p) => ({ ...p, subject: name(["2.5.4.6", 0x0c, "DE"], ["2.5.4.3", 0x0c, "host.example.com"]) }), lint: "printable_string_required", judge: { zlint: "e_subject_dn_country_not_printable_string" } },
  { name: "common name of 65 characters", usage: "tls-client", change: (p) => ({ ...p, subject: name(["2.5.4.3", 0x0c, "x".repeat(65)]) }), lint: "subject_attribute_too_long", judge: { zlint: "e_subject_common_name_max_length" } },
  { name: "X.509 v1 with extensions", usage: "tls", change: (p) => ({ ...p, version: null }), lint: "version_not_v3", judge: { zlint: "e_cert_extensions_version_not_3" } },
  { name: "unique identifiers", usage: "tls", change: (p) => ({ ...p, uniqueIds: [tlv(0x81, Buffer.from([0x00, 0x01, 0x02]))] }), lint: "unique_identifier_present", judge: { zlint: "e_cert_contains_unique_identifier" } },
  {
    name: "signature algorithms inside and outside differ",
    usage: "tls",
    change: (p) => ({ ...p, signatureAlgorithm: seq(oid("1.2.840.10045.4.3.3")), outerSignatureAlgorithm: seq(oid("1.2.840.10045.4.3.2")) }),
    lint: "signature_algorithm_mismatch",
    judge: { zlint: "e_cert_sig_alg_not_match_tbs_sig_alg" },
  },
  // Rules about the issuer: zlint sees one certificate alone, so OpenSSL's chain building is the judge.
  {
    name: "validity beyond the CA's",
    usage: "tls",
    change: (p) => ({ ...p, notAfter: time(new Date(root.certificate.notAfter.getTime() + 30 * 86_400_000)) }),
    lint: "validity_exceeds_ca",
    judge: { openssl: /certificate has expired/, at: () => new Date(root.certificate.notAfter.getTime() + 86_400_000) },
  },
  {
    name: "authorityKeyIdentifier not the CA's",
    usage: "tls",
    change: (p) => ({ ...p, extensions: replace(p.extensions, OID_AKI, extension(OID_AKI, false, seq(tlv(0x80, Buffer.alloc(20, 0x42))))) }),
    lint: "aki_not_ca_ski",
    judge: { openssl: /unable to get local issuer certificate/ },
  },
  {
    name: "issuer not the CA's subject",
    usage: "tls",
    change: (p) => ({ ...p, issuer: name(["2.5.4.3", 0x0c, "Someone Else"]) }),
    lint: "issuer_not_ca_subject",
    judge: { openssl: /unable to get local issuer certificate/ },
  },
];

/** The extnValue of an Extension (its last element's content). */
function readSkiValue(ext: Buffer): Buffer {
  return Buffer.from(derChildren(readDer(ext)).at(-1)!.content);
}

describe("deliberately broken certificates", () => {
  beforeAll(() => {
    base = certificateParts(judged.find((j) => j.label === "tls certificate")!.der);
    caKey = root.privateKey;
  });

  it("the unchanged base passes both lints (so each case fails for its one change)", (ctx) => {
    const der = buildCertificate(base, caKey);
    expect(lintCertificate(der, { issuer: root.certificate, usage: "tls" }).errors).toEqual([]);
    if (!HAVE.zlint) ctx.skip(missing("zlint", "zlint (trixie)"));
    expect(zlintVerdict(tmp.file("base.pem", derToPem(der, "CERTIFICATE")), "tls").errors).toEqual([]);
  });

  it.for(BROKEN.map((c) => [c.name, c] as const))("%s: flagged by Portcullis's lint and by the independent judge", ([, c], ctx) => {
    const der = buildCertificate(c.change({ ...base }), caKey);
    const file = tmp.file(`broken-${++counter}.pem`, derToPem(der, "CERTIFICATE"));
    const ours = lintCertificate(der, { issuer: root.certificate, usage: c.usage });
    expect(ours.errors.map((f) => f.code), JSON.stringify(ours.errors)).toContain(c.lint);
    if (("zlint" in c.judge || "zlintRefuses" in c.judge) && !HAVE.zlint) ctx.skip(missing("zlint", "zlint (trixie)"));
    if ("zlint" in c.judge) {
      const results = zlint(file);
      expect(results[c.judge.zlint]?.result, `${c.judge.zlint}: ${JSON.stringify(results[c.judge.zlint])}`).toMatch(/^(error|fatal)$/);
    } else if ("zlintRefuses" in c.judge) {
      // zlint's parser rejects the certificate outright: its fatal verdict.
      const r = spawnSync("zlint", [file], { encoding: "utf8" });
      expect(r.status).not.toBe(0);
      expect(r.stderr).toMatch(/level=fatal/);
      expect(r.stderr).toMatch(c.judge.zlintRefuses);
    } else {
      const at = c.judge.at ? ["-attime", String(Math.floor(c.judge.at().getTime() / 1000))] : [];
      const r = openssl(["verify", "-x509_strict", "-CAfile", root.file, ...at, file]);
      expect(r.status).not.toBe(0);
      expect(r.stdout + r.stderr).toMatch(c.judge.openssl);
      // The same check passes for the base certificate, so the failure is the change's.
      const good = tmp.file(`base-${counter}.pem`, derToPem(buildCertificate(base, caKey), "CERTIFICATE"));
      if (!c.judge.at) expect(openssl(["verify", "-x509_strict", "-CAfile", root.file, good]).status).toBe(0);
    }
  });

  describe("CRLs", () => {
    const crlBase = () => {
      const now = new Date();
      return {
        signatureAlgorithm: seq(oid("1.2.840.10045.4.3.2")),
        issuer: base.issuer,
        thisUpdate: time(now),
        nextUpdate: time(new Date(now.getTime() + 7 * 86_400_000)) as Buffer | null,
        entries: [[Buffer.from([0x41, 0x22, 0x33, 0x44, 0x55, 0x66, 0x77, 0x88]), time(new Date(now.getTime() - HOUR)), null]] as [Buffer, Buffer, Buffer[] | null][],
        extensions: [extension(OID_AKI, false, seq(tlv(0x80, Buffer.from(caKeyIdentifier(root.certificate), "hex")))), extension("2.5.29.20", false, tlv(0x02, Buffer.from([5])))],
      };
    };
    // severity: both report errors, or (for a SHOULD of RFC 5280) both report warnings.
    const CRL_CASES: { name: string; change: (p: ReturnType<typeof crlBase>) => ReturnType<typeof crlBase>; lint: string; zlint: string; severity?: "warning" }[] = [
      { name: "no nextUpdate", change: (p) => ({ ...p, nextUpdate: null }), lint: "crl_next_update_missing", zlint: "e_crl_has_next_update" },
      {
        name: "reason code unspecified",
        change: (p) => ({ ...p, entries: [[p.entries[0][0], p.entries[0][1], [extension("2.5.29.21", false, tlv(0x0a, Buffer.from([0])))]]] }),
        lint: "crl_reason_unspecified",
        zlint: "e_crl_has_valid_reason_code",
        severity: "warning",
      },
      {
        name: "reason code 7 (unused)",
        change: (p) => ({ ...p, entries: [[p.entries[0][0], p.entries[0][1], [extension("2.5.29.21", false, tlv(0x0a, Buffer.from([7])))]]] }),
        lint: "crl_reason_invalid",
        zlint: "e_crl_has_valid_reason_code",
      },
      {
        name: "reason code critical",
        change: (p) => ({ ...p, entries: [[p.entries[0][0], p.entries[0][1], [extension("2.5.29.21", true, tlv(0x0a, Buffer.from([1])))]]] }),
        lint: "crl_reason_critical",
        zlint: "e_cab_crl_reason_code_not_critical",
      },
    ];

    it("the unchanged base CRL passes both", (ctx) => {
      const der = buildCrl(crlBase(), caKey);
      expect(lintCrl(der, { issuer: root.certificate }).errors).toEqual([]);
      expect(openssl(["crl", "-inform", "DER", "-in", tmp.file("base.crl", der), "-CAfile", root.file, "-noout", "-verify"]).stderr).toMatch(/verify OK/);
      if (!HAVE.zlint) ctx.skip(missing("zlint", "zlint (trixie)"));
      expect(zlintErrors(zlint(tmp.file("base.crl.pem", derToPem(der, "X509 CRL"))))).toEqual([]);
    });

    it.for(CRL_CASES.map((c) => [c.name, c] as const))("%s: flagged by both", ([, c], ctx) => {
      const der = buildCrl(c.change(crlBase()), caKey);
      const ours = lintCrl(der, { issuer: root.certificate });
      expect((c.severity === "warning" ? ours.warnings : ours.errors).map((f) => f.code)).toContain(c.lint);
      if (!HAVE.zlint) ctx.skip(missing("zlint", "zlint (trixie)"));
      const results = zlint(tmp.file(`broken-${++counter}.crl.pem`, derToPem(der, "X509 CRL")));
      expect(results[c.zlint]?.result, JSON.stringify(results[c.zlint])).toMatch(c.severity === "warning" ? /^warn$/ : /^(error|fatal)$/);
    });
  });
});
