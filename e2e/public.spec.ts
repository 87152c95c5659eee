import { test, expect, type Page, type Request } from "@playwright/test";
import { execFileSync } from "node:child_process";
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { gotoReady, instancePort, resetCa, startInstance, waitForMail, openssl } from "./support";
import { CA_ADMIN_EMAIL, CA_BODY, colonLower, configureCa, csrPemSha1, issue, opensslCsr, opensslText, splitPem, submitCsr, tempDir, adminAuth } from "./public-support";

const SHOTS = "test-results/screenshots";

// One CA for the whole file, configured by the first test that needs it (after the
// "not configured" test reinitialized whatever an earlier spec file left behind).
let ca: { pem: string; sha1Fingerprint: string } | null = null;

test.describe.configure({ mode: "serial" });

test.beforeEach(async ({ request }, info) => {
  if (info.title.startsWith("without a configured CA")) return;
  ca ??= await configureCa(request);
});

async function fillDetails(page: Page, d: { filename: string; name?: string; phone?: string; email?: string; hostname?: string; instance?: string }) {
  await page.getByLabel("File name root").fill(d.filename);
  await page.getByLabel("Contact name").fill(d.name ?? "Ada Lovelace");
  if (d.phone !== undefined) await page.getByLabel("Phone").fill(d.phone);
  if (d.email !== undefined) await page.getByLabel("E-mail").fill(d.email);
  if (d.hostname !== undefined) await page.getByLabel("Host name").fill(d.hostname);
  if (d.instance !== undefined) await page.getByLabel("Instance").fill(d.instance);
}

const submitButton = (page: Page) => page.getByRole("button", { name: "Submit Certificate Signing Request" });

/** Request bodies the page sends, to prove what never leaves the browser. */
function recordBodies(page: Page): string[] {
  const bodies: string[] = [];
  page.on("request", (r: Request) => {
    const b = r.postDataBuffer();
    if (b) bodies.push(b.toString("latin1"));
  });
  return bodies;
}

async function noHorizontalScroll(page: Page): Promise<void> {
  const { scroll, client } = await page.evaluate(() => ({ scroll: document.documentElement.scrollWidth, client: document.documentElement.clientWidth }));
  expect(scroll, `page is ${scroll}px wide in a ${client}px viewport`).toBeLessThanOrEqual(client);
}

test("without a configured CA the public pages say so", async ({ page, request }) => {
  await resetCa(request);
  ca = null;
  await gotoReady(page, "/request");
  await expect(page.getByRole("heading", { name: "Request a certificate" })).toBeVisible();
  await expect(page.getByText("This Certificate Authority is not configured")).toBeVisible();
  await expect(submitButton(page)).toHaveCount(0);
  await gotoReady(page, "/certificates");
  await expect(page.getByText("Certificate Authority server is not configured", { exact: false })).toBeVisible();
  await expect(page.getByText("No certificate has been issued yet.")).toBeVisible();
});

test("paste a CSR made by openssl: the fingerprint to read back, a mail to the admin, a status link", async ({ page }) => {
  const csr = opensslCsr({ cn: "web01.example.com" });
  await gotoReady(page, "/request");
  await page.getByRole("radio", { name: /Paste a CSR/ }).check();
  await page.getByLabel("Certificate signing request (PEM)").fill(csr.pem);
  await fillDetails(page, { filename: "web01", phone: "+44 20 7946 0018", email: "ada@example.com", hostname: "web01.example.com", instance: "PROD" });
  await submitButton(page).click();

  const shown = page.getByTestId("sha1-fingerprint");
  await expect(shown).toHaveText(csr.sha1);
  await expect(page.getByText("SHA-1 Fingerprint:")).toBeVisible();
  await expect(page.getByText(/Certificate Signing Request “web01” successfully submitted/)).toBeVisible();
  const sha256 = opensslText(["dgst", "-sha256", "-c"], csr.der).split("= ")[1].trim().toUpperCase();
  await expect(page.getByTestId("sha256-fingerprint")).toHaveText(sha256);
  await page.screenshot({ path: `${SHOTS}/request-done.png`, fullPage: true });

  const mail = await waitForMail(CA_ADMIN_EMAIL, (m) => m.text.includes(csr.sha1));
  expect(mail.text).toContain("web01");
  expect(mail.text).toContain("Ada Lovelace");

  const link = page.getByTestId("status-link");
  const href = await link.getAttribute("href");
  expect(href).toMatch(/^\/request\/[0-9a-f-]{36}$/);
  await link.click();
  await expect(page).toHaveURL(new RegExp(`${href}$`));
  await expect(page.getByTestId("request-status")).toHaveText("Pending");
  await expect(page.getByTestId("request-sha1")).toHaveText(csr.sha1);
  await expect(page.getByTestId("request-subject")).toHaveText("C=GB, O=Example Ltd, CN=web01.example.com");
});

