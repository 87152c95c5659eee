import { defineConfig, devices } from "@playwright/test";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

export const APP_PORT = Number(process.env.E2E_APP_PORT ?? 3107);
export const SMTP_PORT = Number(process.env.E2E_SMTP_PORT ?? 2526);
export const MAIL_HTTP_PORT = Number(process.env.E2E_MAIL_PORT ?? 2581);
export const ADMIN = { username: "admin", password: "correct horse battery" };

// One fresh data directory per run; the config is evaluated once per process, so it is
// created by the runner and handed to the workers through the environment.
const dataDir = (process.env.E2E_DATA_DIR ??= mkdtempSync(join(tmpdir(), "portcullis-e2e-")));

// Runs side by side (other ports, E2E_OUTPUT_DIR) keep their traces and reports apart.
const outputRoot = process.env.E2E_OUTPUT_DIR ?? "test-results";

export default defineConfig({
  testDir: "e2e",
  outputDir: `${outputRoot}/playwright`,
  fullyParallel: false,
  workers: 1,
  retries: 0,
  timeout: 60_000,
  expect: { timeout: 15_000 },
  reporter: [["list"], ["json", { outputFile: `${outputRoot}/playwright.json` }], ["html", { outputFolder: `${outputRoot}/playwright-report`, open: "never" }]],
  use: {
    baseURL: `http://127.0.0.1:${APP_PORT}`,
    trace: "retain-on-failure",
    screenshot: "only-on-failure",
    launchOptions: {
      executablePath: process.env.CHROMIUM_PATH ?? "/usr/bin/chromium",
      args: ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking", "--disable-component-update", "--disable-sync"],
    },
  },
  projects: [
    { name: "desktop", use: { ...devices["Desktop Chrome"], viewport: { width: 1280, height: 900 } } },
  ],
  webServer: [
    {
      command: `npx tsx scripts/mail-catcher.ts`,
      url: `http://127.0.0.1:${MAIL_HTTP_PORT}/messages`,
      env: { SMTP_PORT: String(SMTP_PORT), HTTP_PORT: String(MAIL_HTTP_PORT) },
      reuseExistingServer: false,
      timeout: 30_000,
    },
    {
      command: `npx next start -H 127.0.0.1 -p ${APP_PORT}`,
      url: `http://127.0.0.1:${APP_PORT}/api/v1/health`,
      env: {
        PORTCULLIS_DATA_DIR: dataDir,
        PORTCULLIS_ADMIN_USER: ADMIN.username,
        PORTCULLIS_ADMIN_PASSWORD: ADMIN.password,
        PORTCULLIS_MAIL_RETRY_SECONDS: "2",
        // Every e2e request comes from 127.0.0.1; the limit itself is tested on its own.
        PORTCULLIS_CSR_RATE_LIMIT: "10000",
        NODE_ENV: "production",
      },
      reuseExistingServer: false,
      timeout: 120_000,
    },
  ],
});
