/**
 * Encryption at rest for secrets the server must read back (SMTP password, keys the
 * server uses unattended). AES-256-GCM under the server secret: `PORTCULLIS_SECRET`
 * when set, otherwise `<data dir>/secret.key`, created once with mode 0600.
 */
import { createCipheriv, createDecipheriv, randomBytes } from "node:crypto";
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { env } from "../env.ts";

const VERSION = "v1";
let key: Buffer | undefined;

export function parseSecret(text: string): Buffer {
  const t = text.trim();
  const buf = /^[0-9a-f]{64,}$/i.test(t) ? Buffer.from(t, "hex") : Buffer.from(t, "base64");
  if (buf.length < 32) throw new Error("PORTCULLIS_SECRET must hold at least 32 bytes (64 hex digits or 44 base64 characters)");
  return buf.subarray(0, 32);
}

export function serverSecret(): Buffer {
  if (key) return key;
  const { PORTCULLIS_SECRET, dataDir } = env();
  if (PORTCULLIS_SECRET) {
    key = parseSecret(PORTCULLIS_SECRET);
    return key;
  }
  const file = join(dataDir, "secret.key");
  if (!existsSync(file)) {
    mkdirSync(dataDir, { recursive: true, mode: 0o700 });
    try {
      writeFileSync(file, randomBytes(32).toString("hex") + "\n", { mode: 0o600, flag: "wx" });
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== "EEXIST") throw e;
    }
  }
  key = parseSecret(readFileSync(file, "utf8"));
  return key;
}

/** Encrypts `plaintext`; `context` binds the ciphertext to its purpose (it must match on open). */
export function seal(plaintext: string, context: string): string {
  const iv = randomBytes(12);
  const cipher = createCipheriv("aes-256-gcm", serverSecret(), iv);
  cipher.setAAD(Buffer.from(context));
  const body = Buffer.concat([cipher.update(plaintext, "utf8"), cipher.final()]);
  return [VERSION, iv.toString("base64"), cipher.getAuthTag().toString("base64"), body.toString("base64")].join(".");
}

export function open(sealed: string, context: string): string {
  const [version, iv, tag, body] = sealed.split(".");
  if (version !== VERSION || !iv || !tag || body === undefined) throw new Error("Unreadable sealed value");
  const decipher = createDecipheriv("aes-256-gcm", serverSecret(), Buffer.from(iv, "base64"));
  decipher.setAAD(Buffer.from(context));
  decipher.setAuthTag(Buffer.from(tag, "base64"));
  return Buffer.concat([decipher.update(Buffer.from(body, "base64")), decipher.final()]).toString("utf8");
}

export function resetSecretCache(): void {
  key = undefined;
}
