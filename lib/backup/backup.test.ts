/**
 * Backup and restore, judged by what matters after a disaster: the restored CA key opens
 * with its password (OpenSSL), old certificates and the CRL come back byte for byte, the
 * OCSP responder still answers, and the next certificate gets the next number — no gap,
 * no reuse — and verifies against the restored CA certificate.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { existsSync, mkdirSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync } from "node:fs";
import { spawn } from "node:child_process";
import { join } from "node:path";
import { gunzipSync, gzipSync } from "node:zlib";
import { Prisma } from "../db/generated/sqlite/client.ts";
import { closeDb, getDb } from "../db/index.ts";
import { resetSecretCache } from "../crypto/secret-box.ts";
import { createFirstAdmin } from "../auth/admins.ts";
import { verifyAuditChain } from "../audit/audit-log.ts";
import { configureCaServer } from "../ca/configure-server.ts";
import { submitRequest } from "../ca/requests.ts";
import { issueRequest } from "../ca/issue-request.ts";
import { currentCrl, revokeCertificate } from "../ca/revoke-certificate.ts";
import { certificateFile } from "../ca/certificates.ts";
import { answerOcsp } from "../ca/ocsp-responder.ts";
import { ensureDefaultMessagingCertificate, exportDefaultMessagingCertificate } from "../iot/messaging-certificates.ts";
import { processOutbox } from "../mail/outbox.ts";
import { startTestSmtpServer, type TestSmtpServer } from "../mail/test-smtp-server.ts";
import { openssl, opensslOk } from "../pki/test-support.ts";
import { expectAppError } from "../test-support/app-error.ts";
import { setEnv } from "../test-support/env.ts";
import { scratchDir } from "../test-support/scratch-dir.ts";
import { BACKUP_MODELS, SEALED_COLUMNS, delegateOf } from "./models.ts";
import { encodeRow, readBackup } from "./format.ts";
import { createBackup } from "./create-backup.ts";
import { createTestDatabase } from "../test-support/postgres.ts";
import { restoreBackup } from "./restore-backup.ts";

const KEY_PW = "backup test CA password";
const SMTP_USER = "mailer";
const SMTP_PW = "smtp password 42";
const scratch = scratchDir("backup");
let restoreEnv: (() => void) | undefined;
let smtp: TestSmtpServer;
let counter = 0;

/** Points the app at `dataDir` (and `extra` variables), with a fresh connection and secret. */
async function useDataDir(dataDir: string, extra: Record<string, string | undefined> = {}): Promise<void> {
  await closeDb();
  restoreEnv?.();
  restoreEnv = setEnv({ DATABASE_URL: undefined, PORTCULLIS_SECRET: undefined, PORTCULLIS_PUBLIC_URL: undefined, PORTCULLIS_ADMIN_USER: undefined, PORTCULLIS_ADMIN_PASSWORD: undefined, ...extra, PORTCULLIS_DATA_DIR: dataDir });
  resetSecretCache();
}

