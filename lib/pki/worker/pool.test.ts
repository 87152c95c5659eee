/**
 * The PKI worker threads do exactly what the main thread does: the bundle that
 * `npm run build` makes (scripts/build-workers.mjs) is built here, and the same CSR checks
 * and signing jobs run both ways. OpenSSL judges the certificates the workers sign, a
 * fleet goes through batch submission and bulk issuance on the workers, and a worker that
 * dies costs its batch nothing (done on the main thread) and is replaced.
 */
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { getDb } from "../../db/index.ts";
import { opensslOk } from "../test-support.ts";
import { useIsolatedDataDir } from "../../test-support/data-dir.ts";
import { setEnv } from "../../test-support/env.ts";
import { configureCaServer } from "../../ca/configure-server.ts";
import { requireCaServer, unlockCa } from "../../ca/server-context.ts";
import { submitBatch } from "../../ca/batch-submit.ts";
import { startBulkIssue } from "../../ca/bulk-issue.ts";
import { buildPkiWorker } from "../../../scripts/build-workers.mjs";
import { checkSubmittedCsrs, pkiWorkerThreads, resetPkiWorkers, signItems } from "./pool.ts";
import type { SignItem, SignSettings } from "./jobs.ts";
import { fingerprint } from "../fingerprint.ts";
import { pemToDer } from "../pem.ts";

const scratch = useIsolatedDataDir("pki-workers", { PORTCULLIS_PUBLIC_URL: "https://pki.example.com" });
const KEY_PW = "worker test CA password";
let counter = 0;
let restoreEnv: (() => void) | undefined;

/** A CSR as a request row keeps it: with the fingerprint recorded at submission. */
function stored(csrPem: string, commonName: string): SignItem {
  return { csrPem, commonName, sha256Fingerprint: fingerprint(pemToDer(csrPem, "CERTIFICATE REQUEST"), "SHA-256") };
}

