/**
 * A registered device CA's CRL is fetched again: by hand (refreshIotCaCrl, the API and the
 * page's Refresh CRL) and on schedule (refreshDueIotCaCrls, the iot-crl-refresh job). A CRL
 * served later with a new revocation is stored and the device check then refuses the
 * revoked device; failures keep the stored CRL and are recorded with their reason; an older
 * CRL served again (a replay) is refused; an expired stored CRL fails the device check as
 * OpenSSL-based brokers fail it.
 */
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { getDb } from "../db/index.ts";
import { listAudit } from "../audit/audit-log.ts";
import { expectAppError } from "../test-support/app-error.ts";
import { useIsolatedDataDir } from "../test-support/data-dir.ts";
import { addIotCaCertificate, getIotCaCertificate, iotCrlRefreshJob, refreshDueIotCaCrls, refreshIotCaCrl } from "./ca-certificates.ts";
import { checkDeviceCertificate } from "./device-check.ts";
import { runJobOnce } from "../jobs/scheduler.ts";
import { openssl } from "../pki/test-support.ts";
import { gencrl, issue, revoke, rootCa, serve, startCrlServer, type CrlServer, type TestCa } from "./test-support.ts";

const scratch = useIsolatedDataDir("iot-crl-refresh", { PORTCULLIS_PUBLIC_URL: undefined });
const HOUR = 3600_000;
let server: CrlServer;
let ca: TestCa;
let noCrl: TestCa;
let round = 0;

/** A fresh CRL of `ca` served at /fleet.crl (valid `days` days); answers it. */
function serveCrl(days = 1): { pem: string } {
  const crl = gencrl(scratch, ca, `fleet-${++round}`, days);
  server.routes.set("/fleet.crl", serve.bytes(crl.der));
  return crl;
}

beforeAll(async () => {
  server = await startCrlServer();
  ca = rootCa(scratch, "Fleet Device CA", { crlUrl: server.url("/fleet.crl") });
  noCrl = rootCa(scratch, "No CRL CA");
});

afterAll(async () => {
  await server?.close();
});

beforeEach(async () => {
  await (await getDb()).iotCaCertificate.deleteMany();
});

describe("refreshing a device CA's CRL", () => {
  it("stores the CRL served now: a device revoked since registration is then refused; audited", async () => {
    serveCrl();
    const device = issue(scratch, ca, `meter-${round}`, { subject: "/CN=d:meter:refresh-1" });
    const { id } = await addIotCaCertificate({ certificate: ca.pem }, { actor: "admin" });
    expect((await checkDeviceCertificate({ certificate: device.pem })).accepted).toBe(true);

    revoke(ca, device);
    // Generated in a later second than the stored one, as a CA publishing a new CRL would.
    await new Promise((r) => setTimeout(r, 1100));
    const crl = serveCrl();
    const view = await refreshIotCaCrl(id, { actor: "admin" });
    expect(view.crlRefresh).toMatchObject({ error: null });
    expect((await getIotCaCertificate(id)).crlPem).toBe(crl.pem);

    const check = await checkDeviceCertificate({ certificate: device.pem });
    expect(check.accepted).toBe(false);
    expect(check.reasons.join(" ")).toMatch(/revoked on .* \(reason: keyCompromise\) according to the CRL of/);

    const audit = await listAudit({ action: "iot.ca.crl-refresh", target: `iot-ca:${id}` });
    expect(audit.items[0]?.details).toMatchObject({ url: server.url("/fleet.crl"), revoked: expect.any(Number) });
  });

  it("keeps the stored CRL when the distribution point fails, and records why", async () => {
    const first = serveCrl();
    const { id } = await addIotCaCertificate({ certificate: ca.pem }, { actor: "admin" });
    server.routes.set("/fleet.crl", (res) => res.writeHead(500).end("down"));
    const e = await expectAppError(refreshIotCaCrl(id, { actor: "admin" }), "validation_failed");
    const row = await getIotCaCertificate(id);
    expect(row.crlPem).toBe(first.pem);
    expect(row.crlRefresh?.error).toBe(e.message);
    expect(row.crlRefresh?.error).toMatch(/500/);
    // It works again later: the error is cleared.
    serveCrl();
    expect((await refreshIotCaCrl(id)).crlRefresh?.error).toBeNull();
  });

  it("refuses a CRL older than the stored one (a replay), keeping the newer", async () => {
    const older = serveCrl();
    await new Promise((r) => setTimeout(r, 1100));
    const newer = serveCrl();
    const { id } = await addIotCaCertificate({ certificate: ca.pem }, { actor: "admin" });
    expect((await getIotCaCertificate(id)).crlPem).toBe(newer.pem);
    server.routes.set("/fleet.crl", serve.bytes(Buffer.from(older.pem)));
    await expectAppError(refreshIotCaCrl(id), "conflict");
    expect((await getIotCaCertificate(id)).crlPem).toBe(newer.pem);
  });

  it("answers 422 for a CA that names no CRL, and not_found for an unknown id", async () => {
    const { id } = await addIotCaCertificate({ certificate: noCrl.pem }, { actor: "admin" });
    await expectAppError(refreshIotCaCrl(id), "validation_failed");
    await expectAppError(refreshIotCaCrl("00000000-0000-4000-8000-000000000000"), "not_found");
    await expectAppError(refreshIotCaCrl("../etc"), "not_found");
  });
});

