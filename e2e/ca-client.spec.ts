import { test, expect, type Page, type APIRequestContext } from "@playwright/test";
import { existsSync, readFileSync, statSync } from "node:fs";
import { createServer, type AddressInfo } from "node:net";
import { join } from "node:path";
import { APP_PORT } from "../playwright.config";
import { DATA_DIR, apiToken, gotoReady, openssl, resetCa, signIn, SMTP_PORT, instancePort, startInstance, waitForMail, type Instance } from "./support";

// The main e2e server is the CA server; a second instance on CLIENT_PORT is the CA client.
const CLIENT_PORT = instancePort(1);
const clientBase = `http://127.0.0.1:${CLIENT_PORT}`;
const CLIENT_ADMIN = { username: "clientadmin", password: "client admin password" };
const CA_KEY_PW = "ca-client e2e CA key password";
const CLIENT_KEY_PW = "client key password";
const CA_ADMIN_EMAIL = "ca-client-camgr@example.com";
const SHA1 = /([0-9A-F]{2}(?::[0-9A-F]{2}){19})/;

let client: Instance;

function shot(page: Page, name: string) {
  return page.screenshot({ path: `test-results/screenshots/ca-client-${name}.png`, fullPage: true });
}

async function freePort(): Promise<number> {
  const s = createServer();
  const port = await new Promise<number>((r) => s.listen(0, "127.0.0.1", () => r((s.address() as AddressInfo).port)));
  await new Promise((r) => s.close(r));
  return port;
}

/** Configures the main server as a CA through the admin API; returns its public CA record. */
async function configureServerCa(request: APIRequestContext, root: string): Promise<{ sha1Fingerprint: string; pem: string }> {
  await resetCa(request);
  const auth = { authorization: `Bearer ${await apiToken(request)}` };
  const r = await request.post("/api/v1/admin/ca", {
    headers: auth,
    data: {
      fileNameRoot: root,
      directory: "e2e-ca-client",
      keyPassword: CA_KEY_PW,
      subject: { C: "US", O: "Example Corporation", CN: "CA Client E2E Test CA" },
      keyAlgorithm: "ecdsa-p256",
      caValidityDays: 3650,
      issuedValidityDays: 365,
      smtp: { host: "127.0.0.1", port: SMTP_PORT, secure: false, username: "", password: "" },
      adminEmail: CA_ADMIN_EMAIL,
    },
  });
  expect(r.status(), await r.text()).toBe(201);
  return (await request.get("/api/v1/ca")).json();
}

/** The CA server's administrator issues the pending request with this file name (the API is enough). */
async function issue(request: APIRequestContext, filename: string): Promise<{ number: number; sha1Fingerprint: string }> {
  const auth = { authorization: `Bearer ${await apiToken(request)}` };
  const queue = await (await request.get("/api/v1/admin/csrs?limit=200", { headers: auth })).json();
  const pending = (queue.items as { id: string; filename: string }[]).find((r) => r.filename === filename);
  expect(pending, `a pending request ${filename}`).toBeTruthy();
  const r = await request.post(`/api/v1/admin/csrs/${pending!.id}/issue`, { headers: auth, data: { usage: "tls", caKeyPassword: CA_KEY_PW, fingerprintVerified: true, verificationChannel: "phone" } });
  expect(r.status(), await r.text()).toBe(201);
  return r.json();
}

async function signInAt(page: Page, base: string, user: { username: string; password: string }) {
  await gotoReady(page, `${base}/login`);
  await page.getByLabel("User name").fill(user.username);
  await page.getByLabel("Password").fill(user.password);
  await page.getByRole("button", { name: "Sign in" }).click();
  await expect(page.getByText(`Signed in as ${user.username}`)).toBeVisible();
}

async function configureClient(page: Page, base: string, port: number, instance: string) {
  await gotoReady(page, `${base}/ca-client`);
  await page.getByLabel("Certificate Authority server hostname").fill("127.0.0.1");
  await page.getByLabel("Certificate Authority WebServer port number").fill(String(port));
  await page.getByLabel("Certificate Authority server path").fill("/api/v1");
  await page.getByLabel("Instance name").fill(instance);
  await page.locator("#f-contactName").fill("Ann Contact");
  await page.getByLabel("Phone number").fill("+1 617 555 0100");
  await page.getByLabel("Email address").fill("ann.contact@example.com");
  await page.getByRole("button", { name: "Save" }).click();
  await expect(page.getByRole("status").filter({ hasText: "Certificate Authority client successfully configured." })).toBeVisible();
}