function csr(subject: string, extra: string[] = []): string {
  const f = scratch.path(`csr-${++counter}`);
  opensslOk(["req", "-new", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-keyout", `${f}.key`, "-subj", subject, "-out", `${f}.csr`, ...extra]);
  return readFileSync(`${f}.csr`, "utf8");
}

/** Runs `fn` with the jobs on the main thread (no workers), then puts the workers back. */
async function inThread<T>(fn: () => Promise<T>): Promise<T> {
  const put = setEnv({ PORTCULLIS_PKI_WORKERS: "0" });
  await resetPkiWorkers();
  try {
    expect(pkiWorkerThreads()).toBe(0);
    return await fn();
  } finally {
    put();
    await resetPkiWorkers();
  }
}

/** What OpenSSL prints of a certificate, without what differs from one signing to the next. */
function contents(pem: string): string {
  const f = scratch.path(`cert-${++counter}.pem`);
  writeFileSync(f, pem);
  return opensslOk(["x509", "-in", f, "-noout", "-text", "-certopt", "no_serial,no_sigdump"]).replace(/\n\s+Subject Key Identifier:[^\n]*\n[^\n]*/, "");
}

beforeAll(async () => {
  const bundle = await buildPkiWorker(join(scratch.dir, "build", "pki-worker.cjs"));
  restoreEnv = setEnv({ PORTCULLIS_PKI_WORKER_BUNDLE: bundle, PORTCULLIS_PKI_WORKERS: "2" });
  await resetPkiWorkers();
  await configureCaServer({
    fileNameRoot: "WorkerCA",
    directory: "ca",
    keyPassword: KEY_PW,
    subject: { O: "Example", CN: "Worker Test CA" },
    keyAlgorithm: "ecdsa-p256",
    caValidityDays: 3650,
    issuedValidityDays: 365,
    adminEmail: "camgr@example.com",
    smtp: { host: "" },
  });
}, 60_000);

afterAll(async () => {
  await resetPkiWorkers();
  restoreEnv?.();
});

describe("PKI worker threads", () => {
  it("check CSRs as the main thread does: the same answers, in order, refusals with the same code and message", async () => {
    expect(pkiWorkerThreads()).toBe(2);
    const good = Array.from({ length: 5 }, (_, i) => csr(`/O=Example/CN=host${i}.example.com`, ["-addext", `subjectAltName=DNS:host${i}.example.com,IP:192.0.2.${i}`]));
    const tampered = good[0]!.replace(/(\n[A-Za-z0-9+/]{20})[A-Za-z0-9+/]/, (_, a: string) => `${a}${a.endsWith("A") ? "B" : "A"}`);
    const inputs = [...good, "not a CSR", tampered, new Uint8Array([0x30, 0x03, 0x02, 0x01, 0x00])];
    const onWorkers = await checkSubmittedCsrs(inputs);
    const onMain = await inThread(() => checkSubmittedCsrs(inputs));
    expect(onWorkers).toHaveLength(inputs.length);
    const shape = (r: (typeof onWorkers)[number]) => ("ok" in r ? { ok: r.ok } : { error: { name: r.error.name, code: (r.error as { code?: string }).code, message: r.error.message, fields: (r.error as { fields?: unknown }).fields } });
    expect(onWorkers.map(shape)).toEqual(onMain.map(shape));
    expect(onWorkers.slice(0, 5).every((r) => "ok" in r)).toBe(true);
    expect(onWorkers.slice(5).every((r) => "error" in r && r.error.name === "AppError")).toBe(true);
    expect("ok" in onWorkers[2]! && onWorkers[2].ok.sans).toEqual([{ type: "dns", value: "host2.example.com" }, { type: "ip", value: "192.0.2.2" }]);
  });

  it("sign the certificates the main thread signs, which OpenSSL verifies; a refusal crosses as the same AppError", async () => {
    const ca = await requireCaServer(await getDb());
    const unlocked = await unlockCa(ca, KEY_PW);
    const settings: SignSettings = { usage: "tls", validityDays: 30, now: new Date(), crlUrl: "https://pki.example.com/crl", ocspUrl: "https://pki.example.com/ocsp" };
    const items = [
      ...Array.from({ length: 6 }, (_, i) => stored(csr(`/O=Example/CN=web${i}.example.com`), `web${i}.example.com`)),
      // TLS needs a host name: refused by the usage rules.
      stored(csr("/O=Example/CN=not a host"), "not a host"),
      // A stored CSR altered after its fingerprint was recorded.
      { ...stored(csr("/O=Example/CN=web9.example.com"), "web9.example.com"), sha256Fingerprint: "00" },
    ];
    const onWorkers = await signItems(items, settings, unlocked);
    const onMain = await inThread(() => signItems(items, settings, unlocked));
    const caFile = scratch.path("ca.pem");
    writeFileSync(caFile, ca.certificatePem);
    for (const [i, r] of onWorkers.entries()) {
      const m = onMain[i]!;
      if (i < 6) {
        if (!("ok" in r) || !("ok" in m)) throw new Error(`item ${i} was refused: ${"error" in r ? r.error.message : ""}`);
        expect(Buffer.isBuffer(r.ok.der)).toBe(true);
        expect(r.ok.certificate.subject).toBe(`O=Example, CN=web${i}.example.com`);
        expect(contents(r.ok.pem)).toBe(contents(m.ok.pem));
        expect({ notBefore: r.ok.notBefore, notAfter: r.ok.notAfter, lintWarnings: r.ok.lintWarnings }).toEqual({ notBefore: m.ok.notBefore, notAfter: m.ok.notAfter, lintWarnings: m.ok.lintWarnings });
        const f = scratch.path(`leaf-${i}.pem`);
        writeFileSync(f, r.ok.pem);
        expect(opensslOk(["verify", "-x509_strict", "-purpose", "sslserver", "-CAfile", caFile, f])).toContain(": OK");
      } else {
        if (!("error" in r) || !("error" in m)) throw new Error(`item ${i} was signed`);
        expect(r.error.name).toBe("AppError");
        expect(r.error.message).toMatch(i === 6 ? /host name/i : /^The stored CSR of this request does not match the fingerprint recorded when it was submitted/);
        expect({ code: (r.error as { code?: string }).code, message: r.error.message }).toEqual({ code: (m.error as { code?: string }).code, message: m.error.message });
      }
    }
  });

  it("take a fleet from batch submission to bulk issuance, every certificate verified by OpenSSL", async () => {
    const requests = Array.from({ length: 120 }, (_, i) => ({ csr: csr(`/O=Example/CN=d${i}.fleet.example.com`), filename: `d${i}` }));
    const bad = await submitBatch({ requests: [...requests.slice(0, 3), { csr: "-----BEGIN CERTIFICATE REQUEST-----\nAAAA\n-----END CERTIFICATE REQUEST-----\n", filename: "x" }], contact: { name: "Fleet" } }, { actor: "admin" }).catch((e: unknown) => e);
    expect(bad).toMatchObject({ code: "validation_failed", fields: { "requests[3].csr": expect.stringMatching(/^Request 4: /) } });
    expect(await (await getDb()).certificateRequest.count()).toBe(0);

    const b = await submitBatch({ requests, contact: { name: "Fleet", email: "fleet@example.com" } }, { actor: "admin" });
    const r = await startBulkIssue({ batchId: b.batchId, usage: "tls", caKeyPassword: KEY_PW, fingerprintVerified: true }, { actor: "admin", chunkSize: 50 });
    expect(r.failed).toEqual([]);
    expect(r.issued.map((x) => x.number)).toEqual(Array.from({ length: 120 }, (_, i) => i + 1));
    const db = await getDb();
    const certs = await db.certificate.findMany({ orderBy: { number: "asc" }, select: { pem: true, filename: true } });
    expect(certs.map((c) => c.filename)).toEqual(requests.map((x) => x.filename));
    const bundle = scratch.path("fleet.pem");
    writeFileSync(bundle, certs.map((c) => c.pem).join(""));
    const caFile = scratch.path("ca-fleet.pem");
    writeFileSync(caFile, (await requireCaServer(db)).certificatePem);
    // openssl verify checks the first certificate of a file: each one in turn.
    for (const [i, c] of certs.entries()) {
      const f = scratch.path(`fleet-${i}.pem`);
      writeFileSync(f, c.pem);
      expect(opensslOk(["verify", "-x509_strict", "-CAfile", caFile, f])).toContain(": OK");
    }
  }, 120_000);

  it("finish a batch on the main thread when a worker dies in the middle, and start new workers for the next job", async () => {
    const ca = await requireCaServer(await getDb());
    const unlocked = await unlockCa(ca, KEY_PW);
    const settings: SignSettings = { usage: "tls", validityDays: 30, now: new Date() };
    const items = Array.from({ length: 40 }, (_, i) => stored(csr(`/CN=k${i}.example.com`), `k${i}.example.com`));
    const logged = vi.spyOn(console, "error").mockImplementation(() => undefined);
    const running = signItems([...items, ...items, ...items, ...items, ...items], settings, unlocked);
    // End the pool's worker threads while they work.
    const holder = (globalThis as { __portcullisPkiPool?: { pool?: { slots: ({ worker: { terminate(): Promise<number> } } | null)[] } | null } }).__portcullisPkiPool;
    await Promise.all(holder!.pool!.slots.map((s) => s?.worker.terminate()));
    const done = await running;
    // The workers were ended in the middle of the job: the main thread did it.
    expect(logged.mock.calls.map((c) => String(c[0]))).toEqual([expect.stringMatching(/PKI worker stopped .*; the batch is done on the main thread$/)]);
    logged.mockRestore();
    expect(done).toHaveLength(200);
    expect(done.every((r) => "ok" in r)).toBe(true);
    // New workers answer the next job.
    const again = await signItems(items.slice(0, 4), settings, unlocked);
    expect(again.every((r) => "ok" in r)).toBe(true);
    expect(holder!.pool!.slots.every((s) => s !== null)).toBe(true);
  }, 60_000);
});
