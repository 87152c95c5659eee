import { test, expect } from "@playwright/test";
import { readFileSync } from "node:fs";
import { gotoReady, signIn, resetCa, waitForMail, opensslOk } from "./support";
import {
  CA_KEY_PASSWORD,
  adminHeaders,
  configureQueueCa,
  downloadCertificate,
  fillIssueForm,
  makeCsr,
  pageOverflow,
  requestStatus,
  submitCsr,
  submitNew,
  uniqueName,
  type QueueCa,
} from "./queue-support";

let ca: QueueCa;

test.beforeEach(async ({ request }) => {
  ca = await configureQueueCa(request);
});

const issuedMessage = (n: number, filename: string) => `Certificate number ${n} issued for Certificate Signing Request "${filename}"`;

/** The row of the queue showing a request. */
const rowOf = (page: import("@playwright/test").Page, id: string) => page.locator(`tr[data-request-id="${id}"]`);

test("without a CA server the queue says so and links to its configuration", async ({ page, request }) => {
  await resetCa(request);
  await signIn(page);
  await gotoReady(page, "/ca-server/requests");
  await expect(page.getByRole("heading", { name: "Process pending Certificate Signing Requests" })).toBeVisible();
  await expect(page.getByText("This instance is not configured as a Certificate Authority server.")).toBeVisible();
  await page.getByRole("link", { name: "Configure local Certificate Authority server" }).click();
  await expect(page).toHaveURL(/\/ca-server$/);
});

test("the queue page asks visitors to sign in", async ({ page }) => {
  await page.goto("/ca-server/requests");
  await expect(page).toHaveURL(/\/login\?next=%2Fca-server%2Frequests/);
});

test("the queue lists pending requests oldest first with the count, and pages through them", async ({ page, request, browser }) => {
  test.setTimeout(120_000);
  await signIn(page);
  await gotoReady(page, "/ca-server/requests");
  await expect(page.getByTestId("pending-count")).toHaveText("0 pending requests");
  await expect(page.getByTestId("queue-empty")).toContainText("No Certificate Signing Requests are waiting");

  const a = await submitNew(request, { subject: "/C=US/O=Example/CN=alpha.example.com", san: "DNS:alpha.example.com", prefix: "Alpha", contactName: "Alice Admin", hostname: "alpha.example.com", instance: "ALPHA" });
  const b = await submitNew(request, { subject: "/O=Example/CN=beta.example.com", prefix: "Beta", contactName: "Bob Builder", hostname: "beta.example.com", instance: "BETA" });
  const c = await submitNew(request, { subject: "/CN=gamma.example.com", prefix: "Gamma", contactName: "Carol Contact", hostname: "gamma.example.com", instance: "GAMMA" });

  await gotoReady(page, "/ca-server/requests");
  await expect(page.getByTestId("pending-count")).toHaveText("3 pending requests");
  const rows = page.getByTestId("request-row");
  await expect(rows).toHaveCount(3);
  await expect(rows.nth(0)).toHaveAttribute("data-request-id", a.id);
  await expect(rows.nth(1)).toHaveAttribute("data-request-id", b.id);
  await expect(rows.nth(2)).toHaveAttribute("data-request-id", c.id);
  const first = rowOf(page, a.id);
  for (const text of ["C=US, O=Example, CN=alpha.example.com", "Alice Admin", a.email, "alpha.example.com", "ALPHA", a.filename, "UTC"]) await expect(first).toContainText(text);
  await expect(first.getByRole("link", { name: `Process ${a.filename}` })).toHaveAttribute("href", `/ca-server/requests/${a.id}`);
  await expect(first.getByRole("button", { name: `Delete ${a.filename}` })).toBeVisible();
  await expect(page.getByRole("link", { name: "Next page" })).toHaveCount(0);
  await page.screenshot({ path: "test-results/screenshots/queue.png", fullPage: true });

  // On a phone the page itself does not scroll sideways; the table scrolls in its own box.
  const phone = await browser.newContext({ viewport: { width: 390, height: 844 }, isMobile: true, hasTouch: true });
  const phonePage = await phone.newPage();
  await signIn(phonePage);
  await gotoReady(phonePage, "/ca-server/requests");
  await expect(phonePage.getByTestId("request-row")).toHaveCount(3);
  expect(await pageOverflow(phonePage)).toBeLessThanOrEqual(0);
  await phonePage.screenshot({ path: "test-results/screenshots/queue-phone.png", fullPage: true });
  await phone.close();

  // More than one page (20 a page): 22 requests.
  const more: string[] = [];
  for (let i = 0; i < 19; i++) more.push((await submitNew(request, { subject: `/CN=bulk${i}.example.com`, prefix: `Bulk${i}` })).id);
  await gotoReady(page, "/ca-server/requests");
  await expect(page.getByTestId("pending-count")).toHaveText("22 pending requests");
  await expect(rows).toHaveCount(20);
  await expect(rows.nth(0)).toHaveAttribute("data-request-id", a.id);
  await expect(page.getByRole("link", { name: "First page" })).toHaveCount(0);
  await page.getByRole("link", { name: "Next page" }).click();
  await expect(page).toHaveURL(/\?cursor=/);
  await expect(rows).toHaveCount(2);
  await expect(rows.nth(0)).toHaveAttribute("data-request-id", more[17]);
  await expect(rows.nth(1)).toHaveAttribute("data-request-id", more[18]);
  await expect(page.getByTestId("pending-count")).toHaveText("22 pending requests");
  await expect(page.getByRole("link", { name: "Next page" })).toHaveCount(0);
  await page.getByRole("link", { name: "First page" }).click();
  await expect(rows).toHaveCount(20);
  await expect(rows.nth(0)).toHaveAttribute("data-request-id", a.id);

  // A damaged cursor is explained, not a crash.
  await gotoReady(page, "/ca-server/requests?cursor=not-a-cursor");
  await expect(page.getByRole("alert").filter({ hasText: "This page of the queue cannot be shown" })).toContainText("Unknown cursor");
});

