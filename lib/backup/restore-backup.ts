/**
 * Restores a backup made by createBackup, into SQLite or PostgreSQL whichever made it.
 * Order: verify the whole file (format, every checksum) → refuse a database in use or
 * files in the way unless forced → write the files to temporary names → replace every
 * table in one transaction → move the files into place (anything replaced is kept as
 * `.old`). The SRL is written from CaServer.nextNumber: the database is the truth. Run
 * it with Portcullis stopped.
 */
import { promises as fs } from "node:fs";
import { randomBytes } from "node:crypto";
import { basename, dirname, isAbsolute, join, resolve, sep } from "node:path";
import { getDb, databaseProvider } from "../db/index.ts";
import { loadMigrations } from "../db/migrate.ts";
import { env } from "../env.ts";
import { AppError } from "../errors/app-error.ts";
import { resetSecretCache } from "../crypto/secret-box.ts";
import { appendAudit, verifyAuditChain, type ChainCheck } from "../audit/audit-log.ts";
import { freeOldName, serverFilePaths, srlText } from "../ca/server-files.ts";
import { BACKUP_MODELS, BOOKKEEPING_MODELS, PATH_COLUMNS, SEALED_COLUMNS, delegateOf, type BackupModel } from "./models.ts";
import { readBackup, secretId, type Backup, type Manifest } from "./format.ts";
import { currentSecret, secretKeyFile } from "./secret.ts";

export interface RestoreOptions {
  /** Replace a database that already holds data, and files that differ (kept as `.old`). */
  force?: boolean;
  now?: Date;
}

export type SecretOutcome =
  /** The secret in force is the one the backup's sealed values were made with. */
  | "same"
  /** The backup carried the secret; it was written to `<data dir>/secret.key`. */
  | "restored"
  /** The backup holds no sealed values. */
  | "not-needed"
  /** The secret in force differs: sealed values cannot be opened. */
  | "mismatch";

export interface RestoreResult {
  file: string;
  manifest: Manifest;
  rows: Record<string, number>;
  /** Files written, each with the path it had in the backup. */
  files: { path: string; from: string }[];
  /** Files that were in the way, kept under another name. */
  keptAside: { from: string; to: string }[];
  srl: { path: string; nextNumber: number } | null;
  secret: SecretOutcome;
  /** With a mismatched secret: which sealed values cannot be opened, and what was done about them. */
  unreadableSealed: { what: string; count: number; action: string }[];
  auditChain: ChainCheck;
  warnings: string[];
}

const CHUNK = 200;

interface PlannedFile {
  target: string;
  from: string;
  content: Buffer;
  mode: number;
}

interface StagedFile extends PlannedFile {
  tmp: string;
  /** The target exists with other content: it is kept aside when the staged file is placed. */
  replaces: boolean;
}

function remap(oldDataDir: string, newDataDir: string) {
  return (p: string): string => {
    if (p === oldDataDir) return newDataDir;
    if (p.startsWith(oldDataDir + sep)) return join(newDataDir, p.slice(oldDataDir.length + 1));
    return p;
  };
}

async function readIfExists(path: string): Promise<Buffer | null> {
  try {
    return await fs.readFile(path);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === "ENOENT") return null;
    throw new AppError("directory_unwritable", `${path} cannot be read (${(e as NodeJS.ErrnoException).code ?? "error"}); nothing was changed`, { cause: e });
  }
}

function fileError(e: unknown, path: string): AppError {
  if (e instanceof AppError) return e;
  const code = (e as NodeJS.ErrnoException).code;
  const reason = code === "EACCES" || code === "EPERM" ? "permission denied" : code === "EROFS" ? "read-only file system" : code === "ENOSPC" ? "no space left on the device" : code === "ENOTDIR" || code === "EEXIST" ? "a file is in the way" : (code ?? (e as Error).message);
  return new AppError("directory_unwritable", `${path} cannot be written (${reason})`, { cause: e });
}

async function stage(p: PlannedFile, force: boolean): Promise<StagedFile> {
  const existing = await readIfExists(p.target);
  const replaces = existing !== null && !existing.equals(p.content);
  if (replaces && !force) throw new AppError("conflict", `${p.target} exists with other content. Restoring replaces it (keeping it as ${basename(p.target)}.old): run again with --force to do so. Nothing was changed.`);
  const tmp = join(dirname(p.target), `.${basename(p.target)}.${randomBytes(6).toString("hex")}.tmp`);
  try {
    await fs.mkdir(dirname(p.target), { recursive: true, mode: 0o700 });
    const fh = await fs.open(tmp, "wx", p.mode);
    try {
      await fh.writeFile(p.content);
      await fh.sync();
    } finally {
      await fh.close();
    }
    await fs.chmod(tmp, p.mode);
  } catch (e) {
    await fs.rm(tmp, { force: true }).catch(() => undefined);
    throw fileError(e, p.target);
  }
  return { ...p, tmp, replaces };
}

