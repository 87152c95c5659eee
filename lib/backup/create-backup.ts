/**
 * Makes a backup: every table read in one transaction (a consistent snapshot: SQLite's
 * read transaction, PostgreSQL's REPEATABLE READ), plus the CA server's files
 * (`<root>.key` — still encrypted with the administrator's password —, `.cer`, `.srl`,
 * and any other `<root>.*` / `<root>_*` file beside them) and the CA client's files.
 * The server secret goes in only when asked for. Written as one gzipped JSON file,
 * mode 0600, through a temporary name, never over an existing file.
 */
import { promises as fs, readFileSync } from "node:fs";
import { randomBytes } from "node:crypto";
import { basename, isAbsolute, join, relative, resolve, sep } from "node:path";
import { gzipSync } from "node:zlib";
import { getDb, databaseProvider } from "../db/index.ts";
import { env } from "../env.ts";
import { AppError } from "../errors/app-error.ts";
import { recordAudit } from "../audit/audit-log.ts";
import { clientDirectory } from "../client/client-files.ts";
import { serverFilePaths } from "../ca/server-files.ts";
import { BACKUP_MODELS, delegateOf, type BackupModel } from "./models.ts";
import { BACKUP_FORMAT, FORMAT_VERSION, encodeRow, secretId, sha256Hex, tableChecksum, type BackupDocument, type BackupFileMeta, type EncodedRow, type FileRole, type Manifest } from "./format.ts";
import { currentSecret } from "./secret.ts";

export interface CreateBackupOptions {
  /** A file to create, or an existing directory to create the default name in; default: the working directory. */
  out?: string;
  /** Put the server secret in the backup (the file is then as sensitive as the secret). */
  includeSecret?: boolean;
  now?: Date;
}

export interface CreateBackupResult {
  file: string;
  bytes: number;
  manifest: Manifest;
  /** Things the operator must know (e.g. the secret is not in the file). */
  notes: string[];
}

export function appVersion(): string {
  try {
    const pkg = JSON.parse(readFileSync(new URL("../../package.json", import.meta.url), "utf8")) as { version?: string };
    return pkg.version ?? "unknown";
  } catch {
    return "unknown";
  }
}

/** `portcullis-backup-20250102T030405Z.json.gz` */
export function defaultBackupName(now: Date): string {
  return `portcullis-backup-${now.toISOString().replace(/\.\d{3}Z$/, "Z").replace(/[-:]/g, "")}.json.gz`;
}

interface Snapshot {
  tables: Map<BackupModel, Record<string, unknown>[]>;
  migrations: string[];
}

async function snapshot(): Promise<Snapshot> {
  const db = await getDb();
  const provider = databaseProvider();
  // SQLite's only level is SERIALIZABLE (one read transaction sees one snapshot); the
  // PostgreSQL client accepts RepeatableRead, which the SQLite-typed client does not name.
  const options = { timeout: 10 * 60_000, maxWait: 60_000, ...(provider === "postgres" ? { isolationLevel: "RepeatableRead" as never } : {}) };
  return db.$transaction(async (tx) => {
    const tables = new Map<BackupModel, Record<string, unknown>[]>();
    for (const model of BACKUP_MODELS) tables.set(model, await delegateOf(tx, model).findMany());
    const rows = await tx.$queryRawUnsafe<{ id: string }[]>(`SELECT "id" FROM "_portcullis_migrations" ORDER BY "id"`);
    return { tables, migrations: rows.map((r) => r.id) };
  }, options);
}

interface CollectedFile {
  meta: BackupFileMeta;
  content: Buffer;
}

async function readFileEntry(path: string, role: FileRole, dataDir: string): Promise<CollectedFile> {
  const [content, st] = await Promise.all([fs.readFile(path), fs.stat(path)]);
  const rel = relative(dataDir, path);
  const inside = rel !== "" && rel.split(sep)[0] !== ".." && !isAbsolute(rel);
  return { meta: { role, path, dataRelative: inside ? rel : null, mode: st.mode & 0o777, size: content.length, sha256: sha256Hex(content) }, content };
}

async function listFiles(dir: string, accept: (name: string) => boolean): Promise<string[]> {
  let entries;
  try {
    entries = await fs.readdir(dir, { withFileTypes: true });
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === "ENOENT") return [];
    throw e;
  }
  return entries.filter((e) => e.isFile() && !e.name.startsWith(".") && !e.name.endsWith(".tmp") && accept(e.name)).map((e) => join(dir, e.name)).sort();
}

