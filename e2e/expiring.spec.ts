import { test, expect } from "@playwright/test";
import { gotoReady, resetCa, signIn, SMTP_PORT, waitForMail } from "./support";
import { adminHeaders, CA_KEY_PASSWORD, configureQueueCa, makeCsr, submitNew, uniqueName } from "./queue-support";

test("expiring certificates: API window, calendar feed and page", async ({ page, request }) => {
  await configureQueueCa(request);
  const headers = await adminHeaders(request);
  const sub = await submitNew(request, { subject: "/CN=soon.example.com", san: "DNS:soon.example.com", prefix: "Exp" });
  const issued = await request.post(`/api/v1/admin/csrs/${sub.id}/issue`, { headers, data: { usage: "tls", caKeyPassword: CA_KEY_PASSWORD, fingerprintVerified: true } });
  expect(issued.status(), await issued.text()).toBe(201);
  const { number } = await issued.json();

  expect((await request.get("/api/v1/admin/certificates?expiringWithinDays=60")).status()).toBe(401);
  const soon = await (await request.get("/api/v1/admin/certificates?expiringWithinDays=60", { headers })).json();
  expect(soon.items.map((c: { number: number }) => c.number)).not.toContain(number);
  const year = await (await request.get("/api/v1/admin/certificates?expiringWithinDays=400", { headers })).json();
  expect(year.items.map((c: { number: number }) => c.number)).toContain(number);
  expect((await request.get("/api/v1/admin/certificates?expiringWithinDays=0", { headers })).status()).toBe(422);

  const ics = await request.get("/api/v1/admin/certificates/expiring.ics", { headers });
  expect(ics.headers()["content-type"]).toContain("text/calendar");
  const text = await ics.text();
  expect(text.startsWith("BEGIN:VCALENDAR\r\n")).toBe(true);
  expect(text).toContain(`Certificate ${number} (soon.example.com) expires`);

  await signIn(page);
  await gotoReady(page, "/ca-server/expiring?days=90");
  await expect(page.getByRole("heading", { name: "Expiring certificates" })).toBeVisible();
});

test("expiry warnings: thresholds shown, due warnings mailed once, the warning column and renewals", async ({ page, request }) => {
  // Certificates valid for 20 days are inside the 30-day threshold from the moment they are issued.
  await resetCa(request);
  const headers = await adminHeaders(request);
  const adminEmail = `${uniqueName("warn-admin").toLowerCase()}@example.com`;
  const configured = await request.post("/api/v1/admin/ca", {
    headers,
    data: {
      fileNameRoot: "WarnCA",
      directory: uniqueName("e2e-warn"),
      keyPassword: CA_KEY_PASSWORD,
      subject: { O: "Example Warn Corp", CN: "Warning Test CA" },
      keyAlgorithm: "ecdsa-p256",
      caValidityDays: 3650,
      issuedValidityDays: 20,
      smtp: { host: "127.0.0.1", port: SMTP_PORT, secure: false, username: "", password: "" },
      adminEmail,
    },
  });
  expect(configured.status(), await configured.text()).toBe(201);
  const issue = async (id: string): Promise<number> => {
    const r = await request.post(`/api/v1/admin/csrs/${id}/issue`, { headers, data: { usage: "tls", caKeyPassword: CA_KEY_PASSWORD, fingerprintVerified: true } });
    expect(r.status(), await r.text()).toBe(201);
    return (await r.json()).number as number;
  };
  const plain = await submitNew(request, { subject: "/CN=warned.example.com", san: "DNS:warned.example.com", prefix: "Warn" });
  const warned = await issue(plain.id);
  const original = await submitNew(request, { subject: "/CN=renewed.example.com", san: "DNS:renewed.example.com", prefix: "Old" });
  const old = await issue(original.id);
  const renewalFile = uniqueName("New");
  const renewalEmail = `${renewalFile.toLowerCase()}@example.com`;
  const renewal = await request.post(`/api/v1/certificates/${old}/renewal`, {
    data: { csr: makeCsr("/CN=renewed.example.com", "DNS:renewed.example.com"), contact: { name: "Rita Renew", email: renewalEmail }, filename: renewalFile },
  });
  expect(renewal.status(), await renewal.text()).toBe(201);
  const renewedBy = await issue((await renewal.json()).id);

  await signIn(page);
  await gotoReady(page, "/ca-server/expiring?days=30");
  await expect(page.getByTestId("warning-thresholds")).toContainText("60, 30 and 7 days before a certificate expires");
  await expect(page.getByTestId("warning-thresholds")).toContainText(adminEmail);
  // The scheduled job ran when the server started.
  await expect(page.getByTestId("last-check")).toHaveText(/^\d{4}-\d{2}-\d{2} \d{2}:\d{2} UTC$/);
  const row = (n: number) => page.locator(`[data-testid=expiring-row][data-number="${n}"]`);
  await expect(row(warned).getByTestId("warnings-cell")).toHaveText("—");

  await page.getByRole("button", { name: "Send due warnings now" }).click();
  // The renewed certificate is left alone; the plain one and the renewal itself are warned about.
  await expect(page.getByText("2 certificates reached a warning threshold: 4 e-mails queued in the outbox.")).toBeVisible();
  await expect(row(warned).getByTestId("warning-sent")).toHaveText(/^30 d mailed \d{4}-\d{2}-\d{2} \d{2}:\d{2} UTC$/);
  await expect(row(warned).getByTestId("warning-skipped")).toHaveText("60 d skipped (first seen later)");
  await expect(row(old).getByTestId("renewed-by")).toHaveText(`renewed by #${renewedBy}`);
  await expect(row(old).getByTestId("warning-sent")).toHaveCount(0);
  await expect(row(renewedBy).getByTestId("warning-sent")).toHaveCount(1);
  await page.screenshot({ path: "test-results/screenshots/expiring.png", fullPage: true });

  const contactMail = await waitForMail(plain.email, (m) => m.subject.startsWith(`Certificate number ${warned} for `));
  expect(contactMail.subject).toMatch(new RegExp(`^Certificate number ${warned} for "${plain.filename}" expires in 19 days$`));
  expect(contactMail.text).toContain("30 days before expiry");
  expect(contactMail.text).toMatch(new RegExp(`/certificates/${warned}/renew`));
  const adminMail = await waitForMail(adminEmail, (m) => m.subject.startsWith(`Certificate number ${warned} for `));
  expect(adminMail.text).toContain(`/ca-server/certificates/${warned}`);
  await waitForMail(renewalEmail, (m) => m.subject.startsWith(`Certificate number ${renewedBy} for `));

  // Again: nothing new is due.
  await page.getByRole("button", { name: "Send due warnings now" }).click();
  await expect(page.getByText("No certificate reached a new warning threshold.")).toBeVisible();
  await expect(row(warned).getByTestId("warning-sent")).toHaveCount(1);

  // The API lists the same.
  const listed = await (await request.get("/api/v1/admin/certificates?expiringWithinDays=30", { headers })).json();
  const byNumber = new Map(listed.items.map((c: { number: number }) => [c.number, c]));
  expect(byNumber.get(old)).toMatchObject({ renewedBy, warnings: [] });
  expect(byNumber.get(warned)).toMatchObject({ renewedBy: null, warnings: [{ thresholdDays: 60, mailed: false }, { thresholdDays: 30, mailed: true }] });
});
