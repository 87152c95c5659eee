import { beforeEach, describe, expect, it } from "vitest";
import { readFileSync, writeFileSync } from "node:fs";
import { getDb } from "../db/index.ts";
import { opensslOk } from "../pki/test-support.ts";
import { expectAppError } from "../test-support/app-error.ts";
import { useIsolatedDataDir } from "../test-support/data-dir.ts";
import { configureCaServer } from "./configure-server.ts";
import { reinitializeCaServer } from "./reinitialize-server.ts";
import { submitRequest } from "./requests.ts";
import { serverFilePaths } from "./server-files.ts";
import { BULK_ISSUE_MAX, startBulkIssue } from "./bulk-issue.ts";
import { issueRequest } from "./issue-request.ts";

const scratch = useIsolatedDataDir("bulk-issue", { PORTCULLIS_PUBLIC_URL: undefined });
const KEY_PW = "bulk test CA password";
let counter = 0;
let caDir = "";

function csr(subject: string, extra: string[] = []): string {
  const f = scratch.path(`csr-${++counter}`);
  opensslOk(["req", "-new", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-keyout", `${f}.key`, "-subj", subject, "-out", `${f}.csr`, ...extra]);
  return readFileSync(`${f}.csr`, "utf8");
}

async function submitDevices(n: number, instance = "FLEET"): Promise<string[]> {
  const ids: string[] = [];
  for (let i = 0; i < n; i++) {
    const host = `dev${counter + 1}.fleet.example.com`;
    const r = await submitRequest(
      { csr: csr(`/CN=${host}`, ["-addext", `subjectAltName=DNS:${host}`]), contact: { name: "Fleet Ops", email: "ops@example.com" }, hostname: host, instance, filename: `dev${counter}` },
      {},
    );
    ids.push(r.id);
  }
  return ids;
}

const input = { usage: "tls", caKeyPassword: KEY_PW, fingerprintVerified: true, verificationChannel: "other", verificationNote: "batch from the factory list" };

async function certificates() {
  return (await getDb()).certificate.findMany({ orderBy: { number: "asc" }, select: { number: true, serial: true, requestId: true, pem: true } });
}

beforeEach(async () => {
  const db = await getDb();
  if (await db.caServer.count()) await reinitializeCaServer();
  caDir = `ca-${++counter}`;
  await configureCaServer({ fileNameRoot: "BulkCA", directory: caDir, keyPassword: KEY_PW, subject: { O: "Example", CN: "Bulk Test CA" }, keyAlgorithm: "ecdsa-p256", caValidityDays: 3650, issuedValidityDays: 365, adminEmail: "camgr@example.com" });
});

describe("bulk issuance", () => {
  it("issues a batch of 20 with one password: numbers contiguous, serials unique, OpenSSL verifies, the SRL mirrors the counter, one summary in the audit log", async () => {
    const ids = await submitDevices(20);
    const r = await startBulkIssue({ ...input, ids }, { actor: "admin" });
    expect(r.requested).toBe(20);
    expect(r.failed).toEqual([]);
    expect(r.skipped).toEqual([]);
    expect(r.issued.map((x) => x.number)).toEqual(Array.from({ length: 20 }, (_, i) => i + 1));
    expect(new Set(r.issued.map((x) => x.id))).toEqual(new Set(ids));

    const certs = await certificates();
    expect(certs.map((c) => c.number)).toEqual(Array.from({ length: 20 }, (_, i) => i + 1));
    expect(new Set(certs.map((c) => c.serial)).size).toBe(20);
    const db = await getDb();
    expect(await db.certificateRequest.count({ where: { status: "pending" } })).toBe(0);

    const ca = await db.caServer.findUniqueOrThrow({ where: { id: 1 } });
    const caFile = scratch.path("ca.pem");
    writeFileSync(caFile, ca.certificatePem);
    for (const c of [certs[0], certs[9], certs[19]]) {
      const f = scratch.path(`cert-${c.number}.pem`);
      writeFileSync(f, c.pem);
      expect(opensslOk(["verify", "-x509_strict", "-purpose", "sslserver", "-CAfile", caFile, f])).toContain(": OK");
      expect(opensslOk(["x509", "-in", f, "-noout", "-serial"]).trim()).toBe(`serial=${c.serial.toUpperCase()}`);
    }
    const srl = readFileSync(serverFilePaths(ca.directory, ca.fileNameRoot).srl, "utf8").trim();
    expect(parseInt(srl, 16)).toBe(21);

    const audit = await db.auditEntry.findMany({ where: { action: "bulk.issue" } });
    expect(audit).toHaveLength(1);
    expect(JSON.parse(audit[0].details)).toMatchObject({ requested: 20, issued: 20, skipped: 0, failed: 0, usage: "tls", numbers: "1-20" });
    expect(audit[0].details).not.toContain(KEY_PW);
  });

  it("issues nothing with a wrong password or bad input", async () => {
    const ids = await submitDevices(3);
    await expectAppError(startBulkIssue({ ...input, caKeyPassword: "not the password", ids }, { actor: "admin" }), undefined, "caKeyPassword");
    await expectAppError(startBulkIssue({ ...input, fingerprintVerified: false, ids }, { actor: "admin" }), "validation_failed", "fingerprintVerified");
    await expectAppError(startBulkIssue({ ...input }, { actor: "admin" }), "validation_failed", "ids");
    await expectAppError(startBulkIssue({ ...input, ids: [] }, { actor: "admin" }), "validation_failed", "ids");
    await expectAppError(startBulkIssue({ ...input, ids: [1, 2] }, { actor: "admin" }), "validation_failed", "ids");
    await expectAppError(startBulkIssue({ ...input, ids, all: true }, { actor: "admin" }), "validation_failed", "ids");
    await expectAppError(startBulkIssue({ ...input, ids: Array.from({ length: BULK_ISSUE_MAX + 1 }, (_, i) => `id${i}`) }, { actor: "admin" }), "validation_failed", "ids");
    await expectAppError(startBulkIssue({ ...input, usage: "nonsense", ids }, { actor: "admin" }), "validation_failed", "usage");
    expect(await certificates()).toEqual([]);
    expect(await (await getDb()).certificateRequest.count({ where: { status: "pending" } })).toBe(3);
  });

  it("lists a request its usage refuses in failed, leaves it pending, and issues the rest; unknown and done ones are skipped", async () => {
    const ids = await submitDevices(4);
    // TLS needs a host name or IP address: a person's name alone is refused before signing.
    const bad = await submitRequest({ csr: csr("/CN=Just A Person"), contact: { name: "Fleet Ops" }, filename: "person" }, {});
    const r = await startBulkIssue({ ...input, ids: [ids[0], bad.id, ...ids.slice(1), "no-such-request"] }, { actor: "admin" });
    expect(r.requested).toBe(6);
    expect(r.issued.map((x) => x.number)).toEqual([1, 2, 3, 4]);
    expect(r.failed).toHaveLength(1);
    expect(r.failed[0]).toMatchObject({ id: bad.id, code: "validation_failed" });
    expect(r.failed[0].message).toMatch(/no host name for a TLS server certificate/);
    expect(r.skipped).toEqual([{ id: "no-such-request", reason: "No such request" }]);
    const db = await getDb();
    expect((await db.certificateRequest.findUniqueOrThrow({ where: { id: bad.id } })).status).toBe("pending");

    // Again: the issued ones are skipped (not pending), the refused one fails again, nothing new is numbered.
    const again = await startBulkIssue({ ...input, ids: [...ids, bad.id] }, { actor: "admin" });
    expect(again.issued).toEqual([]);
    expect(again.skipped.map((s) => s.id).sort()).toEqual([...ids].sort());
    expect(again.skipped[0].reason).toMatch(/already issued \(certificate number \d\)/);
    expect(again.failed.map((f) => f.id)).toEqual([bad.id]);
    expect((await certificates()).map((c) => c.number)).toEqual([1, 2, 3, 4]);
  });

  it("refuses a request whose stored CSR was replaced after submission (its fingerprint no longer matches), alone or in a batch, and numbers nothing for it", async () => {
    const ids = await submitDevices(3);
    const db = await getDb();
    // Another validly signed CSR, written over the one that was checked and fingerprinted.
    const other = csr("/CN=intruder.example.com", ["-addext", "subjectAltName=DNS:intruder.example.com"]);
    await db.certificateRequest.update({ where: { id: ids[1] }, data: { csrPem: other } });
    const altered = /^The stored CSR of this request does not match the fingerprint recorded when it was submitted; it was altered, and nothing was issued$/;

    await expectAppError(issueRequest(ids[1], input, { actor: "admin" }), "validation_failed");
    await expect(issueRequest(ids[1], input, { actor: "admin" })).rejects.toThrow(altered);
    const r = await startBulkIssue({ ...input, ids }, { actor: "admin" });
    expect(r.issued.map((x) => x.id)).toEqual([ids[0], ids[2]]);
    expect(r.issued.map((x) => x.number)).toEqual([1, 2]);
    expect(r.failed).toEqual([{ id: ids[1], code: "validation_failed", message: expect.stringMatching(altered) }]);
    expect((await db.certificateRequest.findUniqueOrThrow({ where: { id: ids[1] } })).status).toBe("pending");
    expect((await certificates()).map((c) => c.requestId)).toEqual([ids[0], ids[2]]);
    expect(await db.certificate.count({ where: { subject: { contains: "intruder" } } })).toBe(0);
  });

  it("two bulk issuances of the same requests at once: each request issued once, numbers contiguous, the other call skips it", async () => {
    const ids = await submitDevices(24);
    const [a, b] = await Promise.all([startBulkIssue({ ...input, ids }, { actor: "admin", chunkSize: 5 }), startBulkIssue({ ...input, ids: [...ids].reverse() }, { actor: "admin", chunkSize: 7 })]);
    expect([...a.failed, ...b.failed]).toEqual([]);
    const issued = [...a.issued, ...b.issued];
    expect(issued.map((x) => x.id).sort()).toEqual([...ids].sort());
    expect(issued.map((x) => x.number).sort((x, y) => x - y)).toEqual(Array.from({ length: 24 }, (_, i) => i + 1));
    expect(a.skipped.length + b.skipped.length).toBe(24);
    const certs = await certificates();
    expect(certs.map((c) => c.number)).toEqual(Array.from({ length: 24 }, (_, i) => i + 1));
    expect(new Set(certs.map((c) => c.requestId)).size).toBe(24);
    const db = await getDb();
    for (const c of certs) expect((await db.certificateRequest.findUniqueOrThrow({ where: { id: c.requestId } })).certificateNumber).toBe(c.number);
  });

  it("an interrupted batch, run again, issues the rest: every request once, numbers contiguous", async () => {
    const ids = await submitDevices(12, "BATCH-7");
    const other = await submitDevices(2, "OTHER");
    const abort = new AbortController();
    const first = await startBulkIssue({ ...input, all: true, instance: "BATCH-7" }, { actor: "admin", chunkSize: 2, signal: abort.signal, onProgress: (done) => done >= 5 && abort.abort() });
    expect(first.requested).toBe(12);
    expect(first.issued.length).toBeGreaterThanOrEqual(5);
    expect(first.issued.length).toBeLessThan(12);
    const db = await getDb();
    const pendingAfterAbort = await db.certificateRequest.count({ where: { status: "pending", instance: "BATCH-7" } });
    expect(pendingAfterAbort).toBe(12 - first.issued.length);

    // Resume = the same selection again: only the pending ones are selected and issued.
    const second = await startBulkIssue({ ...input, all: true, instance: "BATCH-7" }, { actor: "admin" });
    expect(second.requested).toBe(pendingAfterAbort);
    expect(second.skipped).toEqual([]);
    expect(second.failed).toEqual([]);
    const all = [...first.issued, ...second.issued];
    expect(all.map((x) => x.id).sort()).toEqual([...ids].sort());
    const certs = await certificates();
    expect(certs.map((c) => c.number)).toEqual(Array.from({ length: 12 }, (_, i) => i + 1));
    expect(new Set(certs.map((c) => c.requestId)).size).toBe(12);
    // The other submission batch was not touched.
    for (const id of other) expect((await db.certificateRequest.findUniqueOrThrow({ where: { id } })).status).toBe("pending");
  });
});

describe("without a CA server", () => {
  it("answers not_configured", async () => {
    await reinitializeCaServer();
    await expectAppError(startBulkIssue({ ...input, ids: ["x"] }, { actor: "admin" }), "not_configured");
  });
});
