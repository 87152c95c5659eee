/**
 * Helpers for the pki tests: a scratch directory and the OpenSSL CLI as the
 * independent judge of what the library writes. Not used by application code.
 */
import { spawnSync } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

export interface OpensslResult {
  status: number | null;
  stdout: string;
  stderr: string;
}

/** Runs `openssl args…`; never throws, so tests can assert on failures too. */
export function openssl(args: string[], input?: string | Buffer): OpensslResult {
  const r = spawnSync("openssl", args, { input, encoding: "utf8", maxBuffer: 16 * 1024 * 1024 });
  if (r.error) throw r.error;
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

/** Runs `openssl args…` and returns stdout; throws with stderr when it exits non-zero. */
export function opensslOk(args: string[], input?: string | Buffer): string {
  const r = openssl(args, input);
  if (r.status !== 0) throw new Error(`openssl ${args.join(" ")} exited ${r.status}: ${r.stderr}`);
  return r.stdout;
}

/** Same as opensslOk but stdout as raw bytes (DER output). */
export function opensslBytes(args: string[]): Buffer {
  const r = spawnSync("openssl", args, { maxBuffer: 16 * 1024 * 1024 });
  if (r.error) throw r.error;
  if (r.status !== 0) throw new Error(`openssl ${args.join(" ")} exited ${r.status}: ${r.stderr.toString()}`);
  return r.stdout;
}

/** A temporary directory for one test file; `file()` writes into it and returns the path. */
export function scratchDir(prefix: string) {
  const dir = mkdtempSync(join(tmpdir(), `portcullis-${prefix}-`));
  return {
    dir,
    path: (name: string) => join(dir, name),
    file(name: string, content: string | Uint8Array): string {
      const p = join(dir, name);
      writeFileSync(p, content, { mode: 0o600 });
      return p;
    },
    remove: () => rmSync(dir, { recursive: true, force: true }),
  };
}
