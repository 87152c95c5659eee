import { test, expect, type Page } from "@playwright/test";
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { APP_PORT } from "../playwright.config";
import { apiToken, gotoReady, instancePort, openssl, opensslOk, resetCa, startInstance, type Instance } from "./support";

// The main e2e server is the root CA; a second instance is configured as its intermediate CA.
const PORT = instancePort(0);
const base = `http://127.0.0.1:${PORT}`;
const INTER_ADMIN = { username: "interadmin", password: "intermediate admin password" };
const ROOT_PW = "e2e root CA key password";
const INTER_PW = "e2e intermediate key password";
const CERT_BLOCK = /-----BEGIN CERTIFICATE-----[\s\S]*?-----END CERTIFICATE-----\n?/g;

let inter: Instance;
let work: string;

test.beforeAll(async () => {
  work = mkdtempSync(join(tmpdir(), "portcullis-intermediate-e2e-"));
  inter = await startInstance(PORT, { PORTCULLIS_ADMIN_USER: INTER_ADMIN.username, PORTCULLIS_ADMIN_PASSWORD: INTER_ADMIN.password }, { dataDirPrefix: "portcullis-intermediate-", timeout: 90_000 });
});

test.afterAll(async () => {
  inter?.stop();
  if (work) rmSync(work, { recursive: true, force: true });
});

function path(name: string, content?: string): string {
  const p = join(work, name);
  if (content !== undefined) writeFileSync(p, content);
  return p;
}

function sha1(file: string): string {
  return opensslOk(["x509", "-in", file, "-noout", "-fingerprint", "-sha1"]).trim().split("=")[1];
}

async function signInAt(page: Page, url: string, user: { username: string; password: string }) {
  await gotoReady(page, `${url}/login`);
  await page.getByLabel("User name").fill(user.username);
  await page.getByLabel("Password").fill(user.password);
  await page.getByRole("button", { name: "Sign in" }).click();
  await expect(page.getByText(`Signed in as ${user.username}`)).toBeVisible();
}