test("upload a DER CSR file, and a file over 64 KB is refused before it is read", async ({ page }) => {
  const csr = opensslCsr({ cn: "db01.example.com" });
  const derPath = join(csr.dir, "db01.der");
  writeFileSync(derPath, csr.der);
  await gotoReady(page, "/request");
  await page.getByRole("radio", { name: /Upload a CSR file/ }).check();
  const chooser = page.getByLabel("Certificate signing request file");

  await chooser.setInputFiles({ name: "huge.csr", mimeType: "application/octet-stream", buffer: Buffer.alloc(70 * 1024, 0x41) });
  await expect(page.getByTestId("csr-error")).toHaveText(/"huge\.csr" is 70 KB: a certificate signing request file is at most 64 KB/);
  await expect(page.getByTestId("uploaded-file")).toHaveCount(0);

  await chooser.setInputFiles({ name: "key.pem", mimeType: "application/x-pem-file", buffer: readFileSync(csr.keyPath) });
  await expect(page.getByTestId("csr-error")).toContainText("contains a private key");

  await chooser.setInputFiles(derPath);
  await expect(page.getByTestId("uploaded-file")).toHaveText(`Loaded db01.der (DER, ${csr.der.length} bytes).`);
  await expect(page.getByTestId("csr-error")).toHaveCount(0);
  await fillDetails(page, { filename: "db01", hostname: "db01.example.com" });
  await submitButton(page).click();
  await expect(page.getByTestId("sha1-fingerprint")).toHaveText(csr.sha1);
});