/** Counts of rows that make a database "in use" (bookkeeping tables aside). */
async function rowsInUse(): Promise<Record<string, number>> {
  const db = await getDb();
  const out: Record<string, number> = {};
  for (const m of BACKUP_MODELS) {
    if (BOOKKEEPING_MODELS.includes(m)) continue;
    const n = await delegateOf(db, m).count();
    if (n) out[m] = n;
  }
  return out;
}

function checkFileBinding(backup: Backup, oldDataDir: string): void {
  const ca = backup.tables.get("CaServer")?.[0] as { directory?: string } | undefined;
  const caDir = ca?.directory ? (isAbsolute(ca.directory) ? resolve(ca.directory) : resolve(oldDataDir, ca.directory)) : null;
  const clientDir = join(oldDataDir, "client");
  for (const { meta } of backup.files) {
    const expected = meta.role === "ca" ? caDir : clientDir;
    if (dirname(meta.path) !== expected) throw new AppError("bad_request", `The backup's file ${meta.path} is not in the ${meta.role === "ca" ? "CA server" : "CA client"} directory it records; nothing was changed`);
    if (meta.dataRelative !== null && join(oldDataDir, meta.dataRelative) !== meta.path) throw new AppError("bad_request", `The backup's file ${meta.path} does not match its place in the data directory; nothing was changed`);
  }
}