test("a second instance becomes an intermediate CA of the first: configured on its page with the uploaded chain, its leaves' chains verify", async ({ page, request }) => {
  test.setTimeout(180_000);

  // The root CA: the main instance, configured through the API.
  await resetCa(request);
  const rootAuth = { authorization: `Bearer ${await apiToken(request)}` };
  const configured = await request.post("/api/v1/admin/ca", {
    headers: rootAuth,
    data: { fileNameRoot: "E2ERoot", directory: "e2e-intermediate-root", keyPassword: ROOT_PW, subject: { C: "US", O: "Example", CN: "E2E Root CA" }, keyAlgorithm: "ecdsa-p256", caValidityDays: 3650, issuedValidityDays: 1825, adminEmail: "root-admin@example.com" },
  });
  expect(configured.status(), await configured.text()).toBe(201);
  const rootFile = path("E2ERoot.cer", await (await request.get("/api/v1/ca/certificate?format=pem")).text());
  const rootSha1 = sha1(rootFile);

  // The intermediate's key pair and CSR are made by its operator; the root issues the certificate.
  const interKey = path("E2EIssuing.key");
  opensslOk(["genpkey", "-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-256", "-aes-256-cbc", "-pass", `pass:${INTER_PW}`, "-out", interKey]);
  const interCsr = path("E2EIssuing.csr");
  opensslOk(["req", "-new", "-key", interKey, "-passin", `pass:${INTER_PW}`, "-subj", "/O=Example/CN=E2E Issuing CA", "-out", interCsr]);
  const submitted = await request.post("/api/v1/csrs", { data: { csr: readFileSync(interCsr, "utf8"), contact: { name: "Ivy Intermediate", email: "ivy@example.com" }, filename: "E2EIssuing" } });
  expect(submitted.status(), await submitted.text()).toBe(201);
  const issued = await request.post(`/api/v1/admin/csrs/${(await submitted.json()).id}/issue`, { headers: rootAuth, data: { usage: "intermediate-ca", caKeyPassword: ROOT_PW, fingerprintVerified: true, verificationChannel: "in-person" } });
  expect(issued.status(), await issued.text()).toBe(201);
  const interFile = path("E2EIssuing.cer", (await issued.json()).pem);
  expect(opensslOk(["verify", "-x509_strict", "-CAfile", rootFile, interFile])).toContain(": OK");
  expect(opensslOk(["x509", "-in", interFile, "-noout", "-text"])).toContain(`CA Issuers - URI:http://127.0.0.1:${APP_PORT}/api/v1/ca/certificate?format=der`);

  // The root goes offline (as roots do): its caIssuers URL no longer answers.
  await resetCa(request);

  // The key and certificate are placed in the second instance's CA directory.
  const caDir = join(inter.dataDir, "ca");
  mkdirSync(caDir, { recursive: true, mode: 0o700 });
  writeFileSync(join(caDir, "E2EIssuing.key"), readFileSync(interKey), { mode: 0o600 });
  writeFileSync(join(caDir, "E2EIssuing.cer"), readFileSync(interFile));

  await signInAt(page, base, INTER_ADMIN);
  await gotoReady(page, `${base}/ca-server`);
  await page.getByLabel(/File name root for Certificate Authority/).fill("E2EIssuing");
  await page.getByLabel(/Directory for Certificate Authority/).fill("ca");
  await page.getByRole("button", { name: "Next" }).click();
  await expect(page.getByTestId("mode-notice")).toContainText("An existing key and certificate were found");
  await expect(page.getByTestId("certificate-notice")).toContainText("O=Example, CN=E2E Issuing CA, issued by C=US, O=Example, CN=E2E Root CA (an intermediate CA");

  // Saved without the chain: the root cannot be fetched, and the field says whose certificate is missing.
  await page.getByLabel(/^Password of the Certificate Authority's Private Key file/).fill(INTER_PW);
  await page.getByLabel(/administrator's email address/).fill("inter-admin@example.com");
  await page.getByRole("button", { name: "Save" }).click();
  const chainError = page.getByTestId("chainPem-error");
  await expect(chainError).toContainText("the certificate of C=US, O=Example, CN=E2E Root CA is missing");
  await expect(chainError).toContainText(`Fetching it from http://127.0.0.1:${APP_PORT}/api/v1/ca/certificate?format=der`);
  await expect(chainError).toContainText("answered HTTP 404");
  await page.screenshot({ path: "test-results/screenshots/intermediate-chain-missing.png", fullPage: true });
  expect(existsSync(join(caDir, "E2EIssuing_chain.pem"))).toBe(false);
  expect(existsSync(join(caDir, "E2EIssuing.srl"))).toBe(false);

  // The root certificate is uploaded as the issuer chain; the key password is typed again.
  await page.getByTestId("chainPem-file").setInputFiles(rootFile);
  await expect(page.getByText('Read "E2ERoot.cer" (PEM')).toBeVisible();
  await page.getByLabel(/^Password of the Certificate Authority's Private Key file/).fill(INTER_PW);
  await page.getByRole("button", { name: "Save" }).click();
  const message = page.getByTestId("configure-message");
  await expect(message).toContainText(`Using existing files: ${caDir}/E2EIssuing.cer and .key`);
  await expect(message).toContainText(`Issuer chain: 1 certificate up to the root C=US, O=Example, CN=E2E Root CA, saved with the CA certificate in ${caDir}/E2EIssuing_chain.pem.`);
  await expect(message).toContainText(sha1(interFile));

  // The page shows the chain, link by link, with OpenSSL's fingerprints.
  const links = page.getByTestId("chain-link");
  await expect(links).toHaveCount(2);
  await expect(links.nth(0)).toContainText("O=Example, CN=E2E Issuing CA");
  await expect(links.nth(0)).toContainText(sha1(interFile));
  await expect(links.nth(1)).toContainText("Root");
  await expect(links.nth(1)).toContainText("self-signed");
  await expect(links.nth(1)).toContainText(rootSha1);
  await page.screenshot({ path: "test-results/screenshots/intermediate-ca-server.png", fullPage: true });

  // The CA chain download from the page: the intermediate, then the root.
  const [download] = await Promise.all([page.waitForEvent("download"), page.getByTestId("ca-chain-download").click()]);
  expect(download.suggestedFilename()).toBe("E2EIssuing_chain.pem");
  const caChain = path("downloaded-ca-chain.pem", readFileSync((await download.path())!, "utf8"));
  expect(readFileSync(caChain, "utf8").match(CERT_BLOCK)).toEqual([readFileSync(interFile, "utf8"), readFileSync(rootFile, "utf8")]);

  // A TLS leaf from the intermediate, through its API.
  const token = await request.post(`${base}/api/v1/auth/token`, { data: { username: INTER_ADMIN.username, password: INTER_ADMIN.password, name: "e2e" } });
  expect(token.status()).toBe(201);
  const interAuth = { authorization: `Bearer ${(await token.json()).token}` };
  const leafCsr = path("web.csr");
  opensslOk(["req", "-new", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-keyout", path("web.key"), "-subj", "/O=Example/CN=web.example.com", "-addext", "subjectAltName=DNS:web.example.com", "-out", leafCsr]);
  const leafReq = await request.post(`${base}/api/v1/csrs`, { data: { csr: readFileSync(leafCsr, "utf8"), contact: { name: "Wes Web" }, filename: "web" } });
  expect(leafReq.status(), await leafReq.text()).toBe(201);
  const leaf = await request.post(`${base}/api/v1/admin/csrs/${(await leafReq.json()).id}/issue`, { headers: interAuth, data: { usage: "tls", caKeyPassword: INTER_PW, fingerprintVerified: true } });
  expect(leaf.status(), await leaf.text()).toBe(201);
  const number = (await leaf.json()).number as number;

  // Its chain download: leaf + intermediate + root; split, OpenSSL verifies it.
  const chainResponse = await request.get(`${base}/api/v1/certificates/${number}?format=chain`);
  expect(chainResponse.status()).toBe(200);
  expect(chainResponse.headers()["content-disposition"]).toBe('attachment; filename="web-chain.pem"');
  const parts = (await chainResponse.text()).match(CERT_BLOCK) ?? [];
  expect(parts).toHaveLength(3);
  const [leafPart, interPart, rootPart] = parts.map((p, i) => path(`chain-${i}.pem`, p));
  expect(readFileSync(rootPart, "utf8")).toBe(readFileSync(rootFile, "utf8"));
  expect(sha1(interPart)).toBe(sha1(interFile));
  const verified = openssl(["verify", "-x509_strict", "-purpose", "sslserver", "-CAfile", rootPart, "-untrusted", interPart, leafPart]);
  expect(verified.status, verified.out).toBe(0);
  expect(verified.out.trim()).toBe(`${leafPart}: OK`);
  // Against the root alone, without the intermediate, the leaf does not verify.
  expect(openssl(["verify", "-x509_strict", "-CAfile", rootFile, leafPart]).status).not.toBe(0);
  // The leaf names the intermediate as its issuer and where to fetch it.
  expect(opensslOk(["x509", "-in", leafPart, "-noout", "-text"])).toContain(`CA Issuers - URI:${base}/api/v1/ca/certificate?format=der`);

  // GET /api/v1/ca gives the issuers too, for scripts.
  const ca = await (await request.get(`${base}/api/v1/ca`)).json();
  expect(ca.chainPem).toBe(readFileSync(rootFile, "utf8"));
});
