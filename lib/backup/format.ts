/**
 * The backup file: gzipped JSON, independent of the database provider (a SQLite backup
 * restores into PostgreSQL and back). Rows are JSON with dates tagged `{"$date": iso}`;
 * files are base64 with their mode and SHA-256. The manifest carries row counts and a
 * SHA-256 per table and per file, and `readBackup` checks all of them before a restore
 * touches anything. Checksums catch damage, not forgery: the file is as trustworthy as
 * the place it is kept.
 */
import { createHash, createHmac } from "node:crypto";
import { promises as fs } from "node:fs";
import { gunzipSync } from "node:zlib";
import { isAbsolute, normalize } from "node:path";
import { AppError } from "../errors/app-error.ts";
import { BACKUP_MODELS, type BackupModel } from "./models.ts";

export const BACKUP_FORMAT = "portcullis-backup";
export const FORMAT_VERSION = 1;
/** Largest backup file read (compressed); larger files are refused rather than exhausting memory. */
export const MAX_BACKUP_BYTES = 1024 * 1024 * 1024;

export type FileRole = "ca" | "client";

export interface BackupFileMeta {
  role: FileRole;
  /** Absolute path when the backup was made. */
  path: string;
  /** The path relative to the data directory when the file was inside it (restored under the new data directory), else null. */
  dataRelative: string | null;
  mode: number;
  size: number;
  sha256: string;
}

export interface Manifest {
  formatVersion: number;
  appVersion: string;
  createdAt: string;
  databaseProvider: "sqlite" | "postgres";
  /** Migrations applied to the database the backup was made from. */
  migrations: string[];
  /** The data directory (absolute) when the backup was made. */
  dataDir: string;
  tables: Record<string, { rows: number; sha256: string }>;
  files: BackupFileMeta[];
  /** `id` identifies the server secret that sealed values were encrypted with (an HMAC of it, not the secret). */
  secret: { included: boolean; id: string | null };
}

export type EncodedRow = Record<string, unknown>;

export interface BackupDocument {
  format: typeof BACKUP_FORMAT;
  manifest: Manifest;
  tables: Record<string, EncodedRow[]>;
  /** path → base64 content */
  files: Record<string, string>;
  /** The server secret (hex), only when asked for. */
  secret?: string;
}

/** A verified backup, decoded: rows with Date values, file contents as bytes. */
export interface Backup {
  manifest: Manifest;
  tables: Map<BackupModel, Record<string, unknown>[]>;
  files: { meta: BackupFileMeta; content: Buffer }[];
  secret: Buffer | null;
}

export function sha256Hex(data: string | Uint8Array): string {
  return createHash("sha256").update(data).digest("hex");
}

/** A stable identifier of a server secret that reveals nothing about it. */
export function secretId(secret: Buffer): string {
  return createHmac("sha256", secret).update("portcullis server secret identifier").digest("hex").slice(0, 32);
}

/** A database value as JSON: Date → {"$date"}, bigint → {"$bigint"}, bytes → {"$bytes"}. */
export function encodeValue(v: unknown): unknown {
  if (v === null || typeof v === "string" || typeof v === "boolean") return v;
  if (typeof v === "number") {
    if (!Number.isFinite(v)) throw new Error(`Cannot back up the number ${v}`);
    return v;
  }
  if (typeof v === "bigint") return { $bigint: v.toString() };
  if (v instanceof Date) return { $date: v.toISOString() };
  if (v instanceof Uint8Array) return { $bytes: Buffer.from(v).toString("base64") };
  throw new Error(`Cannot back up a value of type ${typeof v}`);
}

export function encodeRow(row: Record<string, unknown>): EncodedRow {
  const out: EncodedRow = {};
  for (const [k, v] of Object.entries(row)) out[k] = encodeValue(v);
  return out;
}

function decodeValue(v: unknown, where: string): unknown {
  if (v === null || typeof v === "string" || typeof v === "boolean" || typeof v === "number") return v;
  if (typeof v === "object" && !Array.isArray(v)) {
    const keys = Object.keys(v);
    const o = v as Record<string, unknown>;
    if (keys.length === 1 && typeof o.$date === "string") {
      const d = new Date(o.$date);
      if (Number.isNaN(d.getTime())) throw bad(`${where}: ${JSON.stringify(o.$date)} is not a date`);
      return d;
    }
    if (keys.length === 1 && typeof o.$bigint === "string" && /^-?\d+$/.test(o.$bigint)) return BigInt(o.$bigint);
    if (keys.length === 1 && typeof o.$bytes === "string") return Buffer.from(o.$bytes, "base64");
  }
  throw bad(`${where} holds a value of an unknown kind`);
}

export function tableChecksum(rows: EncodedRow[]): string {
  return sha256Hex(JSON.stringify(rows));
}

function bad(message: string): AppError {
  return new AppError("bad_request", message);
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return !!v && typeof v === "object" && !Array.isArray(v);
}

/** Reads and fully verifies a backup file; throws AppError("bad_request") naming the first problem found. */
export async function readBackup(file: string): Promise<Backup> {
  let raw: Buffer;
  try {
    const st = await fs.stat(file);
    if (!st.isFile()) throw bad(`${file} is not a file`);
    if (st.size > MAX_BACKUP_BYTES) throw bad(`${file} is larger than ${MAX_BACKUP_BYTES} bytes`);
    raw = await fs.readFile(file);
  } catch (e) {
    if (e instanceof AppError) throw e;
    throw bad(`${file} cannot be read (${(e as NodeJS.ErrnoException).code ?? "error"})`);
  }
  let text: string;
  try {
    text = gunzipSync(raw).toString("utf8");
  } catch (e) {
    throw bad(`${file} is not a complete Portcullis backup: it does not decompress (${(e as Error).message}); it may be truncated or damaged`);
  }
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch {
    throw bad(`${file} is not a Portcullis backup: its content is not JSON`);
  }
  return verifyDocument(doc, file);
}

