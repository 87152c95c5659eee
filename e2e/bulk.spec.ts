import { test, expect } from "@playwright/test";
import { gotoReady, signIn, opensslOk } from "./support";
import { CA_KEY_PASSWORD, adminHeaders, configureQueueCa, downloadCertificate, makeCsr, requestStatus, submitNew, uniqueName, type QueueCa } from "./queue-support";

let ca: QueueCa;

test.beforeEach(async ({ request }) => {
  ca = await configureQueueCa(request);
});

const device = (i: number) => ({ subject: `/O=Fleet/CN=dev${i}.fleet.example.com`, san: `DNS:dev${i}.fleet.example.com`, prefix: `Dev${i}`, hostname: `dev${i}.fleet.example.com`, instance: "FLEET" });

test("select three requests on the queue page, issue them with one password, and watch the progress reach 3 of 3", async ({ page, request }) => {
  test.setTimeout(120_000);
  const reqs = [await submitNew(request, device(1)), await submitNew(request, device(2)), await submitNew(request, device(3))];
  const untouched = await submitNew(request, device(4));
  await signIn(page);
  await gotoReady(page, "/ca-server/requests");
  for (const r of reqs) await page.locator(`tr[data-request-id="${r.id}"]`).getByTestId("bulk-select").check();
  await expect(page.getByTestId("bulk-selected")).toHaveText("3 selected");

  const form = page.getByRole("form", { name: "Issue selected requests" });
  // Without the confirmation nothing is issued and the message sits next to the checkbox.
  await form.getByLabel("Certificate usage").selectOption("tls");
  await form.getByLabel("CA private key password").fill(CA_KEY_PASSWORD);
  await form.getByRole("button", { name: "Issue selected" }).click();
  await expect(form.getByText("Confirm that you verified the identity, authority and fingerprint with the technical contact")).toBeVisible();
  expect((await requestStatus(request, reqs[0].id)).status).toBe("pending");

  // A wrong password: a message next to the password field, nothing issued.
  await form.getByLabel(/I verified the identity/).check();
  await form.getByLabel("CA private key password").fill("not the password");
  await form.getByRole("button", { name: "Issue selected" }).click();
  await expect(form.locator("#f-caKeyPassword-error")).toBeVisible();
  for (const r of reqs) expect((await requestStatus(request, r.id)).status).toBe("pending");

  // The selection survives a refusal.
  await expect(page.getByTestId("bulk-selected")).toHaveText("3 selected");
  await form.getByLabel("CA private key password").fill(CA_KEY_PASSWORD);
  await form.getByRole("button", { name: "Issue selected" }).click();
  await expect(page.getByTestId("bulk-progress")).toHaveText("3 of 3 issued");
  await expect(page.getByTestId("bulk-issued").getByRole("listitem")).toHaveCount(3);
  await expect(page.getByText("Done: 3 issued, 0 skipped (no longer pending), 0 not issued.")).toBeVisible();

  const numbers: number[] = [];
  for (const r of reqs) {
    const s = await requestStatus(request, r.id);
    expect(s.status).toBe("issued");
    numbers.push(s.certificateNumber!);
  }
  expect([...numbers].sort((a, b) => a - b)).toEqual([1, 2, 3]);
  expect((await requestStatus(request, untouched.id)).status).toBe("pending");
  // The issued ones left the queue; the fourth is still there.
  await expect(page.getByTestId("request-row")).toHaveCount(1);
  const file = await downloadCertificate(request, numbers[0]);
  expect(opensslOk(["verify", "-x509_strict", "-purpose", "sslserver", "-CAfile", ca.caFile, file])).toContain(": OK");
});

test("POST /api/v1/admin/csrs/bulk-issue: bad input 422, wrong password issues nothing, then issued/skipped/failed", async ({ request }) => {
  const headers = await adminHeaders(request);
  const a = await submitNew(request, device(11));
  const b = await submitNew(request, device(12));
  const person = await submitNew(request, { subject: "/CN=Just A Person", prefix: "Person" });
  const body = { usage: "tls", caKeyPassword: CA_KEY_PASSWORD, fingerprintVerified: true, verificationChannel: "phone" };

  expect((await request.post("/api/v1/admin/csrs/bulk-issue", { data: { ...body, ids: [a.id] } })).status()).toBe(401);
  const noIds = await request.post("/api/v1/admin/csrs/bulk-issue", { data: body, headers });
  expect(noIds.status()).toBe(422);
  expect((await noIds.json()).error.code).toBe("validation_failed");
  const wrong = await request.post("/api/v1/admin/csrs/bulk-issue", { data: { ...body, caKeyPassword: "nope nope", ids: [a.id, b.id] }, headers });
  expect(wrong.status()).toBe(422);
  expect((await requestStatus(request, a.id)).status).toBe("pending");

  const r = await request.post("/api/v1/admin/csrs/bulk-issue", { data: { ...body, ids: [a.id, person.id, b.id] }, headers });
  expect(r.status(), await r.text()).toBe(200);
  const res = await r.json();
  expect(res.requested).toBe(3);
  expect(res.issued.map((x: { number: number }) => x.number)).toEqual([1, 2]);
  expect(res.failed).toHaveLength(1);
  expect(res.failed[0]).toMatchObject({ id: person.id, code: "validation_failed" });
  expect(res.skipped).toEqual([]);

  // Running the whole queue again: the issued ones are not pending any more; only the refused one is tried.
  const again = await request.post("/api/v1/admin/csrs/bulk-issue", { data: { ...body, all: true }, headers });
  expect(again.status()).toBe(200);
  expect(await again.json()).toMatchObject({ requested: 1, issued: [], skipped: [], failed: [{ id: person.id }] });
});

