/**
 * The CA server's files on disk: `<root>.key`, `<root>.cer`, `<root>.srl` in the
 * configured directory (relative paths are relative to the data directory).
 * Files are written all-or-nothing: to temporary names first, then linked into place
 * without overwriting anything, and removed again if a later step fails.
 */
import { constants, promises as fs } from "node:fs";
import { randomBytes } from "node:crypto";
import { dirname, isAbsolute, join, resolve } from "node:path";
import { env } from "../env.ts";
import { AppError } from "../errors/app-error.ts";

export interface ServerFilePaths {
  directory: string;
  key: string;
  cer: string;
  srl: string;
}

export function directoryProblem(dir: string | undefined | null): string | null {
  const d = (dir ?? "").trim();
  if (!d) return "Enter a directory";
  if (d.length > 1024) return "Use at most 1024 characters";
  if (/[\u0000-\u001f]/.test(d)) return "The directory contains control characters";
  if (/[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/.test(d)) return "The directory contains characters that are not valid Unicode";
  return null;
}

export function resolveDirectory(dir: string): string {
  const d = dir.trim();
  return isAbsolute(d) ? resolve(d) : resolve(env().dataDir, d);
}

export function serverFilePaths(directory: string, root: string): ServerFilePaths {
  const dir = resolveDirectory(directory);
  return { directory: dir, key: join(dir, `${root}.key`), cer: join(dir, `${root}.cer`), srl: join(dir, `${root}.srl`) };
}

async function exists(path: string): Promise<boolean> {
  try {
    await fs.access(path, constants.F_OK);
    return true;
  } catch {
    return false;
  }
}

export interface FilesState {
  paths: ServerFilePaths;
  keyExists: boolean;
  cerExists: boolean;
  srlExists: boolean;
  directoryExists: boolean;
}

export async function inspectFiles(paths: ServerFilePaths): Promise<FilesState> {
  const [keyExists, cerExists, srlExists, directoryExists] = await Promise.all([exists(paths.key), exists(paths.cer), exists(paths.srl), exists(paths.directory)]);
  return { paths, keyExists, cerExists, srlExists, directoryExists };
}

/** The AppError for a directory that cannot be created or written, with the reason in words. */
export function unwritableDirectory(dir: string, e: unknown, field = "directory"): AppError {
  const code = (e as NodeJS.ErrnoException).code;
  const reason = code === "EACCES" || code === "EPERM" ? "permission denied" : code === "EROFS" ? "read-only file system" : code === "ENOTDIR" || code === "EEXIST" ? "a file is in the way" : code === "ENOSPC" || code === "EDQUOT" ? "no space left on the device" : (code ?? "error");
  return new AppError("directory_unwritable", `The directory ${dir} cannot be created or written (${reason})`, { field, cause: e });
}

/** mkdir -p, one level at a time: a recursive fs.mkdir reports ENOENT for what is really EROFS or EACCES. */
async function makeDirectory(dir: string, mode: number): Promise<void> {
  try {
    await fs.mkdir(dir, { mode });
    return;
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === "EEXIST" && (await fs.stat(dir)).isDirectory()) return;
    if (code !== "ENOENT" || dirname(dir) === dir) throw e;
  }
  await makeDirectory(dirname(dir), mode);
  await fs.mkdir(dir, { mode }).catch((e: NodeJS.ErrnoException) => {
    if (e.code !== "EEXIST") throw e;
  });
}

/** Creates the directory if missing (mode 0700) and proves it is writable. */
export async function ensureWritableDirectory(dir: string, field = "directory"): Promise<void> {
  try {
    await makeDirectory(dir, 0o700);
    const probe = join(dir, `.portcullis-probe-${randomBytes(6).toString("hex")}`);
    await fs.writeFile(probe, "", { mode: 0o600, flag: "wx" });
    await fs.unlink(probe);
  } catch (e) {
    throw unwritableDirectory(dir, e, field);
  }
}

/** A free name `<file>.old`, `<file>.old.1`, … so an earlier `.old` is never overwritten. */
export async function freeOldName(file: string): Promise<string> {
  let candidate = `${file}.old`;
  for (let i = 1; await exists(candidate); i++) candidate = `${file}.old.${i}`;
  return candidate;
}

/** The SRL text for a next certificate number, as OpenSSL writes serials: upper-case hex, even digits. */
export function srlText(nextNumber: number): string {
  let hex = nextNumber.toString(16).toUpperCase();
  if (hex.length % 2) hex = "0" + hex;
  return hex + "\n";
}

export function parseSrl(text: string): number | null {
  const t = text.trim();
  if (!/^[0-9A-Fa-f]{1,12}$/.test(t)) return null;
  const n = parseInt(t, 16);
  return Number.isSafeInteger(n) && n >= 1 ? n : null;
}

/**
 * A set of file writes that either all land or none do. `stage` writes temporaries;
 * `commit` links them to their final names (failing if a name is taken) and renames
 * files aside; `rollback` undoes whatever was done.
 */
export class FileTransaction {
  private staged: { tmp: string; target: string }[] = [];
  private placed: string[] = [];
  private moved: { from: string; to: string }[] = [];

  async stage(target: string, content: string, mode = 0o600): Promise<void> {
    const tmp = join(target, "..", `.${randomBytes(8).toString("hex")}.tmp`);
    try {
      await fs.writeFile(tmp, content, { mode, flag: "wx" });
      await fs.chmod(tmp, mode); // umask may have narrowed or widened it
    } catch (e) {
      // A full disk leaves a partial temporary file: it must not stay behind.
      await fs.rm(tmp, { force: true }).catch(() => undefined);
      throw unwritableDirectory(dirname(target), e);
    }
    this.staged.push({ tmp, target });
  }

  async moveAside(file: string, to: string): Promise<void> {
    await fs.rename(file, to);
    this.moved.push({ from: file, to });
  }

  async commit(): Promise<void> {
    for (const s of this.staged) {
      try {
        await fs.link(s.tmp, s.target);
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code === "EEXIST") throw new AppError("conflict", `${s.target} appeared while configuring; nothing was changed`, { cause: e });
        throw e;
      }
      this.placed.push(s.target);
    }
    await this.cleanupTemps();
  }

  async rollback(): Promise<void> {
    for (const p of this.placed.splice(0)) await fs.rm(p, { force: true });
    await this.cleanupTemps();
    for (const m of this.moved.splice(0).reverse()) await fs.rename(m.to, m.from).catch(() => undefined);
  }

  private async cleanupTemps(): Promise<void> {
    for (const s of this.staged.splice(0)) await fs.rm(s.tmp, { force: true });
  }
}