test("generate the key pair in the browser: encrypted key download, matching CSR, the key never sent", async ({ page }) => {
  const password = "browser key pässword 42";
  const bodies = recordBodies(page);
  await gotoReady(page, "/request");
  await expect(page.getByRole("radio", { name: /Generate a key pair in this browser/ })).toBeChecked();
  await page.getByLabel("File name root").fill("gen01");
  await page.getByLabel("Country").fill("gb");
  await page.getByLabel("Organization", { exact: true }).fill("Example Ltd");
  await page.getByLabel("Common Name").fill("gen01.example.com");
  await page.getByLabel("DNS names").fill("gen01.example.com\nwww.gen01.example.com");
  await page.getByLabel("IP addresses").fill("192.0.2.10, 2001:db8::10");
  await page.getByLabel("Private key password").fill(password);
  await page.getByLabel("Confirm password").fill(password);
  await fillDetails(page, { filename: "gen01", name: "Grace Hopper", email: "grace@example.com", hostname: "gen01.example.com" });
  await page.screenshot({ path: `${SHOTS}/request.png`, fullPage: true });
  await page.getByRole("button", { name: "Generate key pair and CSR" }).click();
  await expect(page.getByTestId("generated")).toBeVisible();
  await expect(page.getByTestId("generated-subject")).toHaveText("C=GB, O=Example Ltd, CN=gen01.example.com");

  // Submitting before the key is saved is refused: it exists only in this tab.
  await submitButton(page).click();
  await expect(page.getByTestId("csr-error")).toContainText("Download the private key (gen01.key) first");

  const [download] = await Promise.all([page.waitForEvent("download"), page.getByRole("link", { name: "Download private key (gen01.key)" }).click()]);
  expect(download.suggestedFilename()).toBe("gen01.key");
  const dir = tempDir();
  const keyPath = join(dir, "gen01.key");
  await download.saveAs(keyPath);
  const keyPem = readFileSync(keyPath, "utf8");
  expect(keyPem).toMatch(/^-----BEGIN ENCRYPTED PRIVATE KEY-----\n/);
  const parsed = opensslText(["asn1parse", "-in", keyPath]);
  expect(parsed).toContain(":PBES2");
  expect(parsed).toContain(":PBKDF2");
  expect(parsed).toContain(":hmacWithSHA256");
  expect(parsed).toContain(":aes-256-cbc");
  expect(parsed).toMatch(/INTEGER\s+:0927C0/); // 600000 iterations
  expect(parsed).toMatch(/l=\s*16 prim: OCTET STRING/); // the 16-byte salt (and IV)
  expect(openssl(["pkey", "-in", keyPath, "-passin", "pass:wrong password", "-noout"]).status).not.toBe(0);
  const keyPub = opensslText(["pkey", "-in", keyPath, "-passin", `pass:${password}`, "-pubout"]);
  expect(opensslText(["pkey", "-in", keyPath, "-passin", `pass:${password}`, "-noout", "-text"])).toContain("NIST CURVE: P-256");

  const csrPem = await page.getByTestId("generated-csr").inputValue();
  const csrPath = join(dir, "gen01.csr");
  writeFileSync(csrPath, csrPem);
  expect(opensslText(["req", "-in", csrPath, "-pubkey", "-noout"])).toBe(keyPub);
  const csrText = opensslText(["req", "-in", csrPath, "-noout", "-text", "-verify"]);
  expect(csrText).toContain("DNS:gen01.example.com, DNS:www.gen01.example.com, IP Address:192.0.2.10, IP Address:2001:DB8:0:0:0:0:0:10");
  expect(csrText).toContain("ecdsa-with-SHA256");

  await submitButton(page).click();
  await expect(page.getByTestId("sha1-fingerprint")).toHaveText(csrPemSha1(csrPem));
  await expect(page.getByText("Keep gen01.key and its password")).toBeVisible();

  // What left the browser: the CSR, never the private key or its password.
  const csrLine = csrPem.split("\n")[1];
  expect(bodies.some((b) => b.includes(csrLine))).toBe(true);
  for (const b of bodies) {
    expect(b).not.toContain("PRIVATE KEY");
    expect(b).not.toContain(keyPem.split("\n")[1]);
    expect(b).not.toContain("browser key p");
  }
});

test("an RSA key pair generated in the browser", async ({ page }) => {
  const password = "rsa key password 1";
  await gotoReady(page, "/request");
  await page.getByLabel("File name root").fill("gen-rsa");
  await page.getByLabel("Common Name").fill("rsa.example.com");
  await page.getByLabel("DNS names").fill("rsa.example.com");
  await page.getByLabel("Key algorithm").selectOption("rsa-2048");
  await page.getByLabel("Private key password").fill(password);
  await page.getByLabel("Confirm password").fill(password);
  await page.getByRole("button", { name: "Generate key pair and CSR" }).click();
  const [download] = await Promise.all([page.waitForEvent("download"), page.getByRole("link", { name: "Download private key (gen-rsa.key)" }).click()]);
  const keyPath = join(tempDir(), "gen-rsa.key");
  await download.saveAs(keyPath);
  expect(opensslText(["pkey", "-in", keyPath, "-passin", `pass:${password}`, "-noout", "-text"])).toContain("Private-Key: (2048 bit, 2 primes)");
  const csrPath = join(tempDir(), "gen-rsa.csr");
  writeFileSync(csrPath, await page.getByTestId("generated-csr").inputValue());
  expect(opensslText(["req", "-in", csrPath, "-pubkey", "-noout"])).toBe(opensslText(["pkey", "-in", keyPath, "-passin", `pass:${password}`, "-pubout"]));
  expect(opensslText(["req", "-in", csrPath, "-noout", "-text"])).toContain("sha256WithRSAEncryption");
  await fillDetails(page, { filename: "gen-rsa" });
  await submitButton(page).click();
  await expect(page.getByTestId("sha1-fingerprint")).toHaveText(/^([0-9A-F]{2}:){19}[0-9A-F]{2}$/);
});