function verifyDocument(doc: unknown, file: string): Backup {
  if (!isRecord(doc) || doc.format !== BACKUP_FORMAT || !isRecord(doc.manifest)) throw bad(`${file} is not a Portcullis backup`);
  const m = doc.manifest as Partial<Manifest>;
  if (typeof m.formatVersion !== "number" || m.formatVersion > FORMAT_VERSION || m.formatVersion < 1) {
    throw bad(`${file} has backup format version ${String(m.formatVersion)}; this version of Portcullis reads version ${FORMAT_VERSION}`);
  }
  if (typeof m.createdAt !== "string" || typeof m.dataDir !== "string" || !isAbsolute(m.dataDir) || !Array.isArray(m.migrations) || !m.migrations.every((x) => typeof x === "string")) {
    throw bad(`${file}: the manifest is incomplete`);
  }
  if (m.databaseProvider !== "sqlite" && m.databaseProvider !== "postgres") throw bad(`${file}: unknown database provider ${String(m.databaseProvider)}`);
  if (!isRecord(m.tables) || !isRecord(doc.tables) || !Array.isArray(m.files) || !isRecord(doc.files) || !isRecord(m.secret)) throw bad(`${file}: the manifest is incomplete`);

  const known = new Set<string>(BACKUP_MODELS);
  const tables = new Map<BackupModel, Record<string, unknown>[]>();
  for (const name of Object.keys(m.tables)) {
    if (!known.has(name)) throw bad(`${file} holds a table ${name} that this version of Portcullis does not know: it was made by a newer version`);
  }
  for (const name of Object.keys(doc.tables)) if (!(name in m.tables)) throw bad(`${file}: table ${name} is not in the manifest`);
  for (const [name, info] of Object.entries(m.tables)) {
    const rows = doc.tables[name];
    if (!isRecord(info) || !Array.isArray(rows)) throw bad(`${file}: the rows of table ${name} are missing`);
    if (rows.length !== info.rows) throw bad(`${file}: table ${name} has ${rows.length} rows where the manifest says ${String(info.rows)}`);
    if (tableChecksum(rows as EncodedRow[]) !== info.sha256) throw bad(`${file}: the checksum of table ${name} does not match; the backup is damaged`);
    tables.set(
      name as BackupModel,
      rows.map((r, i) => {
        if (!isRecord(r)) throw bad(`${file}: row ${i} of ${name} is not an object`);
        const out: Record<string, unknown> = {};
        for (const [k, v] of Object.entries(r)) out[k] = decodeValue(v, `${name} row ${i} field ${k}`);
        return out;
      }),
    );
  }

  const files: Backup["files"] = [];
  const seen = new Set<string>();
  for (const f of m.files as unknown[]) {
    if (!isRecord(f) || (f.role !== "ca" && f.role !== "client") || typeof f.path !== "string" || typeof f.mode !== "number" || typeof f.size !== "number" || typeof f.sha256 !== "string") {
      throw bad(`${file}: a file entry of the manifest is incomplete`);
    }
    if (!isAbsolute(f.path) || normalize(f.path) !== f.path) throw bad(`${file}: file path ${f.path} is not a normalized absolute path`);
    const rel = f.dataRelative;
    if (rel !== null && (typeof rel !== "string" || isAbsolute(rel) || normalize(rel) !== rel || rel.split(/[\\/]/).includes(".."))) throw bad(`${file}: file path ${String(rel)} is not a plain relative path`);
    if (seen.has(f.path)) throw bad(`${file}: ${f.path} appears twice`);
    seen.add(f.path);
    const b64 = doc.files[f.path];
    if (typeof b64 !== "string") throw bad(`${file}: the content of ${f.path} is missing`);
    const content = Buffer.from(b64, "base64");
    if (content.length !== f.size || sha256Hex(content) !== f.sha256) throw bad(`${file}: the checksum of ${f.path} does not match; the backup is damaged`);
    files.push({ meta: { role: f.role, path: f.path, dataRelative: rel as string | null, mode: f.mode & 0o777, size: f.size, sha256: f.sha256 }, content });
  }
  for (const p of Object.keys(doc.files)) if (!seen.has(p)) throw bad(`${file}: file ${p} is not in the manifest`);

  const s = m.secret as Record<string, unknown>;
  let secret: Buffer | null = null;
  if (s.included === true) {
    if (typeof doc.secret !== "string" || !/^[0-9a-f]{64}$/.test(doc.secret)) throw bad(`${file}: the manifest says the server secret is included, but it is not`);
    secret = Buffer.from(doc.secret, "hex");
    if (secretId(secret) !== s.id) throw bad(`${file}: the included server secret does not match its identifier; the backup is damaged`);
  } else if (doc.secret !== undefined) {
    throw bad(`${file}: a server secret is present that the manifest does not list`);
  }
  if (s.id !== null && typeof s.id !== "string") throw bad(`${file}: the manifest is incomplete`);

  return { manifest: m as Manifest, tables, files, secret };
}