async function submitCsr(page: Page, base: string, root: string, cn: string, password?: string) {
  await gotoReady(page, `${base}/ca-client/submit`);
  await page.getByLabel(/^File name root for local Certificate/).fill(root);
  if (password) {
    await page.getByLabel("Password to Private Key file").fill(password);
    await page.getByLabel("Confirm Password").fill(password);
  }
  await page.getByLabel("Common Name").fill(cn);
  await page.getByLabel("Subject alternative names").fill(`DNS:${cn}`);
  await page.getByRole("button", { name: "Save" }).click();
}

test.beforeAll(async () => {
  client = await startInstance(CLIENT_PORT, { PORTCULLIS_ADMIN_USER: CLIENT_ADMIN.username, PORTCULLIS_ADMIN_PASSWORD: CLIENT_ADMIN.password }, { dataDirPrefix: "portcullis-ca-client-", timeout: 90_000 });
});

test.afterAll(async () => {
  client?.stop();
});

test("two instances: the client submits a CSR, the server issues it, the client gets the CA and its certificate", async ({ page, request }) => {
  test.setTimeout(120_000);
  const ca = await configureServerCa(request, "E2EClientCA");
  await signInAt(page, clientBase, CLIENT_ADMIN);

  // Before configuring, the submit page says what to do first.
  await gotoReady(page, `${clientBase}/ca-client/submit`);
  await expect(page.getByTestId("not-configured")).toContainText("Configure the local Certificate Authority client");
  await page.getByTestId("not-configured").getByRole("link").click();
  await expect(page.getByRole("heading", { name: "Configure local Certificate Authority client" })).toBeVisible();

  // Field errors next to the fields.
  await page.locator("html[data-hydrated=true]").waitFor({ state: "attached" });
  await page.getByLabel("Certificate Authority server hostname").fill("not a host!");
  await page.getByLabel("Certificate Authority WebServer port number").fill("70000");
  await page.getByLabel("Certificate Authority server path").fill("api/v1");
  await page.getByRole("button", { name: "Save" }).click();
  await expect(page.locator("#f-serverHost-error")).toContainText("host name");
  await expect(page.locator("#f-serverPort-error")).toHaveText("The port number must be between 1 and 65535");
  await expect(page.locator("#f-serverPath-error")).toHaveText('The path starts with "/", for example /api/v1');
  await expect(page.locator("#f-contactName-error")).toHaveText("Enter the name of the local technical contact");
  await shot(page, "configure-errors");

  // Check connection reaches the CA server before anything is saved.
  await page.getByLabel("Certificate Authority server hostname").fill("127.0.0.1");
  await page.getByLabel("Certificate Authority WebServer port number").fill(String(APP_PORT));
  await page.getByLabel("Certificate Authority server path").fill("/api/v1");
  await page.locator("#f-contactName").fill("Ann Contact");
  await page.getByRole("button", { name: "Check connection" }).click();
  await expect(page.getByTestId("check-result")).toContainText(`SHA-1 Fingerprint: ${ca.sha1Fingerprint}`);

  await configureClient(page, clientBase, APP_PORT, "CLIENT-E2E");
  await shot(page, "configured");

  // Submit: key pair and CSR generated here, saved, sent to the server.
  await submitCsr(page, clientBase, "E2EClient", "client.example.com", CLIENT_KEY_PW);
  const message = page.getByTestId("submit-message");
  await expect(message).toContainText('Certificate Signing Request "E2EClient" successfully submitted to the Certificate Authority at instance E2EClientCA on node 127.0.0.1');
  const text = (await message.textContent())!;
  expect(text).toMatch(/^SHA-1 Fingerprint: [0-9A-F:]{59}, Certificate Signing Request "E2EClient" successfully submitted/);
  const sha1 = SHA1.exec(text)![1];
  await expect(page.getByTestId("submit-sha1")).toHaveText(sha1);
  await expect(page.getByTestId("client-request-E2EClient")).toContainText("Submitted");
  await shot(page, "submitted");

  const dir = join(client.dataDir, "client");
  const keyFile = join(dir, "E2EClient.key");
  const csrFile = join(dir, "E2EClient.csr");
  expect(existsSync(keyFile) && existsSync(csrFile)).toBe(true);
  expect(statSync(keyFile).mode & 0o777).toBe(0o600);
  expect(readFileSync(keyFile, "utf8")).toContain("BEGIN ENCRYPTED PRIVATE KEY");
  expect(openssl(["pkey", "-in", keyFile, "-passin", `pass:${CLIENT_KEY_PW}`, "-noout"]).status).toBe(0);
  expect(openssl(["pkey", "-in", keyFile, "-passin", "pass:not the password", "-noout"]).status).not.toBe(0);
  const v = openssl(["req", "-in", csrFile, "-verify", "-noout"]);
  expect(v.out).toContain("verify OK");
  expect(v.out).not.toContain("verify failure");

  // The server's administrator was told, with the same fingerprint, and issues it.
  const mail = await waitForMail(CA_ADMIN_EMAIL, (m) => m.text.includes(sha1));
  expect(mail.text).toContain("E2EClient");
  const issued = await issue(request, "E2EClient");

  // Get Certificate(s) on the client.
  await gotoReady(page, `${clientBase}/ca-client/certificates`);
  await page.getByRole("button", { name: "Get Certificate Authority Certificate" }).click();
  const caFile = join(dir, "E2EClientCA.cer");
  await expect(page.getByTestId("ca-message")).toHaveText(`Certificate Authority Certificate (SHA-1 Fingerprint: ${ca.sha1Fingerprint}) saved in file "${caFile}"`);
  expect(readFileSync(caFile, "utf8").trim()).toBe(ca.pem.trim());

  await page.getByLabel("Filename").fill("E2EClient");
  await page.getByRole("button", { name: "Search" }).click();
  await expect(page).toHaveURL(/filename=E2EClient/);
  const row = page.getByTestId(`certificate-${issued.number}`);
  await expect(row).toContainText("CLIENT-E2E");
  await expect(page.locator("tbody tr")).toHaveCount(1);
  await row.getByRole("button", { name: "Get" }).click();
  const cerFile = join(dir, "E2EClient.cer");
  await expect(page.getByTestId("get-message")).toHaveText(`Certificate number ${issued.number} (SHA-1 Fingerprint: ${issued.sha1Fingerprint}) saved in file "${cerFile}"`);
  await shot(page, "get");
  const verify = openssl(["verify", "-x509_strict", "-CAfile", caFile, "-purpose", "sslserver", cerFile]);
  expect(verify.status, verify.out).toBe(0);
  expect(verify.out).toContain(": OK");
  // The certificate holds the key saved on the client.
  expect(openssl(["x509", "-in", cerFile, "-noout", "-pubkey"]).out).toBe(openssl(["pkey", "-in", keyFile, "-passin", `pass:${CLIENT_KEY_PW}`, "-pubout"]).out);

  // Offered to the browser as well; only to the administrator.
  const [download] = await Promise.all([page.waitForEvent("download"), page.getByRole("link", { name: "Download E2EClient.cer" }).click()]);
  expect(download.suggestedFilename()).toBe("E2EClient.cer");
  expect(readFileSync((await download.path())!, "utf8")).toBe(readFileSync(cerFile, "utf8"));
  expect((await fetch(`${clientBase}/api/v1/client/files/E2EClient.cer`)).status).toBe(401);
  const keyLeak = await page.request.get(`${clientBase}/api/v1/client/files/E2EClient.key`);
  expect(keyLeak.status()).toBe(404);

  // Show Certificates for This Instance: serial number and filename only.
  await page.getByRole("link", { name: "Show Certificates for This Instance" }).click();
  await expect(page.getByRole("heading", { name: "Certificates for this instance (CLIENT-E2E)" })).toBeVisible();
  await expect(page.getByRole("columnheader")).toHaveText(["Serial Number", "Filename", ""]);
  await expect(page.getByTestId(`certificate-${issued.number}`)).toContainText("E2EClient");
  await shot(page, "this-instance");
});