test("bad input is answered next to its field", async ({ page }) => {
  await gotoReady(page, "/request");
  // Browser generation: the key is named after the file name; passwords and subject are checked here.
  await page.getByLabel("Country").fill("XX");
  await page.getByLabel("DNS names").fill("ok.example.com bad_host.example.com");
  await page.getByLabel("IP addresses").fill("300.1.2.3");
  await page.getByLabel("Private key password").fill("long enough password");
  await page.getByLabel("Confirm password").fill("another password!");
  await page.getByRole("button", { name: "Generate key pair and CSR" }).click();
  await expect(page.locator("#f-filename-error")).toContainText("Enter a file name root");
  await expect(page.locator("#f-keyPasswordConfirm-error")).toHaveText("The two passwords differ");
  await expect(page.locator("#f-subject-C-error")).toHaveText('Country "XX" is not an ISO 3166 country code');
  await expect(page.locator("#f-sans-dns-error")).toContainText("Not a DNS name: bad_host.example.com");
  await expect(page.locator("#f-sans-ip-error")).toContainText("Not an IP address: 300.1.2.3");
  await expect(page.getByTestId("generated")).toHaveCount(0);

  await page.getByRole("radio", { name: /Paste a CSR/ }).check();
  const pem = page.getByLabel("Certificate signing request (PEM)");
  const csrError = page.getByTestId("csr-error");

  // Garbage.
  await pem.fill("hello, this is not a CSR");
  await fillDetails(page, { filename: "bad01" });
  await submitButton(page).click();
  await expect(csrError).toHaveText("The CSR is neither PEM text (-----BEGIN CERTIFICATE REQUEST-----) nor DER");
  await expect(pem).toHaveAttribute("aria-invalid", "true");
  await expect(page.getByRole("alert").filter({ hasText: "The request was not submitted" })).toBeVisible();

  // Two PEM blocks.
  await pem.fill(opensslCsr().pem + opensslCsr().pem);
  await submitButton(page).click();
  await expect(csrError).toContainText("The text holds 2 PEM blocks (2 certificate signing requests)");

  // A private key pasted by mistake is not even sent.
  const withKey = opensslCsr();
  await pem.fill(readFileSync(withKey.keyPath, "utf8"));
  await submitButton(page).click();
  await expect(csrError).toContainText("The text contains a private key. It was not sent");

  // RSA 1024 is too weak.
  await pem.fill(opensslCsr({ key: "rsa:1024" }).pem);
  await submitButton(page).click();
  await expect(csrError).toHaveText("The CSR's RSA key has 1024 bits; at least 2048 are required");

  // The fields around the CSR: all their problems at once, each next to its field.
  await pem.fill(opensslCsr().pem);
  await page.getByLabel("File name root").fill("cache");
  await page.getByLabel("Contact name").fill("");
  await page.getByLabel("E-mail").fill("not-an-address");
  await page.getByLabel("Host name").fill("bad host name");
  await submitButton(page).click();
  await expect(page.locator("#f-filename-error")).toHaveText('The file name root cannot be "cache"');
  await expect(page.locator("#f-contact-name-error")).toHaveText("Enter the technical contact's name");
  await expect(page.locator("#f-contact-email-error")).not.toBeEmpty();
  await expect(page.locator("#f-hostname-error")).toHaveText("Enter a host name such as server1.example.com");
  await expect(page.getByLabel("Contact name")).toHaveAttribute("aria-describedby", /f-contact-name-error/);
  await expect(csrError).toHaveCount(0);
  // What was typed is still there to correct.
  await expect(page.getByLabel("Host name")).toHaveValue("bad host name");
  await expect(pem).not.toHaveValue("");
  await page.screenshot({ path: `${SHOTS}/request-errors.png`, fullPage: true });

  // Corrected, it goes through.
  await page.getByLabel("File name root").fill("good01");
  await page.getByLabel("Contact name").fill("Alan Turing");
  await page.getByLabel("E-mail").fill("alan@example.com");
  await page.getByLabel("Host name").fill("good01.example.com");
  await submitButton(page).click();
  await expect(page.getByTestId("sha1-fingerprint")).toBeVisible();
});

