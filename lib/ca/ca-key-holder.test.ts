import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { readdirSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { getDb } from "../db/index.ts";
import { openssl, opensslOk } from "../pki/test-support.ts";
import { expectAppError } from "../test-support/app-error.ts";
import { useIsolatedDataDir } from "../test-support/data-dir.ts";
import { setEnv } from "../test-support/env.ts";
import { insertAdmin } from "../auth/test-support.ts";
import { createApiToken } from "../auth/api-tokens.ts";
import { runJobOnce } from "../jobs/scheduler.ts";
import { DELETE as lockApi, POST as unlockApi } from "../../app/api/v1/admin/ca/unlock/route.ts";
import { configureCaServer } from "./configure-server.ts";
import { reinitializeCaServer } from "./reinitialize-server.ts";
import { submitRequest } from "./requests.ts";
import { issueRequest } from "./issue-request.ts";
import { unlockCa } from "./server-context.ts";
import { caUnlockStatus, crlResignJob, lockCa, resignWithHeldKey, unlockCaForCrlSigning } from "./ca-key-holder.ts";

const scratch = useIsolatedDataDir("ca-key-holder", { PORTCULLIS_PUBLIC_URL: undefined, PORTCULLIS_CA_KEEP_UNLOCKED: undefined, PORTCULLIS_CRL_REMINDER_HOURS: undefined });
const KEY_PW = "key holder test CA password";
const DAY_MS = 86_400_000;
let counter = 0;
let caFile = "";
let restoreEnv: (() => void) | undefined;

const caRow = async () => (await getDb()).caServer.findUniqueOrThrow({ where: { id: 1 } });

async function configure(root = "HeldCA") {
  await configureCaServer({ fileNameRoot: root, directory: `ca-${++counter}`, keyPassword: KEY_PW, subject: { O: "Example", CN: "Held Key Test CA" }, caValidityDays: 3650, issuedValidityDays: 365, adminEmail: "camgr@example.com" });
  caFile = join((await caRow()).directory, `${root}.cer`);
}

function crlText(pem: string): { verified: boolean; number: string } {
  const file = scratch.path(`crl-${++counter}.pem`);
  writeFileSync(file, pem);
  const v = openssl(["crl", "-in", file, "-CAfile", caFile, "-noout", "-verify"]);
  return { verified: v.status === 0 && /verify OK/.test(v.stdout + v.stderr), number: opensslOk(["crl", "-in", file, "-noout", "-crlnumber"]).trim() };
}

/** Every file under `dir`, recursively. */
function allFiles(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const p = join(dir, name);
    return statSync(p).isDirectory() ? allFiles(p) : [p];
  });
}

beforeEach(async () => {
  await lockCa();
  const db = await getDb();
  if (await db.caServer.count()) await reinitializeCaServer();
  await configure();
});

afterEach(async () => {
  restoreEnv?.();
  restoreEnv = undefined;
  await lockCa();
});

function keepUnlocked() {
  restoreEnv = setEnv({ PORTCULLIS_CA_KEEP_UNLOCKED: "true" });
}

describe("the keep-unlocked mode is off by default", () => {
  it("refuses to unlock with 409 naming the variable; nothing is held", async () => {
    const e = await expectAppError(unlockCaForCrlSigning({ caKeyPassword: KEY_PW }, { actor: "admin" }), "conflict");
    expect(e.status).toBe(409);
    expect(e.message).toContain("PORTCULLIS_CA_KEEP_UNLOCKED=true");
    expect(caUnlockStatus()).toMatchObject({ enabled: false, unlocked: false });
  });
});

