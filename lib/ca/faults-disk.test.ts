/**
 * Faults: a read-only or full file system under the CA directory, and under the database.
 * Root ignores file permissions, so these use real file systems: small tmpfs mounts
 * (read-only, or filled to the last byte). Each case wants a clear error, no database
 * row and no file left half-written — not even a temporary one.
 * Mounting needs root (CAP_SYS_ADMIN); without it the cases are skipped and say why.
 */
import { afterAll, describe, expect, it } from "vitest";
import { spawnSync } from "node:child_process";
import { appendFileSync, copyFileSync, mkdirSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { join } from "node:path";
import { closeDb, getDb } from "../db/index.ts";
import { resetSecretCache } from "../crypto/secret-box.ts";
import { opensslOk } from "../pki/test-support.ts";
import { expectAppError } from "../test-support/app-error.ts";
import { useIsolatedDataDir } from "../test-support/data-dir.ts";
import { setEnv } from "../test-support/env.ts";
import { scratchDir } from "../test-support/scratch-dir.ts";
import { insertAdmin } from "../auth/test-support.ts";
import { createApiToken } from "../auth/api-tokens.ts";
import { POST as issueApi } from "../../app/api/v1/admin/csrs/[id]/issue/route.ts";
import { configureCaServer, type ConfigureCaInput } from "./configure-server.ts";
import { reinitializeCaServer } from "./reinitialize-server.ts";
import { submitRequest } from "./requests.ts";
import { issueRequest } from "./issue-request.ts";

const scratch = useIsolatedDataDir("faults-disk", { PORTCULLIS_PUBLIC_URL: undefined, DATABASE_URL: undefined });
// Mount points live apart from the data directory, so each is unmounted before its parent is removed.
const mountRoot = scratchDir("faults-mounts");
const KEY_PW = "disk fault test CA password";
const mounts: string[] = [];
let counter = 0;

function mount(dir: string, options: string): { ok: true } | { ok: false; reason: string } {
  mkdirSync(dir, { recursive: true });
  const r = spawnSync("mount", ["-t", "tmpfs", "-o", options, "tmpfs", dir], { encoding: "utf8" });
  if (r.error || r.status !== 0) return { ok: false, reason: (r.error?.message ?? r.stderr).trim() || `mount exited ${r.status}` };
  mounts.push(dir);
  return { ok: true };
}

/** Can this process mount a tmpfs? (root with CAP_SYS_ADMIN; CI containers may say no.) */
const probe = (() => {
  const dir = mountRoot.path("probe");
  const r = mount(dir, "size=16k");
  if (r.ok) {
    spawnSync("umount", [dir]);
    mounts.pop();
  }
  return r;
})();
if (!probe.ok) console.warn(`Disk fault tests skipped: cannot mount a tmpfs here (${probe.reason}); they need root with CAP_SYS_ADMIN.`);

afterAll(async () => {
  await closeDb();
  for (const m of mounts.reverse()) spawnSync("umount", ["-l", m]);
  mountRoot.remove();
});

/** Fills the file system holding `dir` to the last byte. */
function fill(dir: string): string {
  const filler = join(dir, "filler");
  const chunk = Buffer.alloc(4096, 1);
  for (;;) {
    try {
      appendFileSync(filler, chunk);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === "ENOSPC") break;
      throw e;
    }
  }
  for (const size of [1024, 256, 64, 16, 1]) {
    try {
      for (;;) appendFileSync(filler, chunk.subarray(0, size));
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== "ENOSPC") throw e;
    }
  }
  return filler;
}

function input(directory: string, over: Partial<ConfigureCaInput> = {}): ConfigureCaInput {
  return { fileNameRoot: "DiskCA", directory, keyPassword: KEY_PW, subject: { CN: "Disk Fault Test CA" }, caValidityDays: 3650, issuedValidityDays: 365, adminEmail: "camgr@example.com", ...over };
}

async function configuredRows(): Promise<number> {
  return (await getDb()).caServer.count();
}