test("the status page: pending, issued with downloads, deleted, unknown", async ({ page, request }) => {
  const csr = opensslCsr({ cn: "status.example.com" });
  const id = await submitCsr(request, csr, { filename: "status01", hostname: "status.example.com", contact: "Status Contact" });
  await gotoReady(page, `/request/${id}`);
  await expect(page.getByRole("heading", { name: "Certificate Signing Request “status01”" })).toBeVisible();
  await expect(page.getByTestId("request-status")).toHaveText("Pending");
  await expect(page.getByTestId("request-sha1")).toHaveText(csr.sha1);
  await expect(page.getByText("Waiting for the Certificate Authority administrator")).toBeVisible();
  await expect(page.getByRole("link", { name: /PEM/ })).toHaveCount(0);

  const issued = await issue(request, id);
  await gotoReady(page, `/request/${id}`);
  await expect(page.getByTestId("request-status")).toHaveText("Issued");
  await expect(page.getByText(`Certificate number ${issued.number} issued for Certificate Signing Request “status01”`)).toBeVisible();
  await expect(page.getByTestId("certificate-serial")).toHaveText(issued.serial);
  const [pem] = await Promise.all([page.waitForEvent("download"), page.getByRole("link", { name: `Download certificate ${issued.number} as PEM (status01.cer)` }).click()]);
  expect(pem.suggestedFilename()).toBe("status01.cer");
  const pemPath = join(tempDir(), "status01.cer");
  await pem.saveAs(pemPath);
  expect(readFileSync(pemPath, "utf8")).toBe(issued.pem);
  await page.screenshot({ path: `${SHOTS}/request-status.png`, fullPage: true });

  const other = await submitCsr(request, opensslCsr(), { filename: "status02" });
  expect((await request.delete(`/api/v1/admin/csrs/${other}`, { headers: await adminAuth(request) })).status()).toBe(200);
  await gotoReady(page, `/request/${other}`);
  await expect(page.getByTestId("request-status")).toHaveText("Deleted");
  await expect(page.getByText("The request was deleted")).toBeVisible();

  for (const bad of ["00000000-0000-4000-8000-000000000000", "not-a-request"]) {
    const r = await page.goto(`/request/${bad}`);
    expect(r?.status()).toBe(404);
  }
});

