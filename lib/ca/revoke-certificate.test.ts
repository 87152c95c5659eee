import { beforeEach, describe, expect, it } from "vitest";
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { getDb } from "../db/index.ts";
import { openssl, opensslOk } from "../pki/test-support.ts";
import { expectAppError } from "../test-support/app-error.ts";
import { useIsolatedDataDir } from "../test-support/data-dir.ts";
import { configureCaServer } from "./configure-server.ts";
import { reinitializeCaServer } from "./reinitialize-server.ts";
import { submitRequest } from "./requests.ts";
import { issueRequest, type IssueResult } from "./issue-request.ts";
import { currentCrl, revokeCertificate } from "./revoke-certificate.ts";

const scratch = useIsolatedDataDir("revoke", { PORTCULLIS_PUBLIC_URL: undefined });
const KEY_PW = "revocation test CA password";
let counter = 0;
let caFile = "";
const DAY_MS = 86_400_000;

function csr(cn: string): string {
  const dir = scratch.path(`csr-${++counter}`);
  opensslOk(["req", "-new", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-keyout", `${dir}.key`, "-subj", `/CN=${cn}`, "-addext", `subjectAltName=DNS:${cn}`, "-out", `${dir}.csr`]);
  return readFileSync(`${dir}.csr`, "utf8");
}

async function issue(cn: string): Promise<IssueResult & { file: string }> {
  const r = await submitRequest({ csr: csr(cn), contact: { name: "Tina Tech" }, hostname: cn, instance: "PROD", filename: cn.split(".")[0] });
  const issued = await issueRequest(r.id, { usage: "tls", caKeyPassword: KEY_PW, fingerprintVerified: true }, { actor: "admin" });
  const file = scratch.path(`cert-${issued.number}-${++counter}.pem`);
  writeFileSync(file, issued.pem);
  return { ...issued, file };
}

async function crlFile(): Promise<string> {
  const crl = await currentCrl();
  const file = scratch.path(`crl-${++counter}.pem`);
  writeFileSync(file, crl.pem);
  return file;
}

async function caRow() {
  return (await getDb()).caServer.findUniqueOrThrow({ where: { id: 1 } });
}

beforeEach(async () => {
  const db = await getDb();
  if (await db.caServer.count()) await reinitializeCaServer();
  await configureCaServer({
    fileNameRoot: "RevokeCA",
    directory: `ca-${++counter}`,
    keyPassword: KEY_PW,
    subject: { O: "Example", CN: "Revocation Test CA" },
    caValidityDays: 3650,
    issuedValidityDays: 365,
    adminEmail: "camgr@example.com",
  });
  caFile = join((await caRow()).directory, "RevokeCA.cer");
});

describe("revoking", () => {
  it("revokes one of two certificates; OpenSSL verifies the CRL and turns the revoked one away", async () => {
    const good = await issue("good.example.com");
    const bad = await issue("bad.example.com");
    // Configuration published CRL number 1, empty: both certificates pass a CRL check until the revocation.
    const first = await crlFile();
    expect(opensslOk(["crl", "-in", first, "-noout", "-crlnumber"]).trim()).toBe("crlNumber=0x01");
    expect(opensslOk(["crl", "-in", first, "-noout", "-text"])).toContain("No Revoked Certificates");
    expect(opensslOk(["verify", "-crl_check", "-CAfile", caFile, "-CRLfile", first, bad.file])).toMatch(/OK/);
    const whole = new Date(Math.floor(Date.now() / 1000) * 1000);
    const now = new Date(whole.getTime() + 250);
    const r = await revokeCertificate(bad.number, { reason: "keyCompromise", caKeyPassword: KEY_PW }, { actor: "alice", now });
    expect(r).toEqual({ number: bad.number, revokedAt: whole.toISOString(), reason: "keyCompromise" });

    const row = await (await getDb()).certificate.findUniqueOrThrow({ where: { number: bad.number } });
    expect(row).toMatchObject({ status: "revoked", revocationReason: "keyCompromise", revokedBy: "alice" });
    const ca = await caRow();
    expect(ca.crlNumber).toBe(2);
    expect(ca.crlThisUpdate?.toISOString()).toBe(whole.toISOString());
    expect(ca.crlNextUpdate?.toISOString()).toBe(new Date(whole.getTime() + 7 * DAY_MS).toISOString());

    const crl = await crlFile();
    const verified = openssl(["crl", "-in", crl, "-CAfile", caFile, "-noout", "-verify"]);
    expect(verified.status).toBe(0);
    expect(verified.stdout + verified.stderr).toMatch(/verify OK/);
    const text = opensslOk(["crl", "-in", crl, "-noout", "-text"]);
    expect(text).toContain(`Serial Number: ${bad.serial}`);
    expect(text).not.toContain(`Serial Number: ${good.serial}`);
    expect(text).toContain("Key Compromise");
    expect(text).toMatch(/X509v3 CRL Number:\s*\n\s*2\n/);
    expect(text).toMatch(/X509v3 Authority Key Identifier/);
    expect(text).toMatch(/Version 2/);

    const at = String(Math.floor(now.getTime() / 1000) + 60);
    const rejected = openssl(["verify", "-crl_check", "-attime", at, "-CAfile", caFile, "-CRLfile", crl, bad.file]);
    expect(rejected.status).not.toBe(0);
    expect(rejected.stdout + rejected.stderr).toMatch(/certificate revoked/);
    expect(rejected.stdout + rejected.stderr).not.toMatch(/not yet valid|expired/);
    expect(opensslOk(["verify", "-crl_check", "-attime", at, "-CAfile", caFile, "-CRLfile", crl, good.file])).toMatch(/OK/);

    // The DER file is the same CRL.
    const der = scratch.path("crl.der");
    writeFileSync(der, (await currentCrl()).der);
    expect(opensslOk(["crl", "-inform", "DER", "-in", der, "-noout", "-crlnumber"]).trim()).toBe("crlNumber=0x02");
  });

  it("refuses revoking twice (409) and an unknown number (404)", async () => {
    const c = await issue("twice.example.com");
    await revokeCertificate(c.number, { reason: "superseded", caKeyPassword: KEY_PW }, { actor: "admin" });
    const e = await expectAppError(revokeCertificate(c.number, { reason: "superseded", caKeyPassword: KEY_PW }, { actor: "admin" }), "conflict");
    expect(e.status).toBe(409);
    expect((await caRow()).crlNumber).toBe(2);
    expect((await expectAppError(revokeCertificate(999, { reason: "superseded", caKeyPassword: KEY_PW }, { actor: "admin" }), "not_found")).status).toBe(404);
  });

  it("a wrong password changes nothing", async () => {
    const c = await issue("pw.example.com");
    const before = await caRow();
    await expectAppError(revokeCertificate(c.number, { reason: "keyCompromise", caKeyPassword: "not the password" }, { actor: "admin" }), "wrong_password", "caKeyPassword");
    const row = await (await getDb()).certificate.findUniqueOrThrow({ where: { number: c.number } });
    expect(row).toMatchObject({ status: "valid", revokedAt: null, revocationReason: null });
    const ca = await caRow();
    expect(ca.crlNumber).toBe(1);
    expect(ca.crlPem).toBe(before.crlPem);
  });

  it.each([["keycompromise"], ["certificateHold"], ["removeFromCRL"], [""], [undefined], [1]])("refuses the reason %j with 422 on the field reason", async (reason) => {
    const c = await issue(`reason-${++counter}.example.com`);
    const e = await expectAppError(revokeCertificate(c.number, { reason, caKeyPassword: KEY_PW }, { actor: "admin" }), "validation_failed", "reason");
    expect(e.status).toBe(422);
    expect((await (await getDb()).certificate.findUniqueOrThrow({ where: { number: c.number } })).status).toBe("valid");
  });

  it("a second revocation signs CRL number 3 listing both; nextUpdate follows the setting, at most 10 days", async () => {
    const a = await issue("a.example.com");
    const b = await issue("b.example.com");
    const t1 = new Date(Math.floor(Date.now() / 1000) * 1000);
    await revokeCertificate(a.number, { reason: "cessationOfOperation", caKeyPassword: KEY_PW }, { actor: "admin", now: t1 });
    await (await getDb()).caServer.update({ where: { id: 1 }, data: { crlNextUpdateDays: 30 } });
    const t2 = new Date(t1.getTime() + 1000);
    await revokeCertificate(b.number, { reason: "unspecified", caKeyPassword: KEY_PW }, { actor: "admin", now: t2 });
    const ca = await caRow();
    expect(ca.crlNumber).toBe(3);
    expect(ca.crlNextUpdate?.toISOString()).toBe(new Date(t2.getTime() + 10 * DAY_MS).toISOString());
    const crl = await crlFile();
    const v2 = openssl(["crl", "-in", crl, "-CAfile", caFile, "-noout", "-verify"]);
    expect(v2.stdout + v2.stderr).toMatch(/verify OK/);
    const text = opensslOk(["crl", "-in", crl, "-noout", "-text"]);
    expect(text).toMatch(/X509v3 CRL Number:\s*\n\s*3\n/);
    expect(text).toContain(`Serial Number: ${a.serial}`);
    expect(text).toContain(`Serial Number: ${b.serial}`);
    expect(text).toContain("Cessation Of Operation");
    // unspecified: no reasonCode extension at all (RFC 5280 5.3.1).
    expect(text.match(/CRL Reason Code/g)).toHaveLength(1);
    const at = String(Math.floor(t2.getTime() / 1000) + 60);
    for (const c of [a, b]) {
      const v = openssl(["verify", "-crl_check", "-attime", at, "-CAfile", caFile, "-CRLfile", crl, c.file]);
      expect(v.status).not.toBe(0);
      expect(v.stdout + v.stderr).toMatch(/certificate revoked/);
    }
  });

  it("is refused when the CA server is not configured", async () => {
    await reinitializeCaServer();
    await expectAppError(currentCrl(), "not_configured");
    await expectAppError(revokeCertificate(1, { reason: "keyCompromise", caKeyPassword: KEY_PW }, { actor: "admin" }), "not_configured");
  });
});