test("a fleet's submission batch: POST /api/v1/admin/csrs/batch, then on the queue page the batch link, its filtered view and one form that issues the whole batch", async ({ page, request }) => {
  test.setTimeout(120_000);
  const headers = await adminHeaders(request);
  const single = await submitNew(request, device(20));
  const requests = Array.from({ length: 6 }, (_, i) => ({ csr: makeCsr(`/O=Fleet/CN=gw${i}.fleet.example.com`, `DNS:gw${i}.fleet.example.com`), hostname: `gw${i}.fleet.example.com`, filename: uniqueName(`Gw${i}`) }));

  // All or nothing: one bad request refuses the batch, named by its position.
  const bad = await request.post("/api/v1/admin/csrs/batch", { headers, data: { contact: { name: "Fleet Ops", email: "ops@example.com" }, instance: "GATEWAYS", requests: [...requests.slice(0, 2), { csr: "not a CSR", filename: "bad" }] } });
  expect(bad.status()).toBe(422);
  expect(Object.keys((await bad.json()).error.fields)).toEqual(["requests[2].csr"]);
  // Without an administrator's token: 401, nothing stored.
  expect((await request.post("/api/v1/admin/csrs/batch", { data: { requests } })).status()).toBe(401);

  const r = await request.post("/api/v1/admin/csrs/batch", { headers, data: { contact: { name: "Fleet Ops", email: "ops@example.com" }, instance: "GATEWAYS", requests } });
  expect(r.status()).toBe(201);
  const batch = (await r.json()) as { batchId: string; count: number; requests: { id: string }[] };
  expect(batch.count).toBe(6);
  const listed = await request.get(`/api/v1/admin/csrs?batch=${batch.batchId}`, { headers });
  expect(((await listed.json()) as { items: unknown[] }).items).toHaveLength(6);

  await signIn(page);
  await gotoReady(page, "/ca-server/requests");
  await expect(page.getByTestId("request-row")).toHaveCount(7);
  await page.locator(`tr[data-request-id="${batch.requests[0].id}"]`).getByTestId("batch-link").click();
  await expect(page.getByTestId("batch-filter")).toContainText("Showing the 6 pending requests of this batch.");
  await expect(page.getByTestId("request-row")).toHaveCount(6);
  const form = page.getByRole("form", { name: "Issue this submission batch" });
  await expect(form.getByTestId("bulk-batch-count")).toHaveText("6 pending requests in this batch");
  await form.getByLabel("Certificate usage").selectOption("tls");
  await form.getByLabel("CA private key password").fill(CA_KEY_PASSWORD);
  await form.getByLabel(/I verified this batch/).check();
  await form.getByRole("button", { name: "Issue the whole batch" }).click();
  await expect(page.getByTestId("bulk-progress")).toHaveText("6 of 6 issued");
  await expect(page.getByText("Done: 6 issued, 0 skipped (no longer pending), 0 not issued.")).toBeVisible();
  await expect(page.getByTestId("batch-filter")).toContainText("No request of this batch is pending.");

  const numbers: number[] = [];
  for (const x of batch.requests) {
    const s = await requestStatus(request, x.id);
    expect(s.status).toBe("issued");
    numbers.push(s.certificateNumber!);
  }
  expect([...numbers].sort((a, b) => a - b)).toEqual([1, 2, 3, 4, 5, 6]);
  expect((await requestStatus(request, single.id)).status).toBe("pending");
  for (const n of [numbers[0], numbers[5]]) {
    const file = await downloadCertificate(request, n);
    expect(opensslOk(["verify", "-x509_strict", "-purpose", "sslserver", "-CAfile", ca.caFile, file])).toContain(": OK");
  }
});