/** Restores `file`. Throws AppError, having changed nothing, when the file or the target is not fit. */
export async function restoreBackup(file: string, opts: RestoreOptions = {}): Promise<RestoreResult> {
  const force = !!opts.force;
  const now = opts.now ?? new Date();
  const backup = await readBackup(file);
  const { manifest } = backup;
  const provider = databaseProvider();
  const knownMigrations = new Set(loadMigrations(provider).map((m) => m.id));
  const newer = manifest.migrations.filter((id) => !knownMigrations.has(id));
  if (newer.length) throw new AppError("bad_request", `${file} was made by a newer version of Portcullis (database migrations ${newer.join(", ")} are unknown here); restore it with that version or a later one. Nothing was changed.`);
  const oldDataDir = manifest.dataDir;
  const newDataDir = env().dataDir;
  checkFileBinding(backup, oldDataDir);
  const mapPath = remap(oldDataDir, newDataDir);
  const warnings: string[] = [];

  // The secret the restored instance will run with.
  const inForce = currentSecret();
  const backupId = manifest.secret.id;
  let secretOutcome: SecretOutcome;
  let writeSecret = false;
  if (backupId === null) secretOutcome = "not-needed";
  else if (inForce?.source === "env") {
    secretOutcome = secretId(inForce.key) === backupId ? "same" : "mismatch";
    if (secretOutcome === "mismatch" && backup.secret) warnings.push("PORTCULLIS_SECRET is set and differs from the server secret in the backup; the backup's secret was not written. Unset PORTCULLIS_SECRET (the restored secret.key is then used) or set it to the backup's secret, and restore again with --force.");
  } else if (backup.secret) {
    writeSecret = true;
    secretOutcome = inForce && secretId(inForce.key) === backupId ? "same" : "restored";
  } else secretOutcome = inForce && secretId(inForce.key) === backupId ? "same" : "mismatch";

  // Rows as they will be inserted.
  const prepared = new Map<BackupModel, Record<string, unknown>[]>();
  for (const model of BACKUP_MODELS) {
    const rows = (backup.tables.get(model) ?? []).map((r) => ({ ...r }));
    for (const pc of PATH_COLUMNS) if (pc.model === model) for (const r of rows) if (typeof r[pc.field] === "string") r[pc.field] = mapPath(r[pc.field] as string);
    // Leases belong to the processes that held them, which are gone.
    if (model === "JobLease") for (const r of rows) Object.assign(r, { holder: null, leaseUntil: null });
    prepared.set(model, rows);
  }
  const unreadableSealed: RestoreResult["unreadableSealed"] = [];
  if (secretOutcome === "mismatch") {
    for (const sc of SEALED_COLUMNS) {
      const rows = prepared.get(sc.model) ?? [];
      const count = rows.filter((r) => r[sc.field] !== null && r[sc.field] !== undefined && (sc.matters?.(r) ?? true)).length;
      if (!count) continue;
      let action = "";
      if (sc.model === "CaServer" && sc.field === "smtpPasswordEnc") {
        // Left in place it would make every e-mail (and each issuance that sends one) fail.
        for (const r of rows) r.smtpPasswordEnc = null;
        action = "removed: e-mail is sent without authentication until the SMTP password is entered again";
      } else if (sc.model === "CaServer" && sc.field === "ocspKeyEnc") {
        for (const r of rows) Object.assign(r, { ocspCertificatePem: null, ocspKeyEnc: null, ocspNotAfter: null });
        action = "removed: a new OCSP responder certificate is issued when the CA key password is next typed (until then OCSP answers tryLater)";
      } else if (sc.model === "OutboxMessage") action = "kept: these e-mails fail with \"cannot be decrypted\" and show on the E-mail page";
      else if (sc.model === "MessagingCertificate") action = "kept: the keys cannot be exported; upload or generate new messaging certificates";
      else action = "kept";
      unreadableSealed.push({ what: sc.what, count, action });
    }
  }

  // Files: those of the backup at their new places, the SRL from the database, the secret.
  const planned: PlannedFile[] = [];
  const ca = prepared.get("CaServer")?.[0] as { directory: string; fileNameRoot: string; nextNumber: number } | undefined;
  const srlPath = ca ? serverFilePaths(ca.directory, ca.fileNameRoot).srl : null;
  for (const f of backup.files) {
    const target = f.meta.dataRelative !== null ? join(newDataDir, f.meta.dataRelative) : f.meta.path;
    if (target === srlPath) continue;
    planned.push({ target, from: f.meta.path, content: f.content, mode: f.meta.mode });
  }
  let srl: RestoreResult["srl"] = null;
  if (ca && srlPath) {
    const inBackup = backup.files.find((f) => f.meta.role === "ca" && basename(f.meta.path) === basename(srlPath));
    const text = srlText(ca.nextNumber);
    if (inBackup && inBackup.content.toString("utf8") !== text) warnings.push(`The backup's ${basename(srlPath)} said ${JSON.stringify(inBackup.content.toString("utf8").trim())}; it was rewritten from the database's next certificate number (${ca.nextNumber}).`);
    planned.push({ target: srlPath, from: inBackup?.meta.path ?? srlPath, content: Buffer.from(text), mode: 0o600 });
    srl = { path: srlPath, nextNumber: ca.nextNumber };
  }
  if (writeSecret) planned.push({ target: secretKeyFile(), from: "(server secret)", content: Buffer.from(backup.secret!.toString("hex") + "\n"), mode: 0o600 });

  const db = await getDb();
  const inUse = await rowsInUse();
  if (Object.keys(inUse).length && !force) {
    const list = Object.entries(inUse).map(([m, n]) => `${n} ${m}`).join(", ");
    throw new AppError("conflict", `The database already holds data (${list}). Restoring replaces all of it: run again with --force to do so. Nothing was changed.`);
  }
  const leases = await db.jobLease.findMany({ where: { leaseUntil: { gt: now } } });
  for (const l of leases) warnings.push(`The scheduled job "${l.name}" is leased by ${l.holder ?? "an instance"} until ${l.leaseUntil!.toISOString()}: if Portcullis is running, stop it and restore again.`);

  const staged: StagedFile[] = [];
  try {
    for (const p of planned) staged.push(await stage(p, force));
    await db.$transaction(
      async (tx) => {
        for (const model of [...BACKUP_MODELS].reverse()) await delegateOf(tx, model).deleteMany();
        for (const model of BACKUP_MODELS) {
          const rows = prepared.get(model)!;
          for (let i = 0; i < rows.length; i += CHUNK) await delegateOf(tx, model).createMany({ data: rows.slice(i, i + CHUNK) });
        }
        await appendAudit(tx, {
          action: "backup.restore",
          actor: "system",
          target: `backup:${basename(file)}`,
          at: now,
          details: { file: resolve(file), createdAt: manifest.createdAt, fromProvider: manifest.databaseProvider, toProvider: provider, force, secret: secretOutcome },
        });
      },
      { timeout: 10 * 60_000, maxWait: 60_000 },
    );
  } catch (e) {
    for (const s of staged) await fs.rm(s.tmp, { force: true }).catch(() => undefined);
    throw e;
  }

  const keptAside: RestoreResult["keptAside"] = [];
  const placed: RestoreResult["files"] = [];
  for (const s of staged) {
    try {
      if (s.replaces) {
        const to = await freeOldName(s.target);
        await fs.rename(s.target, to);
        keptAside.push({ from: s.target, to });
      }
      await fs.rename(s.tmp, s.target);
      placed.push({ path: s.target, from: s.from });
    } catch (e) {
      for (const rest of staged) await fs.rm(rest.tmp, { force: true }).catch(() => undefined);
      throw new AppError("directory_unwritable", `The database was restored, but ${s.target} could not be put in place (${(e as NodeJS.ErrnoException).code ?? (e as Error).message}); fix the cause and restore again with --force`, { cause: e });
    }
  }
  resetSecretCache();

  const rows = Object.fromEntries(BACKUP_MODELS.map((m) => [m, prepared.get(m)!.length]));
  const auditChain = await verifyAuditChain();
  if (!auditChain.ok) warnings.push(`The restored audit log does not verify: entry ${auditChain.problem?.seq}: ${auditChain.problem?.reason}.`);
  if (secretOutcome === "mismatch" && !inForce) warnings.push("No server secret exists here yet: Portcullis creates a new one at its next start, and the sealed values of the backup cannot be opened with it.");
  return { file: resolve(file), manifest, rows, files: placed, keptAside, srl, secret: secretOutcome, unreadableSealed, auditChain, warnings };
}
