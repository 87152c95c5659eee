import { test, expect } from "@playwright/test";
import { gotoReady, signIn } from "./support";
import { adminHeaders, CA_KEY_PASSWORD, configureQueueCa, submitNew } from "./queue-support";

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
  await page.screenshot({ path: "test-results/screenshots/expiring.png", fullPage: true });
});