function csr(cn: string): string {
  const base = scratch.path(`csr-${++counter}`);
  opensslOk(["req", "-new", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-keyout", `${base}.key`, "-subj", `/CN=${cn}`, "-addext", `subjectAltName=DNS:${cn}`, "-out", `${base}.csr`]);
  return readFileSync(`${base}.csr`, "utf8");
}

async function submit(cn: string): Promise<string> {
  const r = await submitRequest({ csr: csr(cn), contact: { name: "Tina Tech", email: "tina@example.com" }, hostname: cn, instance: "PROD", filename: cn.split(".")[0] });
  return r.id;
}

async function issue(id: string) {
  return issueRequest(id, { usage: "tls", caKeyPassword: KEY_PW, fingerprintVerified: true }, { actor: "admin" });
}

/** Waits until every e-mail is sent (submitRequest sends after answering). */
async function settleOutbox(): Promise<void> {
  const db = await getDb();
  for (let i = 0; i < 200 && (await db.outboxMessage.count({ where: { status: { not: "sent" } } })) > 0; i++) await new Promise((r) => setTimeout(r, 50));
  expect(await db.outboxMessage.count({ where: { status: { not: "sent" } } })).toBe(0);
}

/** Every table as JSON rows, sorted, so two databases compare with toEqual. */
async function dumpAll(): Promise<Record<string, string[]>> {
  const db = await getDb();
  const out: Record<string, string[]> = {};
  for (const m of BACKUP_MODELS) out[m] = (await delegateOf(db, m).findMany()).map((r) => JSON.stringify(encodeRow(r))).sort();
  return out;
}

/** `openssl ocsp` asks about `leafFile`; the responder answers in-process; OpenSSL reads the answer. */
async function ocspStatus(caFile: string, leafFile: string): Promise<string> {
  const req = scratch.path(`ocsp-${++counter}.req`);
  const resp = scratch.path(`ocsp-${counter}.resp`);
  opensslOk(["ocsp", "-issuer", caFile, "-sha256", "-cert", leafFile, "-no_nonce", "-reqout", req]);
  writeFileSync(resp, await answerOcsp(readFileSync(req)));
  const r = openssl(["ocsp", "-respin", resp, "-issuer", caFile, "-sha256", "-cert", leafFile, "-CAfile", caFile, "-no_nonce"]);
  return r.stdout + r.stderr;
}

function run(cmd: string, args: string[], env: Record<string, string | undefined>): Promise<{ code: number | null; out: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { env: { ...process.env, ...env }, stdio: ["ignore", "pipe", "pipe"] });
    let out = "";
    child.stdout.on("data", (d) => (out += d));
    child.stderr.on("data", (d) => (out += d));
    child.on("error", reject);
    child.on("exit", (code) => resolve({ code, out }));
  });
}

/** The source instance: a configured CA, an administrator, two certificates (one revoked), one pending request, a CA client file. */
const source = {
  dir: scratch.path("source"),
  caDir: scratch.path("source/ca"),
  backup: "",
  backupNoSecret: "",
  certs: [] as { number: number; serial: string; pem: string; file: string }[],
  pendingId: "",
  crlPem: "",
  keyBytes: Buffer.alloc(0),
  dump: {} as Record<string, string[]>,
  inBackup: {} as Record<string, string[]>,
};

beforeAll(async () => {
  smtp = await startTestSmtpServer({ auth: { user: SMTP_USER, pass: SMTP_PW } });
  await useDataDir(source.dir);
  await createFirstAdmin({ username: "admin", password: "a long admin password" });
  await ensureDefaultMessagingCertificate();
  await configureCaServer({
    fileNameRoot: "BackupCA",
    directory: "ca",
    keyPassword: KEY_PW,
    subject: { O: "Example", CN: "Backup Test CA" },
    caValidityDays: 3650,
    issuedValidityDays: 365,
    smtp: { host: "127.0.0.1", port: smtp.port, secure: false, username: SMTP_USER, password: SMTP_PW },
    adminEmail: "camgr@example.com",
  });
  for (const cn of ["one.example.com", "two.example.com"]) {
    const r = await issue(await submit(cn));
    const file = scratch.path(`source-cert-${r.number}.pem`);
    writeFileSync(file, r.pem);
    source.certs.push({ number: r.number, serial: r.serial, pem: r.pem, file });
  }
  await revokeCertificate(2, { reason: "keyCompromise", caKeyPassword: KEY_PW }, { actor: "admin" });
  source.pendingId = await submit("three.example.com");
  await settleOutbox();
  mkdirSync(join(source.dir, "client"), { recursive: true, mode: 0o700 });
  writeFileSync(join(source.dir, "client", "Device.cer"), source.certs[0].pem, { mode: 0o644 });
  source.crlPem = (await currentCrl()).pem;
  source.keyBytes = readFileSync(join(source.caDir, "BackupCA.key"));
  mkdirSync(scratch.path("backups"));
  source.backup = (await createBackup({ out: scratch.path("backups"), includeSecret: true })).file;
  source.backupNoSecret = (await createBackup({ out: scratch.path("backups/no-secret.json.gz") })).file;
  source.dump = await dumpAll();
  // What was backed up is what the database held (the audit log aside: it records each backup).
  const inFile = await readBackup(source.backup);
  for (const m of BACKUP_MODELS) source.inBackup[m] = (inFile.tables.get(m) ?? []).map((r) => JSON.stringify(encodeRow(r))).sort();
  for (const m of BACKUP_MODELS) if (m !== "AuditEntry" && m !== "AuditHead") expect(source.inBackup[m], m).toEqual(source.dump[m]);
  expect(source.dump.AuditEntry).toEqual(expect.arrayContaining(source.inBackup.AuditEntry));
  await closeDb();
}, 120_000);

