import { test, expect, type APIRequestContext, type Page } from "@playwright/test";
import { writeFileSync } from "node:fs";
import Database from "better-sqlite3";
import { join } from "node:path";
import { gotoReady, instancePort, openssl, opensslOk, signIn, startInstance, type Instance } from "./support";
import { adminHeaders, CA_KEY_PASSWORD, configureQueueCa, WORK_DIR } from "./queue-support";

const DAY_MS = 86_400_000;
const PASSWORD_LABEL = "Password for Certificate Authority's Private Key file";

function shot(page: Page, name: string) {
  return page.screenshot({ path: `test-results/screenshots/crl-${name}.png`, fullPage: true });
}

test("the CRL page: re-sign with the password (a wrong one is told next to the field), download it, change the period", async ({ page, request }) => {
  const ca = await configureQueueCa(request);
  const headers = await adminHeaders(request);
  // The mode is off on this server: unlocking is refused, naming the variable.
  const unlock = await request.post("/api/v1/admin/ca/unlock", { headers, data: { caKeyPassword: CA_KEY_PASSWORD } });
  expect(unlock.status()).toBe(409);
  expect((await unlock.json()).error.message).toContain("PORTCULLIS_CA_KEEP_UNLOCKED=true");

  await signIn(page);
  await gotoReady(page, "/ca-server");
  await page.getByTestId("crl-page-link").click();
  await expect(page.getByRole("heading", { name: "Certificate revocation list", level: 1 })).toBeVisible();
  await page.locator("html[data-hydrated=true]").waitFor({ state: "attached" });
  // Signed at configuration: number 1, nothing listed, current; no banner.
  await expect(page.getByTestId("crl-number")).toHaveText("1");
  await expect(page.getByTestId("crl-entries")).toHaveText("0");
  await expect(page.getByTestId("crl-state")).toHaveText("Current");
  await expect(page.getByTestId("crl-banner")).toHaveCount(0);
  await expect(page.getByTestId("keep-unlocked-off")).toContainText("PORTCULLIS_CA_KEEP_UNLOCKED=true");

  const resign = page.getByTestId("resign-form");
  await resign.getByLabel(PASSWORD_LABEL).fill("not the password");
  await resign.getByRole("button", { name: "Re-sign CRL" }).click();
  await expect(page.locator("#resign-form-password-error")).toBeVisible();
  await expect(resign.getByLabel(PASSWORD_LABEL)).toHaveAttribute("aria-invalid", "true");
  await expect(page.getByTestId("crl-number")).toHaveText("1");
  await shot(page, "wrong-password");

  await resign.getByLabel(PASSWORD_LABEL).fill(CA_KEY_PASSWORD);
  await resign.getByRole("button", { name: "Re-sign CRL" }).click();
  await expect(page.getByTestId("crl-signed-message")).toHaveText("CRL number 2 signed.");
  await expect(page.getByTestId("crl-number")).toHaveText("2");
  await shot(page, "page");

  // The download link gives the DER CRL, which OpenSSL verifies against the CA.
  const [download] = await Promise.all([page.waitForEvent("download"), page.getByTestId("crl-der-link").click()]);
  expect(download.suggestedFilename()).toBe("QueueCA.crl");
  const der = join(WORK_DIR, "downloaded.crl");
  await download.saveAs(der);
  const verified = openssl(["crl", "-inform", "DER", "-in", der, "-CAfile", ca.caFile, "-noout", "-verify"]);
  expect(verified.out).toContain("verify OK");
  expect(opensslOk(["crl", "-inform", "DER", "-in", der, "-noout", "-crlnumber"]).trim()).toBe("crlNumber=0x02");
  const pem = await request.get((await page.getByTestId("crl-pem-link").getAttribute("href"))!);
  const pemFile = join(WORK_DIR, "downloaded-crl.pem");
  writeFileSync(pemFile, await pem.text());
  expect(opensslOk(["crl", "-in", pemFile, "-noout", "-crlnumber"]).trim()).toBe("crlNumber=0x02");

  // The period of the next CRLs: 1–10 days.
  const period = page.getByLabel("Days from a CRL's thisUpdate to its nextUpdate");
  await period.fill("11");
  await page.getByRole("button", { name: "Save" }).click();
  await expect(page.locator("#f-crlNextUpdateDays-error")).toHaveText("The number of days until the next update must be between 1 and 10");
  await period.fill("3");
  await page.getByRole("button", { name: "Save" }).click();
  await expect(page.getByTestId("crl-period")).toHaveText("3");

  // Over the API: re-sign, and the new CRL runs 3 days.
  const wrong = await request.post("/api/v1/admin/crl", { headers, data: { caKeyPassword: "still not it" } });
  expect(wrong.status()).toBe(422);
  expect((await wrong.json()).error.fields.caKeyPassword).toBeTruthy();
  const signed = await request.post("/api/v1/admin/crl", { headers, data: { caKeyPassword: CA_KEY_PASSWORD } });
  expect(signed.status(), await signed.text()).toBe(200);
  const body = await signed.json();
  expect(body.crlNumber).toBe(3);
  expect(new Date(body.nextUpdate).getTime() - new Date(body.thisUpdate).getTime()).toBe(3 * DAY_MS);
  expect((await request.post("/api/v1/admin/crl", { data: { caKeyPassword: CA_KEY_PASSWORD } })).status()).toBe(401);
});