const USAGE_CASES = [
  { usage: "tls", label: "TLS/SSL and XML security", subject: "/C=US/O=Example/CN=www.example.com", san: "DNS:www.example.com,DNS:api.example.com", purposes: ["sslserver", "sslclient"], text: ["TLS Web Server Authentication", "TLS Web Client Authentication", "CA:FALSE", "DNS:www.example.com, DNS:api.example.com"] },
  { usage: "intermediate-ca", label: "Intermediate Certificate Authority", subject: "/O=Example/CN=Example Issuing CA 1", san: undefined, purposes: [], text: ["CA:TRUE, pathlen:0", "Certificate Sign, CRL Sign"] },
  { usage: "code-signing", label: "Code signing", subject: "/O=Example/CN=Example Code Signer", san: undefined, purposes: [], text: ["Code Signing", "CA:FALSE", "Digital Signature"] },
  { usage: "tls-client", label: "TLS client only", subject: "/O=Example/CN=client-service", san: undefined, purposes: ["sslclient"], text: ["TLS Web Client Authentication", "CA:FALSE"] },
  { usage: "iot-device", label: "IoT device", subject: "/O=Example/CN=d:sensor:abc-123", san: undefined, purposes: ["sslclient"], text: ["TLS Web Client Authentication", "CN = d:sensor:abc-123"] },
] as const;

