/**
 * The server secret as backup and restore see it: read, never created (the app creates
 * `<data dir>/secret.key` at its first start; a backup must not).
 */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { env } from "../env.ts";
import { parseSecret } from "../crypto/secret-box.ts";

export function secretKeyFile(): string {
  return join(env().dataDir, "secret.key");
}

/** The secret in force: PORTCULLIS_SECRET, else `<data dir>/secret.key`, else null when neither exists yet. */
export function currentSecret(): { key: Buffer; source: "env" | "file" } | null {
  const { PORTCULLIS_SECRET } = env();
  if (PORTCULLIS_SECRET) return { key: parseSecret(PORTCULLIS_SECRET), source: "env" };
  let text: string;
  try {
    text = readFileSync(secretKeyFile(), "utf8");
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === "ENOENT") return null;
    throw e;
  }
  return { key: parseSecret(text), source: "file" };
}