test("the certificates page: CA certificate, search by number, host name and serial, downloads, pages", async ({ page, request }) => {
  const host = `search-${Date.now().toString(36)}.example.com`;
  const a = await issue(request, await submitCsr(request, opensslCsr({ cn: host }), { filename: "searchA", hostname: host, instance: "SEARCH" }));
  const b = await issue(request, await submitCsr(request, opensslCsr({ cn: `b.${host}` }), { filename: "searchB", hostname: host, instance: "SEARCH" }));
  const c = await issue(request, await submitCsr(request, opensslCsr(), { filename: "searchC", hostname: "elsewhere.example.com" }));

  await gotoReady(page, "/certificates");
  await expect(page.getByTestId("ca-subject")).toHaveText("C=GB, O=Example Ltd, CN=Public Pages Test CA");
  await expect(page.getByTestId("ca-sha1")).toHaveText(ca!.sha1Fingerprint);
  const dir = tempDir();
  const [caPem] = await Promise.all([page.waitForEvent("download"), page.getByRole("link", { name: "Download the CA certificate as PEM (PublicCA.cer)" }).click()]);
  await caPem.saveAs(join(dir, "ca.cer"));
  expect(readFileSync(join(dir, "ca.cer"), "utf8")).toBe(ca!.pem);
  const [caDer] = await Promise.all([page.waitForEvent("download"), page.getByRole("link", { name: "Download the CA certificate as DER" }).click()]);
  await caDer.saveAs(join(dir, "ca.der"));
  expect(opensslText(["x509", "-inform", "DER", "-in", join(dir, "ca.der"), "-noout", "-fingerprint", "-sha1"]).trim().split("=")[1]).toBe(ca!.sha1Fingerprint);

  // By number, through the form: the URL is bookmarkable.
  await page.getByLabel("Certificate number").fill(String(b.number));
  await page.getByRole("button", { name: "Search" }).click();
  await expect(page).toHaveURL(new RegExp(`/certificates\\?number=${b.number}$`));
  await expect(page.getByRole("heading", { name: "Matching certificates" })).toBeVisible();
  await expect(page.locator("tbody tr")).toHaveCount(1);
  await expect(page.getByTestId(`certificate-${b.number}`)).toContainText("searchB");
  await expect(page.getByTestId(`certificate-${b.number}`)).toContainText("TLS/SSL and XML security");

  // By host name: two of the three.
  await gotoReady(page, `/certificates?hostname=${host}`);
  await expect(page.locator("tbody tr")).toHaveCount(2);
  await expect(page.getByTestId(`certificate-${a.number}`)).toBeVisible();
  await expect(page.getByTestId(`certificate-${c.number}`)).toHaveCount(0);
  await page.screenshot({ path: `${SHOTS}/certificates.png`, fullPage: true });

  // By serial, with colons and in lower case, as copied from `openssl x509 -text`.
  await gotoReady(page, "/certificates");
  await page.getByLabel("Serial number").fill(colonLower(a.serial));
  await page.getByRole("button", { name: "Search" }).click();
  await expect(page.locator("tbody tr")).toHaveCount(1);
  await expect(page.getByTestId(`certificate-${a.number}`)).toContainText(a.serial);
  // …and in decimal.
  await gotoReady(page, `/certificates?serial=${BigInt(`0x${a.serial}`).toString(10)}`);
  await expect(page.getByTestId(`certificate-${a.number}`)).toBeVisible();

  // Get: PEM (.cer), DER and the chain, which verifies strictly against the CA certificate.
  const row = page.getByTestId(`certificate-${a.number}`);
  const [pem] = await Promise.all([page.waitForEvent("download"), row.getByRole("link", { name: `Get certificate ${a.number} as PEM (searchA.cer)` }).click()]);
  expect(pem.suggestedFilename()).toBe("searchA.cer");
  await pem.saveAs(join(dir, "searchA.cer"));
  expect(readFileSync(join(dir, "searchA.cer"), "utf8")).toBe(a.pem);
  const [der] = await Promise.all([page.waitForEvent("download"), row.getByRole("link", { name: `Get certificate ${a.number} as DER` }).click()]);
  expect(der.suggestedFilename()).toBe("searchA.der");
  await der.saveAs(join(dir, "searchA.der"));
  expect(opensslText(["x509", "-inform", "DER", "-in", join(dir, "searchA.der"), "-noout", "-serial"]).trim()).toBe(`serial=${a.serial}`);
  const [chain] = await Promise.all([page.waitForEvent("download"), row.getByRole("link", { name: `Get certificate ${a.number} with the CA certificate (chain)` }).click()]);
  await chain.saveAs(join(dir, "searchA-chain.pem"));
  const blocks = splitPem(readFileSync(join(dir, "searchA-chain.pem"), "utf8"));
  expect(blocks).toHaveLength(2);
  expect(blocks[0]).toBe(a.pem);
  expect(blocks[1]).toBe(ca!.pem);
  writeFileSync(join(dir, "leaf.pem"), blocks[0]);
  writeFileSync(join(dir, "chain-ca.pem"), blocks[1]);
  expect(opensslText(["verify", "-x509_strict", "-purpose", "sslserver", "-CAfile", join(dir, "chain-ca.pem"), join(dir, "leaf.pem")]).trim()).toBe(`${join(dir, "leaf.pem")}: OK`);

  // Bad input: a message, not a crash.
  for (const [query, field, message] of [
    ["serial=xyz", "#f-serial-error", "Enter the serial number in hexadecimal"],
    ["number=abc", "#f-number-error", "Enter a certificate number such as 3"],
    ["number=99999999999", "#f-number-error", "Enter a certificate number such as 3"],
  ] as const) {
    const r = await page.goto(`/certificates?${query}`);
    expect(r?.status(), query).toBe(200);
    await expect(page.locator(field)).toContainText(message);
    await expect(page.getByRole("alert").filter({ hasText: "Nothing was searched" })).toBeVisible();
  }
  const unknownCursor = await page.goto("/certificates?cursor=zzz");
  expect(unknownCursor?.status()).toBe(200);
  await expect(page.getByRole("alert").filter({ hasText: "Unknown cursor" })).toBeVisible();

  // Keyset pages: one certificate per page, "Next page" carries the filter and the cursor.
  await gotoReady(page, `/certificates?hostname=${host}&limit=1`);
  await expect(page.locator("tbody tr")).toHaveCount(1);
  await expect(page.getByTestId(`certificate-${a.number}`)).toBeVisible();
  await page.getByRole("link", { name: "Next page" }).click();
  await expect(page).toHaveURL(/cursor=/);
  await expect(page.getByTestId(`certificate-${b.number}`)).toBeVisible();
  await expect(page.locator("tbody tr")).toHaveCount(1);
  await expect(page.getByRole("link", { name: "Next page" })).toHaveCount(0);
  await expect(page.getByRole("link", { name: "First page" })).toBeVisible();
});

