import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { getDb } from "../db/index.ts";
import { configureCaServer } from "../ca/configure-server.ts";
import { expectAppError } from "../test-support/app-error.ts";
import { useIsolatedDataDir } from "../test-support/data-dir.ts";
import { unusedPort } from "../test-support/ports.ts";
import { openssl, opensslOk } from "../pki/test-support.ts";
import {
  addIotCaCertificate,
  deleteIotCaCertificate,
  getIotCaCertificate,
  listIotCaCertificates,
  previewIotCaCertificate,
  registerLocalCa,
  setIotCaCertificateActive,
  trustBundlePem,
} from "./ca-certificates.ts";
import { gencrl, intermediateCa, issue, revoke, rootCa, serve, startCrlServer, type CrlServer, type TestCa, type TestCert } from "./test-support.ts";

const scratch = useIsolatedDataDir("iot-ca", { PORTCULLIS_PUBLIC_URL: undefined });
const DAY = 24 * 60 * 60 * 1000;

let server: CrlServer;
let root: TestCa;
let inter: TestCa;
let sensor: TestCert;
let leaf: TestCert;
let shortLived: TestCa;
/** The CA whose CRL is served at /ca.crl, and variants of it naming other distribution points. */
let crlCa: TestCa;
const variants: Record<"unreachable" | "forged" | "toFile" | "big" | "twoPoints", TestCa> = {} as never;

beforeAll(async () => {
  server = await startCrlServer();
  root = rootCa(scratch, "Device Root");
  inter = intermediateCa(scratch, root, "Device Intermediate");
  sensor = issue(scratch, inter, "sensor", { subject: "/CN=d:sensor:abc-1" });
  leaf = issue(scratch, root, "leaf", { subject: "/CN=just-a-leaf", extensions: "server_only" });
  shortLived = rootCa(scratch, "Short Lived CA", { days: 1 });

  crlCa = rootCa(scratch, "CRL CA", { crlUrl: server.url("/ca.crl") });
  const revoked = issue(scratch, crlCa, "revoked", { subject: "/CN=d:meter:gone-1" });
  revoke(crlCa, revoked);
  server.routes.set("/ca.crl", serve.bytes(gencrl(scratch, crlCa, "crl-ca").der));
  const forger = rootCa(scratch, "Forger", { subject: crlCa.subject });
  server.routes.set("/forged.crl", serve.bytes(gencrl(scratch, forger, "forged").der));
  server.routes.set("/to-file", serve.redirect("file:///etc/passwd"));
  server.routes.set("/big", serve.chunked(2 * 1024 * 1024));
  const dead = `http://127.0.0.1:${await unusedPort()}/ca.crl`;
  variants.unreachable = rootCa(scratch, "crl-unreachable", { reuse: crlCa, crlUrl: dead });
  variants.forged = rootCa(scratch, "crl-forged", { reuse: crlCa, crlUrl: server.url("/forged.crl") });
  variants.toFile = rootCa(scratch, "crl-to-file", { reuse: crlCa, crlUrl: server.url("/to-file") });
  variants.big = rootCa(scratch, "crl-big", { reuse: crlCa, crlUrl: server.url("/big") });
  // Two locations of one CRL, the first one dead: the second is used.
  variants.twoPoints = rootCa(scratch, "crl-two", { reuse: crlCa, crlUrl: `${dead},URI:${server.url("/ca.crl")}` });
});

afterAll(async () => {
  await server?.close();
});

beforeEach(async () => {
  const db = await getDb();
  await db.iotCaCertificate.deleteMany();
});

function opensslFingerprint(file: string, alg: "sha1" | "sha256"): string {
  return opensslOk(["x509", "-in", file, "-noout", "-fingerprint", `-${alg}`]).trim().split("=")[1];
}

const add = (certificate: unknown, description: unknown = "test CA", opts: Parameters<typeof addIotCaCertificate>[1] = {}) =>
  addIotCaCertificate({ certificate, description }, { actor: "admin", ...opts });

