/**
 * The CA client's files: `<data dir>/client/<root>.key`, `.csr` and `.cer` (IRIS keeps
 * them in the manager's directory). Keys are mode 0600; nothing here ever overwrites a
 * key or a CSR, while certificates are replaced atomically when fetched again.
 */
import { constants, promises as fs } from "node:fs";
import { randomBytes } from "node:crypto";
import { join } from "node:path";
import { env } from "../env.ts";
import { AppError } from "../errors/app-error.ts";
import { fileNameRootProblem } from "../ca/file-name-root.ts";

export type ClientFileKind = "key" | "csr" | "cer";

export function clientDirectory(): string {
  return join(env().dataDir, "client");
}

export function clientFilePath(root: string, kind: ClientFileKind): string {
  if (fileNameRootProblem(root)) throw new AppError("bad_request", `"${root.slice(0, 80)}" is not a valid file name root`);
  return join(clientDirectory(), `${root}.${kind}`);
}

export async function fileExists(path: string): Promise<boolean> {
  try {
    await fs.access(path, constants.F_OK);
    return true;
  } catch {
    return false;
  }
}

/** Creates the client directory (0700) if missing and proves it is writable. */
export async function ensureClientDirectory(): Promise<string> {
  const dir = clientDirectory();
  try {
    await fs.mkdir(dir, { recursive: true, mode: 0o700 });
    await fs.access(dir, constants.W_OK);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code ?? "error";
    throw new AppError("directory_unwritable", `The CA client directory ${dir} cannot be created or written (${code})`, { cause: e });
  }
  return dir;
}

/** Writes `content` to `path` through a temporary file and a rename: readers never see half a file. */
export async function replaceFile(path: string, content: string, mode = 0o644): Promise<void> {
  const tmp = join(path, "..", `.${randomBytes(8).toString("hex")}.tmp`);
  try {
    await fs.writeFile(tmp, content, { mode, flag: "wx" });
    await fs.chmod(tmp, mode);
    await fs.rename(tmp, path);
  } catch (e) {
    await fs.rm(tmp, { force: true });
    throw e;
  }
}

/** A file of the client directory offered to the browser: only certificates and CSRs, never keys. */
export async function readClientFile(name: string): Promise<{ path: string; body: Buffer; kind: "cer" | "csr" }> {
  const m = /^([A-Za-z0-9_-]{1,64})\.(cer|csr)$/.exec(name);
  if (!m || fileNameRootProblem(m[1])) throw new AppError("not_found", "No such file");
  const path = clientFilePath(m[1], m[2] as "cer" | "csr");
  try {
    return { path, body: await fs.readFile(path), kind: m[2] as "cer" | "csr" };
  } catch {
    throw new AppError("not_found", `No file ${name} in the CA client directory`);
  }
}