test("a developer's curl path: search by host name, download DER by number", async ({ request }) => {
  const host = `curl-${Date.now().toString(36)}.example.com`;
  const issued = await issue(request, await submitCsr(request, opensslCsr({ cn: host }), { filename: "curl01", hostname: host, instance: "SCRIPTS" }));
  const base = new URL("/", (await request.get("/api/v1/health")).url()).origin;
  const list = JSON.parse(execFileSync("curl", ["-sS", "--fail", `${base}/api/v1/certificates?hostname=${host}`], { encoding: "utf8" }));
  expect(list.nextCursor).toBeNull();
  expect(list.items).toHaveLength(1);
  expect(list.items[0]).toMatchObject({ number: issued.number, serial: issued.serial, hostname: host, instance: "SCRIPTS", filename: "curl01", usage: "tls", status: "valid" });
  // A mistyped page size is not a server error (it was a 500: Prisma got take: NaN).
  const sloppy = await request.get(`/api/v1/certificates?hostname=${host}&limit=abc`);
  expect(sloppy.status()).toBe(200);
  expect((await sloppy.json()).items).toHaveLength(1);
  const der = execFileSync("curl", ["-sS", "--fail", `${base}/api/v1/certificates/${issued.number}?format=der`]);
  const text = opensslText(["x509", "-inform", "DER", "-noout", "-subject", "-serial", "-ext", "subjectAltName"], der);
  expect(text).toContain(`CN = ${host}`);
  expect(text).toContain(`serial=${issued.serial}`);
  expect(text).toContain(`DNS:${host}`);
});

