import { test, expect, type Page } from "@playwright/test";
import { execFileSync } from "node:child_process";
import { join } from "node:path";
import { gotoReady, signIn } from "./support";
import { CA_KEY_PASSWORD, WORK_DIR, configureQueueCa, fillIssueForm, requestStatus, submitCsr, submitNew, uniqueName } from "./queue-support";

test.beforeEach(async ({ request }) => {
  await configureQueueCa(request);
});

const preview = (page: Page) => page.getByTestId("preview-table");

test("the Process page shows the CSR beside the certificate, with the lint; the usage updates it; errors refuse, a clean usage issues", async ({ page, request }) => {
  // The common name is not among the SANs: fine for a client certificate, an error for a TLS server.
  const s = await submitNew(request, { subject: "/O=Example/CN=www.example.com", san: "DNS:api.example.com", prefix: "Lint" });
  await signIn(page);
  await gotoReady(page, `/ca-server/requests/${s.id}`);

  await expect(page.getByTestId("preview-title")).toHaveText("Preview: what will be issued as TLS/SSL and XML security");
  await expect(preview(page)).toContainText("Requested in the CSR");
  await expect(page.getByTestId("preview-subject")).toHaveText("O=Example, CN=www.example.com");
  await expect(page.getByTestId("preview-sans")).toHaveText("DNS:api.example.com");
  await expect(page.getByTestId("preview-basic-constraints")).toHaveText("CA:FALSE(critical)");
  await expect(page.getByTestId("preview-key-usage")).toHaveText("digitalSignature(critical)");
  await expect(page.getByTestId("preview-eku")).toHaveText("serverAuth, clientAuth");
  await expect(page.getByTestId("preview-validity")).toContainText("UTC to");
  const errors = page.getByTestId("lint-errors");
  await expect(errors).toContainText('The common name "www.example.com" is not among the subjectAltName DNS names and IP addresses');
  await expect(errors).toContainText("cn_not_in_san");
  await expect(page.getByRole("alert").filter({ hasText: "this certificate will not be issued" })).toHaveClass(/bg-red-50/);
  await page.screenshot({ path: `${process.env.E2E_OUTPUT_DIR ?? "test-results"}/screenshots/process-preview-lint.png`, fullPage: true });

  // Another usage: the preview follows, without a page load.
  await page.getByRole("radio", { name: "TLS client only", exact: true }).check();
  await expect(page.getByTestId("preview-title")).toHaveText("Preview: what will be issued as TLS client only");
  await expect(page.getByTestId("preview-eku")).toHaveText("clientAuth");
  await expect(page.getByTestId("lint-clean")).toContainText("No findings");
  await expect(page.getByTestId("lint-errors")).toHaveCount(0);
  expect(new URL(page.url()).searchParams.get("usage")).toBe("tls-client");
  await page.getByRole("radio", { name: "Intermediate Certificate Authority", exact: true }).check();
  await expect(page.getByTestId("preview-basic-constraints")).toHaveText("CA:TRUE, pathlen:0(critical)");
  await expect(page.getByTestId("preview-key-usage")).toHaveText("keyCertSign, cRLSign(critical)");
  await expect(page.getByTestId("preview-eku")).toHaveText("None");

  // Issuing as TLS anyway: refused with the finding, and the request stays pending.
  await fillIssueForm(page, { usageLabel: "TLS/SSL and XML security", password: CA_KEY_PASSWORD });
  await expect(page.getByTestId("lint-errors")).toContainText("cn_not_in_san");
  await page.getByRole("button", { name: "Finish" }).click();
  await expect(page.getByTestId("issue-form-message")).toContainText("fails the checks run before signing");
  await expect(page.getByTestId("issue-form-message")).toContainText("cn_not_in_san");
  expect(await requestStatus(request, s.id)).toMatchObject({ status: "pending" });

  // As a client certificate it is issued.
  await page.getByRole("radio", { name: "TLS client only", exact: true }).check();
  await expect(page.getByTestId("lint-clean")).toBeVisible();
  await page.getByLabel("Password for Certificate Authority's Private Key file").fill(CA_KEY_PASSWORD);
  await page.getByRole("button", { name: "Finish" }).click();
  await expect(page.getByTestId("issued-message")).toContainText(`issued for Certificate Signing Request "${s.filename}"`);
  expect(await requestStatus(request, s.id)).toMatchObject({ status: "issued" });
});

test("warnings are shown in amber and do not stop the issuance; a usage the request does not fit is an error finding", async ({ page, request }) => {
  // An Ed25519 key: a TLS server certificate browsers would not accept (a warning, not an error).
  const key = join(WORK_DIR, `${uniqueName("ed")}.key`);
  const csr = execFileSync("openssl", ["req", "-new", "-newkey", "ed25519", "-nodes", "-keyout", key, "-subj", "/CN=ed.example.com", "-addext", "subjectAltName=DNS:ed.example.com"], { encoding: "utf8" });
  const filename = uniqueName("Ed");
  const s = await submitCsr(request, { csr, contact: { name: "Eddie Edwards" }, filename });
  await signIn(page);
  await gotoReady(page, `/ca-server/requests/${s.id}`);
  const warnings = page.getByTestId("lint-warnings");
  await expect(warnings).toContainText("ed25519_tls_server");
  await expect(page.getByRole("status").filter({ hasText: "1 warning" })).toHaveClass(/bg-amber-50/);
  await expect(page.getByTestId("lint-errors")).toHaveCount(0);
  await fillIssueForm(page, { usageLabel: "TLS/SSL and XML security", password: CA_KEY_PASSWORD });
  await page.getByRole("button", { name: "Finish" }).click();
  await expect(page.getByTestId("issued-message")).toContainText(`issued for Certificate Signing Request "${filename}"`);

  // No device identity: the IoT usage's refusal is shown before anyone types a password.
  const plain = await submitNew(request, { subject: "/O=Example/CN=plain-client", prefix: "Plain" });
  await gotoReady(page, `/ca-server/requests/${plain.id}?usage=iot-device`);
  await expect(page.getByTestId("preview-title")).toHaveText("Preview: what will be issued as IoT device");
  await expect(page.getByRole("radio", { name: "IoT device", exact: true })).toBeChecked();
  await expect(page.getByTestId("lint-errors")).toContainText("An IoT device certificate needs the device identity");
  await expect(page.getByTestId("preview-subject")).toHaveText("—");
});

test("user text in the preview is shown as text, never markup", async ({ page, request }) => {
  const s = await submitNew(request, { subject: "/O=<b>Bold<\\/b>/CN=<img src=x onerror=alert(1)>", prefix: "Xss" });
  await signIn(page);
  let dialogs = 0;
  page.on("dialog", (d) => {
    dialogs++;
    void d.dismiss();
  });
  await gotoReady(page, `/ca-server/requests/${s.id}?usage=tls-client`);
  // The subject as the CSR card prints it (RFC 4514 escapes "<" and ">"), markup characters and all.
  const subject = (await page.getByTestId("csr-subject").textContent()) ?? "";
  expect(subject).toContain("img src=x onerror=alert(1)");
  expect(subject).toContain("Bold");
  await expect(page.getByTestId("preview-subject")).toHaveText(subject);
  await expect(preview(page).locator("img")).toHaveCount(0);
  await expect(preview(page).locator("b")).toHaveCount(0);
  expect(dialogs).toBe(0);
});