describe("adding a CA certificate", () => {
  it("registers a CA from PEM, active, with OpenSSL's fingerprints", async () => {
    const r = await add(root.pem, "Fleet root");
    expect(r).toEqual({
      id: expect.stringMatching(/^[0-9a-f-]{36}$/),
      subject: "O=Portcullis Tests, CN=Device Root",
      sha1Fingerprint: opensslFingerprint(root.cer, "sha1"),
      sha256Fingerprint: opensslFingerprint(root.cer, "sha256"),
      notBefore: expect.any(String),
      notAfter: expect.any(String),
      active: true,
    });
    const stored = await getIotCaCertificate(r.id);
    expect(stored).toMatchObject({ description: "Fleet root", active: true, crl: null, crlDistributionPoints: [], createdBy: "admin" });
    expect(opensslOk(["x509", "-noout", "-fingerprint", "-sha256"], stored.pem).trim().split("=")[1]).toBe(r.sha256Fingerprint);
  });

  it("reads DER bytes and base64 DER (as JSON carries it)", async () => {
    expect((await add(new Uint8Array(root.der))).subject).toContain("Device Root");
    const b64 = inter.der.toString("base64");
    expect((await add(b64.replace(/(.{64})/g, "$1\n"))).subject).toContain("Device Intermediate");
    expect((await listIotCaCertificates()).items).toHaveLength(2);
  });

  it("uses the subject when no description is given; refuses a description with control characters", async () => {
    const r = await add(root.pem, "  ");
    expect((await getIotCaCertificate(r.id)).description).toBe(r.subject);
    await expectAppError(add(inter.pem, "line\nbreak"), "validation_failed", "description");
    await expectAppError(add(inter.pem, "x".repeat(201)), "validation_failed", "description");
  });

  it("refuses two certificates in one file", async () => {
    const e = await expectAppError(add(root.pem + inter.pem), "bad_request", "certificate");
    expect(e.message).toBe("The file holds 2 certificates; exactly one is expected");
  });

  it("refuses garbage, a CSR and nothing", async () => {
    await expectAppError(add("hello"), "bad_request", "certificate");
    await expectAppError(add(new Uint8Array([0x30, 0x03, 0x02, 0x01, 0x01])), "bad_request", "certificate");
    await expectAppError(add(opensslOk(["req", "-new", "-key", root.key, "-subj", "/CN=x", "-config", root.config])), "bad_request", "certificate");
    await expectAppError(add(undefined), "bad_request", "certificate");
    await expectAppError(add({ pem: root.pem }), "bad_request", "certificate");
    await expectAppError(add("A".repeat(70 * 1024)), "payload_too_large", "certificate");
  });

  it("refuses a certificate that is not a CA", async () => {
    const e = await expectAppError(add(leaf.pem), "not_a_ca", "certificate");
    expect(e.message).toMatch(/not a CA certificate \(basicConstraints CA:TRUE is missing\)/);
    expect(e.status).toBe(422);
  });

  it("refuses an expired CA and one not valid yet", async () => {
    const expired = await expectAppError(add(shortLived.pem, "x", { now: new Date(Date.now() + 2 * DAY) }), "validation_failed", "certificate");
    expect(expired.message).toMatch(/^The certificate has expired: its validity ended on \d{4}-\d\d-\d\dT/);
    const early = await expectAppError(add(shortLived.pem, "x", { now: new Date(Date.now() - DAY) }), "validation_failed", "certificate");
    expect(early.message).toMatch(/^The certificate is not valid yet: its validity starts on /);
    expect((await listIotCaCertificates()).items).toHaveLength(0);
  });

  it("answers 409 for a certificate that is already registered", async () => {
    const first = await add(root.pem, "first");
    const e = await expectAppError(add(new Uint8Array(root.der), "again"), "conflict", "certificate");
    expect(e.status).toBe(409);
    expect(e.message).toContain(first.id);
    await setIotCaCertificateActive(first.id, false);
    await expectAppError(add(root.pem), "conflict");
  });

  it("registers this instance's CA with one call", async () => {
    await expectAppError(registerLocalCa({ actor: "admin" }), "not_configured");
    const ca = await configureCaServer({
      fileNameRoot: "LocalCA",
      directory: "local-ca",
      keyPassword: "local CA key password",
      subject: { O: "Portcullis", CN: "Local Issuing CA" },
      caValidityDays: 3650,
      issuedValidityDays: 365,
      smtp: {},
      adminEmail: "camgr@example.com",
    });
    const r = await registerLocalCa({ actor: "admin" });
    expect(r).toMatchObject({ subject: "O=Portcullis, CN=Local Issuing CA", sha1Fingerprint: ca.sha1Fingerprint, active: true });
    expect((await getIotCaCertificate(r.id)).description).toBe("This Portcullis instance's CA (LocalCA)");
    await expectAppError(registerLocalCa({ actor: "admin" }), "conflict");
  });
});