test.describe("an instance that reminds early and may keep the key unlocked", () => {
  const ADMIN = { username: "crladmin", password: "crl admin password" };
  const KEY_PW = "crl e2e reminder CA password";
  let other: Instance;
  let headers: Record<string, string>;

  test.beforeAll(async ({ playwright }) => {
    test.setTimeout(150_000);
    other = await startInstance(
      instancePort(0),
      { PORTCULLIS_ADMIN_USER: ADMIN.username, PORTCULLIS_ADMIN_PASSWORD: ADMIN.password, PORTCULLIS_CRL_REMINDER_HOURS: "1000", PORTCULLIS_CA_KEEP_UNLOCKED: "true" },
      { dataDirPrefix: "portcullis-crl-", timeout: 90_000 },
    );
    const request = await playwright.request.newContext();
    try {
      headers = await configureOther(request);
    } finally {
      await request.dispose();
    }
  });

  test.afterAll(() => {
    other?.stop();
  });

  async function configureOther(request: APIRequestContext): Promise<Record<string, string>> {
    const t = await request.post(`${other.base}/api/v1/auth/token`, { data: { username: ADMIN.username, password: ADMIN.password, name: "e2e" } });
    expect(t.status()).toBe(201);
    const headers = { authorization: `Bearer ${(await t.json()).token}` };
    const r = await request.post(`${other.base}/api/v1/admin/ca`, {
      headers,
      data: { fileNameRoot: "ReminderCA", directory: "ca", keyPassword: KEY_PW, subject: { O: "Example", CN: "Reminder CA" }, keyAlgorithm: "ecdsa-p256", caValidityDays: 365, issuedValidityDays: 30, smtp: { host: "" }, adminEmail: "camgr@example.com" },
    });
    expect(r.status(), await r.text()).toBe(201);
    return headers;
  }

  test("the banner on every admin page links to the CRL page; unlock and lock there", async ({ page }) => {
    // A 7-day CRL is inside a 1000-hour reminder window from the start.
    await gotoReady(page, `${other.base}/login`);
    await expect(page.getByTestId("crl-banner")).toHaveCount(0);
    await page.getByLabel("User name").fill(ADMIN.username);
    await page.getByLabel("Password").fill(ADMIN.password);
    await page.getByRole("button", { name: "Sign in" }).click();
    await expect(page.getByText(`Signed in as ${ADMIN.username}`)).toBeVisible();

    for (const path of ["/", "/ca-server", "/tokens"]) {
      await gotoReady(page, `${other.base}${path}`);
      const banner = page.getByTestId("crl-banner");
      await expect(banner).toContainText(/The CRL expires at \d{4}-\d{2}-\d{2} \d{2}:\d{2} UTC — Re-sign it/);
      await expect(banner).toHaveAttribute("data-state", "soon");
    }
    await shot(page, "banner");
    await page.getByTestId("crl-banner").getByRole("link", { name: "Re-sign it" }).click();
    await expect(page).toHaveURL(`${other.base}/ca-server/crl`);
    await expect(page.getByTestId("crl-state")).toHaveText("Expires soon");
    await expect(page.getByTestId("crl-number")).toHaveText("1");
    await page.locator("html[data-hydrated=true]").waitFor({ state: "attached" });

    // Unlock for scheduled CRL signing: a wrong password is told next to the field.
    await expect(page.getByTestId("ca-locked")).toBeVisible();
    const unlock = page.getByTestId("unlock-form");
    await unlock.getByLabel(PASSWORD_LABEL).fill("wrong password here");
    await unlock.getByRole("button", { name: "Unlock for scheduled CRL signing" }).click();
    await expect(page.locator("#unlock-form-password-error")).toBeVisible();
    await unlock.getByLabel(PASSWORD_LABEL).fill(KEY_PW);
    await unlock.getByRole("button", { name: "Unlock for scheduled CRL signing" }).click();
    await expect(page.getByTestId("ca-unlocked")).toContainText(`by ${ADMIN.username}, until restart`);
    // Signed minutes ago, so not re-signed yet (a CRL is at least an hour old before the key re-signs it on its own).
    await expect(page.getByTestId("crl-number")).toHaveText("1");
    await shot(page, "unlocked");

    await page.getByRole("button", { name: "Lock", exact: true }).click();
    await expect(page.getByTestId("ca-locked")).toBeVisible();
    await expect(page.getByTestId("ca-unlocked")).toHaveCount(0);

    // Time travel in the instance's database: the CRL's nextUpdate is now its thisUpdate, a moment ago.
    const db = new Database(join(other.dataDir, "portcullis.db"));
    try {
      expect(db.prepare('UPDATE "CaServer" SET "crlNextUpdate" = "crlThisUpdate" WHERE "id" = 1').run().changes).toBe(1);
    } finally {
      db.close();
    }
    await gotoReady(page, `${other.base}/ca-server`);
    const expired = page.getByTestId("crl-banner");
    await expect(expired).toHaveAttribute("data-state", "expired");
    await expect(expired).toHaveAttribute("role", "alert");
    await expect(expired).toContainText(/The CRL expired at \d{4}-\d{2}-\d{2} \d{2}:\d{2} UTC — Re-sign it/);
    await shot(page, "banner-expired");
    await expired.getByRole("link", { name: "Re-sign it" }).click();
    await expect(page.getByTestId("crl-state")).toHaveText("Expired");
    await page.locator("html[data-hydrated=true]").waitFor({ state: "attached" });
    const resign = page.getByTestId("resign-form");
    await resign.getByLabel(PASSWORD_LABEL).fill(KEY_PW);
    await resign.getByRole("button", { name: "Re-sign CRL" }).click();
    await expect(page.getByTestId("crl-signed-message")).toHaveText("CRL number 2 signed.");
    // Seven days ahead is still inside this instance's 1000-hour window: amber, no longer red.
    await expect(page.getByTestId("crl-banner")).toHaveAttribute("data-state", "soon");
  });

  test("unlock over the API: 200 {unlocked, until: restart}; DELETE locks", async ({ request }) => {
    const on = await request.post(`${other.base}/api/v1/admin/ca/unlock`, { headers, data: { caKeyPassword: KEY_PW } });
    expect(on.status(), await on.text()).toBe(200);
    expect(await on.json()).toEqual({ unlocked: true, until: "restart" });
    expect((await (await request.get(`${other.base}/api/v1/admin/crl`, { headers })).json()).keepUnlocked).toEqual({ enabled: true, unlocked: true });
    const off = await request.delete(`${other.base}/api/v1/admin/ca/unlock`, { headers });
    expect(await off.json()).toEqual({ unlocked: false });
    expect((await (await request.get(`${other.base}/api/v1/admin/crl`, { headers })).json()).keepUnlocked).toEqual({ enabled: true, unlocked: false });
  });
});
