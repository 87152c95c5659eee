import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { getDb } from "../db/index.ts";
import { configureCaServer } from "../ca/configure-server.ts";
import { submitRequest } from "../ca/requests.ts";
import { issueRequest } from "../ca/issue-request.ts";
import { expectAppError } from "../test-support/app-error.ts";
import { useIsolatedDataDir } from "../test-support/data-dir.ts";
import { opensslOk } from "../pki/test-support.ts";
import { addIotCaCertificate, registerLocalCa, setIotCaCertificateActive, trustBundlePem } from "./ca-certificates.ts";
import { checkDeviceCertificate, identityProblem } from "./device-check.ts";
import { gencrl, intermediateCa, issue, revoke, rootCa, serve, startCrlServer, type CrlServer, type TestCa, type TestCert } from "./test-support.ts";

const scratch = useIsolatedDataDir("iot-check", { PORTCULLIS_PUBLIC_URL: undefined });
const DAY = 24 * 60 * 60 * 1000;

let server: CrlServer;
let root: TestCa;
let inter: TestCa;
let stranger: TestCa;
let crlCa: TestCa;
const dev: Record<string, TestCert> = {};

beforeAll(async () => {
  server = await startCrlServer();
  root = rootCa(scratch, "Device Root");
  inter = intermediateCa(scratch, root, "Device Intermediate");
  stranger = rootCa(scratch, "Unregistered Root");
  crlCa = rootCa(scratch, "Meter CA", { crlUrl: server.url("/meter.crl") });

  dev.sensor = issue(scratch, inter, "sensor", { subject: "/CN=d:sensor:abc-1" });
  dev.cam = issue(scratch, root, "cam", { subject: "/O=Acme/CN=Camera 42", san: "email:d:cam:42" });
  dev.shortLived = issue(scratch, root, "short", { subject: "/CN=d:sensor:short-1", days: 1 });
  dev.serverOnly = issue(scratch, root, "server-only", { subject: "/CN=d:sensor:srv-1", extensions: "server_only" });
  dev.emptyType = issue(scratch, root, "empty-type", { subject: "/CN=d::id" });
  dev.noId = issue(scratch, root, "no-id", { subject: "/CN=d:type" });
  dev.space = issue(scratch, root, "space", { subject: "/CN=d:ty pe:x" });
  dev.badSan = issue(scratch, root, "bad-san", { subject: "/CN=Camera 43", san: "email:d:cam:bad/id" });
  dev.plain = issue(scratch, root, "plain", { subject: "/CN=printer.example.com", san: "email:ops@example.com" });
  dev.foreign = issue(scratch, stranger, "foreign", { subject: "/CN=d:sensor:abc-2" });
  dev.meterOk = issue(scratch, crlCa, "meter-ok", { subject: "/CN=d:meter:ok-1" });
  dev.meterRevoked = issue(scratch, crlCa, "meter-revoked", { subject: "/CN=d:meter:rev-1" });
  revoke(crlCa, dev.meterRevoked, "keyCompromise");
  server.routes.set("/meter.crl", serve.bytes(gencrl(scratch, crlCa, "meter").der));
});

afterAll(async () => {
  await server?.close();
});

const ids: Record<string, string> = {};
beforeEach(async () => {
  const db = await getDb();
  await db.iotCaCertificate.deleteMany();
  ids.root = (await addIotCaCertificate({ certificate: root.pem, description: "Fleet root" })).id;
  ids.meter = (await addIotCaCertificate({ certificate: crlCa.pem, description: "Meters" })).id;
});

const ROOT_DN = "O=Portcullis Tests, CN=Device Root";

