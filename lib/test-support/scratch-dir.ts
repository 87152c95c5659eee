/**
 * A temporary directory for one test file. Not used by application code.
 */
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

export interface ScratchDir {
  dir: string;
  /** The path of `name` inside the directory. */
  path(name: string): string;
  /** Writes `content` to `name` inside the directory (mode 0600) and returns its path. */
  file(name: string, content: string | Uint8Array): string;
  remove(): void;
}

/** A new directory `portcullis-<prefix>-XXXXXX` under the system's temporary directory. */
export function scratchDir(prefix: string): ScratchDir {
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
