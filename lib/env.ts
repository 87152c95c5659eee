/**
 * Configuration, read and validated once from the environment. Everything has an
 * embedded default so a fresh clone starts with no set-up.
 */
import { z } from "zod";
import { resolve } from "node:path";

const schema = z.object({
  PORT: z.coerce.number().int().min(1).max(65535).default(3000),
  PORTCULLIS_DATA_DIR: z.string().min(1).default("./data"),
  DATABASE_URL: z.string().optional(),
  PORTCULLIS_ADMIN_USER: z.string().optional(),
  PORTCULLIS_ADMIN_PASSWORD: z.string().optional(),
  /** 32+ byte secret (hex or base64) for encryption at rest; default: `<data dir>/secret.key`. */
  PORTCULLIS_SECRET: z.string().optional(),
  /** Public base URL used in e-mails and links, e.g. https://pki.example.com */
  PORTCULLIS_PUBLIC_URL: z.string().url().optional(),
  /** Mark cookies Secure even when the request did not arrive over TLS (behind a TLS proxy). */
  PORTCULLIS_SECURE_COOKIES: z.enum(["auto", "always", "never"]).default("auto"),
  PORTCULLIS_SESSION_HOURS: z.coerce.number().int().min(1).max(24 * 30).default(12),
  PORTCULLIS_MAIL_RETRY_SECONDS: z.coerce.number().int().min(1).max(86400).default(60),
  NODE_ENV: z.string().default("development"),
});

export type Env = z.infer<typeof schema> & { dataDir: string };

let cached: Env | undefined;

export function env(): Env {
  if (cached) return cached;
  const parsed = schema.safeParse(process.env);
  if (!parsed.success) {
    const problems = parsed.error.issues.map((i) => `${i.path.join(".")}: ${i.message}`).join("; ");
    throw new Error(`Invalid configuration: ${problems}`);
  }
  cached = { ...parsed.data, dataDir: resolve(parsed.data.PORTCULLIS_DATA_DIR) };
  return cached;
}

/** For tests that change the environment between cases. */
export function resetEnvCache(): void {
  cached = undefined;
}
