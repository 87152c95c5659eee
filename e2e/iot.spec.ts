/**
 * Device security (IoT): CA certificates for device authentication (add by file and by
 * paste, preview, refusals, deactivate/activate, trust bundle), the public device check,
 * and messaging server certificates (CSR round-trip signed by OpenSSL, default, export).
 * Every certificate is made by OpenSSL here.
 */
import { test, expect, type Page, type Browser } from "@playwright/test";
import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { gotoReady, signIn, opensslOk, openssl } from "./support";

const WORK = mkdtempSync(join(tmpdir(), "pc-iot-e2e-"));
const RUN = Date.now().toString(36);
let seq = 0;
const file = (name: string) => join(WORK, `${++seq}-${name}`);

function sh(args: string[]): string {
  return execFileSync("openssl", args, { encoding: "utf8", stdio: ["ignore", "pipe", "pipe"] });
}

interface Ca {
  cert: string;
  key: string;
  pem: string;
  subject: string;
}

/** A self-signed CA (P-256, CA:TRUE, keyCertSign). */
function makeCa(cn: string): Ca {
  const key = file("ca.key");
  const cert = file("ca.pem");
  sh(["req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-keyout", key, "-out", cert, "-days", "365", "-subj", `/O=IoT E2E/CN=${cn}`,
    "-addext", "basicConstraints=critical,CA:TRUE", "-addext", "keyUsage=critical,keyCertSign,cRLSign", "-addext", "subjectKeyIdentifier=hash"]);
  return { cert, key, pem: readFileSync(cert, "utf8"), subject: `O=IoT E2E, CN=${cn}` };
}