describe("the CRL a CA certificate names", () => {
  it("is fetched, verified and stored with the certificate", async () => {
    const r = await add(crlCa.pem);
    const stored = await getIotCaCertificate(r.id);
    expect(stored.crlDistributionPoints).toEqual([server.url("/ca.crl")]);
    expect(stored.crl).toEqual({ fetchedAt: expect.any(String), nextUpdate: expect.any(String) });
    expect(opensslOk(["crl", "-noout", "-text"], stored.crlPem!)).toMatch(/Key Compromise/);
    // OpenSSL agrees the stored CRL is the CA's.
    const crlFile = scratch.file("stored.crl", stored.crlPem!);
    expect(openssl(["crl", "-in", crlFile, "-CAfile", crlCa.cer, "-noout"]).stderr).toMatch(/verify OK/);
  });

  it("is refused when the server cannot be reached", async () => {
    const e = await expectAppError(add(variants.unreachable.pem), "validation_failed", "certificate");
    expect(e.message).toMatch(/^The CRL at http:\/\/127\.0\.0\.1:\d+\/ca\.crl could not be fetched: connection refused$/);
  });

  it("is refused when another key signed it", async () => {
    const e = await expectAppError(add(variants.forged.pem), "validation_failed", "certificate");
    expect(e.message).toMatch(/\/forged\.crl is not signed by this certificate/);
  });

  it("is refused when it is stale", async () => {
    const e = await expectAppError(add(crlCa.pem, "x", { now: new Date(Date.now() + 2 * DAY) }), "validation_failed", "certificate");
    expect(e.message).toMatch(/\/ca\.crl is stale: its nextUpdate was \d{4}-/);
  });

  it("is refused when the server redirects to file:///etc/passwd", async () => {
    const e = await expectAppError(add(variants.toFile.pem), "validation_failed", "certificate");
    expect(e.message).toMatch(/could not be fetched: it redirects to file:\/\/\/etc\/passwd, which is not an http or https URL/);
  });

  it("is refused when it is larger than 1 MB", async () => {
    const e = await expectAppError(add(variants.big.pem), "validation_failed", "certificate");
    expect(e.message).toMatch(/\/big could not be fetched: it is larger than 1 MB/);
  });

  it("is read from the second location when the first one fails", async () => {
    const r = await add(variants.twoPoints.pem);
    const stored = await getIotCaCertificate(r.id);
    expect(stored.crlDistributionPoints).toHaveLength(2);
    expect(stored.crlPem).toContain("BEGIN X509 CRL");
  });

  it("leaves nothing behind when refused", async () => {
    for (const v of [variants.unreachable, variants.forged, variants.toFile, variants.big]) await expectAppError(add(v.pem));
    expect((await listIotCaCertificates()).items).toEqual([]);
  });
});

describe("the preview", () => {
  it("shows the details and no problems for a good CA", async () => {
    const p = await previewIotCaCertificate(root.pem);
    expect(p).toMatchObject({
      subject: "O=Portcullis Tests, CN=Device Root",
      issuer: "O=Portcullis Tests, CN=Device Root",
      isCa: true,
      selfSigned: true,
      sha1Fingerprint: opensslFingerprint(root.cer, "sha1"),
      sha256Fingerprint: opensslFingerprint(root.cer, "sha256"),
      serial: opensslOk(["x509", "-in", root.cer, "-noout", "-serial"]).trim().split("=")[1],
      keyLabel: expect.stringMatching(/P-256/),
      crlDistributionPoints: [],
      problems: [],
      registered: null,
    });
    expect(new Date(p.notAfter).getTime() - new Date(p.notBefore).getTime()).toBe(30 * DAY);
    expect((await listIotCaCertificates()).items).toEqual([]);
  });

  it("lists the problems that Save would refuse", async () => {
    expect((await previewIotCaCertificate(leaf.pem)).problems).toEqual([expect.stringMatching(/not a CA certificate/)]);
    const later = await previewIotCaCertificate(shortLived.pem, { now: new Date(Date.now() + 2 * DAY) });
    expect(later.problems).toEqual([expect.stringMatching(/has expired/)]);
    const r = await add(root.pem, "Fleet root");
    const again = await previewIotCaCertificate(new Uint8Array(root.der));
    expect(again.registered).toEqual({ id: r.id, active: true, description: "Fleet root" });
    expect(again.problems).toEqual([expect.stringMatching(/already registered as "Fleet root"/)]);
  });

  it("shows the CRL distribution points, and checks the CRL when asked", async () => {
    const p = await previewIotCaCertificate(crlCa.pem);
    expect(p.crlDistributionPoints).toEqual([server.url("/ca.crl")]);
    expect(p.crl).toBeUndefined();
    const checked = await previewIotCaCertificate(crlCa.pem, { checkCrl: true });
    expect(checked.crl).toMatchObject({ url: server.url("/ca.crl"), revokedCount: 1 });
    expect(checked.problems).toEqual([]);
    const bad = await previewIotCaCertificate(variants.unreachable.pem, { checkCrl: true });
    expect(bad.problems).toEqual([expect.stringMatching(/connection refused/)]);
  });

  it("refuses what is not exactly one certificate", async () => {
    await expectAppError(previewIotCaCertificate(root.pem + inter.pem), "bad_request");
    await expectAppError(previewIotCaCertificate("garbage"), "bad_request");
  });
});

