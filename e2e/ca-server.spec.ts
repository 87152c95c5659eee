import { test, expect } from "@playwright/test";
import { readFileSync, statSync, existsSync } from "node:fs";
import { join } from "node:path";
import { DATA_DIR, gotoReady, signIn, resetCa, waitForMail, openssl, opensslOk, SMTP_PORT } from "./support";

const KEY_PW = "e2e CA key password";

test.beforeEach(async ({ request }) => {
  await resetCa(request);
});

test("the admin pages send a visitor to sign in", async ({ page }) => {
  await page.goto("/ca-server");
  await expect(page).toHaveURL(/\/login\?next=%2Fca-server/);
  await page.getByLabel("User name").fill("admin");
  await page.getByLabel("Password").fill("not the password");
  await page.getByRole("button", { name: "Sign in" }).click();
  await expect(page.getByRole("alert").filter({ hasText: "incorrect" })).toHaveText("The user name or password is incorrect");
});

test("configure a new CA in the browser, read its fingerprint, get the mail, reinitialize", async ({ page }) => {
  await signIn(page);
  await gotoReady(page, "/");
  await page.screenshot({ path: "test-results/screenshots/home.png", fullPage: true });
  await page.getByRole("link", { name: "Configure local Certificate Authority server" }).click();
  await expect(page.getByRole("heading", { name: "Configure local Certificate Authority server" })).toBeVisible();

  // Step 1: a bad root is answered next to its field.
  const root = page.getByLabel(/File name root for Certificate Authority/);
  await root.fill("cache");
  await page.getByLabel(/Directory for Certificate Authority/).fill("e2e-new");
  await page.getByRole("button", { name: "Next" }).click();
  await expect(page.locator("#f-fileNameRoot-error")).toHaveText('The file name root cannot be "cache"');
  await expect(root).toHaveAttribute("aria-invalid", "true");
  await expect(root).toHaveAttribute("aria-describedby", /f-fileNameRoot-error/);
  await page.screenshot({ path: "test-results/screenshots/ca-server-step1-error.png", fullPage: true });

  await root.fill("E2ECA");
  await page.getByRole("button", { name: "Next" }).click();
  await expect(page.getByTestId("mode-notice")).toContainText("a new key and a new self-signed CA certificate will be created");

  // Step 2: several mistakes at once, each next to its field.
  await page.getByLabel(/^Password to Certificate Authority's Private Key file/).fill(KEY_PW);
  await page.getByLabel(/^Confirm Password/).fill("something else");
  await page.getByLabel("Country").fill("XX");
  await page.getByLabel("Common Name").fill("E2E Test CA");
  await page.getByLabel("Organization", { exact: true }).fill("Example <b>Corp</b>");
  await page.getByLabel(/Validity period for Certificate Authority's Certificate/).fill("0");
  await page.getByLabel("SMTP server").fill("127.0.0.1");
  await page.getByLabel("SMTP port").fill(String(SMTP_PORT));
  await page.getByLabel(/administrator's email address/).fill("camgr@example.com");
  await page.getByRole("button", { name: "Save" }).click();
  await expect(page.locator("#f-keyPasswordConfirm-error")).toHaveText("The passwords do not match");
  await expect(page.locator("#f-subject-C-error")).toContainText("ISO 3166");
  await expect(page.locator("#f-caValidityDays-error")).toContainText("between 1 and");
  await expect(page.getByRole("alert").filter({ hasText: "not saved" })).toContainText("Correct the 3 fields marked below");
  // Values typed are kept (passwords are not echoed back).
  await expect(page.getByLabel("Common Name")).toHaveValue("E2E Test CA");
  await page.screenshot({ path: "test-results/screenshots/ca-server-step2-errors.png", fullPage: true });

  await page.getByLabel(/^Password to Certificate Authority's Private Key file/).fill(KEY_PW);
  await page.getByLabel(/^Confirm Password/).fill(KEY_PW);
  await page.getByLabel("Country").fill("fr");
  await page.getByLabel(/Validity period for Certificate Authority's Certificate/).fill("3650");
  await page.getByRole("button", { name: "Save" }).click();
  const message = page.getByTestId("configure-message");
  await expect(message).toContainText("Created new files:");
  await expect(message).toContainText("Confirmation email sent to: camgr@example.com");
  await page.screenshot({ path: "test-results/screenshots/ca-server-configured.png", fullPage: true });

  // The files on disk pass OpenSSL's checks, and the fingerprint shown is OpenSSL's.
  const dir = join(DATA_DIR, "e2e-new");
  const cer = join(dir, "E2ECA.cer");
  const fp = opensslOk(["x509", "-in", cer, "-noout", "-fingerprint", "-sha1"]).trim().split("=")[1];
  await expect(message).toContainText(fp);
  expect(opensslOk(["verify", "-x509_strict", "-CAfile", cer, cer])).toContain("OK");
  expect(opensslOk(["x509", "-in", cer, "-noout", "-subject", "-nameopt", "RFC2253"])).toContain("CN=E2E Test CA,O=Example \\<b\\>Corp\\</b\\>,C=FR");
  expect(openssl(["pkey", "-in", join(dir, "E2ECA.key"), "-passin", `pass:${KEY_PW}`, "-noout"]).status).toBe(0);
  expect(statSync(join(dir, "E2ECA.key")).mode & 0o777).toBe(0o600);
  expect(readFileSync(join(dir, "E2ECA.srl"), "utf8")).toBe("01\n");

  const mail = await waitForMail("camgr@example.com", (m) => m.text.includes(fp));
  expect(mail.html).toContain("O=Example \\&lt;b\\&gt;Corp\\&lt;/b\\&gt;");
  expect(mail.html).not.toContain("<b>");

  await expect(page.getByTestId("ca-sha1")).toHaveText(fp);
  // User text is shown as text, never as markup (RFC 2253 escapes < and > in a DN).
  await expect(page.getByText("O=Example \\<b\\>Corp\\</b\\>").first()).toBeVisible();
  await expect(page.locator("b", { hasText: "Corp" })).toHaveCount(0);
  await page.reload();
  await expect(message).toContainText(fp);
  await page.screenshot({ path: "test-results/screenshots/ca-server-view.png", fullPage: true });

  // Reinitialize asks first; Cancel changes nothing.
  await gotoReady(page, "/ca-server");
  await page.getByRole("button", { name: "Reinitialize…" }).click();
  const dialog = page.getByRole("dialog", { name: "Reinitialize the Certificate Authority server?" });
  await expect(dialog).toBeVisible();
  await page.screenshot({ path: "test-results/screenshots/ca-server-reinitialize.png" });
  await dialog.getByRole("button", { name: "Cancel" }).click();
  await expect(dialog).toBeHidden();
  await expect(page.getByTestId("ca-sha1")).toHaveText(fp);

  await page.getByRole("button", { name: "Reinitialize…" }).click();
  await dialog.getByRole("button", { name: "Reinitialize" }).click();
  await expect(page.getByText("The Certificate Authority server was reinitialized.")).toBeVisible();
  for (const f of ["E2ECA.cer", "E2ECA.key", "E2ECA.srl"]) expect(existsSync(join(dir, f))).toBe(true);

  // Configure again with the same root: existing mode asks for fewer fields.
  await page.getByLabel(/File name root for Certificate Authority/).fill("E2ECA");
  await page.getByLabel(/Directory for Certificate Authority/).fill("e2e-new");
  await page.getByRole("button", { name: "Next" }).click();
  await expect(page.getByTestId("mode-notice")).toContainText("An existing key and certificate were found");
  await expect(page.getByLabel("Country")).toHaveCount(0);
  await expect(page.getByLabel(/^Confirm Password/)).toHaveCount(0);
  await page.getByLabel(/^Password of the Certificate Authority's Private Key file/).fill("wrong password here");
  await page.getByLabel(/administrator's email address/).fill("camgr@example.com");
  await page.getByRole("button", { name: "Save" }).click();
  await expect(page.locator("#f-keyPassword-error")).toHaveText("The password does not decrypt the private key");
  await page.getByLabel(/^Password of the Certificate Authority's Private Key file/).fill(KEY_PW);
  await page.getByRole("button", { name: "Save" }).click();
  await expect(message).toContainText(`Using existing files: ${dir}/E2ECA.cer and .key`);
  await expect(message).toContainText(fp);
});

test("the CA server page works on a phone", async ({ browser }) => {
  const context = await browser.newContext({ viewport: { width: 390, height: 844 }, isMobile: true, hasTouch: true });
  const page = await context.newPage();
  await signIn(page);
  await page.goto("/ca-server");
  await page.getByLabel(/File name root for Certificate Authority/).fill("PhoneCA");
  await page.getByLabel(/Directory for Certificate Authority/).fill("e2e-phone");
  await page.getByRole("button", { name: "Next" }).click();
  await expect(page.getByTestId("mode-notice")).toBeVisible();
  const overflow = await page.evaluate(() => document.documentElement.scrollWidth - document.documentElement.clientWidth);
  expect(overflow).toBeLessThanOrEqual(0);
  await page.screenshot({ path: "test-results/screenshots/ca-server-phone.png", fullPage: true });
  await context.close();
});

test("the form can be completed with the keyboard alone", async ({ page }) => {
  await signIn(page);
  await page.goto("/ca-server");
  await page.getByLabel(/File name root for Certificate Authority/).focus();
  await page.keyboard.type("KeyboardCA");
  await page.keyboard.press("Tab");
  await page.keyboard.press("ControlOrMeta+a");
  await page.keyboard.type("e2e-keyboard");
  await page.keyboard.press("Enter");
  await expect(page.getByTestId("mode-notice")).toBeVisible();
});

test("an unreachable SMTP server does not undo the configuration; the mail waits and is shown", async ({ page }) => {
  await signIn(page);
  await gotoReady(page, "/ca-server");
  await page.getByLabel(/File name root for Certificate Authority/).fill("NoMailCA");
  await page.getByLabel(/Directory for Certificate Authority/).fill("e2e-nomail");
  await page.getByRole("button", { name: "Next" }).click();
  await page.getByLabel(/^Password to Certificate Authority's Private Key file/).fill(KEY_PW);
  await page.getByLabel(/^Confirm Password/).fill(KEY_PW);
  await page.getByLabel("Common Name").fill("No Mail CA");
  await page.getByLabel("SMTP server").fill("127.0.0.1");
  await page.getByLabel("SMTP port").fill("9"); // nothing listens on the discard port here
  await page.getByLabel(/administrator's email address/).fill("nomail@example.com");
  await page.getByRole("button", { name: "Save" }).click();
  const message = page.getByTestId("configure-message");
  await expect(message).toContainText("Confirmation email to nomail@example.com could not be sent yet");
  await expect(message).toContainText("queued and will be retried");
  await expect(page.getByTestId("ca-sha1")).toBeVisible();
  await expect(page.getByRole("link", { name: /E-mail\s*\d+ waiting/ })).toBeVisible();
  await page.getByRole("link", { name: /E-mail/ }).click();
  const row = page.getByRole("row", { name: /nomail@example.com/ });
  await expect(row).toContainText("pending");
  await expect(row).toContainText(/refused/i);
  await page.screenshot({ path: "test-results/screenshots/mail-outbox.png", fullPage: true });
});