afterAll(async () => {
  await closeDb();
  restoreEnv?.();
  resetSecretCache();
  await smtp?.stop();
  scratch.remove();
});

describe("the backup file", () => {
  it("lists every model of the schema, parents first", () => {
    expect([...BACKUP_MODELS].sort()).toEqual(Object.values(Prisma.ModelName).sort());
    expect(BACKUP_MODELS.indexOf("Admin")).toBeLessThan(BACKUP_MODELS.indexOf("Session"));
    expect(BACKUP_MODELS.indexOf("Admin")).toBeLessThan(BACKUP_MODELS.indexOf("ApiToken"));
  });

  it("is gzipped JSON of mode 0600 with a manifest, every table, the CA and client files; the secret only when asked", async () => {
    expect(statSync(source.backup).mode & 0o777).toBe(0o600);
    expect(source.backup).toMatch(/portcullis-backup-\d{8}T\d{6}Z\.json\.gz$/);
    const b = await readBackup(source.backup);
    expect(b.manifest).toMatchObject({ formatVersion: 1, databaseProvider: "sqlite", dataDir: source.dir, secret: { included: true } });
    expect(b.manifest.migrations.length).toBeGreaterThan(0);
    expect(b.manifest.tables.Certificate.rows).toBe(2);
    expect(b.manifest.tables.CertificateRequest.rows).toBe(3);
    expect(Object.keys(b.manifest.tables).sort()).toEqual([...BACKUP_MODELS].sort());
    const names = b.files.map((f) => `${f.meta.role}:${f.meta.dataRelative}:${f.meta.mode.toString(8)}`).sort();
    expect(names).toEqual(["ca:ca/BackupCA.cer:600", "ca:ca/BackupCA.crlnumber:600", "ca:ca/BackupCA.key:600", "ca:ca/BackupCA.srl:600", "client:client/Device.cer:644"]);
    // The CA key is in the backup exactly as on disk: still encrypted with the administrator's password.
    const key = b.files.find((f) => f.meta.path.endsWith("BackupCA.key"))!.content;
    expect(key.equals(source.keyBytes)).toBe(true);
    expect(key.toString()).toMatch(/^-----BEGIN ENCRYPTED PRIVATE KEY-----/);

    const plain = await readBackup(source.backupNoSecret);
    expect(plain.manifest.secret).toEqual({ included: false, id: b.manifest.secret.id });
    expect(plain.secret).toBeNull();
    const text = gunzipSync(readFileSync(source.backupNoSecret)).toString();
    expect(text).not.toContain(b.secret!.toString("hex"));
    expect(text).not.toContain(SMTP_PW);
  });

  it("knows every column holding a sealed value", async () => {
    const doc = JSON.parse(gunzipSync(readFileSync(source.backup)).toString()) as { tables: Record<string, Record<string, unknown>[]> };
    const sealedLooking = /^v1\.[A-Za-z0-9+/=]+\.[A-Za-z0-9+/=]+\.[A-Za-z0-9+/=]*$/;
    const found = new Set<string>();
    for (const [model, rows] of Object.entries(doc.tables)) for (const r of rows) for (const [k, v] of Object.entries(r)) if (typeof v === "string" && sealedLooking.test(v)) found.add(`${model}.${k}`);
    const registered = SEALED_COLUMNS.map((c) => `${c.model}.${c.field}`);
    expect([...found].filter((c) => !registered.includes(c))).toEqual([]);
    // The fixture really exercises them.
    expect([...found].sort()).toEqual(expect.arrayContaining(["CaServer.smtpPasswordEnc", "CaServer.ocspKeyEnc", "MessagingCertificate.privateKeyEnc", "OutboxMessage.transportEnc"]));
  });
});

