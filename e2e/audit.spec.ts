import { test, expect } from "@playwright/test";
import { gotoReady, signIn } from "./support";
import { adminHeaders, CA_KEY_PASSWORD, configureQueueCa, submitNew } from "./queue-support";

test("audit log: acts recorded with who and what, filtered, verified and exported", async ({ page, request }) => {
  await configureQueueCa(request);
  const headers = await adminHeaders(request);
  const sub = await submitNew(request, { subject: "/CN=audited.example.com", san: "DNS:audited.example.com", prefix: "Aud" });
  const issued = await request.post(`/api/v1/admin/csrs/${sub.id}/issue`, { headers, data: { usage: "tls", caKeyPassword: CA_KEY_PASSWORD, fingerprintVerified: true, verificationChannel: "phone" } });
  expect(issued.status(), await issued.text()).toBe(201);
  const { number } = await issued.json();

  const failed = await request.post("/api/v1/auth/token", { data: { username: "nobody-audit", password: "wrong password here" } });
  expect(failed.status()).toBe(401);

  expect((await request.get("/api/v1/admin/audit")).status()).toBe(401);
  const issueEntries = await (await request.get(`/api/v1/admin/audit?action=certificate.issue&target=certificate:${number}`, { headers })).json();
  expect(issueEntries.items).toHaveLength(1);
  expect(issueEntries.items[0]).toMatchObject({ action: "certificate.issue", target: `certificate:${number}`, details: expect.objectContaining({ usage: "tls" }) });

  const verify = await (await request.post("/api/v1/admin/audit/verify", { headers })).json();
  expect(verify.ok).toBe(true);
  expect(verify.entries).toBeGreaterThan(2);

  await signIn(page);
  await gotoReady(page, "/audit");
  await expect(page.getByRole("heading", { name: "Audit log" })).toBeVisible();
  await page.getByTestId("audit-actor").fill("nobody-audit");
  await page.getByRole("button", { name: "Filter" }).click();
  await expect(page.getByTestId("audit-row").first()).toHaveAttribute("data-action", "auth.sign_in_failed");
  await expect(page.getByTestId("audit-row").first()).toContainText("unknown user");

  await gotoReady(page, "/audit?action=certificate.issue");
  await expect(page.getByTestId("audit-row").first()).toContainText(`certificate:${number}`);
  await page.getByTestId("audit-verify").click();
  await expect(page.getByTestId("audit-verify-result")).toContainText("entries checked");

  const downloadPromise = page.waitForEvent("download");
  await page.getByTestId("audit-export").click();
  const download = await downloadPromise;
  expect(download.suggestedFilename()).toMatch(/^portcullis-audit-.*\.jsonl$/);
  const text = await (await download.createReadStream()).toArray().then((chunks) => Buffer.concat(chunks).toString("utf8"));
  const lines = text.trim().split("\n").map((l) => JSON.parse(l) as { seq: number; prevHash: string; hash: string });
  expect(lines[0]!.seq).toBe(1);
  for (let i = 1; i < lines.length; i++) expect(lines[i]!.prevHash).toBe(lines[i - 1]!.hash);
});