describe("with PORTCULLIS_CA_KEEP_UNLOCKED=true", () => {
  it("a wrong password unlocks nothing; the right one holds the key until Lock", async () => {
    keepUnlocked();
    await expectAppError(unlockCaForCrlSigning({ caKeyPassword: "not the password" }, { actor: "alice" }), "wrong_password", "caKeyPassword");
    await expectAppError(unlockCaForCrlSigning({}, { actor: "alice" }), "validation_failed", "caKeyPassword");
    expect(caUnlockStatus().unlocked).toBe(false);
    const r = await unlockCaForCrlSigning({ caKeyPassword: KEY_PW }, { actor: "alice" });
    expect(r).toMatchObject({ unlocked: true, until: "restart", crl: null });
    expect(caUnlockStatus()).toMatchObject({ enabled: true, unlocked: true, unlockedBy: "alice" });
    expect(await lockCa()).toEqual({ unlocked: false });
    expect(caUnlockStatus().unlocked).toBe(false);
  });

  it("the crl-resign job re-signs when the CRL is due, not before, and not once locked", async () => {
    keepUnlocked();
    const first = await caRow();
    await unlockCaForCrlSigning({ caKeyPassword: KEY_PW }, { actor: "admin" });
    const t0 = first.crlThisUpdate!.getTime();

    // One day in: fresh, nothing signed.
    expect(await runJobOnce(crlResignJob, { now: new Date(t0 + DAY_MS) })).toBe(true);
    expect((await caRow()).crlNumber).toBe(1);

    // 3.6 days in: past half of 7; a new CRL from then, which OpenSSL verifies.
    const due = new Date(t0 + 3.6 * DAY_MS);
    expect(await runJobOnce(crlResignJob, { now: due })).toBe(true);
    const second = await caRow();
    expect(second.crlNumber).toBe(2);
    expect(second.crlThisUpdate!.getTime()).toBe(Math.floor(due.getTime() / 1000) * 1000);
    expect(crlText(second.crlPem!)).toEqual({ verified: true, number: "crlNumber=0x02" });

    // Locked: due again, but nothing is signed.
    await lockCa();
    expect(await runJobOnce(crlResignJob, { now: new Date(due.getTime() + 6.9 * DAY_MS) })).toBe(true);
    expect((await caRow()).crlNumber).toBe(2);
  });

  it("signs at once when unlocking finds the CRL due", async () => {
    keepUnlocked();
    const row = await caRow();
    const now = new Date(row.crlNextUpdate!.getTime() - 3600_000);
    const r = await unlockCaForCrlSigning({ caKeyPassword: KEY_PW }, { actor: "admin", now });
    expect(r.crl?.crlNumber).toBe(2);
    expect(crlText((await caRow()).crlPem!)).toEqual({ verified: true, number: "crlNumber=0x02" });
  });

  it("issuance still asks for the password while the key is unlocked", async () => {
    keepUnlocked();
    await unlockCaForCrlSigning({ caKeyPassword: KEY_PW }, { actor: "admin" });
    const base = scratch.path(`csr-${++counter}`);
    opensslOk(["req", "-new", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-keyout", `${base}.key`, "-subj", "/CN=leaf.example.com", "-out", `${base}.csr`]);
    const req = await submitRequest({ csr: readFileSync(`${base}.csr`, "utf8"), contact: { name: "Tina" }, filename: "leaf" });
    await expectAppError(issueRequest(req.id, { usage: "tls-client", caKeyPassword: "", fingerprintVerified: true }, { actor: "admin" }), "validation_failed", "caKeyPassword");
    await expectAppError(issueRequest(req.id, { usage: "tls-client", caKeyPassword: "wrong password", fingerprintVerified: true }, { actor: "admin" }), "wrong_password", "caKeyPassword");
    expect(await (await getDb()).certificate.count()).toBe(0);
  });

  it("reinitialize drops the key; a key for a CA that was replaced elsewhere is dropped, not used", async () => {
    keepUnlocked();
    await unlockCaForCrlSigning({ caKeyPassword: KEY_PW }, { actor: "admin" });
    await reinitializeCaServer();
    expect(caUnlockStatus().unlocked).toBe(false);
    await configure();

    // Another instance reinitializes and configures a new CA: this process never hears of it.
    await unlockCaForCrlSigning({ caKeyPassword: KEY_PW }, { actor: "admin" });
    const db = await getDb();
    await db.caServer.delete({ where: { id: 1 } });
    await configure("OtherCA");
    const other = await caRow();
    expect(await resignWithHeldKey(new Date(other.crlNextUpdate!.getTime() - 1000))).toBeNull();
    expect(caUnlockStatus().unlocked).toBe(false);
    expect((await caRow()).crlPem).toBe(other.crlPem);
  });

  it("the unlocked key is written nowhere and logged nowhere", async () => {
    keepUnlocked();
    const logged: string[] = [];
    const spies = (["log", "info", "warn", "error", "debug"] as const).map((m) => vi.spyOn(console, m).mockImplementation((...a: unknown[]) => void logged.push(a.map(String).join(" "))));
    try {
      const row = await caRow();
      await unlockCaForCrlSigning({ caKeyPassword: KEY_PW }, { actor: "admin" });
      await runJobOnce(crlResignJob, { now: new Date(row.crlThisUpdate!.getTime() + 4 * DAY_MS) });
      expect((await caRow()).crlNumber).toBe(2);
    } finally {
      for (const s of spies) s.mockRestore();
    }
    const { privateKey } = await unlockCa(await caRow(), KEY_PW);
    const der = privateKey.export({ format: "der", type: "pkcs8" });
    // The secret scalar: raw, as base64url (JWK), and as base64 of the PKCS#8 bytes that carry it, as a PEM would hold them.
    const d = Buffer.from(privateKey.export({ format: "jwk" }).d!, "base64url");
    const at = der.indexOf(d);
    expect(at).toBeGreaterThan(0);
    const aligned = Math.ceil(at / 3) * 3;
    const b64 = der.subarray(aligned, aligned + 24).toString("base64");
    for (const file of allFiles(scratch.dir)) {
      const bytes = readFileSync(file);
      const text = bytes.toString("latin1").replace(/\s+/g, "");
      expect(bytes.includes(der) || bytes.includes(d) || text.includes(b64) || text.includes(d.toString("base64url")), `${file} holds the CA key`).toBe(false);
    }
    const output = logged.join("\n");
    expect(output).not.toContain("PRIVATE KEY");
    expect(output.replace(/\s+/g, "")).not.toContain(b64);
    expect(output).not.toContain(d.toString("base64url"));
  });
});

describe("POST and DELETE /api/v1/admin/ca/unlock", () => {
  async function headers(): Promise<Record<string, string>> {
    const admin = await insertAdmin(`unlock-admin-${++counter}`);
    const { token } = await createApiToken(admin.id, { name: "unlock test" });
    return { authorization: `Bearer ${token}`, "content-type": "application/json" };
  }
  const req = (method: string, h: Record<string, string>, body?: unknown) =>
    new Request("http://127.0.0.1/api/v1/admin/ca/unlock", { method, headers: h, body: body === undefined ? undefined : JSON.stringify(body) });

  it("409 with the mode off; 200 {unlocked: true, until: restart} with it on; DELETE locks", async () => {
    const h = await headers();
    const off = await unlockApi(req("POST", h, { caKeyPassword: KEY_PW }), {});
    expect(off.status).toBe(409);
    expect((await off.json()).error.message).toContain("PORTCULLIS_CA_KEEP_UNLOCKED");

    keepUnlocked();
    expect((await unlockApi(req("POST", { "content-type": "application/json" }, { caKeyPassword: KEY_PW }), {})).status).toBe(401);
    const wrong = await unlockApi(req("POST", h, { caKeyPassword: "not it at all" }), {});
    expect(wrong.status).toBe(422);
    expect((await wrong.json()).error.fields.caKeyPassword).toBeTruthy();
    const on = await unlockApi(req("POST", h, { caKeyPassword: KEY_PW }), {});
    expect(on.status).toBe(200);
    expect(await on.json()).toEqual({ unlocked: true, until: "restart" });
    expect(caUnlockStatus().unlocked).toBe(true);
    const locked = await lockApi(req("DELETE", h), {});
    expect(locked.status).toBe(200);
    expect(await locked.json()).toEqual({ unlocked: false });
    expect(caUnlockStatus().unlocked).toBe(false);

    await reinitializeCaServer();
    const none = await unlockApi(req("POST", h, { caKeyPassword: KEY_PW }), {});
    expect(none.status).toBe(404);
  });
});