describe("a device certificate that is accepted", () => {
  it("names the device in its CN and chains through an intermediate", async () => {
    const r = await checkDeviceCertificate({ certificate: dev.sensor.pem, chain: inter.pem });
    expect(r).toEqual({ accepted: true, deviceType: "sensor", deviceId: "abc-1", issuer: ROOT_DN, reasons: [] });
  });

  it("names the device in an email SAN and is issued by the root itself", async () => {
    expect(await checkDeviceCertificate({ certificate: dev.cam.pem })).toEqual({ accepted: true, deviceType: "cam", deviceId: "42", issuer: ROOT_DN, reasons: [] });
  });

  it("is read from DER bytes, base64 DER, a chain given as an array, or a full-chain file", async () => {
    expect((await checkDeviceCertificate({ certificate: new Uint8Array(dev.cam.der) })).accepted).toBe(true);
    expect((await checkDeviceCertificate({ certificate: dev.cam.der.toString("base64") })).accepted).toBe(true);
    expect((await checkDeviceCertificate({ certificate: dev.sensor.der.toString("base64"), chain: [inter.der.toString("base64")] })).accepted).toBe(true);
    expect((await checkDeviceCertificate({ certificate: dev.sensor.pem + inter.pem + root.pem })).accepted).toBe(true);
  });

  it("chains to a registered intermediate without being given the chain", async () => {
    await addIotCaCertificate({ certificate: inter.pem, description: "Intermediate" });
    await setIotCaCertificateActive(ids.root, false);
    const r = await checkDeviceCertificate({ certificate: dev.sensor.pem });
    expect(r).toMatchObject({ accepted: true, issuer: "O=Portcullis Tests, CN=Device Intermediate" });
  });

  it("is not revoked by its CA's CRL", async () => {
    expect(await checkDeviceCertificate({ certificate: dev.meterOk.pem })).toMatchObject({ accepted: true, deviceType: "meter", deviceId: "ok-1", issuer: "O=Portcullis Tests, CN=Meter CA" });
  });

  it("is issued by this Portcullis CA with the IoT device usage", async () => {
    await configureCaServer({
      fileNameRoot: "IotCA",
      directory: "iot-ca",
      keyPassword: "iot CA key password",
      subject: { O: "Portcullis", CN: "Portcullis IoT CA" },
      caValidityDays: 3650,
      issuedValidityDays: 365,
      smtp: {},
      adminEmail: "camgr@example.com",
    });
    await registerLocalCa({ actor: "admin" });
    const key = scratch.path("gw.key");
    const csr = opensslOk(["req", "-new", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-keyout", key, "-subj", "/CN=d:gateway:gw-7"]);
    const request = await submitRequest({ csr, contact: { name: "Dee Vice" }, filename: "gw7" });
    const issued = await issueRequest(request.id, { usage: "iot-device", caKeyPassword: "iot CA key password", fingerprintVerified: true }, { actor: "admin" });
    expect(await checkDeviceCertificate({ certificate: issued.pem })).toEqual({
      accepted: true,
      deviceType: "gateway",
      deviceId: "gw-7",
      issuer: "O=Portcullis, CN=Portcullis IoT CA",
      reasons: [],
    });
  });
});

describe("a device certificate that is refused", () => {
  it("does not chain to a registered CA", async () => {
    const r = await checkDeviceCertificate({ certificate: dev.foreign.pem });
    expect(r).toEqual({
      accepted: false,
      deviceType: "sensor",
      deviceId: "abc-2",
      issuer: null,
      reasons: [
        'The certificate does not chain to an active registered CA certificate (it was issued by "O=Portcullis Tests, CN=Unregistered Root"); if it was issued by an intermediate CA, send the intermediate certificates as the chain',
      ],
    });
  });

  it("lacks the intermediate it needs", async () => {
    const r = await checkDeviceCertificate({ certificate: dev.sensor.pem });
    expect(r.accepted).toBe(false);
    expect(r.reasons).toEqual([expect.stringMatching(/does not chain to an active registered CA certificate .*send the intermediate certificates as the chain/)]);
    // A chain certificate that did not sign it does not help.
    expect((await checkDeviceCertificate({ certificate: dev.sensor.pem, chain: stranger.pem })).accepted).toBe(false);
  });

  it("chains only to a deactivated CA; accepted again once it is activated", async () => {
    await setIotCaCertificateActive(ids.root, false);
    const r = await checkDeviceCertificate({ certificate: dev.cam.pem });
    expect(r).toMatchObject({ accepted: false, issuer: null, deviceType: "cam", deviceId: "42" });
    expect(r.reasons).toEqual(['The certificate does not chain to an active registered CA certificate: its CA "O=Portcullis Tests, CN=Device Root" is registered but deactivated']);
    expect(JSON.stringify(r)).not.toContain("Fleet root");
    expect((await trustBundlePem()).includes("CN=Device Root")).toBe(false);
    await setIotCaCertificateActive(ids.root, true);
    expect((await checkDeviceCertificate({ certificate: dev.cam.pem })).accepted).toBe(true);
    expect(await trustBundlePem()).toContain("CN=Device Root");
  });

  it("was revoked by its CA's CRL", async () => {
    const r = await checkDeviceCertificate({ certificate: dev.meterRevoked.pem });
    expect(r).toMatchObject({ accepted: false, deviceType: "meter", deviceId: "rev-1", issuer: "O=Portcullis Tests, CN=Meter CA" });
    const date = opensslOk(["crl", "-in", scratch.path("meter.crl.pem"), "-noout", "-text"]).match(/Revocation Date: (.+)/)![1];
    expect(r.reasons).toEqual([`The certificate was revoked on ${new Date(date).toISOString()} (reason: keyCompromise) according to the CRL of "O=Portcullis Tests, CN=Meter CA"`]);
  });

  it("has expired, or is not valid yet", async () => {
    const later = await checkDeviceCertificate({ certificate: dev.shortLived.pem }, { now: new Date(Date.now() + 2 * DAY) });
    expect(later.accepted).toBe(false);
    expect(later.reasons).toEqual([expect.stringMatching(/^The certificate has expired: its validity ended on \d{4}-/)]);
    const earlier = await checkDeviceCertificate({ certificate: dev.cam.pem }, { now: new Date(Date.now() - DAY) });
    expect(earlier.reasons).toContain(`The certificate is not valid yet: its validity starts on ${readNotBefore(dev.cam)}`);
    // The CA's own validity counts too.
    const muchLater = await checkDeviceCertificate({ certificate: dev.sensor.pem, chain: inter.pem }, { now: new Date(Date.now() + 25 * DAY) });
    expect(muchLater.reasons).toEqual([expect.stringMatching(/^The certificate has expired/), expect.stringMatching(/^The intermediate CA certificate "O=Portcullis Tests, CN=Device Intermediate" has expired/)]);
  });

  it("is not for TLS clients", async () => {
    const r = await checkDeviceCertificate({ certificate: dev.serverOnly.pem });
    expect(r.reasons).toEqual([expect.stringMatching(/extended key usage does not include TLS client authentication/)]);
  });

  it.each([
    ["emptyType", 'The common name "d::id" is not a valid device identity: the device type is empty'],
    ["noId", 'The common name "d:type" is not a valid device identity: the device id is missing (only one part after d:)'],
    ["space", 'The common name "d:ty pe:x" is not a valid device identity: the device type contains " "; only letters, digits, "-", "_" and "." are allowed'],
    ["badSan", 'The subject alternative name email:d:cam:bad/id is not a valid device identity: the device id contains "/"; only letters, digits, "-", "_" and "." are allowed'],
    ["plain", "The certificate names no device identity"],
  ])("has a malformed identity (%s)", async (name, reason) => {
    const r = await checkDeviceCertificate({ certificate: dev[name].pem });
    expect(r).toMatchObject({ accepted: false, deviceType: null, deviceId: null, issuer: ROOT_DN });
    expect(r.reasons).toHaveLength(1);
    expect(r.reasons[0].startsWith(reason)).toBe(true);
    expect(r.reasons[0]).toContain("CN=d:<type>:<id> or SAN email:d:<type>:<id>");
  });

  it("explains every kind of identity mistake", () => {
    expect(identityProblem("d:")).toBe("the device type and id are missing");
    expect(identityProblem("d:a:")).toBe("the device id is empty");
    expect(identityProblem("d:a:b:c")).toMatch(/more than three parts/);
    expect(identityProblem(`d:${"t".repeat(37)}:x`)).toBe("the device type is 37 characters long; at most 36 are allowed");
    expect(identityProblem("D:a:b")).toBe('it must start with a lower-case "d:"');
    expect(identityProblem("d:caméra:1")).toMatch(/contains "é"/);
  });

  it("lists every failed rule at once", async () => {
    const r = await checkDeviceCertificate({ certificate: dev.emptyType.pem }, { now: new Date(Date.now() + 40 * DAY) });
    expect(r.reasons).toEqual([
      expect.stringMatching(/device type is empty/),
      expect.stringMatching(/^The certificate has expired/),
      expect.stringMatching(/^The registered CA certificate "O=Portcullis Tests, CN=Device Root" has expired/),
    ]);
  });
});

describe("input that is not a certificate", () => {
  it("is a bad request", async () => {
    await expectAppError(checkDeviceCertificate({ certificate: "hello" }), "bad_request", "certificate");
    await expectAppError(checkDeviceCertificate({ certificate: undefined }), "bad_request", "certificate");
    await expectAppError(checkDeviceCertificate({ certificate: new Uint8Array([1, 2, 3]) }), "bad_request", "certificate");
    await expectAppError(checkDeviceCertificate({ certificate: dev.cam.pem, chain: "garbage" }), "bad_request", "chain");
    await expectAppError(checkDeviceCertificate({ certificate: dev.cam.pem, chain: [inter.pem, 42] }), "bad_request", "chain");
    await expectAppError(checkDeviceCertificate({ certificate: dev.cam.pem, chain: Array(17).fill(inter.pem) }), "bad_request", "chain");
  });
});

function readNotBefore(c: TestCert): string {
  const line = opensslOk(["x509", "-in", c.cer, "-noout", "-startdate"]).trim().split("=")[1];
  return new Date(line).toISOString();
}
