import { test, expect, type APIRequestContext, type Download, type Page } from "@playwright/test";
import { spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { APP_PORT } from "../playwright.config";
import { apiToken, gotoReady, openssl, opensslOk, resetCa, signIn, SMTP_PORT } from "./support";

// One instance is CA server and CA client at once: its client generates the keys and
// submits to its own CA over HTTP; bundles are downloaded from both certificate pages.
const CA_KEY_PW = "bundles e2e CA key password";
const KEY_PW = "bundles client key password";
const P12_PW = "p12 download password";
const work = mkdtempSync(join(tmpdir(), "portcullis-bundles-e2e-"));
let caFile: string;
const numbers: Record<string, number> = {};

test.afterAll(() => rmSync(work, { recursive: true, force: true }));

function shot(page: Page, name: string) {
  return page.screenshot({ path: `test-results/screenshots/bundles-${name}.png`, fullPage: true });
}

async function saved(download: Download, name: string): Promise<string> {
  const file = join(work, name);
  await download.saveAs(file);
  return file;
}

/** Clicks `button` and answers the file the browser downloads. */
async function downloadBy(page: Page, click: () => Promise<void>, name: string): Promise<{ file: string; suggested: string }> {
  const [download] = await Promise.all([page.waitForEvent("download"), click()]);
  return { file: await saved(download, name), suggested: download.suggestedFilename() };
}

async function issue(request: APIRequestContext, filename: string, usage: string): Promise<number> {
  const auth = { authorization: `Bearer ${await apiToken(request)}` };
  const queue = await (await request.get("/api/v1/admin/csrs?limit=200", { headers: auth })).json();
  const pending = (queue.items as { id: string; filename: string }[]).find((r) => r.filename === filename);
  expect(pending, `a pending request ${filename}`).toBeTruthy();
  const r = await request.post(`/api/v1/admin/csrs/${pending!.id}/issue`, { headers: auth, data: { usage, caKeyPassword: CA_KEY_PW, fingerprintVerified: true } });
  expect(r.status(), await r.text()).toBe(201);
  return (await r.json()).number;
}

async function submitCsr(page: Page, root: string, cn: string, sans: string, password?: string) {
  await gotoReady(page, "/ca-client/submit");
  await page.getByLabel(/^File name root for local Certificate/).fill(root);
  if (password) {
    await page.getByLabel("Password to Private Key file").fill(password);
    await page.getByLabel("Confirm Password").fill(password);
  }
  await page.getByLabel("Common Name").fill(cn);
  await page.getByLabel("Subject alternative names").fill(sans);
  await page.getByRole("button", { name: "Save" }).click();
  await expect(page.getByTestId("submit-message")).toContainText(`Certificate Signing Request "${root}" successfully submitted`);
}

test.beforeAll(async ({ request }) => {
  await resetCa(request);
  const r = await request.post("/api/v1/admin/ca", {
    headers: { authorization: `Bearer ${await apiToken(request)}` },
    data: {
      fileNameRoot: "BundlesCA",
      directory: "e2e-bundles",
      keyPassword: CA_KEY_PW,
      subject: { O: "Example Corporation", CN: "Bundles E2E CA" },
      keyAlgorithm: "ecdsa-p256",
      caValidityDays: 3650,
      issuedValidityDays: 365,
      smtp: { host: "127.0.0.1", port: SMTP_PORT, secure: false, username: "", password: "" },
      adminEmail: "bundles-camgr@example.com",
    },
  });
  expect(r.status(), await r.text()).toBe(201);
  caFile = join(work, "ca.pem");
  opensslOk(["x509", "-out", caFile], (await (await request.get("/api/v1/ca")).json()).pem);
});

test("deployment bundles from the CA server's and the CA client's certificate pages, judged by OpenSSL and tar", async ({ page, request }) => {
  test.setTimeout(180_000);
  await signIn(page);

  // This instance's CA client talks to its own CA server.
  await gotoReady(page, "/ca-client");
  await page.getByLabel("Certificate Authority server hostname").fill("127.0.0.1");
  await page.getByLabel("Certificate Authority WebServer port number").fill(String(APP_PORT));
  await page.getByLabel("Certificate Authority server path").fill("/api/v1");
  await page.getByLabel("Instance name").fill("BUNDLES-E2E");
  await page.locator("#f-contactName").fill("Ann Contact");
  await page.getByRole("button", { name: "Save" }).click();
  await expect(page.getByRole("status").filter({ hasText: "Certificate Authority client successfully configured." })).toBeVisible();
  await gotoReady(page, "/ca-client/certificates");
  await page.getByRole("button", { name: "Get Certificate Authority Certificate" }).click();
  await expect(page.getByTestId("ca-message")).toContainText("saved in file");

  await submitCsr(page, "bundle-web", "web.bundles.example.com", "DNS:web.bundles.example.com", KEY_PW);
  await submitCsr(page, "crdb-node", "node", "DNS:db1.bundles.example.com, IP:127.0.0.1");
  numbers.web = await issue(request, "bundle-web", "tls");
  numbers.node = await issue(request, "crdb-node", "cockroach-node");

  // --- The CA server's certificate page: PKCS#12, PEM with the key, the trust bundle.
  await gotoReady(page, `/ca-server/certificates/${numbers.web}`);
  const bundles = page.getByTestId("deployment-bundles");
  await expect(bundles).toBeVisible();
  await expect(bundles.getByText("CockroachDB node")).toBeVisible(); // the archive is not offered for a TLS certificate
  await expect(page.getByTestId("download-cockroach")).toHaveCount(0);

  // Refusals next to their fields; nothing is downloaded.
  await page.locator("#p12-password").fill("short");
  await page.locator("#p12-password-confirm").fill("short");
  await page.getByTestId("download-pkcs12").click();
  await expect(page.locator("#p12-password-error")).toHaveText("The password is too short: use at least 8 characters");
  await page.locator("#p12-password").fill(P12_PW);
  await page.locator("#p12-password-confirm").fill(P12_PW);
  await page.getByTestId("download-pkcs12").click();
  await expect(page.locator("#f-keyPassword-error")).toHaveText("The private key file bundle-web.key was saved encrypted: enter its password");
  await page.locator("#f-keyPassword").fill("not the key password");
  await page.locator("#p12-password").fill(P12_PW);
  await page.locator("#p12-password-confirm").fill(P12_PW);
  await page.getByTestId("download-pkcs12").click();
  await expect(page.locator("#f-keyPassword-error")).toHaveText("The password does not decrypt the private key");
  await shot(page, "errors");

  await page.locator("#f-keyPassword").fill(KEY_PW);
  await page.locator("#p12-password").fill(P12_PW);
  await page.locator("#p12-password-confirm").fill(P12_PW);
  const p12 = await downloadBy(page, () => page.getByTestId("download-pkcs12").click(), "web.p12");
  expect(p12.suggested).toBe("bundle-web.p12");
  await expect(page.getByTestId("pkcs12-saved")).toHaveText("Downloaded bundle-web.p12.");
  const info = openssl(["pkcs12", "-info", "-noout", "-in", p12.file, "-passin", `pass:${P12_PW}`]);
  expect(info.status, info.out).toBe(0);
  expect(info.out).toContain("MAC: sha256");
  expect(info.out).toContain("PBES2, PBKDF2, AES-256-CBC");
  expect(openssl(["pkcs12", "-info", "-noout", "-in", p12.file, "-passin", "pass:wrong password"]).status).not.toBe(0);
  const p12Cert = join(work, "p12-cert.pem");
  opensslOk(["pkcs12", "-in", p12.file, "-passin", `pass:${P12_PW}`, "-clcerts", "-nokeys", "-out", p12Cert]);
  const p12Key = opensslOk(["pkcs12", "-in", p12.file, "-passin", `pass:${P12_PW}`, "-nocerts", "-nodes"]);
  expect(opensslOk(["pkey", "-pubout"], p12Key)).toBe(opensslOk(["x509", "-in", p12Cert, "-noout", "-pubkey"]));
  expect(openssl(["verify", "-x509_strict", "-purpose", "sslserver", "-CAfile", caFile, p12Cert]).status).toBe(0);

  // Legacy: 3DES with a SHA-1 MAC.
  await page.locator("#p12-password").fill(P12_PW);
  await page.locator("#p12-password-confirm").fill(P12_PW);
  await page.getByLabel("Legacy encryption (3DES, SHA-1 MAC)").check();
  const legacy = await downloadBy(page, () => page.getByTestId("download-pkcs12").click(), "legacy.p12");
  const legacyInfo = openssl(["pkcs12", "-info", "-noout", "-in", legacy.file, "-passin", `pass:${P12_PW}`]);
  expect(legacyInfo.status, legacyInfo.out).toBe(0);
  expect(legacyInfo.out).toContain("MAC: sha1");
  expect(legacyInfo.out).toContain("pbeWithSHA1And3-KeyTripleDES-CBC");

  // PEM: encrypted by default; unencrypted only after the warning is shown.
  await page.locator("#pem-password").fill(P12_PW);
  await page.locator("#pem-password-confirm").fill(P12_PW);
  const pem = await downloadBy(page, () => page.getByTestId("download-pem").click(), "web.pem");
  expect(pem.suggested).toBe("bundle-web.pem");
  expect(readFileSync(pem.file, "utf8")).toContain("-----BEGIN ENCRYPTED PRIVATE KEY-----");
  expect(opensslOk(["pkey", "-in", pem.file, "-passin", `pass:${P12_PW}`, "-pubout"])).toBe(opensslOk(["x509", "-in", pem.file, "-noout", "-pubkey"]));
  await expect(page.getByTestId("unencrypted-warning")).toHaveCount(0);
  await page.getByLabel("Private key unencrypted").check();
  await expect(page.getByTestId("unencrypted-warning")).toContainText("Anyone who gets a copy of bundle-web.pem can impersonate web.bundles.example.com");
  await shot(page, "unencrypted-warning");
  const plain = await downloadBy(page, () => page.getByTestId("download-pem").click(), "web-plain.pem");
  const plainText = readFileSync(plain.file, "utf8");
  expect(plainText).toContain("-----BEGIN PRIVATE KEY-----");
  expect(plainText.match(/-----BEGIN CERTIFICATE-----/g)).toHaveLength(2);
  expect(openssl(["verify", "-x509_strict", "-purpose", "sslserver", "-CAfile", caFile, plain.file]).status).toBe(0);

  // Trust bundle: the CA chain.
  const trust = await downloadBy(page, () => page.getByTestId("download-trust").click(), "trust.pem");
  expect(trust.suggested).toBe("trust_ca_cert.pem");
  expect(openssl(["verify", "-x509_strict", "-purpose", "sslserver", "-CAfile", trust.file, p12Cert]).status).toBe(0);

  // --- The CA client's side: from the list to the certificate, then its CockroachDB certs directory.
  await gotoReady(page, "/ca-client/certificates?mine=1");
  await page.getByRole("link", { name: "crdb-node: details and deployment bundles" }).click();
  await expect(page).toHaveURL(new RegExp(`/ca-client/certificates/${numbers.node}$`));
  await page.locator("html[data-hydrated=true]").waitFor({ state: "attached" });
  await expect(page.getByTestId("certificate-subject")).toHaveText("CN=node");
  await expect(page.getByTestId("key-file")).toHaveText("crdb-node.key on this instance");
  await shot(page, "client-certificate");
  const archive = await downloadBy(page, () => page.getByTestId("download-cockroach").click(), "certs.tar.gz");
  expect(archive.suggested).toBe("certs.tar.gz");
  const listing = spawnSync("tar", ["-tvzf", archive.file], { encoding: "utf8" }).stdout;
  expect(listing).toMatch(/^drwx------ .* certs\/$/m);
  expect(listing).toMatch(/^-rw-r--r-- .* certs\/ca\.crt$/m);
  expect(listing).toMatch(/^-rw-r--r-- .* certs\/node\.crt$/m);
  expect(listing).toMatch(/^-rw------- .* certs\/node\.key$/m);
  const dir = join(work, "crdb");
  spawnSync("mkdir", [dir]);
  expect(spawnSync("tar", ["-xzf", archive.file, "-C", dir]).status).toBe(0);
  expect(statSync(join(dir, "certs/node.key")).mode & 0o777).toBe(0o600);
  for (const purpose of ["sslserver", "sslclient"]) {
    const v = openssl(["verify", "-x509_strict", "-purpose", purpose, "-CAfile", join(dir, "certs/ca.crt"), join(dir, "certs/node.crt")]);
    expect(v.status, v.out).toBe(0);
  }
  expect(opensslOk(["pkey", "-in", join(dir, "certs/node.key"), "-pubout"])).toBe(opensslOk(["x509", "-in", join(dir, "certs/node.crt"), "-noout", "-pubkey"]));
  expect(opensslOk(["x509", "-in", join(dir, "certs/node.crt"), "-noout", "-ext", "subjectAltName"])).toContain("DNS:db1.bundles.example.com, IP Address:127.0.0.1");
});

test("a certificate whose key was not generated here offers only the trust bundle", async ({ page, request }) => {
  const key = join(work, "foreign.key");
  const csr = opensslOk(["req", "-new", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-keyout", key, "-subj", "/CN=foreign.bundles.example.com"]);
  const submitted = await request.post("/api/v1/csrs", { data: { csr, contact: { name: "Someone Else" }, filename: "foreign-bundle" } });
  expect(submitted.status(), await submitted.text()).toBe(201);
  const number = await issue(request, "foreign-bundle", "tls");
  await signIn(page);
  await gotoReady(page, `/ca-server/certificates/${number}`);
  await expect(page.getByTestId("key-bundles-problem")).toContainText(`This instance did not generate the private key of certificate number ${number}`);
  await expect(page.getByTestId("download-pkcs12")).toHaveCount(0);
  const trust = await downloadBy(page, () => page.getByTestId("download-trust").click(), "foreign-trust.pem");
  expect(readFileSync(trust.file, "utf8")).toBe(readFileSync(caFile, "utf8"));
});
