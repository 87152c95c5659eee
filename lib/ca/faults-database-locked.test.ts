/**
 * Fault: the SQLite database is locked by another process (a raw connection holding a
 * write transaction, as a second instance or a sqlite3 shell would). Issuance waits for
 * the lock up to the busy timeout (10 s, lib/db/index.ts) and succeeds when it is released
 * in time; past it, the caller gets a clear 503 `unavailable` — never a 500 — and nothing
 * was issued: the request is still pending and the number was not used. The same for a
 * bulk issuance, whose chunk is written on the client's own connection.
 */
import { beforeAll, describe, expect, it } from "vitest";
import { spawn, type ChildProcess } from "node:child_process";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { getDb, sqliteFile } from "../db/index.ts";
import { opensslOk } from "../pki/test-support.ts";
import { useIsolatedDataDir } from "../test-support/data-dir.ts";
import { insertAdmin } from "../auth/test-support.ts";
import { createApiToken } from "../auth/api-tokens.ts";
import { POST as issueApi } from "../../app/api/v1/admin/csrs/[id]/issue/route.ts";
import { POST as bulkApi } from "../../app/api/v1/admin/csrs/bulk-issue/route.ts";
import { configureCaServer } from "./configure-server.ts";
import { submitRequest } from "./requests.ts";
import { issueRequest } from "./issue-request.ts";

const scratch = useIsolatedDataDir("faults-db", { PORTCULLIS_PUBLIC_URL: undefined, DATABASE_URL: undefined });
const KEY_PW = "locked db test CA password";
let counter = 0;
let srlFile = "";

function csr(cn: string): string {
  const base = scratch.path(`csr-${++counter}`);
  opensslOk(["req", "-new", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-keyout", `${base}.key`, "-subj", `/CN=${cn}`, "-addext", `subjectAltName=DNS:${cn}`, "-out", `${base}.csr`]);
  return readFileSync(`${base}.csr`, "utf8");
}

async function pending(cn: string): Promise<string> {
  return (await submitRequest({ csr: csr(cn), contact: { name: "Tina Tech" }, filename: cn.split(".")[0] })).id;
}

// Another process: BEGIN IMMEDIATE takes SQLite's write lock and keeps it for argv[2] ms.
const LOCKER = `
const Database = require("better-sqlite3");
const db = new Database(process.argv[1]);
db.exec("BEGIN IMMEDIATE");
process.stdout.write("locked\\n");
setTimeout(() => { db.exec("COMMIT"); db.close(); process.exit(0); }, Number(process.argv[2]));
`;

/** Resolves once the other process holds the lock; `released` resolves when it has let go. */
function holdLock(ms: number): Promise<{ child: ChildProcess; released: Promise<void> }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ["-e", LOCKER, sqliteFile(), String(ms)], { cwd: process.cwd(), stdio: ["ignore", "pipe", "inherit"] });
    const released = new Promise<void>((r) => child.on("exit", () => r()));
    child.stdout!.on("data", (d) => String(d).includes("locked") && resolve({ child, released }));
    child.on("error", reject);
    child.on("exit", (code) => code !== 0 && reject(new Error(`the locking process exited with ${code}`)));
  });
}

async function state() {
  const db = await getDb();
  const ca = await db.caServer.findUniqueOrThrow({ where: { id: 1 } });
  return { nextNumber: ca.nextNumber, certificates: await db.certificate.count(), srl: readFileSync(srlFile, "utf8") };
}

beforeAll(async () => {
  await configureCaServer({ fileNameRoot: "LockCA", directory: "ca", keyPassword: KEY_PW, subject: { CN: "Lock Test CA" }, caValidityDays: 3650, issuedValidityDays: 365, adminEmail: "camgr@example.com" });
  srlFile = join(scratch.dir, "ca", "LockCA.srl");
});

describe("a database locked by another process", () => {
  it("issuance waits for a short lock and then succeeds", async () => {
    const id = await pending("short.example.com");
    const lock = await holdLock(2000);
    const t0 = Date.now();
    const r = await issueRequest(id, { usage: "tls", caKeyPassword: KEY_PW, fingerprintVerified: true }, { actor: "admin" });
    expect(Date.now() - t0).toBeGreaterThanOrEqual(1500);
    expect(r.number).toBe(1);
    await lock.released;
    expect(await state()).toEqual({ nextNumber: 2, certificates: 1, srl: "02\n" });
  });

  it("a lock held past the busy timeout answers 503 unavailable with Retry-After, issues nothing, and the retry succeeds", async () => {
    const id = await pending("long.example.com");
    const admin = await insertAdmin("locked-admin");
    const { token } = await createApiToken(admin.id, { name: "lock test" });
    const call = () =>
      issueApi(
        new Request(`http://127.0.0.1/api/v1/admin/csrs/${id}/issue`, {
          method: "POST",
          headers: { authorization: `Bearer ${token}`, "content-type": "application/json" },
          body: JSON.stringify({ usage: "tls", caKeyPassword: KEY_PW, fingerprintVerified: true }),
        }),
        { params: Promise.resolve({ id }) },
      );
    const before = await state();
    const lock = await holdLock(13_000);
    const res = await call();
    expect(res.status).toBe(503);
    expect(res.headers.get("retry-after")).toBe("5");
    const body = (await res.json()) as { error: { code: string; message: string } };
    expect(body.error.code).toBe("unavailable");
    expect(body.error.message).toMatch(/database is busy/);
    await lock.released;

    const db = await getDb();
    expect((await db.certificateRequest.findUniqueOrThrow({ where: { id } })).status).toBe("pending");
    expect(await state()).toEqual(before);

    const retry = await call();
    expect(retry.status).toBe(201);
    expect(((await retry.json()) as { number: number }).number).toBe(before.nextNumber);
    expect(await state()).toEqual({ nextNumber: before.nextNumber + 1, certificates: before.certificates + 1, srl: "03\n" });
  }, 60_000);

  it("a bulk issuance under a lock held past the busy timeout answers 503 too, stores nothing of its chunk, and the retry issues it", async () => {
    const fleet = [await pending("f1.example.com"), await pending("f2.example.com"), await pending("f3.example.com")];
    const admin = await insertAdmin("locked-bulk-admin");
    const { token } = await createApiToken(admin.id, { name: "lock test" });
    const bulk = () =>
      bulkApi(
        new Request("http://127.0.0.1/api/v1/admin/csrs/bulk-issue", {
          method: "POST",
          headers: { authorization: `Bearer ${token}`, "content-type": "application/json" },
          body: JSON.stringify({ ids: fleet, usage: "tls", caKeyPassword: KEY_PW, fingerprintVerified: true }),
        }),
        { params: Promise.resolve({}) },
      );
    const before = await state();
    const lock = await holdLock(13_000);
    // The chunk's claims, certificates and audit entries go straight to the client's connection: the same busy timeout applies.
    const res = await bulk();
    expect(res.status).toBe(503);
    expect(res.headers.get("retry-after")).toBe("5");
    expect(((await res.json()) as { error: { code: string } }).error.code).toBe("unavailable");
    await lock.released;
    const db = await getDb();
    for (const f of fleet) expect((await db.certificateRequest.findUniqueOrThrow({ where: { id: f } })).status).toBe("pending");
    expect(await state()).toEqual(before);

    const retry = await bulk();
    expect(retry.status).toBe(200);
    expect(((await retry.json()) as { issued: { number: number }[] }).issued.map((x) => x.number)).toEqual([0, 1, 2].map((i) => before.nextNumber + i));
    expect((await state()).certificates).toBe(before.certificates + 3);
  }, 60_000);
});
