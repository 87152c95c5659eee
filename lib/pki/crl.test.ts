import { createPrivateKey } from "node:crypto";
import { readFileSync } from "node:fs";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { appError } from "../test-support/app-error.ts";
import { parseCertificate } from "./certificates.ts";
import { createCrl, REVOCATION_REASONS, type RevocationReason } from "./crl.ts";
import { GENPKEY_ARGS, openssl, opensslOk, scratchDir } from "./test-support.ts";
import type { x509 } from "./setup.ts";

const tmp = scratchDir("crl");
afterAll(() => tmp.remove());

interface TestCa {
  file: string;
  certificate: x509.X509Certificate;
  privateKey: ReturnType<typeof createPrivateKey>;
  ski: string;
}
const cas = {} as Record<"p384" | "rsa", TestCa>;

function makeCa(name: "p384" | "rsa"): TestCa {
  const key = tmp.path(`${name}-ca.key`);
  opensslOk(["genpkey", ...(name === "rsa" ? GENPKEY_ARGS.rsa2048 : GENPKEY_ARGS.p384), "-out", key]);
  const file = tmp.path(`${name}-ca.cer`);
  opensslOk([
    "req", "-x509", "-key", key, "-subj", `/O=Example/CN=CRL Test CA ${name}`, "-days", "30",
    "-addext", "basicConstraints=critical,CA:TRUE", "-addext", "keyUsage=critical,keyCertSign,cRLSign", "-out", file,
  ]);
  const text = opensslOk(["x509", "-in", file, "-noout", "-text"]);
  const ski = /X509v3 Subject Key Identifier:\s*\n\s+(.+)\n/.exec(text)![1].trim();
  return { file, certificate: parseCertificate(readFileSync(file, "utf8")), privateKey: createPrivateKey(readFileSync(key)), ski };
}