function csr(cn: string): string {
  const base = scratch.path(`csr-${++counter}`);
  opensslOk(["req", "-new", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-keyout", `${base}.key`, "-subj", `/CN=${cn}`, "-addext", `subjectAltName=DNS:${cn}`, "-out", `${base}.csr`]);
  return readFileSync(`${base}.csr`, "utf8");
}

// Mounts small tmpfs file systems: needs root (mount permission); without it the probe fails and this is skipped, its reason in probe.reason.
describe.skipIf(!probe.ok)("CA directory on a read-only or full file system", () => {
  it("read-only: configuring says so and writes nothing", async () => {
    const ro = mountRoot.path("ro");
    expect(mount(ro, "ro,size=64k")).toEqual({ ok: true });
    for (const dir of [ro, join(ro, "sub")]) {
      const e = await expectAppError(configureCaServer(input(dir)), "directory_unwritable", "directory");
      expect(e.message).toMatch(/read-only file system/);
      expect(await configuredRows()).toBe(0);
    }
    expect(readdirSync(ro)).toEqual([]);
  });

  it("full: a new CA says no space is left and leaves no file behind, not even a temporary one", async () => {
    const full = mountRoot.path("full");
    expect(mount(full, "size=64k")).toEqual({ ok: true });
    fill(full);
    const e = await expectAppError(configureCaServer(input(full)), "directory_unwritable");
    expect(e.message).toMatch(/no space left on the device/);
    expect(e.status).toBe(422);
    expect(await configuredRows()).toBe(0);
    expect(readdirSync(full)).toEqual(["filler"]);
  });

  it("full: an existing key and certificate whose SRL cannot be created are refused the same way", async () => {
    const elsewhere = mountRoot.path("existing-source");
    await configureCaServer(input(elsewhere));
    await reinitializeCaServer();
    const full = mountRoot.path("full-existing");
    expect(mount(full, "size=64k")).toEqual({ ok: true });
    for (const ext of ["key", "cer"]) copyFileSync(join(elsewhere, `DiskCA.${ext}`), join(full, `DiskCA.${ext}`));
    fill(full);
    const e = await expectAppError(configureCaServer(input(full)), "directory_unwritable");
    expect(e.message).toMatch(/no space left on the device/);
    expect(await configuredRows()).toBe(0);
    expect(readdirSync(full).sort()).toEqual(["DiskCA.cer", "DiskCA.key", "filler"]);
  });

  it("full after configuration: issuance still succeeds (the database is the truth), the SRL stays whole, and catches up once there is room", async () => {
    const dir = mountRoot.path("issue-full");
    expect(mount(dir, "size=64k")).toEqual({ ok: true });
    await configureCaServer(input(dir));
    const filler = fill(dir);
    const srl = join(dir, "DiskCA.srl");
    const first = await submitRequest({ csr: csr("one.example.com"), contact: { name: "Tina Tech" }, filename: "one" });
    const r = await issueRequest(first.id, { usage: "tls", caKeyPassword: KEY_PW, fingerprintVerified: true }, { actor: "admin" });
    expect(r.number).toBe(1);
    expect(readFileSync(srl, "utf8")).toBe("01\n");
    expect(readdirSync(dir).sort()).toEqual(["DiskCA.cer", "DiskCA.crlnumber", "DiskCA.key", "DiskCA.srl", "filler"]);

    rmSync(filler);
    const second = await submitRequest({ csr: csr("two.example.com"), contact: { name: "Tina Tech" }, filename: "two" });
    expect((await issueRequest(second.id, { usage: "tls", caKeyPassword: KEY_PW, fingerprintVerified: true }, { actor: "admin" })).number).toBe(2);
    expect(readFileSync(srl, "utf8")).toBe("03\n");
    await reinitializeCaServer();
  });
});

// Mounts small tmpfs file systems: needs root (mount permission); without it the probe fails and this is skipped, its reason in probe.reason.
describe.skipIf(!probe.ok)("database on a full file system", () => {
  it("issuance answers 503 with a clear message, and nothing was issued", async () => {
    const dataDir = mountRoot.path("full-data");
    expect(mount(dataDir, "size=4m")).toEqual({ ok: true });
    await closeDb();
    const restore = setEnv({ PORTCULLIS_DATA_DIR: dataDir });
    resetSecretCache();
    try {
      await configureCaServer(input("ca"));
      const req = await submitRequest({ csr: csr("db.example.com"), contact: { name: "Tina Tech" }, filename: "db" });
      const admin = await insertAdmin("disk-admin");
      const { token } = await createApiToken(admin.id, { name: "disk test" });
      const db = await getDb();
      // Give the pages of the write-ahead log nowhere to go.
      await db.$executeRawUnsafe("PRAGMA wal_checkpoint(TRUNCATE)");
      fill(dataDir);
      const res = await issueApi(
        new Request(`http://127.0.0.1/api/v1/admin/csrs/${req.id}/issue`, {
          method: "POST",
          headers: { authorization: `Bearer ${token}`, "content-type": "application/json" },
          body: JSON.stringify({ usage: "tls", caKeyPassword: KEY_PW, fingerprintVerified: true }),
        }),
        { params: Promise.resolve({ id: req.id }) },
      );
      const body = (await res.json()) as { error?: { code: string; message: string } };
      expect(res.status, JSON.stringify(body)).toBe(503);
      expect(body.error?.code).toBe("unavailable");
      expect(body.error?.message).toMatch(/disk is full/);
      rmSync(join(dataDir, "filler"));
      expect((await db.certificateRequest.findUniqueOrThrow({ where: { id: req.id } })).status).toBe("pending");
      expect(await db.certificate.count()).toBe(0);
      expect((await db.caServer.findUniqueOrThrow({ where: { id: 1 } })).nextNumber).toBe(1);
    } finally {
      await closeDb();
      restore();
      resetSecretCache();
    }
  });
});