/** A certificate for `subj` signed by `ca` with the given extensions (a file of `key = value` lines). */
function signLeaf(ca: Ca, subj: string, ext: string): { cert: string; key: string; pem: string } {
  const key = file("leaf.key");
  const csr = file("leaf.csr");
  const cert = file("leaf.pem");
  const extFile = file("ext.cnf");
  writeFileSync(extFile, ext);
  sh(["req", "-new", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-keyout", key, "-out", csr, "-subj", subj]);
  sh(["x509", "-req", "-in", csr, "-CA", ca.cert, "-CAkey", ca.key, "-CAcreateserial", "-days", "30", "-out", cert, "-extfile", extFile]);
  return { cert, key, pem: readFileSync(cert, "utf8") };
}

const DEVICE_EXT = "basicConstraints=critical,CA:FALSE\nkeyUsage=critical,digitalSignature\nextendedKeyUsage=clientAuth\n";

function fingerprint(certFile: string, alg: "sha1" | "sha256"): string {
  return sh(["x509", "-in", certFile, "-noout", "-fingerprint", `-${alg}`]).split("=")[1].trim().toUpperCase();
}

const addForm = (page: Page) => page.getByTestId("add-ca-form");
const caRow = (page: Page, subject: string) => page.getByTestId("ca-row").filter({ has: page.getByTestId("ca-subject").getByText(subject, { exact: true }) });

async function shot(page: Page, name: string) {
  await page.screenshot({ path: `test-results/screenshots/iot-${name}.png`, fullPage: true });
}

async function phoneShot(browser: Browser, url: string, name: string, admin = true) {
  const ctx = await browser.newContext({ viewport: { width: 390, height: 844 }, isMobile: true, hasTouch: true });
  const p = await ctx.newPage();
  if (admin) await signIn(p);
  await gotoReady(p, url);
  const overflow = await p.evaluate(() => document.documentElement.scrollWidth - document.documentElement.clientWidth);
  await p.screenshot({ path: `test-results/screenshots/iot-${name}-phone.png`, fullPage: true });
  await ctx.close();
  return overflow;
}

/** Preview then Save the certificate now in the Add Certificate form. */
async function previewAndSave(page: Page, subject: string) {
  await addForm(page).getByRole("button", { name: "Preview" }).click();
  await expect(page.getByTestId("preview-subject")).toHaveText(subject);
  await addForm(page).getByRole("button", { name: "Save" }).click();
  await expect(page.getByTestId("added-message")).toContainText(subject);
}

test.describe.configure({ mode: "serial" });

const caA = makeCa(`Factory A Devices ${RUN}`);
const caB = makeCa(`Factory B Devices ${RUN}`);
const caC = makeCa(`Factory C Devices ${RUN}`);

test("CA certificates: add by file (PEM, DER) and by paste, with a preview", async ({ page, browser }) => {
  await signIn(page);
  await gotoReady(page, "/iot/ca-certificates");
  await expect(page.getByRole("heading", { name: "CA certificates for device authentication" })).toBeVisible();

  // By file (PEM), with a description: preview first.
  await addForm(page).getByTestId("certificate-file").setInputFiles(caA.cert);
  await expect(addForm(page).getByText(/Read ".*ca\.pem" \(PEM/)).toBeVisible();
  await addForm(page).getByLabel("Description").fill("Factory A sensors");
  await expect(addForm(page).getByRole("button", { name: "Save" })).toBeDisabled();
  await addForm(page).getByRole("button", { name: "Preview" }).click();
  const preview = page.getByTestId("ca-preview");
  await expect(page.getByTestId("preview-subject")).toHaveText(caA.subject);
  await expect(page.getByTestId("preview-issuer")).toContainText("self-signed");
  await expect(page.getByTestId("preview-sha1")).toHaveText(fingerprint(caA.cert, "sha1"));
  await expect(page.getByTestId("preview-sha256")).toHaveText(fingerprint(caA.cert, "sha256"));
  await expect(page.getByTestId("preview-ca")).toContainText("Yes (CA:TRUE");
  await expect(preview).toContainText("CRL distribution points");
  await expect(preview).toContainText("No problems found");
  await shot(page, "ca-preview");
  await addForm(page).getByRole("button", { name: "Save" }).click();
  await expect(page.getByTestId("added-message")).toContainText(caA.subject);
  const rowA = caRow(page, caA.subject);
  await expect(rowA.getByTestId("ca-status")).toHaveText("Active");
  await expect(rowA).toContainText("Factory A sensors");

  // By file (DER).
  const der = file("caB.der");
  sh(["x509", "-in", caB.cert, "-outform", "DER", "-out", der]);
  await addForm(page).getByTestId("certificate-file").setInputFiles(der);
  await expect(addForm(page).getByText(/\(DER, \d+ bytes\)/)).toBeVisible();
  await previewAndSave(page, caB.subject);

  // By paste.
  await addForm(page).getByRole("textbox", { name: /^CA certificate/ }).fill(caC.pem);
  await previewAndSave(page, caC.subject);
  for (const ca of [caA, caB, caC]) await expect(caRow(page, ca.subject).getByTestId("ca-status")).toHaveText("Active");
  await shot(page, "ca-list");
  expect(await phoneShot(browser, "/iot/ca-certificates", "ca-list")).toBeLessThanOrEqual(0);

  // The same certificate again is refused in the preview.
  await addForm(page).getByRole("textbox", { name: /^CA certificate/ }).fill(caC.pem);
  await addForm(page).getByRole("button", { name: "Preview" }).click();
  await expect(page.getByTestId("preview-problems")).toContainText("already registered");
  await expect(addForm(page).getByRole("button", { name: "Save" })).toBeDisabled();
});

test("CA certificates: a leaf certificate and a file with two certificates are refused with the reason", async ({ page }) => {
  await signIn(page);
  await gotoReady(page, "/iot/ca-certificates");
  const leaf = signLeaf(caA, `/CN=d:sensor:leaf-${RUN}`, DEVICE_EXT);
  await addForm(page).getByTestId("certificate-file").setInputFiles(leaf.cert);
  await addForm(page).getByRole("button", { name: "Preview" }).click();
  await expect(page.getByTestId("preview-problems")).toContainText("not a CA certificate");
  await expect(page.getByTestId("preview-ca")).toContainText("No");
  await expect(addForm(page).getByRole("button", { name: "Save" })).toBeDisabled();
  await shot(page, "ca-refused-leaf");

  const two = file("two.pem");
  writeFileSync(two, caA.pem + caB.pem);
  await addForm(page).getByTestId("certificate-file").setInputFiles(two);
  await addForm(page).getByRole("button", { name: "Preview" }).click();
  await expect(addForm(page).getByTestId("certificate-error")).toHaveText("The file holds 2 certificates; exactly one is expected");
  await expect(addForm(page).getByRole("textbox", { name: /^CA certificate/ })).toHaveAttribute("aria-invalid", "true");
  await expect(page.getByTestId("ca-preview")).toHaveCount(0);
  await shot(page, "ca-refused-two");

  // A private key file is not read at all.
  await addForm(page).getByTestId("certificate-file").setInputFiles(leaf.key);
  await expect(addForm(page).getByTestId("certificate-error")).toContainText("contains a private key");
});

test("CA certificates: deactivate and activate; the trust bundle holds only the active ones", async ({ page, request }) => {
  await signIn(page);
  await gotoReady(page, "/iot/ca-certificates");
  const body = (pem: string) => pem.replace(/-----[A-Z ]+-----|\s+/g, "");

  await caRow(page, caB.subject).getByRole("button", { name: /^Deactivate/ }).click();
  await expect(page.getByText(`"${caB.subject}" is deactivated`)).toBeVisible();
  // Active only by default: the deactivated one is listed with "Show inactive too".
  await expect(caRow(page, caB.subject)).toHaveCount(0);
  let bundle = await (await request.get("/api/v1/iot/trust-bundle")).text();
  expect(bundle).toContain(body(caA.pem).slice(0, 64));
  expect(bundle.replace(/\s+/g, "")).toContain(body(caA.pem));
  expect(bundle.replace(/\s+/g, "")).toContain(body(caC.pem));
  expect(bundle.replace(/\s+/g, "")).not.toContain(body(caB.pem));

  await page.getByRole("link", { name: /Show inactive too/ }).click();
  await expect(page).toHaveURL(/show=all/);
  await expect(caRow(page, caB.subject).getByTestId("ca-status")).toHaveText("Inactive");
  await shot(page, "ca-inactive");
  await caRow(page, caB.subject).getByRole("button", { name: /^Activate/ }).click();
  await expect(page.getByText(`"${caB.subject}" is active`)).toBeVisible();
  await expect(caRow(page, caB.subject).getByTestId("ca-status")).toHaveText("Active");
  bundle = await (await request.get("/api/v1/iot/trust-bundle")).text();
  expect(bundle.replace(/\s+/g, "")).toContain(body(caB.pem));

  // Delete asks first.
  await caRow(page, caC.subject).getByRole("button", { name: /^Delete/ }).click();
  const dialog = page.getByRole("dialog", { name: "Delete this CA certificate?" });
  await expect(dialog).toBeVisible();
  await dialog.getByRole("button", { name: "Delete certificate" }).click();
  await expect(page.getByText(`"${caC.subject}" was deleted.`)).toBeVisible();
  await expect(caRow(page, caC.subject)).toHaveCount(0);
  bundle = await (await request.get("/api/v1/iot/trust-bundle")).text();
  expect(bundle.replace(/\s+/g, "")).not.toContain(body(caC.pem));
});

test("device check (public): accepted, and refused with every reason", async ({ browser }) => {
  const ctx = await browser.newContext();
  const page = await ctx.newPage();
  await gotoReady(page, "/iot/device-check");
  await expect(page.getByRole("heading", { name: "Check a device certificate" })).toBeVisible();

  const good = signLeaf(caA, `/O=IoT E2E/CN=d:sensor:dev-${RUN}`, DEVICE_EXT);
  await page.getByTestId("certificate-file").first().setInputFiles(good.cert);
  await page.getByRole("button", { name: "Check certificate" }).click();
  await expect(page.getByTestId("verdict-title")).toHaveText("Accepted");
  await expect(page.getByTestId("verdict-device-type")).toHaveText("sensor");
  await expect(page.getByTestId("verdict-device-id")).toHaveText(`dev-${RUN}`);
  await expect(page.getByTestId("verdict-issuer")).toHaveText(caA.subject);
  await shot(page, "device-check-accepted");

  // Signed by a CA that is not registered, and with a malformed identity: both reasons.
  const stranger = makeCa(`Unregistered ${RUN}`);
  const bad = signLeaf(stranger, "/CN=d::x", DEVICE_EXT);
  await page.getByRole("textbox", { name: /^Device certificate/ }).fill(bad.pem);
  await page.getByRole("button", { name: "Check certificate" }).click();
  await expect(page.getByTestId("verdict-title")).toHaveText("Refused");
  const reasons = page.getByTestId("verdict-reasons").locator("li");
  expect(await reasons.count()).toBeGreaterThanOrEqual(2);
  await expect(page.getByTestId("verdict-reasons")).toContainText("device type");
  await expect(page.getByTestId("verdict-issuer")).toContainText("None");
  await shot(page, "device-check-refused");
  await ctx.close();
  expect(await phoneShot(browser, "/iot/device-check", "device-check", false)).toBeLessThanOrEqual(0);

  // Not a certificate at all: an error next to the field, not a verdict.
  const ctx2 = await browser.newContext();
  const p2 = await ctx2.newPage();
  await gotoReady(p2, "/iot/device-check");
  await p2.getByRole("textbox", { name: /^Device certificate/ }).fill("hello");
  await p2.getByRole("button", { name: "Check certificate" }).click();
  await expect(p2.getByTestId("certificate-error")).toContainText("not an X.509 certificate");
  await ctx2.close();
});

test("messaging certificates: generate a CSR, download it, sign it with OpenSSL, upload it, make it the default, export", async ({ page, browser }) => {
  test.setTimeout(120_000);
  await signIn(page);
  await gotoReady(page, "/iot/messaging");
  await expect(page.getByRole("heading", { name: "Messaging server certificates" })).toBeVisible();
  // A default exists from the first start.
  await expect(page.getByTestId("messaging-row").filter({ has: page.getByTestId("default-badge") })).toHaveCount(1);

  const host = `mqtt-${RUN}.example.com`;
  const form = page.getByTestId("generate-csr-form");
  await form.getByLabel("Organization", { exact: true }).fill("IoT E2E");
  await form.getByLabel("Common Name").fill(host);
  await form.getByLabel("Subject alternative names").fill(`DNS:${host}, IP:192.0.2.7`);
  await form.getByLabel("Description").fill("E2E broker");
  await form.getByRole("button", { name: "Generate CSR" }).click();
  await expect(page.getByText("CSR generated", { exact: true })).toBeVisible();
  const row = page.locator(`tr[data-testid="messaging-row"]`).filter({ hasText: `CN=${host}` });
  await expect(row).toHaveAttribute("data-kind", "csr");
  await expect(row).toContainText(`DNS:${host}`);
  await expect(row).toContainText("IP:192.0.2.7");
  await shot(page, "messaging-csr");

  // Download the CSR.
  const [download] = await Promise.all([page.waitForEvent("download"), row.getByTestId("download-csr").click()]);
  const csrFile = file("broker.csr");
  await download.saveAs(csrFile);
  expect(download.suggestedFilename()).toBe(`${host}.csr`);
  expect(opensslOk(["req", "-in", csrFile, "-noout", "-verify"]).length).toBeGreaterThanOrEqual(0);
  expect(openssl(["req", "-in", csrFile, "-noout", "-subject"]).out).toContain(host);

  // A certificate for another key is refused on this row, next to the field.
  const signer = makeCa(`Broker Signer ${RUN}`);
  const serverExt = `basicConstraints=critical,CA:FALSE\nkeyUsage=critical,digitalSignature\nextendedKeyUsage=serverAuth\nsubjectAltName=DNS:${host},IP:192.0.2.7\n`;
  const other = signLeaf(signer, `/CN=${host}`, serverExt);
  await row.locator("summary").click();
  await row.getByTestId("certificate-file").setInputFiles(other.cert);
  await row.getByRole("button", { name: "Upload" }).click();
  await expect(row.getByTestId("certificate-error")).toContainText("does not belong to this CSR");

  // Sign the downloaded CSR with OpenSSL and upload it onto its row.
  const extFile = file("server.cnf");
  writeFileSync(extFile, serverExt);
  const signed = file("broker.pem");
  sh(["x509", "-req", "-in", csrFile, "-CA", signer.cert, "-CAkey", signer.key, "-CAcreateserial", "-days", "60", "-out", signed, "-extfile", extFile]);
  await row.getByTestId("certificate-file").setInputFiles(signed);
  await row.getByRole("button", { name: "Upload" }).click();
  await expect(page.getByText("Signed certificate uploaded", { exact: true })).toBeVisible();
  const certRow = page.locator(`tr[data-testid="messaging-row"]`).filter({ hasText: `CN=${host}` });
  await expect(certRow).toHaveAttribute("data-kind", "certificate");
  await expect(certRow).toContainText(fingerprint(signed, "sha1"));

  // Make it the default.
  const select = page.getByLabel("Default messaging server certificate");
  const value = await certRow.getAttribute("data-id");
  await select.selectOption(value!);
  await page.getByRole("button", { name: "Save", exact: true }).click();
  await expect(page.getByText("Default saved", { exact: true })).toBeVisible();
  await expect(certRow.getByTestId("default-badge")).toBeVisible();
  await expect(page.getByTestId("default-badge")).toHaveCount(1);
  await shot(page, "messaging-default");

  // Export: a warning first, then the certificate and the unencrypted key.
  await page.getByRole("button", { name: "Export default for the broker" }).click();
  const dialog = page.getByRole("dialog", { name: /Show the default certificate and its private key/ });
  await expect(dialog).toContainText("unencrypted");
  await dialog.getByRole("button", { name: "Show certificate and key" }).click();
  await expect(page.getByTestId("export-result")).toBeVisible();
  await expect(page.getByTestId("export-result")).toContainText("unencrypted");
  const certPem = await page.locator("#export-certificate").inputValue();
  const keyPem = await page.locator("#export-private-key").inputValue();
  expect(keyPem).toContain("-----BEGIN PRIVATE KEY-----");
  expect(fingerprint(writeTemp("exported.pem", certPem), "sha1")).toBe(fingerprint(signed, "sha1"));
  const keyFile = writeTemp("exported.key", keyPem);
  const r = openssl(["pkey", "-in", keyFile, "-noout"]);
  expect(r.status, r.out).toBe(0);
  // The key is the certificate's.
  const pubFromKey = sh(["pkey", "-in", keyFile, "-pubout"]);
  const pubFromCert = sh(["x509", "-in", signed, "-noout", "-pubkey"]);
  expect(pubFromKey).toBe(pubFromCert);
  await shot(page, "messaging-export");
  expect(await phoneShot(browser, "/iot/messaging", "messaging")).toBeLessThanOrEqual(0);
});

test("messaging certificates: add a certificate with its encrypted key; a wrong passphrase is refused next to the field", async ({ page }) => {
  await signIn(page);
  await gotoReady(page, "/iot/messaging");
  const host = `upload-${RUN}.example.com`;
  const signer = makeCa(`Upload Signer ${RUN}`);
  const leaf = signLeaf(signer, `/CN=${host}`, `basicConstraints=critical,CA:FALSE\nkeyUsage=critical,digitalSignature\nextendedKeyUsage=serverAuth\nsubjectAltName=DNS:${host}\n`);
  const encKey = file("enc.key");
  sh(["pkcs8", "-topk8", "-in", leaf.key, "-out", encKey, "-v2", "aes-256-cbc", "-passout", "pass:right passphrase"]);
  const form = page.getByTestId("add-messaging-form");
  await form.getByTestId("certificate-file").setInputFiles(leaf.cert);
  await form.getByTestId("privateKey-file").setInputFiles(encKey);
  await form.getByLabel("Passphrase").fill("wrong passphrase");
  await form.getByLabel("Description").fill("Uploaded in e2e");
  await form.getByRole("button", { name: "Add Certificate" }).click();
  await expect(form.locator("#add-passphrase-error, #f-passphrase-error, [id$=passphrase-error]")).toBeVisible();
  await shot(page, "messaging-add-refused");
  await form.getByLabel("Passphrase").fill("right passphrase");
  await form.getByRole("button", { name: "Add Certificate" }).click();
  await expect(page.getByText("Certificate added", { exact: true })).toBeVisible();
  await expect(page.locator(`tr[data-testid="messaging-row"]`).filter({ hasText: `CN=${host}` })).toHaveAttribute("data-kind", "certificate");
});

function writeTemp(name: string, text: string): string {
  const f = file(name);
  writeFileSync(f, text);
  return f;
}