describe("the scheduled refresh", () => {
  it("fetches only CRLs due within six hours of their nextUpdate; the job runs it", async () => {
    serveCrl(1);
    const { id } = await addIotCaCertificate({ certificate: ca.pem }, { actor: "admin" });
    await addIotCaCertificate({ certificate: noCrl.pem }, { actor: "admin" });
    const before = server.requests.length;
    expect(await refreshDueIotCaCrls(new Date())).toEqual({ refreshed: [], failed: [] });
    expect(server.requests.length).toBe(before);

    // 20 hours on, the day-long CRL is due: fetched again, by the job too.
    const later = new Date(Date.now() + 20 * HOUR);
    await new Promise((r) => setTimeout(r, 1100));
    const crl = serveCrl(2);
    expect(await runJobOnce(iotCrlRefreshJob(), { now: later, holder: "test" })).toBe(true);
    const row = await getIotCaCertificate(id);
    expect(row.crlPem).toBe(crl.pem);
    expect(row.crl?.fetchedAt).toBe(later.toISOString());
  });

  it("records a failure and does not try again within the hour", async () => {
    serveCrl(1);
    const { id } = await addIotCaCertificate({ certificate: ca.pem }, { actor: "admin" });
    server.routes.set("/fleet.crl", (res) => res.writeHead(404).end());
    const later = new Date(Date.now() + 20 * HOUR);
    const r = await refreshDueIotCaCrls(later);
    expect(r.failed.map((f) => f.id)).toEqual([id]);
    const tries = server.requests.length;
    expect(await refreshDueIotCaCrls(new Date(later.getTime() + 10 * 60_000))).toEqual({ refreshed: [], failed: [] });
    expect(server.requests.length).toBe(tries);
    serveCrl(1);
    expect((await refreshDueIotCaCrls(new Date(later.getTime() + 61 * 60_000))).refreshed).toEqual([id]);
  });
});

describe("the device check with an expired CRL", () => {
  it("fails the device as OpenSSL does when it checks CRLs, and says how to fetch it again", async () => {
    serveCrl(1);
    const device = issue(scratch, ca, `meter-expired-${round}`, { subject: "/CN=d:meter:stale-1" });
    await addIotCaCertificate({ certificate: ca.pem }, { actor: "admin" });
    const in2days = new Date(Date.now() + 2 * 24 * HOUR);
    const check = await checkDeviceCertificate({ certificate: device.pem }, { now: in2days });
    expect(check.accepted).toBe(false);
    expect(check.reasons.join(" ")).toMatch(/The stored CRL of ".*Fleet Device CA" expired on .*: a broker that checks CRLs refuses the device until the CRL is fetched again/);
    // OpenSSL agrees: with the CRL checked, an expired CRL refuses the device.
    const stored = (await (await getDb()).iotCaCertificate.findFirstOrThrow()).crlPem!;
    const crlFile = scratch.file("stale.crl.pem", stored);
    const v = openssl(["verify", "-crl_check", "-attime", String(Math.floor(in2days.getTime() / 1000)), "-CAfile", ca.cer, "-CRLfile", crlFile, device.cer]);
    expect(v.stdout + v.stderr).toMatch(/CRL has expired/);
  });
});
