/**
 * Configuration, read and validated once from the environment. Everything has an
 * embedded default so a fresh clone starts with no set-up.
 */
import { z } from "zod";
import { resolve } from "node:path";

/** "60,30,7" → [7, 30, 60]: distinct whole numbers of days, 1 to 3650. */
function parseExpiryWarningDays(raw: string, ctx: z.RefinementCtx): number[] {
  const parts = raw.split(",").map((p) => p.trim());
  const bad = parts.find((p) => !/^\d{1,4}$/.test(p) || Number(p) < 1 || Number(p) > 3650);
  if (bad !== undefined) {
    ctx.addIssue({ code: "custom", message: `expected a comma-separated list of whole numbers of days from 1 to 3650, e.g. "60,30,7" (got ${JSON.stringify(bad)})` });
    return z.NEVER;
  }
  const days = parts.map(Number);
  const twice = days.find((d, i) => days.indexOf(d) !== i);
  if (twice !== undefined) {
    ctx.addIssue({ code: "custom", message: `each number of days may appear once (${twice} appears more than once)` });
    return z.NEVER;
  }
  return days.sort((a, b) => a - b);
}

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
  /** Days before expiry at which certificate warnings are mailed, e.g. "60,30,7"; read as distinct numbers, ascending. */
  PORTCULLIS_EXPIRY_WARNING_DAYS: z.string().default("60,30,7").transform(parseExpiryWarningDays),
  /** Minutes between two checks for certificates entering a warning threshold. */
  PORTCULLIS_EXPIRY_CHECK_MINUTES: z.coerce.number().int().min(1).max(1440).default(60),
  /** Hours before the current CRL's nextUpdate from which admins are reminded (banner, one e-mail) to re-sign it. */
  PORTCULLIS_CRL_REMINDER_HOURS: z.coerce.number().int().min(1).max(24 * 365).default(48),
  /** Let an admin keep the CA key unlocked in memory (until restart) so CRLs are re-signed on schedule. Off unless "true". */
  PORTCULLIS_CA_KEEP_UNLOCKED: z.enum(["true", "false", ""]).default("false").transform((v) => v === "true"),
  /** Seconds a decrypted CA key is kept after the password was typed, so that the next issuances with the same password skip the slow decryption; 0 turns it off. */
  PORTCULLIS_CA_KEY_CACHE_SECONDS: z.coerce.number().int().min(0).max(3600).default(60),
  /** Minutes between two looks for device CAs whose CRL is due to be fetched again. */
  PORTCULLIS_IOT_CRL_REFRESH_MINUTES: z.coerce.number().int().min(1).max(1440).default(60),
  /** Worker threads for a fleet's CSR checks and signing (default: two, or one per core when fewer); 0 keeps that work on the main thread. */
  PORTCULLIS_PKI_WORKERS: z.coerce.number().int().min(0).max(64).optional(),
  PORTCULLIS_PKI_WORKER_WARMUP: z.coerce.number().int().min(0).max(100_000).optional(),
  /** The worker bundle (default: <Next.js build directory>/portcullis/pki-worker.cjs, written by `npm run build`). */
  PORTCULLIS_PKI_WORKER_BUNDLE: z.string().optional(),
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