test("an unreachable CA server: a clear message, and the key and CSR files are kept", async ({ page, request }) => {
  await configureServerCa(request, "E2EClientCA2");
  await signInAt(page, clientBase, CLIENT_ADMIN);
  const closed = await freePort();
  await configureClient(page, clientBase, closed, "CLIENT-E2E");
  await submitCsr(page, clientBase, "Offline1", "offline.example.com", CLIENT_KEY_PW);
  const dir = join(client.dataDir, "client");
  const keyFile = join(dir, "Offline1.key");
  const csrFile = join(dir, "Offline1.csr");
  await expect(page.getByTestId("submit-error")).toHaveText(
    `Cannot reach the Certificate Authority server at http://127.0.0.1:${closed}/api/v1: the connection was refused (nothing is listening on that port) (ECONNREFUSED). Check that it is running and that the host name and port are right. The private key and the Certificate Signing Request were kept: ${keyFile} and ${csrFile}. Correct the problem and submit them again from the list of this instance's requests.`,
  );
  expect(existsSync(keyFile) && existsSync(csrFile)).toBe(true);
  expect(openssl(["pkey", "-in", keyFile, "-passin", `pass:${CLIENT_KEY_PW}`, "-noout"]).status).toBe(0);
  // What was typed is kept (not the passwords).
  await expect(page.getByLabel("Common Name")).toHaveValue("offline.example.com");
  await expect(page.getByLabel("Password to Private Key file")).toHaveValue("");
  await expect(page.getByTestId("client-request-Offline1")).toContainText("Failed");
  await shot(page, "unreachable");

  // The Get page says the same, clearly.
  await gotoReady(page, `${clientBase}/ca-client/certificates`);
  await expect(page.getByTestId("list-error")).toContainText("ECONNREFUSED");

  // Once the server is reachable, the saved request is sent again as it is.
  await configureClient(page, clientBase, APP_PORT, "CLIENT-E2E");
  await gotoReady(page, `${clientBase}/ca-client/submit`);
  await page.getByRole("button", { name: "Submit Offline1 again" }).click();
  await expect(page.getByTestId("submit-message")).toContainText('Certificate Signing Request "Offline1" successfully submitted');
  await expect(page.getByTestId("client-request-Offline1")).toContainText("Submitted");
});