for (const u of USAGE_CASES) {
  test(`process a request and issue it as "${u.label}"`, async ({ page, request, browser }) => {
    const s = await submitNew(request, { subject: u.subject, san: u.san, prefix: `Use-${u.usage}`, contactName: "Santiago Development Group", phone: "+1 617 555 0199 x12" });
    await signIn(page);
    await gotoReady(page, "/ca-server/requests");
    await rowOf(page, s.id).getByRole("link", { name: /^Process/ }).click();
    await page.locator("html[data-hydrated=true]").waitFor({ state: "attached" });
    await expect(page).toHaveURL(new RegExp(`/ca-server/requests/${s.id}$`));

    // What the administrator reads back to the contact.
    await expect(page.getByTestId("sha1-fingerprint")).toHaveText(s.sha1Fingerprint);
    await expect(page.getByTestId("sha256-fingerprint")).toHaveText(s.sha256Fingerprint);
    await expect(page.getByTestId("contact-name")).toHaveText("Santiago Development Group");
    await expect(page.getByRole("link", { name: "+1 617 555 0199 x12" })).toHaveAttribute("href", "tel:+16175550199;ext=12");
    await expect(page.getByRole("link", { name: s.email })).toHaveAttribute("href", `mailto:${s.email}`);
    await expect(page.getByTestId("csr-signature")).toHaveText("ecdsa-with-SHA256, ✓ signature valid");
    await expect(page.getByRole("definition").filter({ hasText: "ECDSA P-256" })).toBeVisible();
    if (u.san) await expect(page.getByTestId("csr-sans")).toContainText("DNS:api.example.com");
    await expect(page.getByTestId("csr-pem")).toBeHidden();
    await page.getByText("Certificate Signing Request (PEM)").click();
    await expect(page.getByTestId("csr-pem")).toContainText("-----BEGIN CERTIFICATE REQUEST-----");
    // The usage defaults to TLS/SSL and XML security; the password is asked only after Issue Certificate.
    await expect(page.getByRole("radio", { name: "TLS/SSL and XML security", exact: true })).toBeChecked();
    await expect(page.getByLabel("Password for Certificate Authority's Private Key file")).toHaveCount(0);

    await fillIssueForm(page, { usageLabel: u.label, password: CA_KEY_PASSWORD, channel: "Phone", note: "Called the number on file" });
    if (u.usage === "tls") {
      await page.screenshot({ path: "test-results/screenshots/process.png", fullPage: true });
      const phone = await browser.newContext({ viewport: { width: 390, height: 844 }, isMobile: true, hasTouch: true });
      const phonePage = await phone.newPage();
      await signIn(phonePage);
      await gotoReady(phonePage, `/ca-server/requests/${s.id}`);
      await expect(phonePage.getByTestId("sha1-fingerprint")).toHaveText(s.sha1Fingerprint);
      expect(await pageOverflow(phonePage)).toBeLessThanOrEqual(0);
      await phonePage.screenshot({ path: "test-results/screenshots/process-phone.png", fullPage: true });
      await phone.close();
    }
    await page.getByRole("button", { name: "Finish" }).click();

    await expect(page).toHaveURL(/\?issued=\d+/);
    const number = Number(new URL(page.url()).searchParams.get("issued"));
    expect(number).toBeGreaterThan(0);
    await expect(page.getByTestId("issued-message")).toHaveText(issuedMessage(number, s.filename));
    await expect(page.getByTestId("issued-mail")).toContainText(`was sent to the technical contact, ${s.email}`);
    for (const format of ["pem", "der", "chain"]) {
      await expect(page.locator(`a[href="/api/v1/certificates/${number}?format=${format}"]`).first()).toBeVisible();
    }
    // The request left the queue and has no form any more.
    await expect(page.getByRole("button", { name: "Issue Certificate" })).toHaveCount(0);
    expect(await requestStatus(request, s.id)).toMatchObject({ status: "issued", certificateNumber: number });
    if (u.usage === "tls") await page.screenshot({ path: "test-results/screenshots/issued.png", fullPage: true });

    // The certificate passes OpenSSL's strict checks against the CA certificate.
    const pem = await downloadCertificate(request, number, "pem");
    expect(opensslOk(["verify", "-x509_strict", "-CAfile", ca.caFile, pem])).toContain("OK");
    for (const purpose of u.purposes) expect(opensslOk(["verify", "-x509_strict", "-purpose", purpose, "-CAfile", ca.caFile, pem])).toContain("OK");
    const text = opensslOk(["x509", "-in", pem, "-noout", "-text"]);
    for (const t of u.text) expect(text).toContain(t);
    if (u.usage === "tls") {
      const der = await downloadCertificate(request, number, "der");
      expect(opensslOk(["x509", "-inform", "DER", "-in", der, "-noout", "-subject"])).toContain("CN = www.example.com");
      const chain = await downloadCertificate(request, number, "chain");
      expect(readFileSync(chain, "utf8").match(/-----BEGIN CERTIFICATE-----/g)).toHaveLength(2);
    }

    // The technical contact is told the number.
    const mail = await waitForMail(s.email, (m) => m.subject === issuedMessage(number, s.filename));
    expect(mail.text).toContain(`/api/v1/certificates/${number}?format=pem`);

    await gotoReady(page, "/ca-server/requests");
    await expect(rowOf(page, s.id)).toHaveCount(0);
  });
}