async function collectFiles(snap: Snapshot, dataDir: string): Promise<CollectedFile[]> {
  const files: CollectedFile[] = [];
  const ca = snap.tables.get("CaServer")?.[0] as { directory: string; fileNameRoot: string; certificatePem: string } | undefined;
  if (ca) {
    const paths = serverFilePaths(ca.directory, ca.fileNameRoot);
    for (const required of [paths.key, paths.cer]) {
      try {
        await fs.access(required);
      } catch (e) {
        throw new AppError("not_found", `The CA server is configured but ${required} cannot be read (${(e as NodeJS.ErrnoException).code ?? "error"}): a backup without it could not be restored. Nothing was written.`);
      }
    }
    const root = ca.fileNameRoot;
    for (const p of await listFiles(paths.directory, (n) => n.startsWith(`${root}.`) || n.startsWith(`${root}_`))) files.push(await readFileEntry(p, "ca", dataDir));
  }
  for (const p of await listFiles(clientDirectory(), () => true)) files.push(await readFileEntry(p, "client", dataDir));
  return files;
}

/** Creates the file at `target` from `data` (mode 0600) without ever overwriting: temporary file, fsync, link. */
async function writeNew(target: string, data: Buffer): Promise<void> {
  const tmp = join(target, "..", `.${basename(target)}.${randomBytes(6).toString("hex")}.tmp`);
  const fh = await fs.open(tmp, "wx", 0o600);
  try {
    await fh.writeFile(data);
    await fh.sync();
  } finally {
    await fh.close();
  }
  try {
    await fs.chmod(tmp, 0o600);
    await fs.link(tmp, target);
  } finally {
    await fs.rm(tmp, { force: true });
  }
}

async function outputPath(out: string | undefined, now: Date): Promise<string> {
  const name = defaultBackupName(now);
  if (!out) return resolve(name);
  const abs = resolve(out);
  const st = await fs.stat(abs).catch(() => null);
  if (st?.isDirectory()) return join(abs, name);
  if (st) throw new AppError("conflict", `${abs} already exists; a backup never overwrites a file`);
  return abs;
}

/** Makes a backup file and answers where, with its manifest. */
export async function createBackup(opts: CreateBackupOptions = {}): Promise<CreateBackupResult> {
  const now = opts.now ?? new Date();
  const { dataDir } = env();
  const target = await outputPath(opts.out, now);
  const secret = currentSecret();
  const snap = await snapshot();
  const files = await collectFiles(snap, dataDir);

  const tables: Record<string, EncodedRow[]> = {};
  const tableInfo: Manifest["tables"] = {};
  for (const [model, rows] of snap.tables) {
    const encoded = rows.map(encodeRow);
    tables[model] = encoded;
    tableInfo[model] = { rows: encoded.length, sha256: tableChecksum(encoded) };
  }
  const manifest: Manifest = {
    formatVersion: FORMAT_VERSION,
    appVersion: appVersion(),
    createdAt: now.toISOString(),
    databaseProvider: databaseProvider(),
    migrations: snap.migrations,
    dataDir,
    tables: tableInfo,
    files: files.map((f) => f.meta),
    secret: { included: !!(opts.includeSecret && secret), id: secret ? secretId(secret.key) : null },
  };
  const doc: BackupDocument = {
    format: BACKUP_FORMAT,
    manifest,
    tables,
    files: Object.fromEntries(files.map((f) => [f.meta.path, f.content.toString("base64")])),
    ...(manifest.secret.included ? { secret: secret!.key.toString("hex") } : {}),
  };
  const data = gzipSync(Buffer.from(JSON.stringify(doc), "utf8"));
  try {
    await writeNew(target, data);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === "EEXIST") throw new AppError("conflict", `${target} already exists; a backup never overwrites a file`);
    throw new AppError("directory_unwritable", `The backup cannot be written to ${target} (${code ?? (e as Error).message}); nothing was written`, { cause: e });
  }

  const notes: string[] = [];
  if (!secret) notes.push("No server secret exists yet, so the backup holds no sealed values.");
  else if (manifest.secret.included) notes.push(`The server secret IS in this backup: the file is as sensitive as the secret itself (it opens the SMTP password, the OCSP responder key and the messaging server keys). Keep it where only administrators can read it.`);
  else
    notes.push(
      `The server secret is NOT in this backup. Keep ${secret.source === "env" ? "the value of PORTCULLIS_SECRET" : `${join(dataDir, "secret.key")}`} separately and safely, like a keystore password: without it the SMTP password, the OCSP responder key and the messaging server keys in this backup cannot be opened after a restore. (--include-secret puts it in the file.)`,
    );
  try {
    await recordAudit({ action: "backup.create", actor: "system", target: `backup:${basename(target)}`, details: { file: target, files: files.length, secretIncluded: manifest.secret.included } });
  } catch (e) {
    notes.push(`The backup was written, but its audit log entry could not be recorded (${(e as Error).message}).`);
  }
  return { file: target, bytes: data.length, manifest, notes };
}