test("same instance: the CA server is its own CA client", async ({ page, request }) => {
  const ca = await configureServerCa(request, "SelfCA");
  await signIn(page);
  await configureClient(page, "", APP_PORT, "SELF");
  await submitCsr(page, "", "SelfClient", "self.example.com");
  const text = (await page.getByTestId("submit-message").textContent())!;
  expect(text).toContain('Certificate Signing Request "SelfClient" successfully submitted to the Certificate Authority at instance SelfCA on node 127.0.0.1');
  const sha1 = SHA1.exec(text)![1];
  await waitForMail(CA_ADMIN_EMAIL, (m) => m.text.includes(sha1));
  const dir = join(DATA_DIR, "client");
  // No password: the key is unencrypted PKCS#8, still 0600.
  expect(readFileSync(join(dir, "SelfClient.key"), "utf8")).toContain("BEGIN PRIVATE KEY");
  expect(statSync(join(dir, "SelfClient.key")).mode & 0o777).toBe(0o600);
  const issued = await issue(request, "SelfClient");

  await gotoReady(page, "/ca-client/certificates");
  await page.getByRole("button", { name: "Get Certificate Authority Certificate" }).click();
  await expect(page.getByTestId("ca-message")).toContainText(`(SHA-1 Fingerprint: ${ca.sha1Fingerprint}) saved in file "${join(dir, "SelfCA.cer")}"`);
  await page.getByRole("link", { name: "Show Certificates for This Instance" }).click();
  await page.getByRole("button", { name: `Get certificate number ${issued.number} (SelfClient)` }).click();
  await expect(page.getByTestId("get-message")).toContainText(`Certificate number ${issued.number} (SHA-1 Fingerprint: ${issued.sha1Fingerprint}) saved in file "${join(dir, "SelfClient.cer")}"`);
  const verify = openssl(["verify", "-x509_strict", "-CAfile", join(dir, "SelfCA.cer"), "-purpose", "sslserver", join(dir, "SelfClient.cer")]);
  expect(verify.status, verify.out).toBe(0);
  await shot(page, "same-instance");
});
