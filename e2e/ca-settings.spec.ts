import { test, expect, type Page } from "@playwright/test";
import { gotoReady, instancePort, resetCa, signIn, SMTP_PORT, waitForMail } from "./support";
import { adminHeaders, CA_KEY_PASSWORD, uniqueName } from "./queue-support";

const SMTP_PASSWORD = "settings smtp secret 7";

function shot(page: Page, name: string) {
  return page.screenshot({ path: `test-results/screenshots/ca-settings-${name}.png`, fullPage: true });
}

test("CA server settings: bad input is told next to the field and changes nothing; a test mail goes through the real SMTP server; saving delivers the waiting mail", async ({ page, request }) => {
  await resetCa(request);
  const headers = await adminHeaders(request);
  // Nothing listens there: the e-mail settings are wrong from the start.
  const dead = instancePort(3);
  const firstAdmin = `${uniqueName("first-admin")}@example.com`;
  const newAdmin = `${uniqueName("new-admin")}@example.com`;
  const configured = await request.post("/api/v1/admin/ca", {
    headers,
    data: {
      fileNameRoot: "SettingsCA",
      directory: uniqueName("e2e-settings"),
      keyPassword: CA_KEY_PASSWORD,
      subject: { O: "Example Settings Corp", CN: "Settings Test CA" },
      caValidityDays: 3650,
      issuedValidityDays: 90,
      smtp: { host: "127.0.0.1", port: dead, secure: false },
      adminEmail: firstAdmin,
    },
  });
  expect(configured.status(), await configured.text()).toBe(201);
  expect((await configured.json()).email.status).toBe("queued");
  const current = async () => (await (await request.get("/api/v1/admin/ca", { headers })).json()) as { issuedValidityDays: number; adminEmail: string; smtp: { host: string; port: number; username: string | null; passwordSet: boolean } };

  await signIn(page);
  await gotoReady(page, "/ca-server");
  await page.getByTestId("ca-settings-link").click();
  await expect(page.getByRole("heading", { name: "Certificate Authority server settings", level: 1 })).toBeVisible();
  await page.locator("html[data-hydrated=true]").waitFor({ state: "attached" });
  const form = page.getByTestId("ca-settings-form");
  await expect(form.getByLabel("SMTP port")).toHaveValue(String(dead));
  await expect(form.getByLabel("Certificate Authority server administrator's email address")).toHaveValue(firstAdmin);

  // Bad input: the configure form's messages, next to each field; nothing changes.
  await form.getByLabel("SMTP port").fill("70000");
  await form.getByLabel("Certificate Authority server administrator's email address").fill("not an address");
  await form.getByLabel("Validity period for Certificates issued by Certificate Authority (days)").fill("0");
  await form.getByRole("button", { name: "Save" }).click();
  await expect(page.locator("#f-smtp-port-error")).toHaveText("The port must be between 1 and 65535");
  await expect(page.locator("#f-adminEmail-error")).toHaveText("Enter an e-mail address such as camgr@example.com");
  await expect(page.locator("#f-issuedValidityDays-error")).toHaveText("The validity period must be between 1 and 3650");
  await expect(form.getByLabel("SMTP port")).toHaveAttribute("aria-invalid", "true");
  await shot(page, "bad-input");
  expect(await current()).toMatchObject({ issuedValidityDays: 90, adminEmail: firstAdmin, smtp: { port: dead, passwordSet: false } });

  // A test mail through the wrong settings says why it failed, next to the button.
  await form.getByLabel("SMTP port").fill(String(dead));
  await form.getByLabel("Validity period for Certificates issued by Certificate Authority (days)").fill("30");
  await form.getByLabel("Certificate Authority server administrator's email address").fill(newAdmin);
  await form.getByRole("button", { name: "Send a test mail" }).click();
  await expect(page.getByTestId("test-mail-result")).toHaveAttribute("data-status", "failed");
  await expect(page.getByTestId("test-mail-result")).toContainText(`Connection refused by 127.0.0.1:${dead}`);

  // With the test SMTP server and credentials, it arrives there.
  await form.getByLabel("SMTP port").fill(String(SMTP_PORT));
  await form.getByLabel("SMTP username").fill("mailer");
  await form.getByLabel("SMTP password", { exact: true }).fill(SMTP_PASSWORD);
  await form.getByLabel("Confirm password").fill(SMTP_PASSWORD);
  await form.getByRole("button", { name: "Send a test mail" }).click();
  await expect(page.getByTestId("test-mail-result")).toHaveAttribute("data-status", "sent");
  await expect(page.getByTestId("test-mail-result")).toContainText(`Test mail sent to ${newAdmin} through 127.0.0.1:${SMTP_PORT}`);
  const testMail = await waitForMail(newAdmin, (m) => m.subject === "Portcullis SMTP test");
  expect(testMail.text).toContain(`This is a test message from Portcullis to ${newAdmin}.`);
  // Only a test: nothing saved, and the password is not sent back to the browser.
  expect(await current()).toMatchObject({ adminEmail: firstAdmin, smtp: { port: dead } });
  await expect(form.getByLabel("SMTP password", { exact: true })).toHaveValue("");
  expect(await page.content()).not.toContain(SMTP_PASSWORD);
  await shot(page, "test-mail");

  // Save (the password typed again): stored, never shown; the waiting confirmation goes out now.
  await form.getByLabel("SMTP password", { exact: true }).fill(SMTP_PASSWORD);
  await form.getByLabel("Confirm password").fill(SMTP_PASSWORD);
  await form.getByRole("button", { name: "Save" }).click();
  await expect(page.getByTestId("ca-settings-saved")).toHaveText("Settings saved.");
  const saved = await current();
  expect(saved).toMatchObject({ issuedValidityDays: 30, adminEmail: newAdmin, smtp: { host: "127.0.0.1", port: SMTP_PORT, username: "mailer", passwordSet: true } });
  expect(JSON.stringify(saved)).not.toContain(SMTP_PASSWORD);
  await expect(form.getByLabel("SMTP port")).toHaveValue(String(SMTP_PORT));
  await expect(form.getByLabel("SMTP password", { exact: true })).toHaveValue("");
  await expect(form.getByLabel("Remove the stored SMTP password")).toBeVisible();
  expect(await page.content()).not.toContain(SMTP_PASSWORD);
  const confirmation = await waitForMail(firstAdmin, (m) => m.subject.startsWith("Certificate Authority server configured"));
  expect(confirmation.text).toContain("Settings Test CA");
  await shot(page, "saved");

  // The CA server page shows the new settings.
  await gotoReady(page, "/ca-server");
  await expect(page.getByText(`127.0.0.1:${SMTP_PORT}, user mailer`, { exact: true })).toBeVisible();
  await expect(page.getByText("30 days", { exact: true })).toBeVisible();

  // The API: PATCH keeps what it is not given (the password too), 422 names the field, 401 without credentials.
  const bad = await request.patch("/api/v1/admin/ca", { headers, data: { smtp: { port: 0 } } });
  expect(bad.status()).toBe(422);
  expect((await bad.json()).error.fields).toEqual({ "smtp.port": "The port must be between 1 and 65535" });
  expect((await request.patch("/api/v1/admin/ca", { data: { issuedValidityDays: 10 } })).status()).toBe(401);
  const patched = await request.patch("/api/v1/admin/ca", { headers, data: { issuedValidityDays: 45 } });
  expect(patched.status(), await patched.text()).toBe(200);
  expect(await patched.json()).toMatchObject({ changed: ["issuedValidityDays"], settings: { issuedValidityDays: 45, smtp: { username: "mailer", passwordSet: true } } });

  // Audited, without the password.
  const audit = await request.get("/api/v1/admin/audit?action=ca.settings", { headers });
  const entries = (await audit.json()).items as { action: string; actor: string; details: unknown }[];
  expect(entries.map((e) => e.action)).toEqual(["ca.settings", "ca.settings"]);
  expect(JSON.stringify(entries)).not.toContain(SMTP_PASSWORD);
  const tests = (await (await request.get("/api/v1/admin/audit?action=ca.settings.test-mail", { headers })).json()).items as { details: { status: string } }[];
  expect(tests.map((e) => e.details.status)).toEqual(["sent", "failed"]);
});
