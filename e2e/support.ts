import { expect, type Page, type APIRequestContext } from "@playwright/test";
import { execFileSync, spawn, spawnSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { ADMIN, MAIL_HTTP_PORT, SMTP_PORT } from "../playwright.config";

export { ADMIN, SMTP_PORT };
export const DATA_DIR = process.env.E2E_DATA_DIR!;

export interface CaughtMail {
  from: string;
  to: string[];
  subject: string;
  text: string;
  html: string;
}

export async function mailsTo(address: string): Promise<CaughtMail[]> {
  const r = await fetch(`http://127.0.0.1:${MAIL_HTTP_PORT}/messages?to=${encodeURIComponent(address)}`);
  return (await r.json()) as CaughtMail[];
}

export async function waitForMail(address: string, pred: (m: CaughtMail) => boolean = () => true): Promise<CaughtMail> {
  let found: CaughtMail | undefined;
  await expect.poll(async () => (found = (await mailsTo(address)).find(pred)) !== undefined, { timeout: 20_000 }).toBe(true);
  return found!;
}

/** Navigates and waits until React has hydrated, so buttons with handlers respond. */
export async function gotoReady(page: Page, url: string): Promise<void> {
  await page.goto(url);
  await page.locator("html[data-hydrated=true]").waitFor({ state: "attached" });
}

export async function signIn(page: Page, username = ADMIN.username, password = ADMIN.password): Promise<void> {
  await gotoReady(page, "/login");
  await page.getByLabel("User name").fill(username);
  await page.getByLabel("Password").fill(password);
  await page.getByRole("button", { name: "Sign in" }).click();
  await expect(page.getByText(`Signed in as ${username}`)).toBeVisible();
}

/** Reinitializes the CA server through the API if it is configured, so each test starts clean. */
export async function resetCa(request: APIRequestContext): Promise<void> {
  const token = await apiToken(request);
  await request.delete("/api/v1/admin/ca", { headers: { authorization: `Bearer ${token}` } });
}

let cachedToken: string | undefined;
export async function apiToken(request: APIRequestContext): Promise<string> {
  if (cachedToken) return cachedToken;
  const r = await request.post("/api/v1/auth/token", { data: { username: ADMIN.username, password: ADMIN.password, name: "e2e" } });
  expect(r.status()).toBe(201);
  cachedToken = (await r.json()).token as string;
  return cachedToken;
}

export function openssl(args: string[], input?: string | Buffer): { status: number | null; out: string } {
  const r = spawnSync("openssl", args, { input, encoding: "utf8" });
  return { status: r.status, out: `${r.stdout}${r.stderr}` };
}

export function opensslOk(args: string[], input?: string | Buffer): string {
  return execFileSync("openssl", args, { input, encoding: "utf8" });
}

export interface Instance {
  base: string;
  dataDir: string;
  /** Ends the instance and removes its data directory. */
  stop: () => void;
}

/**
 * Another Portcullis instance (`next start`, production) on its own port and a new data
 * directory `<dataDirPrefix>XXXXXX`, with `env` over this process's environment, for
 * settings or roles the shared server does not have. Resolves once /api/v1/health answers
 * (within `timeout` ms); when it does not, the instance is stopped and the wait fails.
 */
/**
 * Port for an extra app instance a spec starts: E2E_INSTANCE_PORT_BASE (default 3109) + n.
 * Runs of the suite side by side give each a different base.
 */
/**
 * The environment of instances that share one PostgreSQL database: the same secret (what one
 * seals the other opens), an administrator made from the environment, no submission limit.
 */
export function sharedDatabaseEnv(databaseUrl: string, admin: { username: string; password: string }, extra: Record<string, string> = {}): Record<string, string> {
  return {
    DATABASE_URL: databaseUrl,
    PORTCULLIS_SECRET: randomBytes(32).toString("hex"),
    PORTCULLIS_ADMIN_USER: admin.username,
    PORTCULLIS_ADMIN_PASSWORD: admin.password,
    PORTCULLIS_CSR_RATE_LIMIT: "10000",
    ...extra,
  };
}

export function instancePort(n: number): number {
  return Number(process.env.E2E_INSTANCE_PORT_BASE ?? 3109) + n;
}

export async function startInstance(port: number, env: Record<string, string>, opts: { dataDirPrefix?: string; timeout?: number } = {}): Promise<Instance> {
  const dataDir = mkdtempSync(join(tmpdir(), opts.dataDirPrefix ?? "portcullis-instance-"));
  const server = spawn("npx", ["next", "start", "-H", "127.0.0.1", "-p", String(port)], {
    env: { ...process.env, PORTCULLIS_DATA_DIR: dataDir, NODE_ENV: "production", ...env },
    stdio: "ignore",
    detached: true,
  });
  const base = `http://127.0.0.1:${port}`;
  const stop = () => {
    if (server.pid) {
      try {
        process.kill(-server.pid, "SIGTERM");
      } catch {
        // already gone
      }
    }
    rmSync(dataDir, { recursive: true, force: true });
  };
  try {
    await expect
      .poll(
        async () => {
          try {
            return (await fetch(`${base}/api/v1/health`)).status;
          } catch {
            return 0;
          }
        },
        { timeout: opts.timeout ?? 60_000 },
      )
      .toBe(200);
  } catch (e) {
    stop();
    throw e;
  }
  return { base, dataDir, stop };
}