test("phone width: no horizontal page scroll", async ({ page, request }) => {
  await page.setViewportSize({ width: 375, height: 812 });
  const host = `phone-${Date.now().toString(36)}.example.com`;
  const csr = opensslCsr({ cn: host });
  const id = await submitCsr(request, csr, { filename: "phone-with-a-rather-long-file-name-root", hostname: host, instance: "PHONE" });

  await gotoReady(page, "/request");
  await noHorizontalScroll(page);
  await page.screenshot({ path: `${SHOTS}/request-phone.png`, fullPage: true });
  const number = (await issue(request, id)).number;
  await gotoReady(page, `/certificates?hostname=${host}`);
  // One card per certificate instead of a table to scroll sideways; its links work.
  const card = page.getByTestId(`certificate-card-${number}`);
  await expect(card).toBeVisible();
  await expect(page.locator("table")).toBeHidden();
  const [der] = await Promise.all([page.waitForEvent("download"), card.getByRole("link", { name: `Get certificate ${number} as DER` }).click()]);
  expect(der.suggestedFilename()).toBe("phone-with-a-rather-long-file-name-root.der");
  await noHorizontalScroll(page);
  await page.screenshot({ path: `${SHOTS}/certificates-phone.png`, fullPage: true });
  await gotoReady(page, `/request/${id}`);
  await noHorizontalScroll(page);
  await page.screenshot({ path: `${SHOTS}/request-status-phone.png`, fullPage: true });

  // The fingerprint to read back wraps in groups instead of widening the page.
  await gotoReady(page, "/request");
  await page.getByRole("radio", { name: /Paste a CSR/ }).check();
  await page.getByLabel("Certificate signing request (PEM)").fill(opensslCsr().pem);
  await fillDetails(page, { filename: "phone02" });
  await submitButton(page).click();
  await expect(page.getByTestId("sha1-fingerprint")).toBeVisible();
  await noHorizontalScroll(page);
  await page.screenshot({ path: `${SHOTS}/request-done-phone.png`, fullPage: true });
});

test("the request page limits submissions per client address", async ({ browser }) => {
  // Its own instance: the shared server's limit is set high for the other tests (playwright.config.ts).
  const port = instancePort(2);
  const admin = { username: "limitadmin", password: "limit admin password" };
  const instance = await startInstance(port, { PORTCULLIS_CSR_RATE_LIMIT: "3", PORTCULLIS_ADMIN_USER: admin.username, PORTCULLIS_ADMIN_PASSWORD: admin.password }, { dataDirPrefix: "portcullis-public-" });
  try {
    const token = (await (await fetch(`${instance.base}/api/v1/auth/token`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ ...admin, name: "limit" }) })).json()).token;
    const configured = await fetch(`${instance.base}/api/v1/admin/ca`, { method: "POST", headers: { "content-type": "application/json", authorization: `Bearer ${token}` }, body: JSON.stringify({ ...CA_BODY, smtp: { host: "" }, adminEmail: "limit-admin@example.com" }) });
    expect(configured.status).toBe(201);

    // Addresses as a reverse proxy reports them (the last X-Forwarded-For entry).
    const context = await browser.newContext({ baseURL: instance.base, extraHTTPHeaders: { "x-forwarded-for": "203.0.113.77" } });
    const page = await context.newPage();
    await gotoReady(page, "/request");
    await page.getByRole("radio", { name: /Paste a CSR/ }).check();
    await page.getByLabel("Certificate signing request (PEM)").fill("this is, not a CSR");
    await fillDetails(page, { filename: "limited" });
    const submitOnce = async () => {
      await Promise.all([page.waitForResponse((r) => r.request().method() === "POST" && new URL(r.url()).pathname === "/request"), submitButton(page).click()]);
    };
    for (let i = 0; i < 3; i++) await submitOnce();
    await expect(page.getByTestId("csr-error")).toContainText("neither PEM text");
    await submitOnce();
    await expect(page.getByRole("alert").filter({ hasText: "The request was not submitted" })).toContainText(/Too many requests from this address; try again in \d+ seconds/);
    await context.close();

    // Another address is not affected.
    const other = await browser.newContext({ baseURL: instance.base, extraHTTPHeaders: { "x-forwarded-for": "203.0.113.78" } });
    const p2 = await other.newPage();
    await gotoReady(p2, "/request");
    await p2.getByRole("radio", { name: /Paste a CSR/ }).check();
    await p2.getByLabel("Certificate signing request (PEM)").fill(opensslCsr().pem);
    await fillDetails(p2, { filename: "not-limited" });
    await submitButton(p2).click();
    await expect(p2.getByTestId("sha1-fingerprint")).toBeVisible();
    await other.close();
  } finally {
    instance.stop();
  }
});
