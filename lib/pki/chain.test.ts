import { afterAll, describe, expect, it } from "vitest";
import { appError } from "../test-support/app-error.ts";
import { opensslOk, opensslSelfSigned, scratchDir } from "./test-support.ts";
import { certificatesToPem, describeChain, isSelfSigned, MAX_CHAIN_CERTIFICATES, parseCertificateList, signedBy } from "./chain.ts";

const scratch = scratchDir("chain");
afterAll(() => scratch.remove());

function issued(name: string, issuer: { key: string; file: string }): { key: string; file: string; pem: string } {
  const key = scratch.path(`${name}.key`);
  const csr = scratch.path(`${name}.csr`);
  const file = scratch.path(`${name}.cer`);
  opensslOk(["req", "-new", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-keyout", key, "-subj", `/CN=${name}`, "-out", csr]);
  opensslOk(["x509", "-req", "-in", csr, "-CA", issuer.file, "-CAkey", issuer.key, "-CAcreateserial", "-days", "1", "-out", file]);
  return { key, file, pem: opensslOk(["x509", "-in", file]) };
}

describe("parseCertificateList", () => {
  const root = opensslSelfSigned(scratch, "root", { args: ["-addext", "basicConstraints=critical,CA:TRUE"] });
  const leaf = issued("leaf", root);

  it("reads every certificate in order, ignoring OpenSSL's text between blocks", () => {
    const text = `subject=CN = leaf\n${leaf.pem}\nsubject=CN = root\r\n${root.pem.replace(/\n/g, "\r\n")}`;
    const certs = parseCertificateList(text);
    expect(certs.map((c) => c.subject)).toEqual(["CN=leaf", "CN=root"]);
    expect(certificatesToPem(certs)).toBe(leaf.pem + root.pem);
    expect(parseCertificateList("  \n")).toEqual([]);
  });

  it("judges self-signed and signed-by as OpenSSL does", () => {
    const [l, r] = parseCertificateList(leaf.pem + root.pem);
    expect(isSelfSigned(r)).toBe(true);
    expect(isSelfSigned(l)).toBe(false);
    expect(signedBy(l, r)).toBe(true);
    expect(signedBy(r, l)).toBe(false);
    const fp = opensslOk(["x509", "-in", root.file, "-noout", "-fingerprint", "-sha1"]).trim().split("=")[1];
    expect(describeChain([r])[0]).toMatchObject({ subject: "CN=root", issuer: "CN=root", sha1Fingerprint: fp, selfSigned: true });
  });

  it.each([
    ["a private key", () => root.pem + opensslOk(["pkey", "-in", root.key]), /private key/],
    ["another kind of block", () => root.pem.replace(/CERTIFICATE/g, "TRUSTED CERTIFICATE"), /"TRUSTED CERTIFICATE" block/],
    ["a truncated block", () => leaf.pem + root.pem.slice(0, 120), /incomplete/],
    ["text without a block", () => "MIIB...", /No certificate was found/],
    ["a block that is not a certificate", () => "-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n", /Certificate 1 of 1: /],
    ["too many certificates", () => root.pem.repeat(MAX_CHAIN_CERTIFICATES + 1), /at most 8 certificates/],
    ["text too long", () => "x".repeat(200 * 1024), /longer than 128 KB/],
  ])("refuses %s, on the field", (_name, text, message) => {
    const e = appError(() => parseCertificateList(text(), "chainPem"));
    expect(e.code).toBe("bad_request");
    expect(e.fields?.chainPem).toMatch(message);
  });

  it("stays fast on many unterminated BEGIN lines", () => {
    const text = "-----BEGIN CERTIFICATE-----\n".repeat(4000);
    const started = performance.now();
    expect(appError(() => parseCertificateList(text)).message).toMatch(/longer than|at most/);
    const unterminated = `${"-----BEGIN CERTIFICATE-----x".repeat(8)}${"A".repeat(100 * 1024)}`;
    expect(appError(() => parseCertificateList(unterminated)).message).toMatch(/incomplete/);
    expect(performance.now() - started).toBeLessThan(500);
  });
});