describe("the list, activation and deletion", () => {
  it("lists oldest first with keyset pagination and an active filter", async () => {
    const t = Date.now();
    const ids: string[] = [];
    for (const [i, c] of [root, inter, crlCa].entries()) ids.push((await add(c.pem, `CA ${i}`, { now: new Date(t + i * 1000) })).id);
    const p1 = await listIotCaCertificates({ take: 2 });
    expect(p1.items.map((i) => i.id)).toEqual(ids.slice(0, 2));
    const p2 = await listIotCaCertificates({ take: 2, cursor: p1.nextCursor });
    expect(p2.items.map((i) => i.id)).toEqual([ids[2]]);
    expect(p2.nextCursor).toBeNull();
    await setIotCaCertificateActive(ids[1], false);
    expect((await listIotCaCertificates({ active: true })).items.map((i) => i.id)).toEqual([ids[0], ids[2]]);
    expect((await listIotCaCertificates({ active: false })).items.map((i) => i.id)).toEqual([ids[1]]);
    await expectAppError(listIotCaCertificates({ cursor: "nonsense" }), "bad_request");
  });

  it("activates, deactivates and deletes", async () => {
    const r = await add(root.pem);
    expect((await setIotCaCertificateActive(r.id, false)).active).toBe(false);
    expect((await setIotCaCertificateActive(r.id, true)).active).toBe(true);
    await expectAppError(setIotCaCertificateActive(r.id, "no"), "validation_failed", "active");
    await expectAppError(setIotCaCertificateActive("00000000-0000-0000-0000-000000000000", true), "not_found");
    await expectAppError(setIotCaCertificateActive("../etc", true), "not_found");
    expect((await deleteIotCaCertificate(r.id)).id).toBe(r.id);
    await expectAppError(deleteIotCaCertificate(r.id), "not_found");
    await expectAppError(getIotCaCertificate(r.id), "not_found");
    // Deleted, it can be added again.
    expect((await add(root.pem)).active).toBe(true);
  });
});

describe("the trust bundle", () => {
  it("holds the active CAs in the order they were added, and OpenSSL verifies devices with it", async () => {
    expect(await trustBundlePem()).toBe("# Portcullis trust bundle: 0 active device CA certificates\n");
    const t = Date.now();
    const a = await add(root.pem, "Fleet root", { now: new Date(t) });
    const b = await add(crlCa.pem, "Meters", { now: new Date(t + 1000) });
    const bundle = await trustBundlePem();
    expect(bundle.match(/-----BEGIN CERTIFICATE-----/g)).toHaveLength(2);
    expect(bundle.indexOf(a.sha256Fingerprint)).toBeLessThan(bundle.indexOf(b.sha256Fingerprint));
    expect(bundle).toContain(`# Subject: O=Portcullis Tests, CN=Device Root\n# SHA-256: ${a.sha256Fingerprint}\n`);
    expect(bundle).not.toContain("Fleet root");
    expect(await trustBundlePem()).toBe(bundle);

    const file = scratch.file("bundle.pem", bundle);
    const verify = () => openssl(["verify", "-CAfile", file, "-untrusted", inter.cer, sensor.cer]);
    expect(verify().stdout).toMatch(/: OK/);

    await setIotCaCertificateActive(a.id, false);
    const without = await trustBundlePem();
    expect(without).not.toContain(a.sha256Fingerprint);
    expect(without).toContain(b.sha256Fingerprint);
    scratch.file("bundle.pem", without);
    expect(verify().status).not.toBe(0);
  });

  it("keeps a subject's odd characters inside its comment line", async () => {
    const odd = rootCa(scratch, "odd", { subject: "/O=-----BEGIN CERTIFICATE-----/OU=-----END CERTIFICATE-----/CN=Odd CA" });
    await add(odd.pem);
    const bundle = await trustBundlePem();
    expect(bundle.match(/-----BEGIN CERTIFICATE-----/g)).toHaveLength(1);
    expect(bundle.match(/-----END CERTIFICATE-----/g)).toHaveLength(1);
    const file = scratch.file("odd-bundle.pem", bundle);
    expect(opensslOk(["x509", "-in", file, "-noout", "-subject"])).toContain("Odd CA");
  });
});
