import { beforeEach, describe, expect, it } from "vitest";
import { readFileSync, writeFileSync } from "node:fs";
import { getDb } from "../db/index.ts";
import { opensslOk } from "../pki/test-support.ts";
import { expectAppError } from "../test-support/app-error.ts";
import { useIsolatedDataDir, useTestSmtpServer } from "../test-support/data-dir.ts";
import { verifyAuditChain } from "../audit/audit-log.ts";
import { configureCaServer } from "./configure-server.ts";
import { reinitializeCaServer } from "./reinitialize-server.ts";
import { listPendingRequests, submitRequest } from "./requests.ts";
import { BATCH_SUBMIT_MAX, submitBatch } from "./batch-submit.ts";
import { pendingIdsOfBatch, startBulkIssue } from "./bulk-issue.ts";

const scratch = useIsolatedDataDir("batch-submit", { PORTCULLIS_PUBLIC_URL: "https://pki.example.com" });
const smtp = useTestSmtpServer();
const KEY_PW = "batch test CA password";
let counter = 0;

function csr(subject: string, extra: string[] = []): string {
  const f = scratch.path(`csr-${++counter}`);
  opensslOk(["req", "-new", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-keyout", `${f}.key`, "-subj", subject, "-out", `${f}.csr`, ...extra]);
  return readFileSync(`${f}.csr`, "utf8");
}

function device(i: number) {
  const id = `d:sensor:${counter + 1}`;
  return { csr: csr(`/CN=${id}`), filename: `sensor${i}` };
}

const contact = { name: "Fleet Ops", email: "ops@example.com" };
const issueInput = { usage: "iot-device", caKeyPassword: KEY_PW, fingerprintVerified: true, verificationChannel: "phone", verificationNote: "factory list of 2026-11" };

beforeEach(async () => {
  const db = await getDb();
  if (await db.caServer.count()) await reinitializeCaServer();
  await configureCaServer({
    fileNameRoot: "FleetCA",
    directory: `ca-${++counter}`,
    keyPassword: KEY_PW,
    subject: { O: "Example", CN: "Fleet Test CA" },
    keyAlgorithm: "ecdsa-p256",
    caValidityDays: 3650,
    issuedValidityDays: 365,
    adminEmail: "camgr@example.com",
    smtp: { host: "127.0.0.1", port: smtp.port },
  });
  smtp.messages.length = 0;
});

describe("batch submission", () => {
  it("stores a fleet's requests as one batch, mails the administrator once, and bulk issue by batch issues exactly it: OpenSSL verifies every certificate", async () => {
    const other = await submitRequest({ ...device(0), contact }, {});
    const requests = Array.from({ length: 25 }, (_, i) => device(i + 1));
    const r = await submitBatch({ requests, contact, instance: "FACTORY-7" }, { actor: "admin", ip: "192.0.2.7" });
    expect(r.count).toBe(25);
    expect(r.requests.map((x) => x.filename)).toEqual(requests.map((x) => x.filename));
    expect(r.requests.every((x) => x.status === "pending" && /^([0-9A-F]{2}:){19}[0-9A-F]{2}$/.test(x.sha1Fingerprint))).toBe(true);

    const db = await getDb();
    const rows = await db.certificateRequest.findMany({ where: { batchId: r.batchId } });
    expect(rows.length).toBe(25);
    expect(new Set(rows.map((x) => x.instance))).toEqual(new Set(["FACTORY-7"]));
    expect(rows.every((x) => x.contactEmail === "ops@example.com" && x.submitterIp === "192.0.2.7")).toBe(true);

    const mail = await smtp.waitFor((m) => m.to.includes("camgr@example.com") && m.subject.includes(r.batchId));
    expect(mail.subject).toBe(`25 Certificate Signing Requests received (batch ${r.batchId})`);
    expect(mail.text).toContain("https://pki.example.com/ca-server/requests");
    // One mail for the batch (the single submission before it sent its own).
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(smtp.messages.filter((m) => m.subject.includes("received")).length).toBe(2);

    const listed = await listPendingRequests({ batchId: r.batchId, take: 10 });
    expect(listed.items.length).toBe(10);
    expect(listed.total).toBe(25);
    expect(listed.items.every((x) => x.batchId === r.batchId)).toBe(true);
    expect((await pendingIdsOfBatch(r.batchId)).sort()).toEqual(r.requests.map((x) => x.id).sort());

    const issued = await startBulkIssue({ ...issueInput, batchId: r.batchId }, { actor: "admin" });
    expect(issued.failed).toEqual([]);
    expect(issued.skipped).toEqual([]);
    expect(issued.issued.map((x) => x.number)).toEqual(Array.from({ length: 25 }, (_, i) => i + 1));
    // In the order the batch was sent.
    expect(issued.issued.map((x) => x.id)).toEqual(r.requests.map((x) => x.id));
    // The contact gets one mail listing the 25 certificates, not 25 mails.
    const list = await smtp.waitFor((m) => m.to.includes("ops@example.com") && m.subject.includes("certificates issued"));
    expect(list.subject).toBe("25 certificates issued: numbers 1–25");
    for (let n = 1; n <= 25; n++) expect(list.text).toContain(`https://pki.example.com/api/v1/certificates/${n}?format=pem`);
    for (const x of requests) expect(list.text).toContain(`File name: ${x.filename}\n`);
    expect(list.html).toContain("https://pki.example.com/certificates");
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(smtp.messages.filter((m) => m.to.includes("ops@example.com") && /issued/.test(m.subject)).map((m) => m.subject)).toEqual(["25 certificates issued: numbers 1–25"]);
    expect(listed.items.map((x) => x.id)).toEqual(r.requests.slice(0, 10).map((x) => x.id));
    expect((await db.certificateRequest.findUniqueOrThrow({ where: { id: other.id } })).status).toBe("pending");
    expect(await pendingIdsOfBatch(r.batchId)).toEqual([]);
    // Issuing it again finds nothing to do; a batch that never existed is not found.
    expect((await startBulkIssue({ ...issueInput, batchId: r.batchId }, { actor: "admin" })).requested).toBe(0);
    await expectAppError(startBulkIssue({ ...issueInput, batchId: "no-such-batch" }, { actor: "admin" }), "not_found", "batchId");

    const ca = await db.caServer.findUniqueOrThrow({ where: { id: 1 } });
    const caFile = scratch.path("fleet-ca.pem");
    writeFileSync(caFile, ca.certificatePem);
    const certs = await db.certificate.findMany({ orderBy: { number: "asc" } });
    expect(new Set(certs.map((c) => c.serial)).size).toBe(25);
    for (const c of certs) {
      const f = scratch.path(`fleet-${c.number}.pem`);
      writeFileSync(f, c.pem);
      expect(opensslOk(["verify", "-x509_strict", "-purpose", "sslclient", "-CAfile", caFile, f])).toContain(": OK");
      expect(opensslOk(["x509", "-in", f, "-noout", "-subject"]).trim()).toBe(`subject=CN = ${c.commonName}`);
    }
    const audit = await db.auditEntry.findMany({ where: { action: { in: ["request.batch-submit", "certificate.issue"] } }, orderBy: { seq: "asc" } });
    expect(audit[0]).toMatchObject({ action: "request.batch-submit", actor: "admin", target: `batch:${r.batchId}` });
    expect(audit.filter((a) => a.action === "certificate.issue").map((a) => a.target)).toEqual(certs.map((c) => `certificate:${c.number}`));
    expect((await verifyAuditChain()).ok).toBe(true);
  });

  it("refuses the whole batch when one request is bad, naming it by position; nothing is stored", async () => {
    const requests: Record<string, unknown>[] = Array.from({ length: 4 }, (_, i) => device(i));
    requests[1] = { ...requests[1], csr: "-----BEGIN CERTIFICATE REQUEST-----\nAAAA\n-----END CERTIFICATE REQUEST-----\n" };
    requests[3] = { ...requests[3], filename: "" };
    const e = await expectAppError(submitBatch({ requests, contact }, { actor: "admin" }), "validation_failed");
    expect(e.message).toMatch(/^2 problems in the batch of 4 requests; nothing was stored/);
    expect(Object.keys(e.fields ?? {}).sort()).toEqual(["requests[1].csr", "requests[3].filename"]);
    expect(e.fields?.["requests[1].csr"]).toMatch(/^Request 2: /);
    expect(await (await getDb()).certificateRequest.count()).toBe(0);
  });

  it("refuses a CSR twice in the batch, and a CSR already waiting in the queue (409), storing nothing", async () => {
    const a = device(1);
    const b = device(2);
    const twice = await expectAppError(submitBatch({ requests: [a, b, { ...a, filename: "again" }], contact }, { actor: "admin" }), "validation_failed");
    expect(twice.fields).toEqual({ "requests[2].csr": "Request 3: the same CSR as request 1" });

    const waiting = await submitRequest({ ...b, contact }, {});
    const conflict = await expectAppError(submitBatch({ requests: [a, b], contact }, { actor: "admin" }), "conflict");
    expect(conflict.fields).toEqual({ "requests[1].csr": `This Certificate Signing Request is already waiting in the queue (request ${waiting.id})` });
    expect(await (await getDb()).certificateRequest.count()).toBe(1);
  });

  it("refuses an empty list, a list over the limit and items that are not objects", async () => {
    await expectAppError(submitBatch({ requests: [] }, { actor: "admin" }), "validation_failed", "requests");
    await expectAppError(submitBatch({}, { actor: "admin" }), "validation_failed", "requests");
    await expectAppError(submitBatch({ requests: Array.from({ length: BATCH_SUBMIT_MAX + 1 }, () => ({})) }, { actor: "admin" }), "validation_failed", "requests");
    const e = await expectAppError(submitBatch({ requests: ["text", null] }, { actor: "admin" }), "validation_failed");
    expect(Object.keys(e.fields ?? {})).toEqual(["requests[0]", "requests[1]"]);
  });
});