/** A leaf certificate signed by OpenSSL with the given serial (hex). */
function leaf(ca: "p384" | "rsa", serialHex: string): string {
  const key = tmp.path(`leaf-${serialHex}.key`);
  const csr = tmp.path(`leaf-${serialHex}.csr`);
  opensslOk(["req", "-new", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-keyout", key, "-subj", `/CN=leaf-${serialHex}`, "-out", csr]);
  const file = tmp.path(`leaf-${serialHex}.cer`);
  const caKey = tmp.path(`${ca}-ca.key`);
  opensslOk(["x509", "-req", "-in", csr, "-CA", cas[ca].file, "-CAkey", caKey, "-set_serial", `0x${serialHex}`, "-days", "5", "-out", file]);
  return file;
}

beforeAll(() => {
  cas.p384 = makeCa("p384");
  cas.rsa = makeCa("rsa");
});

const DAY = 86_400_000;
const OPENSSL_REASON: Record<RevocationReason, string | null> = {
  unspecified: null,
  keyCompromise: "Key Compromise",
  cACompromise: "CA Compromise",
  affiliationChanged: "Affiliation Changed",
  superseded: "Superseded",
  cessationOfOperation: "Cessation Of Operation",
  privilegeWithdrawn: "Privilege Withdrawn",
  aACompromise: "AA Compromise",
};

describe("createCrl", () => {
  it.each(["p384", "rsa"] as const)("signs a v2 CRL with CRL number, AKI and every reason, which OpenSSL verifies (%s CA)", async (name) => {
    const ca = cas[name];
    const thisUpdate = new Date(Math.floor(Date.now() / 1000) * 1000);
    const nextUpdate = new Date(thisUpdate.getTime() + 7 * DAY);
    const revoked = REVOCATION_REASONS.map((reason, i) => ({ serialHex: (0x1000 + i).toString(16).toUpperCase(), revokedAt: new Date(thisUpdate.getTime() - i * 1000 + 400), reason }));
    // A serial with the high bit set (DER needs a leading 00) is listed as OpenSSL numbers it.
    revoked.push({ serialHex: "F1E2D3C4B5A6978801", revokedAt: thisUpdate, reason: "superseded" });
    const crl = await createCrl({ ca, crlNumber: 42, thisUpdate, nextUpdate, revoked });
    expect(crl.pem).toMatch(/^-----BEGIN X509 CRL-----\n/);
    const file = tmp.file(`${name}.crl.pem`, crl.pem);
    const der = tmp.file(`${name}.crl`, crl.der);

    const v = openssl(["crl", "-in", file, "-CAfile", ca.file, "-noout", "-verify"]);
    expect(v.status).toBe(0);
    expect(v.stdout + v.stderr).toMatch(/verify OK/);
    expect(opensslOk(["crl", "-inform", "DER", "-in", der, "-noout", "-crlnumber"]).trim()).toBe("crlNumber=0x2A");

    const text = opensslOk(["crl", "-in", file, "-noout", "-text"]);
    expect(text).toMatch(/Version 2 \(0x1\)/);
    expect(text).toMatch(/X509v3 CRL Number:\s*\n\s*42\n/);
    expect(text).toMatch(new RegExp(`X509v3 Authority Key Identifier:\\s*\\n\\s*(keyid:)?${ca.ski}\\n`));
    expect(text).toMatch(name === "rsa" ? /Signature Algorithm: sha256WithRSAEncryption/ : /Signature Algorithm: ecdsa-with-SHA384/);
    expect(text).toContain(`Issuer: O = Example, CN = CRL Test CA ${name}`);
    expect(opensslOk(["crl", "-in", file, "-noout", "-hash"]).trim()).toBe(opensslOk(["x509", "-in", ca.file, "-noout", "-subject_hash"]).trim());
    const when = (opt: string) => new Date(opensslOk(["crl", "-in", file, "-noout", opt]).trim().split("=")[1]).toISOString();
    expect(when("-lastupdate")).toBe(thisUpdate.toISOString());
    expect(when("-nextupdate")).toBe(nextUpdate.toISOString());

    // Each entry: its serial, and its reason — none at all for unspecified.
    const entries = text.split("Serial Number: ").slice(1);
    expect(entries).toHaveLength(revoked.length);
    for (const r of revoked) {
      const entry = entries.find((e) => e.startsWith(`${r.serialHex}\n`));
      expect(entry, r.serialHex).toBeDefined();
      const label = OPENSSL_REASON[r.reason];
      if (label) expect(entry).toMatch(new RegExp(`CRL Reason Code:\\s*\\n\\s*${label}\\n`));
      else expect(entry).not.toContain("CRL Reason Code");
    }
  });

  it("OpenSSL's -crl_check rejects a listed certificate and accepts another", async () => {
    const revokedFile = leaf("p384", "0BAD");
    const goodFile = leaf("p384", "600D");
    const now = new Date();
    const crl = await createCrl({ ca: cas.p384, crlNumber: 1, thisUpdate: now, nextUpdate: new Date(now.getTime() + DAY), revoked: [{ serialHex: "0BAD", revokedAt: now, reason: "keyCompromise" }] });
    const file = tmp.file("check.crl.pem", crl.pem);
    const bad = openssl(["verify", "-crl_check", "-CAfile", cas.p384.file, "-CRLfile", file, revokedFile]);
    expect(bad.status).not.toBe(0);
    expect(bad.stdout + bad.stderr).toMatch(/certificate revoked/);
    expect(opensslOk(["verify", "-crl_check", "-CAfile", cas.p384.file, "-CRLfile", file, goodFile])).toMatch(/OK/);
  });

  it("refuses a key that is not the CA's, a bad CRL number, nextUpdate not after thisUpdate and unknown reasons", async () => {
    const now = new Date();
    const later = new Date(now.getTime() + DAY);
    const base = { ca: cas.p384, crlNumber: 1, thisUpdate: now, nextUpdate: later, revoked: [] };
    expect((await appError(() => createCrl({ ...base, ca: { certificate: cas.p384.certificate, privateKey: cas.rsa.privateKey } }))).code).toBe("key_mismatch");
    expect((await appError(() => createCrl({ ...base, crlNumber: 0 }))).code).toBe("bad_request");
    expect((await appError(() => createCrl({ ...base, nextUpdate: now }))).code).toBe("bad_request");
    const revoked = [{ serialHex: "01", revokedAt: now, reason: "certificateHold" as RevocationReason }];
    expect((await appError(() => createCrl({ ...base, revoked }))).code).toBe("bad_request");
  });

  it("signs an empty CRL", async () => {
    const now = new Date();
    const crl = await createCrl({ ca: cas.rsa, crlNumber: 3, thisUpdate: now, nextUpdate: new Date(now.getTime() + DAY), revoked: [] });
    const file = tmp.file("empty.crl.pem", crl.pem);
    expect(opensslOk(["crl", "-in", file, "-noout", "-text"])).toMatch(/No Revoked Certificates/);
  });
});
