import { beforeEach, describe, expect, it, vi } from "vitest";
import { mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { getDb } from "../db/index.ts";
import { openssl, opensslOk } from "../pki/test-support.ts";
import { expectAppError } from "../test-support/app-error.ts";
import { useIsolatedDataDir } from "../test-support/data-dir.ts";
import { setEnv } from "../test-support/env.ts";
import { insertAdmin } from "../auth/test-support.ts";
import { createApiToken } from "../auth/api-tokens.ts";
import { GET as getCrlFile } from "../../app/crl/[file]/route.ts";
import { GET as getCrlApi, PATCH as patchCrlApi, POST as postCrlApi } from "../../app/api/v1/admin/crl/route.ts";
import { configureCaServer } from "./configure-server.ts";
import { reinitializeCaServer } from "./reinitialize-server.ts";
import { submitRequest } from "./requests.ts";
import { issueRequest } from "./issue-request.ts";
import { revokeCertificate } from "./revoke-certificate.ts";
import { unlockCa } from "./server-context.ts";
import { crlDue, crlState, getCrlStatus, resignCrl, setCrlNextUpdateDays, signCrlInTransaction, signCurrentCrl } from "./crl-signing.ts";

const scratch = useIsolatedDataDir("crl-signing", { PORTCULLIS_PUBLIC_URL: undefined, PORTCULLIS_CRL_REMINDER_HOURS: undefined });
const KEY_PW = "crl signing test CA password";
const DAY_MS = 86_400_000;
const HOUR_MS = 3_600_000;
let counter = 0;
let caFile = "";
let directory = "";

const caRow = async () => (await getDb()).caServer.findUniqueOrThrow({ where: { id: 1 } });

function writeCrl(pem: string): string {
  const file = scratch.path(`crl-${++counter}.pem`);
  writeFileSync(file, pem);
  return file;
}

/** OpenSSL's verdict on the stored CRL: signature against the CA, number, times, entries. */
async function storedCrl() {
  const row = await caRow();
  const file = writeCrl(row.crlPem!);
  const verified = openssl(["crl", "-in", file, "-CAfile", caFile, "-noout", "-verify"]);
  const text = opensslOk(["crl", "-in", file, "-noout", "-text"]);
  return { row, file, verifyOk: verified.status === 0 && /verify OK/.test(verified.stdout + verified.stderr), text, number: opensslOk(["crl", "-in", file, "-noout", "-crlnumber"]).trim() };
}

function csr(cn: string): string {
  const base = scratch.path(`csr-${++counter}`);
  opensslOk(["req", "-new", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-keyout", `${base}.key`, "-subj", `/CN=${cn}`, "-addext", `subjectAltName=DNS:${cn}`, "-out", `${base}.csr`]);
  return readFileSync(`${base}.csr`, "utf8");
}

async function issue(cn: string, now?: Date) {
  const r = await submitRequest({ csr: csr(cn), contact: { name: "Tina Tech" }, hostname: cn, instance: "PROD", filename: cn.split(".")[0] });
  return issueRequest(r.id, { usage: "tls", caKeyPassword: KEY_PW, fingerprintVerified: true }, { actor: "admin", now });
}

async function configure(now?: Date) {
  directory = `ca-${++counter}`;
  await configureCaServer(
    { fileNameRoot: "CrlCA", directory, keyPassword: KEY_PW, subject: { O: "Example", CN: "CRL Test CA" }, caValidityDays: 3650, issuedValidityDays: 365, adminEmail: "camgr@example.com" },
    { now },
  );
  caFile = join((await caRow()).directory, "CrlCA.cer");
}

beforeEach(async () => {
  const db = await getDb();
  if (await db.caServer.count()) await reinitializeCaServer();
  await configure();
});

describe("a CRL from day one", () => {
  it("configuration publishes CRL number 1, empty, 7 days, that OpenSSL verifies; /crl serves it as DER and PEM", async () => {
    const { row, verifyOk, text, number } = await storedCrl();
    expect(verifyOk).toBe(true);
    expect(number).toBe("crlNumber=0x01");
    expect(text).toContain("No Revoked Certificates");
    expect(text).toMatch(/X509v3 Authority Key Identifier/);
    expect(row.crlNumber).toBe(1);
    expect(row.crlNextUpdate!.getTime() - row.crlThisUpdate!.getTime()).toBe(7 * DAY_MS);

    const der = await getCrlFile(new Request("http://127.0.0.1/crl/CrlCA.crl"), { params: Promise.resolve({ file: "CrlCA.crl" }) });
    expect(der.status).toBe(200);
    expect(der.headers.get("content-type")).toBe("application/pkix-crl");
    const derFile = scratch.path(`crl-${++counter}.der`);
    writeFileSync(derFile, Buffer.from(await der.arrayBuffer()));
    const v = openssl(["crl", "-inform", "DER", "-in", derFile, "-CAfile", caFile, "-noout", "-verify"]);
    expect(v.stdout + v.stderr).toMatch(/verify OK/);
    const pem = await getCrlFile(new Request("http://127.0.0.1/crl/CrlCA.pem"), { params: Promise.resolve({ file: "CrlCA.pem" }) });
    expect(await pem.text()).toBe(row.crlPem);
  });

  it("the existing-key mode publishes one too, numbered after the CA's earlier CRLs", async () => {
    await reinitializeCaServer();
    const db = await getDb();
    expect(await db.caServer.count()).toBe(0);
    await configureCaServer({ fileNameRoot: "CrlCA", directory, keyPassword: KEY_PW, issuedValidityDays: 30, adminEmail: "camgr@example.com" });
    const { row, verifyOk, number, text } = await storedCrl();
    expect(row.mode).toBe("existing");
    expect(verifyOk).toBe(true);
    expect(number).toBe("crlNumber=0x02");
    expect(text).toContain("No Revoked Certificates");
  });

  it("issuance signs a CRL when there is none or it is past half its validity, and leaves a fresh one alone", async () => {
    const first = await caRow();
    await issue("fresh.example.com");
    expect((await caRow()).crlPem).toBe(first.crlPem);

    // A CA configured before CRLs were signed from the start has none.
    const db = await getDb();
    await db.caServer.update({ where: { id: 1 }, data: { crlPem: null, crlThisUpdate: null, crlNextUpdate: null } });
    await issue("missing.example.com");
    const second = await storedCrl();
    expect(second.verifyOk).toBe(true);
    expect(second.number).toBe("crlNumber=0x02");

    // 3.4 days into 7: not yet half.
    const early = new Date(second.row.crlThisUpdate!.getTime() + 3.4 * DAY_MS);
    await issue("early.example.com", early);
    expect((await caRow()).crlNumber).toBe(2);
    // 3.6 days: past half; the new CRL starts then.
    const later = new Date(second.row.crlThisUpdate!.getTime() + 3.6 * DAY_MS);
    await issue("later.example.com", later);
    const third = await storedCrl();
    expect(third.number).toBe("crlNumber=0x03");
    expect(third.row.crlThisUpdate!.getTime()).toBe(Math.floor(later.getTime() / 1000) * 1000);
    expect(third.verifyOk).toBe(true);
  });

  it("a wrong password at issuance signs nothing", async () => {
    const before = await caRow();
    await (await getDb()).caServer.update({ where: { id: 1 }, data: { crlPem: null } });
    const r = await submitRequest({ csr: csr("pw.example.com"), contact: { name: "Tina Tech" }, filename: "pw" });
    await expectAppError(issueRequest(r.id, { usage: "tls", caKeyPassword: "wrong password!", fingerprintVerified: true }, { actor: "admin" }), "wrong_password", "caKeyPassword");
    const after = await caRow();
    expect(after.crlPem).toBeNull();
    expect(after.crlNumber).toBe(before.crlNumber);
  });
});

describe("when a CRL is due", () => {
  const t = (days: number) => new Date(Date.UTC(2031, 0, 1) + days * DAY_MS);
  const row = (thisDays: number, nextDays: number) => ({ crlPem: "x", crlThisUpdate: t(thisDays), crlNextUpdate: t(nextDays) });
  it("is due when missing, past half its validity, or within the reminder window", () => {
    expect(crlDue({ crlPem: null, crlThisUpdate: null, crlNextUpdate: null }, t(0), 48 * HOUR_MS)).toBe(true);
    expect(crlDue(row(0, 7), t(3.4), 48 * HOUR_MS)).toBe(false);
    expect(crlDue(row(0, 7), t(3.5), 48 * HOUR_MS)).toBe(true);
    // A window longer than half the validity decides first.
    expect(crlDue(row(0, 10), t(1), 240 * HOUR_MS)).toBe(true);
    expect(crlDue(row(0, 10), t(1), 200 * HOUR_MS)).toBe(false);
    expect(crlDue(row(0, 10), t(1.7), 200 * HOUR_MS)).toBe(true);
    // Never within the first hour, whatever the window: the new CRL would be due again at once.
    expect(crlDue(row(0, 7), t(0.04), 1000 * HOUR_MS)).toBe(false);
    expect(crlDue(row(0, 7), t(0.05), 1000 * HOUR_MS)).toBe(true);
  });
  it("names the state: ok, soon, expired, missing", () => {
    expect(crlState(null, t(0), 48 * HOUR_MS)).toBe("missing");
    expect(crlState(t(7), t(4.9), 48 * HOUR_MS)).toBe("ok");
    expect(crlState(t(7), t(5), 48 * HOUR_MS)).toBe("soon");
    expect(crlState(t(7), t(7), 48 * HOUR_MS)).toBe("expired");
  });
});

describe("Re-sign CRL", () => {
  it("signs the next number listing every revoked certificate; a wrong password changes nothing", async () => {
    const issued = await issue("revoked.example.com");
    await revokeCertificate(issued.number, { reason: "superseded", caKeyPassword: KEY_PW }, { actor: "admin" });
    const before = await caRow();
    expect(before.crlNumber).toBe(2);

    const wrong = await expectAppError(resignCrl({ caKeyPassword: "not the password" }), "wrong_password", "caKeyPassword");
    expect(wrong.status).toBe(422);
    await expectAppError(resignCrl({ caKeyPassword: "" }), "validation_failed", "caKeyPassword");
    expect((await caRow()).crlPem).toBe(before.crlPem);

    await setCrlNextUpdateDays({ crlNextUpdateDays: "3" });
    const now = new Date(Math.floor(Date.now() / 1000) * 1000 + 2000);
    const r = await resignCrl({ caKeyPassword: KEY_PW }, { now });
    expect(r).toEqual({ crlNumber: 3, thisUpdate: now.toISOString(), nextUpdate: new Date(now.getTime() + 3 * DAY_MS).toISOString(), entries: 1 });
    const after = await storedCrl();
    expect(after.verifyOk).toBe(true);
    expect(after.number).toBe("crlNumber=0x03");
    expect(after.text).toContain(`Serial Number: ${issued.serial}`);
    expect(after.text).toContain("Superseded");
    const status = await getCrlStatus({ now });
    expect(status).toMatchObject({ fileNameRoot: "CrlCA", nextUpdateDays: 3, reminderHours: 48, current: { crlNumber: 3, entries: 1, state: "ok" } });
  });

  it("refuses a next-update period outside 1–10 days next to the field", async () => {
    for (const bad of ["0", "11", "abc", "", "2.5", undefined]) {
      await expectAppError(setCrlNextUpdateDays({ crlNextUpdateDays: bad }), "validation_failed", "crlNextUpdateDays");
    }
    expect((await caRow()).crlNextUpdateDays).toBe(7);
    expect(await setCrlNextUpdateDays({ crlNextUpdateDays: 10 })).toEqual({ crlNextUpdateDays: 10 });
  });

  it("is not_configured without a CA server", async () => {
    await reinitializeCaServer();
    await expectAppError(resignCrl({ caKeyPassword: KEY_PW }), "not_configured");
    await expectAppError(setCrlNextUpdateDays({ crlNextUpdateDays: 3 }), "not_configured");
    await expectAppError(getCrlStatus(), "not_configured");
  });
});

describe("CRL numbers under concurrency", () => {
  it("concurrent signers never publish two CRLs with one number; the stored number is the highest", async () => {
    const { privateKey } = await unlockCa(await caRow(), KEY_PW);
    const results = await Promise.allSettled(Array.from({ length: 6 }, () => signCurrentCrl(privateKey)));
    const numbers = results.filter((r) => r.status === "fulfilled").map((r) => (r as PromiseFulfilledResult<{ crlNumber: number }>).value.crlNumber);
    for (const r of results) if (r.status === "rejected") expect((r.reason as { code?: string }).code).toBe("conflict");
    expect(new Set(numbers).size).toBe(numbers.length);
    expect(numbers.length).toBeGreaterThan(0);
    const row = await caRow();
    expect(row.crlNumber).toBe(Math.max(...numbers));
    expect((await storedCrl()).number).toBe(`crlNumber=0x${row.crlNumber.toString(16).toUpperCase().padStart(2, "0")}`);
  });

  it("a signer whose number was taken meanwhile stores nothing (conditional update on crlNumber)", async () => {
    const { privateKey } = await unlockCa(await caRow(), KEY_PW);
    const before = await caRow();
    const database = await getDb();
    // This signer read the row before another signer published CRL number 2.
    await signCurrentCrl(privateKey);
    const stale = { ...before };
    await expectAppError(
      database.$transaction((tx) =>
        signCrlInTransaction({ certificate: tx.certificate, auditEntry: tx.auditEntry, auditHead: tx.auditHead, $executeRaw: tx.$executeRaw.bind(tx), caServer: { ...tx.caServer, findUnique: async () => stale } as unknown as typeof tx.caServer }, privateKey, new Date()),
      ),
      "conflict",
    );
    const after = await caRow();
    expect(after.crlNumber).toBe(2);
    expect((await storedCrl()).number).toBe("crlNumber=0x02");
  });

  it("refuses a key that is not the configured CA's", async () => {
    const other = scratch.path(`other-${++counter}.key`);
    opensslOk(["genpkey", "-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-256", "-out", other]);
    const { createPrivateKey } = await import("node:crypto");
    await expectAppError(signCurrentCrl(createPrivateKey(readFileSync(other))), "key_mismatch");
    expect((await caRow()).crlNumber).toBe(1);
  });
});

describe("CRL numbers across Reinitialize (RFC 5280 5.2.3)", () => {
  const crlNumberFile = async () => join((await caRow()).directory, "CrlCA.crlnumber");

  it("configured again with the existing key, the CA goes on after its last CRL number", async () => {
    // Configuration signed 1; two more.
    await resignCrl({ caKeyPassword: KEY_PW });
    await resignCrl({ caKeyPassword: KEY_PW });
    expect((await storedCrl()).number).toBe("crlNumber=0x03");
    const file = await crlNumberFile();
    // OpenSSL's crlnumber format: the next number, hex.
    expect(readFileSync(file, "utf8")).toBe("04\n");

    await reinitializeCaServer();
    expect(readFileSync(file, "utf8")).toBe("04\n");
    await configureCaServer({ fileNameRoot: "CrlCA", directory, keyPassword: KEY_PW, issuedValidityDays: 30, adminEmail: "camgr@example.com" });
    const first = await storedCrl();
    expect(first.verifyOk).toBe(true);
    expect(first.number).toBe("crlNumber=0x04");
    await resignCrl({ caKeyPassword: KEY_PW });
    const next = await storedCrl();
    expect(next.verifyOk).toBe(true);
    expect(next.number).toBe("crlNumber=0x05");
    expect(readFileSync(file, "utf8")).toBe("06\n");
  });

  it("reinitialize writes the file from the database for a CA whose CRLs predate it", async () => {
    await resignCrl({ caKeyPassword: KEY_PW });
    const file = await crlNumberFile();
    rmSync(file);
    await reinitializeCaServer();
    expect(readFileSync(file, "utf8")).toBe("03\n");
    await configureCaServer({ fileNameRoot: "CrlCA", directory, keyPassword: KEY_PW, issuedValidityDays: 30, adminEmail: "camgr@example.com" });
    expect((await storedCrl()).number).toBe("crlNumber=0x03");
  });

  it("a new key pair starts again at 1 and keeps the old CA's file aside", async () => {
    await resignCrl({ caKeyPassword: KEY_PW });
    const row = await caRow();
    const file = await crlNumberFile();
    await reinitializeCaServer();
    // A lone certificate: the new-key mode renames it, and the old CA's numbers with it.
    rmSync(join(row.directory, "CrlCA.key"));
    await configureCaServer({ fileNameRoot: "CrlCA", directory, keyPassword: KEY_PW, subject: { CN: "Second CRL Test CA" }, caValidityDays: 3650, issuedValidityDays: 365, adminEmail: "camgr@example.com" });
    caFile = join(row.directory, "CrlCA.cer");
    const crl = await storedCrl();
    expect(crl.verifyOk).toBe(true);
    expect(crl.number).toBe("crlNumber=0x01");
    expect(readFileSync(file, "utf8")).toBe("02\n");
    expect(readFileSync(`${file}.old`, "utf8")).toBe("03\n");
  });

  it("a crlnumber file that cannot be written does not stop signing; Reinitialize then refuses and deletes nothing", async () => {
    const file = await crlNumberFile();
    // Something in the way that a rename cannot replace (as a full or read-only disk would refuse).
    rmSync(file);
    mkdirSync(join(file, "blocked"), { recursive: true });
    const logged = vi.spyOn(console, "error").mockImplementation(() => {});
    try {
      const signed = await resignCrl({ caKeyPassword: KEY_PW });
      expect(signed.crlNumber).toBe(2);
      expect((await storedCrl()).number).toBe("crlNumber=0x02");
      expect(logged.mock.calls.flat().join(" ")).toContain("CrlCA.crlnumber could not be updated");
    } finally {
      logged.mockRestore();
    }
    const e = await expectAppError(reinitializeCaServer(), "directory_unwritable");
    expect(e.message).toContain(`${file} cannot be written`);
    expect(e.message).toContain("the last CRL number (2)");
    expect((await caRow()).crlNumber).toBe(2);
    expect(readdirSync(join(file, "..")).filter((n) => n.endsWith(".tmp"))).toEqual([]);

    rmSync(file, { recursive: true });
    await reinitializeCaServer();
    expect(readFileSync(file, "utf8")).toBe("03\n");
  });

  it("a crlnumber file that is not a number refuses the existing-key mode, naming it, and writes nothing", async () => {
    const file = await crlNumberFile();
    await reinitializeCaServer();
    writeFileSync(file, "not a number\n");
    const e = await expectAppError(
      configureCaServer({ fileNameRoot: "CrlCA", directory, keyPassword: KEY_PW, issuedValidityDays: 30, adminEmail: "camgr@example.com" }),
      "validation_failed",
      "fileNameRoot",
    );
    expect(e.message).toBe(`${file} does not hold a hexadecimal CRL number`);
    expect(await (await getDb()).caServer.count()).toBe(0);
    expect(readFileSync(file, "utf8")).toBe("not a number\n");
  });
});

describe("POST /api/v1/admin/crl", () => {
  async function bearer(): Promise<Record<string, string>> {
    const admin = await insertAdmin(`crl-admin-${++counter}`);
    const { token } = await createApiToken(admin.id, { name: "crl test" });
    return { authorization: `Bearer ${token}`, "content-type": "application/json" };
  }
  const call = (handler: (req: Request, ctx: unknown) => Promise<Response>, method: string, headers: Record<string, string>, body?: unknown) =>
    handler(new Request("http://127.0.0.1/api/v1/admin/crl", { method, headers, body: body === undefined ? undefined : JSON.stringify(body) }), {});

  it("signs with the password (200), 422 on caKeyPassword when wrong, 401 without credentials, 404 without a CA", async () => {
    const headers = await bearer();
    const ok = await call(postCrlApi, "POST", headers, { caKeyPassword: KEY_PW });
    expect(ok.status).toBe(200);
    const body = await ok.json();
    expect(Object.keys(body).sort()).toEqual(["crlNumber", "nextUpdate", "thisUpdate"]);
    expect(body.crlNumber).toBe(2);
    expect(new Date(body.nextUpdate).getTime() - new Date(body.thisUpdate).getTime()).toBe(7 * DAY_MS);
    expect((await storedCrl()).number).toBe("crlNumber=0x02");

    const wrong = await call(postCrlApi, "POST", headers, { caKeyPassword: "nope nope nope" });
    expect(wrong.status).toBe(422);
    expect((await wrong.json()).error.fields.caKeyPassword).toBeTruthy();
    const missing = await call(postCrlApi, "POST", headers, {});
    expect(missing.status).toBe(422);
    expect((await missing.json()).error).toMatchObject({ code: "validation_failed", fields: { caKeyPassword: "Enter the password of the CA private key" } });
    expect((await call(postCrlApi, "POST", { "content-type": "application/json" }, { caKeyPassword: KEY_PW })).status).toBe(401);
    expect((await call(postCrlApi, "POST", headers, "not an object")).status).toBe(400);

    const patched = await call(patchCrlApi, "PATCH", headers, { crlNextUpdateDays: 2 });
    expect(await patched.json()).toEqual({ crlNextUpdateDays: 2 });
    expect((await call(patchCrlApi, "PATCH", headers, { crlNextUpdateDays: 30 })).status).toBe(422);
    const status = await (await call(getCrlApi, "GET", headers)).json();
    expect(status).toMatchObject({ fileNameRoot: "CrlCA", nextUpdateDays: 2, current: { crlNumber: 2, entries: 0, state: "ok" }, keepUnlocked: { enabled: false, unlocked: false } });

    await reinitializeCaServer();
    const none = await call(postCrlApi, "POST", headers, { caKeyPassword: KEY_PW });
    expect(none.status).toBe(404);
    expect((await none.json()).error.code).toBe("not_configured");
  });

  it("uses PORTCULLIS_CRL_REMINDER_HOURS for the state", async () => {
    const restore = setEnv({ PORTCULLIS_CRL_REMINDER_HOURS: "1000" });
    try {
      expect((await getCrlStatus()).current?.state).toBe("soon");
      expect((await getCrlStatus()).reminderHours).toBe(1000);
    } finally {
      restore();
    }
    expect((await getCrlStatus()).current?.state).toBe("ok");
  });
});
