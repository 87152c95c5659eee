import { test, expect } from "@playwright/test";
import { instancePort, startInstance, type Instance } from "./support";

// A second instance with no administrator: the first visit shows the set-up page.
const PORT = instancePort(0);
const base = `http://127.0.0.1:${PORT}`;
let instance: Instance;

test.beforeAll(async () => {
  instance = await startInstance(PORT, { PORTCULLIS_ADMIN_USER: "", PORTCULLIS_ADMIN_PASSWORD: "", PORTCULLIS_CSR_RATE_LIMIT: "3" }, { dataDirPrefix: "portcullis-setup-" });
});

test.afterAll(async () => {
  instance?.stop();
});

test("first visit creates the administrator; then the set-up page is gone", async ({ page }) => {
  await page.goto(`${base}/ca-server`);
  await expect(page).toHaveURL(`${base}/setup`);
  await page.locator("html[data-hydrated=true]").waitFor({ state: "attached" });
  await expect(page.getByRole("heading", { name: "Welcome to Portcullis" })).toBeVisible();
  await page.screenshot({ path: "test-results/screenshots/setup.png", fullPage: true });

  await page.getByLabel("Administrator user name").fill("root admin");
  await page.getByLabel(/^Password/).fill("short");
  await page.getByLabel(/^Confirm password/).fill("different");
  await page.getByRole("button", { name: "Create administrator" }).click();
  await expect(page.locator("#f-username-error")).toContainText("letters, digits");
  await expect(page.locator("#f-password-error")).toHaveText("Use at least 10 characters");
  await expect(page.locator("#f-passwordConfirm-error")).toHaveText("The passwords do not match");

  await page.getByLabel("Administrator user name").fill("root");
  await page.getByLabel(/^Password/).fill("a long enough password");
  await page.getByLabel(/^Confirm password/).fill("a long enough password");
  await page.getByRole("button", { name: "Create administrator" }).click();
  await expect(page.getByText("Signed in as root")).toBeVisible();

  await page.goto(`${base}/setup`);
  await expect(page).toHaveURL(/\/$/); // signed in: /setup → /login → home
  const fresh = await page.context().browser()!.newContext();
  const other = await fresh.newPage();
  await other.goto(`${base}/setup`);
  await expect(other).toHaveURL(`${base}/login`);
  await fresh.close();
});

test("repeated failed sign-ins are slowed down, then refused for a while", async ({ browser }) => {
  const context = await browser.newContext();
  const page = await context.newPage();
  await page.goto(`${base}/login`);
  await page.locator("html[data-hydrated=true]").waitFor({ state: "attached" });
  for (let i = 0; i < 5; i++) {
    await page.getByLabel("User name").fill("root");
    await page.getByLabel("Password").fill(`wrong password ${i}`);
    await page.getByRole("button", { name: "Sign in" }).click();
    await expect(page.getByRole("alert").filter({ hasText: "incorrect" })).toBeVisible();
  }
  // Even the right password is refused while the account is locked.
  await page.getByLabel("User name").fill("root");
  await page.getByLabel("Password").fill("a long enough password");
  await page.getByRole("button", { name: "Sign in" }).click();
  await expect(page.getByRole("alert").filter({ hasText: "Too many failed sign-ins" })).toContainText(/Try again in \d+ seconds/);
  const api = await fetch(`${base}/api/v1/auth/token`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ username: "root", password: "a long enough password" }) });
  expect(api.status).toBe(429);
  expect(Number(api.headers.get("retry-after"))).toBeGreaterThan(0);
  await context.close();
});

test("anonymous CSR submissions are rate limited per address", async () => {
  const post = () => fetch(`${base}/api/v1/csrs`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ csr: "x", contact: { name: "x" }, filename: "x" }) });
  const statuses = [];
  for (let i = 0; i < 4; i++) statuses.push((await post()).status);
  // This instance is no CA yet (the first three get a clear 4xx); the fourth is throttled.
  expect(statuses.slice(0, 3).every((s) => s >= 400 && s < 500 && s !== 429)).toBe(true);
  const last = await post();
  expect(last.status).toBe(429);
  expect((await last.json()).error.code).toBe("too_many_requests");
  expect(Number(last.headers.get("retry-after"))).toBeGreaterThan(0);
});