describe("restore after the data directory is destroyed", () => {
  it("brings back the database and files; the next certificate is number 3 and verifies against the restored CA", async () => {
    rmSync(source.dir, { recursive: true, force: true });
    await useDataDir(source.dir);
    const r = await restoreBackup(source.backup);
    expect(r.secret).toBe("restored");
    expect(r.unreadableSealed).toEqual([]);
    expect(r.srl).toEqual({ path: join(source.caDir, "BackupCA.srl"), nextNumber: 3 });
    expect(r.auditChain.ok).toBe(true);

    // Every row is back as it was (the audit log gains the restore's own entry).
    const after = await dumpAll();
    for (const m of BACKUP_MODELS) if (m !== "AuditEntry" && m !== "AuditHead") expect(after[m], m).toEqual(source.dump[m]);
    expect(after.AuditEntry).toEqual(expect.arrayContaining(source.inBackup.AuditEntry));
    expect(after.AuditEntry).toHaveLength(source.inBackup.AuditEntry.length + 1);
    const db = await getDb();
    expect((await db.auditEntry.findFirst({ orderBy: { seq: "desc" } }))?.action).toBe("backup.restore");
    expect((await verifyAuditChain()).ok).toBe(true);

    // Files, with their modes; the key opens with the same password.
    const key = join(source.caDir, "BackupCA.key");
    const cer = join(source.caDir, "BackupCA.cer");
    expect(readFileSync(key).equals(source.keyBytes)).toBe(true);
    for (const f of [key, cer, join(source.caDir, "BackupCA.srl"), join(source.dir, "secret.key")]) expect(statSync(f).mode & 0o777, f).toBe(0o600);
    expect(statSync(join(source.dir, "client", "Device.cer")).mode & 0o777).toBe(0o644);
    expect(openssl(["pkey", "-in", key, "-passin", `pass:${KEY_PW}`, "-noout"]).status).toBe(0);
    expect(openssl(["pkey", "-in", key, "-passin", "pass:not the password", "-noout"]).status).not.toBe(0);
    expect(readFileSync(join(source.caDir, "BackupCA.srl"), "utf8")).toBe("03\n");

    // Old certificates download; the CRL is the same and verifies; OCSP still knows the revoked one.
    for (const c of source.certs) expect((await certificateFile(c.number, "pem")).body).toBe(c.pem);
    expect((await currentCrl()).pem).toBe(source.crlPem);
    const crlFile = scratch.path("restored.crl");
    writeFileSync(crlFile, (await currentCrl()).pem);
    expect(openssl(["crl", "-in", crlFile, "-CAfile", cer, "-noout", "-verify"]).stderr + openssl(["crl", "-in", crlFile, "-CAfile", cer, "-noout", "-verify"]).stdout).toMatch(/verify OK/);
    const ocsp = await ocspStatus(cer, source.certs[1].file);
    expect(ocsp).toContain("Response verify OK");
    expect(ocsp).toContain(`${source.certs[1].file}: revoked`);

    // The pending request is issued as number 3: no gap, no reuse; a fresh serial; OpenSSL accepts it.
    smtp.messages.length = 0;
    const third = await issue(source.pendingId);
    expect(third.number).toBe(3);
    expect(source.certs.map((c) => c.serial)).not.toContain(third.serial);
    const leaf = scratch.path("third.pem");
    writeFileSync(leaf, third.pem);
    expect(opensslOk(["verify", "-x509_strict", "-purpose", "sslserver", "-CAfile", cer, leaf])).toMatch(/OK/);
    expect(readFileSync(join(source.caDir, "BackupCA.srl"), "utf8")).toBe("04\n");
    // The restored secret opens the sealed SMTP password: the server requires it.
    const mail = await smtp.waitFor((m) => m.to.includes("tina@example.com") && m.subject.includes("Certificate number 3"));
    expect(mail.user).toBe(SMTP_USER);
    expect(third.emailSentTo).toBe("tina@example.com");
    expect((await exportDefaultMessagingCertificate()).privateKey).toMatch(/BEGIN PRIVATE KEY/);
  });

  it("refuses a database that holds data unless forced, changing nothing; forced, it replaces it and keeps differing files as .old", async () => {
    // The database now holds certificate 3, which the backup does not know.
    const before = await dumpAll();
    const srl = join(source.caDir, "BackupCA.srl");
    const e = await expectAppError(restoreBackup(source.backup), "conflict");
    expect(e.message).toMatch(/already holds data \(.*3 Certificate/);
    expect(e.message).toMatch(/--force/);
    expect(await dumpAll()).toEqual(before);
    expect(readFileSync(srl, "utf8")).toBe("04\n");
    expect(readdirSync(source.caDir).filter((n) => n.endsWith(".tmp"))).toEqual([]);

    // A lease a running instance holds: the restore warns that Portcullis may still be running.
    await (await getDb()).jobLease.create({ data: { name: "expiry-warnings", holder: "4242-running", leaseUntil: new Date(Date.now() + 3600_000) } });
    const r = await restoreBackup(source.backup, { force: true });
    expect(r.warnings.join(" ")).toMatch(/"expiry-warnings" is leased by 4242-running .*stop it/);
    expect(r.keptAside).toEqual([{ from: srl, to: `${srl}.old` }]);
    expect(readFileSync(`${srl}.old`, "utf8")).toBe("04\n");
    expect(readFileSync(srl, "utf8")).toBe("03\n");
    const db = await getDb();
    expect(await db.certificate.count()).toBe(2);
    expect(await db.jobLease.count({ where: { holder: { not: null } } })).toBe(0);
    expect((await db.caServer.findUniqueOrThrow({ where: { id: 1 } })).nextNumber).toBe(3);
  });
});

describe("damaged backups", () => {
  async function damaged(name: string, edit: (doc: Record<string, any>) => void): Promise<string> {
    const doc = JSON.parse(gunzipSync(readFileSync(source.backup)).toString());
    edit(doc);
    const file = scratch.path(`damaged-${name}.json.gz`);
    writeFileSync(file, gzipSync(JSON.stringify(doc)));
    return file;
  }

  it("are refused before anything is written: truncated, corrupted, a wrong checksum, not a backup", async () => {
    const bytes = readFileSync(source.backup);
    const truncated = scratch.file("truncated.json.gz", bytes.subarray(0, Math.floor(bytes.length / 2)));
    const flipped = Buffer.from(bytes);
    flipped[Math.floor(flipped.length / 2)] ^= 0xff;
    const corrupted = scratch.file("corrupted.json.gz", flipped);
    const rowEdited = await damaged("row", (d) => (d.tables.Certificate[0].subject = "CN=someone else"));
    const keyEdited = await damaged("key", (d) => {
      const p = Object.keys(d.files).find((k) => k.endsWith(".key"))!;
      d.files[p] = Buffer.from(Buffer.from(d.files[p], "base64").toString().replace("A", "B")).toString("base64");
    });
    const rowRemoved = await damaged("count", (d) => d.tables.Certificate.pop());
    const fileRemoved = await damaged("file", (d) => delete d.files[Object.keys(d.files)[0]]);
    const elsewhere = await damaged("path", (d) => {
      const m = d.manifest.files.find((f: { role: string }) => f.role === "client");
      d.files["/etc/evil"] = d.files[m.path];
      delete d.files[m.path];
      Object.assign(m, { path: "/etc/evil", dataRelative: null });
    });
    const newer = await damaged("newer", (d) => d.manifest.migrations.push("9999_from_the_future"));
    const notBackup = scratch.file("other.json.gz", gzipSync(JSON.stringify({ hello: "world" })));
    const plain = scratch.file("plain.json", JSON.stringify({ format: "portcullis-backup" }));

    const target = scratch.path("never-written");
    await useDataDir(target);
    const cases: [string, RegExp][] = [
      [truncated, /truncated or damaged/],
      [corrupted, /damaged|not JSON|not a Portcullis backup/],
      [rowEdited, /checksum of table Certificate does not match/],
      [keyEdited, /checksum of .*BackupCA\.key does not match/],
      [rowRemoved, /Certificate has 1 rows where the manifest says 2/],
      [fileRemoved, /content of .* is missing/],
      [elsewhere, /\/etc\/evil is not in the CA client directory/],
      [newer, /newer version of Portcullis .*9999_from_the_future/],
      [notBackup, /is not a Portcullis backup/],
      [plain, /does not decompress/],
      [scratch.path("missing.json.gz"), /cannot be read \(ENOENT\)/],
    ];
    for (const [file, message] of cases) {
      const e = await expectAppError(restoreBackup(file), "bad_request");
      expect(e.message, file).toMatch(message);
    }
    // Nothing was created: no database, no files, not even the directory.
    expect(existsSync(target)).toBe(false);
    expect(existsSync("/etc/evil")).toBe(false);
  });
});

describe("restore with another server secret", () => {
  it("says which sealed values cannot be opened, clears those that would break issuance, and the CA works on", async () => {
    const target = scratch.path("no-secret");
    await useDataDir(target);
    const r = await restoreBackup(source.backupNoSecret);
    expect(r.secret).toBe("mismatch");
    // Every e-mail of the fixture was sent: their sealed SMTP settings are not needed any more.
    expect(r.unreadableSealed.map((u) => `${u.what}: ${u.count}`).sort()).toEqual(["messaging server private keys: 1", "the CA server's SMTP password: 1", "the OCSP responder's private key: 1"]);
    expect(r.unreadableSealed.find((u) => u.what.includes("SMTP password"))?.action).toMatch(/re-?entered|entered again/);
    expect(r.warnings.join(" ")).toMatch(/creates a new one/);
    expect(existsSync(join(target, "secret.key"))).toBe(false);

    // The relocated CA lives under the new data directory.
    const db = await getDb();
    const ca = await db.caServer.findUniqueOrThrow({ where: { id: 1 } });
    expect(ca.directory).toBe(join(target, "ca"));
    expect(ca.smtpPasswordEnc).toBeNull();
    const cer = join(target, "ca", "BackupCA.cer");
    // No responder key yet: tryLater (3) until the password is typed.
    const pending = await ocspStatus(cer, source.certs[0].file);
    expect(pending).toMatch(/tryLater|Responder Error: trylater/i);

    const third = await issue(source.pendingId);
    expect(third.number).toBe(3);
    const leaf = scratch.path("third-other-secret.pem");
    writeFileSync(leaf, third.pem);
    expect(opensslOk(["verify", "-x509_strict", "-purpose", "sslserver", "-CAfile", cer, leaf])).toMatch(/OK/);
    expect(await ocspStatus(cer, leaf)).toContain(`${leaf}: good`);
    // The mail went without the password: the server turned it away; it waits in the outbox.
    const queued = await db.outboxMessage.findMany({ where: { status: { not: "sent" } } });
    expect(queued.length).toBeGreaterThan(0);
  });

  it("with PORTCULLIS_SECRET set to the original secret, everything opens", async () => {
    const secretHex = (await readBackup(source.backup)).secret!.toString("hex");
    const target = scratch.path("env-secret");
    await useDataDir(target, { PORTCULLIS_SECRET: secretHex });
    const r = await restoreBackup(source.backupNoSecret);
    expect(r.secret).toBe("same");
    expect(r.unreadableSealed).toEqual([]);
    expect((await exportDefaultMessagingCertificate()).privateKey).toMatch(/BEGIN PRIVATE KEY/);
    expect(await processOutbox({ now: new Date(Date.now() + 86400_000) })).toMatchObject({ failed: 0 });
  });
});

describe("the commands", () => {
  const tsx = join(process.cwd(), "node_modules", ".bin", "tsx");

  it("npm run backup / restore: back up, restore elsewhere, refuse again without --force", async () => {
    const pkg = JSON.parse(readFileSync(join(process.cwd(), "package.json"), "utf8")) as { scripts: Record<string, string> };
    expect(pkg.scripts).toMatchObject({ backup: "tsx scripts/backup.ts", restore: "tsx scripts/restore.ts" });
    await closeDb();
    const from = scratch.path("cli-from");
    const to = scratch.path("cli-to");
    const out = scratch.path("cli-backups");
    mkdirSync(out);
    // A source made by restoring the fixture (its CA directory then lives under cli-from).
    await useDataDir(from);
    await restoreBackup(source.backup);
    await closeDb();
    const env = { PORTCULLIS_SECRET: undefined, DATABASE_URL: undefined, PORTCULLIS_DATA_DIR: from };

    const backup = await run(tsx, ["scripts/backup.ts", "--out", out], env);
    expect(backup.code, backup.out).toBe(0);
    expect(backup.out).toMatch(/Backup written: .*portcullis-backup-\d{8}T\d{6}Z\.json\.gz/);
    expect(backup.out).toMatch(/server secret is NOT in this backup/);
    const file = join(out, readdirSync(out)[0]);
    expect(statSync(file).mode & 0o777).toBe(0o600);
    expect((await run(tsx, ["scripts/backup.ts", "--bogus"], env)).code).toBe(2);

    const toEnv = { ...env, PORTCULLIS_DATA_DIR: to };
    const restored = await run(tsx, ["scripts/restore.ts", file], toEnv);
    expect(restored.code, restored.out).toBe(0);
    expect(restored.out).toContain(`wrote ${join(to, "ca", "BackupCA.key")} (was ${join(from, "ca", "BackupCA.key")})`);
    expect(restored.out).toMatch(/next certificate number: 3/);
    expect(restored.out).toMatch(/server secret here is not the one/);
    expect(restored.out).toMatch(/SMTP password \(1\): removed/);
    expect(openssl(["pkey", "-in", join(to, "ca", "BackupCA.key"), "-passin", `pass:${KEY_PW}`, "-noout"]).status).toBe(0);

    const again = await run(tsx, ["scripts/restore.ts", file], toEnv);
    expect(again.code).toBe(1);
    expect(again.out).toMatch(/Restore failed: The database already holds data/);
    expect((await run(tsx, ["scripts/restore.ts"], toEnv)).code).toBe(2);

    await useDataDir(to);
    const db = await getDb();
    expect((await db.caServer.findUniqueOrThrow({ where: { id: 1 } })).directory).toBe(join(to, "ca"));
    expect((await issue(source.pendingId)).number).toBe(3);
  }, 120_000);
});

const PG_URL = process.env.PORTCULLIS_TEST_POSTGRES_URL;

// Needs a live PostgreSQL server: the test command starts one and sets PORTCULLIS_TEST_POSTGRES_URL, so it runs there; a bare `vitest run` skips it.
describe.skipIf(!PG_URL)("between SQLite and PostgreSQL", () => {
  let database: { url: string; drop: () => Promise<void> } | undefined;
  let dbUrl = "";

  beforeAll(async () => {
    database = await createTestDatabase("backup");
    dbUrl = database.url;
  });

  afterAll(async () => {
    await closeDb();
    await database?.drop();
  });

  it("a SQLite backup restores into PostgreSQL, numbering goes on there, and its backup restores into SQLite", async () => {
    const pgDir = scratch.path("pg");
    await useDataDir(pgDir, { DATABASE_URL: dbUrl });
    const r = await restoreBackup(source.backup);
    expect(r.secret).toBe("restored");
    const after = await dumpAll();
    for (const m of BACKUP_MODELS) if (m !== "AuditEntry" && m !== "AuditHead" && m !== "CaServer" && m !== "ClientRequest" && m !== "CaClient") expect(after[m], m).toEqual(source.dump[m]);
    for (const c of source.certs) expect((await certificateFile(c.number, "pem")).body).toBe(c.pem);
    expect((await currentCrl()).pem).toBe(source.crlPem);
    const third = await issue(source.pendingId);
    expect(third.number).toBe(3);
    const cer = join(pgDir, "ca", "BackupCA.cer");
    const leaf = scratch.path("third-pg.pem");
    writeFileSync(leaf, third.pem);
    expect(opensslOk(["verify", "-x509_strict", "-purpose", "sslserver", "-CAfile", cer, leaf])).toMatch(/OK/);
    expect((await verifyAuditChain()).ok).toBe(true);

    const fromPg = await createBackup({ out: scratch.path("backups/from-pg.json.gz"), includeSecret: true });
    expect(fromPg.manifest.databaseProvider).toBe("postgres");
    const pgDump = await dumpAll();

    const back = scratch.path("pg-back-to-sqlite");
    await useDataDir(back);
    await restoreBackup(fromPg.file);
    const sqliteDump = await dumpAll();
    for (const m of ["Admin", "Certificate", "CertificateRequest", "OutboxMessage", "MessagingCertificate", "IotCaCertificate", "ExpiryWarning"]) expect(sqliteDump[m], m).toEqual(pgDump[m]);
    const db = await getDb();
    expect((await db.caServer.findUniqueOrThrow({ where: { id: 1 } })).nextNumber).toBe(4);
    expect(readFileSync(join(back, "ca", "BackupCA.srl"), "utf8")).toBe("04\n");
    expect((await verifyAuditChain()).ok).toBe(true);
  }, 120_000);
});