test("a wrong CA key password is answered next to the field and the request stays pending", async ({ page, request }) => {
  const s = await submitNew(request, { subject: "/CN=pw.example.com", prefix: "WrongPw" });
  await signIn(page);
  await gotoReady(page, `/ca-server/requests/${s.id}`);
  await fillIssueForm(page, { usageLabel: "Code signing", password: "not the CA key password", channel: "In person" });
  await page.getByRole("button", { name: "Finish" }).click();
  const password = page.getByLabel("Password for Certificate Authority's Private Key file");
  await expect(page.locator("#f-caKeyPassword-error")).toHaveText("The password does not decrypt the private key");
  await expect(password).toHaveAttribute("aria-invalid", "true");
  await expect(password).toHaveAttribute("aria-describedby", /f-caKeyPassword-error/);
  await expect(password).toBeFocused();
  expect(await requestStatus(request, s.id)).toMatchObject({ status: "pending" });
  // The choices made are kept; the password is not.
  await expect(page.getByRole("radio", { name: "Code signing", exact: true })).toBeChecked();
  await expect(page.getByRole("radio", { name: "In person", exact: true })).toBeChecked();
  await expect(page.getByLabel("I verified the identity, authority and fingerprint with the technical contact")).toBeChecked();
  await expect(password).toHaveValue("");
  await page.screenshot({ path: "test-results/screenshots/process-wrong-password.png", fullPage: true });

  await password.fill(CA_KEY_PASSWORD);
  await page.getByRole("button", { name: "Finish" }).click();
  await expect(page.getByTestId("issued-message")).toHaveText(/^Certificate number \d+ issued for Certificate Signing Request "WrongPw_/);
  const number = (await requestStatus(request, s.id)).certificateNumber!;
  const pem = await downloadCertificate(request, number);
  expect(opensslOk(["x509", "-in", pem, "-noout", "-ext", "extendedKeyUsage"])).toContain("Code Signing");
});

test("the verification checkbox is required", async ({ page, request }) => {
  const s = await submitNew(request, { subject: "/CN=verify.example.com", prefix: "Verify" });
  await signIn(page);
  await gotoReady(page, `/ca-server/requests/${s.id}`);
  const checkbox = page.getByLabel("I verified the identity, authority and fingerprint with the technical contact");
  const message = "Confirm that you verified the identity, authority and fingerprint with the technical contact";

  // Issue Certificate does not open the password step before the box is ticked.
  await page.getByRole("button", { name: "Issue Certificate" }).click();
  await expect(page.locator("#f-fingerprintVerified-error")).toHaveText(message);
  await expect(checkbox).toHaveAttribute("aria-invalid", "true");
  await expect(checkbox).toBeFocused();
  await expect(page.getByLabel("Password for Certificate Authority's Private Key file")).toHaveCount(0);

  // The server checks it too: ticked to open the step, then unticked before Finish.
  await fillIssueForm(page, { usageLabel: "TLS client only", password: CA_KEY_PASSWORD });
  await expect(page.locator("#f-fingerprintVerified-error")).toHaveCount(0);
  await checkbox.uncheck();
  await page.getByRole("button", { name: "Finish" }).click();
  await expect(page.locator("#f-fingerprintVerified-error")).toHaveText(message);
  await expect(page.getByRole("alert").filter({ hasText: "The certificate was not issued" })).toContainText("Correct the field marked below.");
  expect(await requestStatus(request, s.id)).toMatchObject({ status: "pending" });
});

test("a usage the request does not fit is refused next to Certificate Usage", async ({ page, request }) => {
  const s = await submitNew(request, { subject: "/O=Example/CN=Not a host name", prefix: "NoHost" });
  await signIn(page);
  await gotoReady(page, `/ca-server/requests/${s.id}`);
  await fillIssueForm(page, { usageLabel: "TLS/SSL and XML security", password: CA_KEY_PASSWORD });
  await page.getByRole("button", { name: "Finish" }).click();
  await expect(page.locator("#f-usage-error")).toContainText("no host name for a TLS server certificate");
  await expect(page.getByRole("group", { name: "Certificate Usage" })).toHaveAttribute("aria-describedby", "f-usage-error");
  expect(await requestStatus(request, s.id)).toMatchObject({ status: "pending" });
  await page.getByRole("radio", { name: "IoT device", exact: true }).check();
  await page.getByLabel("Password for Certificate Authority's Private Key file").fill(CA_KEY_PASSWORD);
  await page.getByRole("button", { name: "Finish" }).click();
  await expect(page.locator("#f-usage-error")).toContainText("An IoT device certificate needs the device identity");
  await page.getByRole("radio", { name: "TLS client only", exact: true }).check();
  await page.getByLabel("Password for Certificate Authority's Private Key file").fill(CA_KEY_PASSWORD);
  await page.getByRole("button", { name: "Finish" }).click();
  await expect(page.getByTestId("issued-message")).toContainText(`issued for Certificate Signing Request "${s.filename}"`);
});

test("a request issued meanwhile by another administrator is not issued twice", async ({ page, request }) => {
  const s = await submitNew(request, { subject: "/CN=race.example.com", prefix: "Race" });
  await signIn(page);
  await gotoReady(page, `/ca-server/requests/${s.id}`);
  await fillIssueForm(page, { usageLabel: "TLS/SSL and XML security", password: CA_KEY_PASSWORD });

  const other = await request.post(`/api/v1/admin/csrs/${s.id}/issue`, { headers: await adminHeaders(request), data: { usage: "tls-client", caKeyPassword: CA_KEY_PASSWORD, fingerprintVerified: true } });
  expect(other.status()).toBe(201);
  const number = (await other.json()).number as number;

  await page.getByRole("button", { name: "Finish" }).click();
  await expect(page.getByRole("alert").filter({ hasText: "The certificate was not issued" })).toContainText(`This request was already issued (certificate number ${number}); nothing was changed`);
  await expect(page.getByTestId("current-state")).toContainText(`issued as certificate number ${number}`);
  await expect(page.getByRole("button", { name: "Finish" })).toHaveCount(0);

  await page.getByRole("link", { name: "Show the request" }).click();
  await expect(page.getByTestId("request-status")).toContainText(`certificate number ${number}`);
  await expect(page.getByRole("button", { name: "Issue Certificate" })).toHaveCount(0);
  const list = await (await request.get(`/api/v1/certificates?filename=${s.filename}`)).json();
  expect(list.items).toHaveLength(1);
});

test("delete a request after the confirmation dialog", async ({ page, request }) => {
  const keep = await submitNew(request, { subject: "/CN=keep.example.com", prefix: "Keep" });
  const s = await submitNew(request, { subject: "/CN=delete.example.com", prefix: "Delete" });
  await signIn(page);
  await gotoReady(page, "/ca-server/requests");
  await expect(page.getByTestId("pending-count")).toHaveText("2 pending requests");
  const row = rowOf(page, s.id);
  const dialog = page.getByRole("dialog", { name: `Delete the Certificate Signing Request "${s.filename}"?` });

  await row.getByRole("button", { name: `Delete ${s.filename}` }).click();
  await expect(dialog).toBeVisible();
  await page.screenshot({ path: "test-results/screenshots/queue-delete-dialog.png" });
  await dialog.getByRole("button", { name: "Cancel" }).click();
  await expect(dialog).toBeHidden();
  await expect(row).toBeVisible();
  expect(await requestStatus(request, s.id)).toMatchObject({ status: "pending" });

  await row.getByRole("button", { name: `Delete ${s.filename}` }).click();
  await dialog.getByRole("button", { name: "Delete request" }).click();
  await expect(page.getByText(`Certificate Signing Request "${s.filename}" deleted.`)).toBeVisible();
  await expect(row).toHaveCount(0);
  await expect(rowOf(page, keep.id)).toBeVisible();
  await expect(page.getByTestId("pending-count")).toHaveText("1 pending request");
  expect(await requestStatus(request, s.id)).toMatchObject({ status: "deleted" });

  // Its page now says so, without a form.
  await gotoReady(page, `/ca-server/requests/${s.id}`);
  await expect(page.getByTestId("request-status")).toContainText("It was deleted");
  await expect(page.getByRole("button", { name: "Issue Certificate" })).toHaveCount(0);

  // Delete from the Process page too.
  await gotoReady(page, `/ca-server/requests/${keep.id}`);
  await page.getByRole("button", { name: `Delete ${keep.filename}` }).click();
  await page.getByRole("dialog", { name: `Delete the Certificate Signing Request "${keep.filename}"?` }).getByRole("button", { name: "Delete request" }).click();
  await expect(page.getByText(`Certificate Signing Request "${keep.filename}" deleted.`)).toBeVisible();
  await expect(page.getByTestId("queue-empty")).toBeVisible();
});

test("user-supplied text is shown as text, never as markup", async ({ page, request }) => {
  const dialogs: string[] = [];
  page.on("dialog", async (d) => {
    dialogs.push(d.message());
    await d.dismiss();
  });
  const filename = uniqueName("Xss");
  const s = await submitCsr(request, {
    csr: makeCsr("/O=Example/CN=<img src=x onerror=alert(1)>"),
    contact: { name: "<script>alert('contact')</script>", email: `${filename.toLowerCase()}@example.com` },
    hostname: "xss.example.com",
    filename,
  });
  const queued = await (await request.get("/api/v1/admin/csrs", { headers: await adminHeaders(request) })).json();
  const subject = queued.items.find((i: { id: string }) => i.id === s.id).subject as string;
  expect(subject).toMatch(/CN=.*<img src=x onerror.*alert\(1\).*>/);

  await signIn(page);
  await gotoReady(page, "/ca-server/requests");
  const row = rowOf(page, s.id);
  await expect(row).toContainText(subject);
  await expect(row).toContainText("<script>alert('contact')</script>");
  await expect(page.locator("main img")).toHaveCount(0);
  await expect(page.locator("main script")).toHaveCount(0);

  await row.getByRole("link", { name: /^Process/ }).click();
  await expect(page.getByTestId("csr-subject")).toHaveText(subject);
  await expect(page.getByTestId("contact-name")).toHaveText("<script>alert('contact')</script>");
  await expect(page.locator("main img")).toHaveCount(0);
  await expect(page.locator("main script")).toHaveCount(0);
  await page.waitForTimeout(300);
  expect(dialogs).toEqual([]);
});

test("an unknown request id is a 404 page", async ({ page }) => {
  await signIn(page);
  const r = await page.goto("/ca-server/requests/00000000-0000-4000-8000-000000000000");
  expect(r?.status()).toBe(404);
  const r2 = await page.goto("/ca-server/requests/not-an-id");
  expect(r2?.status()).toBe(404);
});

// ---------------------------------------------------------------------------------
// The same queue over the HTTP API.

test("GET /api/v1/admin/csrs: 401 without auth; items, nextCursor and total with a token", async ({ request }) => {
  const noAuth = await request.get("/api/v1/admin/csrs");
  expect(noAuth.status()).toBe(401);
  expect((await noAuth.json()).error.code).toBe("unauthorized");

  const ids: string[] = [];
  for (const n of ["one", "two", "three"]) ids.push((await submitNew(request, { subject: `/CN=${n}.example.com`, prefix: `Api-${n}` })).id);
  const headers = await adminHeaders(request);
  const all = await (await request.get("/api/v1/admin/csrs", { headers })).json();
  expect(all.total).toBe(3);
  expect(all.nextCursor).toBeNull();
  expect(all.items.map((i: { id: string }) => i.id)).toEqual(ids);
  expect(all.items[0]).toMatchObject({ id: ids[0], status: "pending", hostname: "client1.example.com", instance: "IRIS01", contact: { name: "Terry Contact" } });

  const p1 = await (await request.get("/api/v1/admin/csrs?limit=2", { headers })).json();
  expect(p1.items.map((i: { id: string }) => i.id)).toEqual(ids.slice(0, 2));
  expect(p1.total).toBe(3);
  expect(typeof p1.nextCursor).toBe("string");
  const p2 = await (await request.get(`/api/v1/admin/csrs?limit=2&cursor=${encodeURIComponent(p1.nextCursor)}`, { headers })).json();
  expect(p2.items.map((i: { id: string }) => i.id)).toEqual(ids.slice(2));
  expect(p2.nextCursor).toBeNull();
});

test("POST /api/v1/admin/csrs/{id}/issue: 201 with number, serial and pem; again 409", async ({ request }) => {
  const s = await submitNew(request, { subject: "/CN=api-issue.example.com", prefix: "ApiIssue" });
  const headers = await adminHeaders(request);
  const url = `/api/v1/admin/csrs/${s.id}/issue`;
  expect((await request.post(url, { data: { usage: "tls", caKeyPassword: CA_KEY_PASSWORD, fingerprintVerified: true } })).status()).toBe(401);

  const unverified = await request.post(url, { headers, data: { usage: "tls", caKeyPassword: CA_KEY_PASSWORD } });
  expect(unverified.status()).toBe(422);
  expect((await unverified.json()).error.fields).toHaveProperty("fingerprintVerified");

  const r = await request.post(url, { headers, data: { usage: "tls", caKeyPassword: CA_KEY_PASSWORD, fingerprintVerified: true, verificationChannel: "phone" } });
  expect(r.status()).toBe(201);
  const body = await r.json();
  expect(body.number).toBeGreaterThan(0);
  expect(body.serial).toMatch(/^[0-9A-F]+$/);
  expect(body.pem).toContain("-----BEGIN CERTIFICATE-----");
  expect(body.message).toBe(issuedMessage(body.number, s.filename));

  const again = await request.post(url, { headers, data: { usage: "tls", caKeyPassword: CA_KEY_PASSWORD, fingerprintVerified: true } });
  expect(again.status()).toBe(409);
  expect((await again.json()).error.code).toBe("conflict");
  expect(await requestStatus(request, s.id)).toMatchObject({ status: "issued", certificateNumber: body.number });
});

test("20 concurrent issue calls for one request: one 201, nineteen 409, one certificate", async ({ request }) => {
  const s = await submitNew(request, { subject: "/CN=concurrent.example.com", prefix: "Concurrent" });
  const headers = await adminHeaders(request);
  const responses = await Promise.all(
    Array.from({ length: 20 }, () => request.post(`/api/v1/admin/csrs/${s.id}/issue`, { headers, data: { usage: "tls", caKeyPassword: CA_KEY_PASSWORD, fingerprintVerified: true } })),
  );
  const statuses = responses.map((r) => r.status()).sort();
  expect(statuses.filter((x) => x === 201)).toHaveLength(1);
  expect(statuses.filter((x) => x === 409)).toHaveLength(19);
  const list = await (await request.get(`/api/v1/certificates?filename=${s.filename}`)).json();
  expect(list.items).toHaveLength(1);
  expect(await requestStatus(request, s.id)).toMatchObject({ status: "issued", certificateNumber: list.items[0].number });
});

test("DELETE /api/v1/admin/csrs/{id}: 200, then 409", async ({ request }) => {
  const s = await submitNew(request, { subject: "/CN=api-delete.example.com", prefix: "ApiDelete" });
  const headers = await adminHeaders(request);
  expect((await request.delete(`/api/v1/admin/csrs/${s.id}`)).status()).toBe(401);
  const r = await request.delete(`/api/v1/admin/csrs/${s.id}`, { headers });
  expect(r.status()).toBe(200);
  expect(await r.json()).toMatchObject({ id: s.id, status: "deleted" });
  const again = await request.delete(`/api/v1/admin/csrs/${s.id}`, { headers });
  expect(again.status()).toBe(409);
  expect(await requestStatus(request, s.id)).toMatchObject({ status: "deleted" });
  const queue = await (await request.get("/api/v1/admin/csrs", { headers })).json();
  expect(queue.items.map((i: { id: string }) => i.id)).not.toContain(s.id);
});
