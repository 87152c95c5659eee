import { test, expect } from "@playwright/test";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { gotoReady, opensslOk, signIn } from "./support";
import { adminHeaders, CA_KEY_PASSWORD, configureQueueCa, makeCsr, submitNew, uniqueName, WORK_DIR } from "./queue-support";

test("revoke through the certificate page: a wrong password is told next to the field; then revoked everywhere", async ({ page, request, baseURL }) => {
  await configureQueueCa(request);
  const headers = await adminHeaders(request);
  const sub = await submitNew(request, { subject: "/O=Example/CN=revoke-me.example.com", san: "DNS:revoke-me.example.com", prefix: "RevPage" });
  const issued = await request.post(`/api/v1/admin/csrs/${sub.id}/issue`, { headers, data: { usage: "tls", caKeyPassword: CA_KEY_PASSWORD, fingerprintVerified: true, verificationChannel: "phone", verificationNote: "called the desk" } });
  expect(issued.status(), await issued.text()).toBe(201);
  const { number, pem } = (await issued.json()) as { number: number; pem: string };

  // The certificate tells relying parties where the CRL, the OCSP responder and the CA certificate are.
  const certFile = join(WORK_DIR, `${uniqueName("rr")}.pem`);
  writeFileSync(certFile, pem);
  const text = opensslOk(["x509", "-in", certFile, "-noout", "-text"]);
  expect(text).toContain(`URI:${baseURL}/crl/QueueCA.crl`);
  expect(text).toContain(`OCSP - URI:${baseURL}/ocsp`);
  expect(text).toContain(`CA Issuers - URI:${baseURL}/api/v1/ca/certificate?format=der`);

  await signIn(page);
  // From the Process page's "issued" state to the certificate's page.
  await gotoReady(page, `/ca-server/requests/${sub.id}`);
  await page.getByTestId("certificate-page-link").click();
  await expect(page.getByRole("heading", { name: `Certificate number ${number}`, level: 1 })).toBeVisible();
  await page.locator("html[data-hydrated=true]").waitFor({ state: "attached" });
  await expect(page.getByTestId("certificate-subject")).toContainText("revoke-me.example.com");
  await expect(page.getByTestId("certificate-status")).toHaveText("Valid");
  await expect(page.getByTestId("verified-by")).toHaveText("admin");
  await expect(page.getByText("called the desk")).toBeVisible();

  await page.getByLabel("Reason (RFC 5280 CRLReason)").selectOption("keyCompromise");
  await page.getByLabel("Password for Certificate Authority's Private Key file").fill("not the password");
  await page.getByRole("button", { name: "Revoke", exact: true }).click();
  const dialog = page.getByRole("dialog", { name: `Revoke certificate number ${number}?` });
  await expect(dialog).toBeVisible();
  await dialog.getByRole("button", { name: "Revoke certificate" }).click();
  const passwordError = page.locator("#f-caKeyPassword-error");
  await expect(passwordError).toBeVisible();
  await expect(page.getByLabel("Password for Certificate Authority's Private Key file")).toHaveAttribute("aria-invalid", "true");
  expect((await (await request.get(`/api/v1/certificates?number=${number}`)).json()).items[0].status).toBe("valid");

  await expect(page.getByLabel("Reason (RFC 5280 CRLReason)")).toHaveValue("keyCompromise");
  await page.getByLabel("Password for Certificate Authority's Private Key file").fill(CA_KEY_PASSWORD);
  await page.getByRole("button", { name: "Revoke", exact: true }).click();
  await dialog.getByRole("button", { name: "Revoke certificate" }).click();
  await expect(page.getByTestId("revoked-message")).toHaveText(`Certificate number ${number} revoked (keyCompromise)`);
  await expect(page.getByTestId("certificate-status")).toHaveText("Revoked");
  await expect(page.getByRole("button", { name: "Revoke", exact: true })).toHaveCount(0);

  const listed = (await (await request.get(`/api/v1/certificates?number=${number}`)).json()).items[0];
  expect(listed).toMatchObject({ status: "revoked", revocationReason: "keyCompromise" });
  expect(typeof listed.revokedAt).toBe("string");

  await gotoReady(page, `/certificates?number=${number}`);
  await expect(page.getByTestId(`certificate-${number}`)).toContainText("Revoked");
});

test("renewal over the API: the same common name joins the queue marked as a renewal; another is refused", async ({ page, request }) => {
  await configureQueueCa(request);
  const headers = await adminHeaders(request);
  const cn = "renew-me.example.com";
  const sub = await submitNew(request, { subject: `/O=Example/CN=${cn}`, san: `DNS:${cn}`, prefix: "Renew" });
  const issued = await request.post(`/api/v1/admin/csrs/${sub.id}/issue`, { headers, data: { usage: "tls", caKeyPassword: CA_KEY_PASSWORD, fingerprintVerified: true } });
  expect(issued.status(), await issued.text()).toBe(201);
  const { number, notAfter } = (await issued.json()) as { number: number; notAfter: string };

  const filename = uniqueName("Renewed");
  const body = (subject: string, san: string) => ({ csr: makeCsr(subject, san), contact: { name: "Terry Contact", email: "terry@example.com" }, hostname: cn, filename });

  const other = await request.post(`/api/v1/certificates/${number}/renewal`, { data: body("/O=Example/CN=other.example.com", "DNS:other.example.com") });
  expect(other.status()).toBe(422);
  expect((await other.json()).error.fields.csr).toBe(`The common name must stay "${cn}" for a renewal`);
  expect((await request.post(`/api/v1/certificates/99999/renewal`, { data: body(`/O=Example/CN=${cn}`, `DNS:${cn}`) })).status()).toBe(404);

  const r = await request.post(`/api/v1/certificates/${number}/renewal`, { data: body(`/O=Example/CN=${cn}`, `DNS:${cn},DNS:www.${cn}`) });
  expect(r.status(), await r.text()).toBe(201);
  const renewal = await r.json();
  expect(renewal).toMatchObject({ status: "pending", renewalOf: number });
  expect(renewal.sha1Fingerprint).toMatch(/^[0-9A-F:]{40,59}$/i);

  await signIn(page);
  await gotoReady(page, "/ca-server/requests");
  const row = page.locator(`[data-request-id="${renewal.id}"]`);
  await expect(row.getByTestId("renewal-badge")).toHaveText(`Renewal of certificate ${number}`);
  await row.getByRole("link", { name: /Process/ }).click();
  await expect(page.getByTestId("renewal-of")).toHaveText(`Renewal of certificate ${number}`);
  const comparison = page.getByTestId("renewal-comparison");
  await expect(comparison).toContainText(`DNS:www.${cn}`);
  await expect(comparison).toContainText(notAfter.slice(0, 10));

  // The public renewal page: from the certificates list, a pasted CSR with the same common name.
  await page.context().clearCookies();
  await gotoReady(page, `/certificates?number=${number}`);
  await page.getByRole("link", { name: `Renew certificate ${number}` }).click();
  await expect(page.getByTestId("renew-common-name")).toHaveText(cn);
  await page.locator("html[data-hydrated=true]").waitFor({ state: "attached" });
  await page.getByRole("radio", { name: /Paste a CSR/ }).check();
  await page.getByLabel("Certificate signing request (PEM)").fill(makeCsr("/O=Example/CN=wrong.example.com", "DNS:wrong.example.com"));
  await page.getByLabel("Contact name").fill("Terry Contact");
  await page.getByLabel("File name root").fill(uniqueName("PageRenew"));
  await page.getByRole("button", { name: "Submit Certificate Signing Request" }).click();
  await expect(page.getByText(`The common name must stay "${cn}" for a renewal`)).toBeVisible();
  await page.getByLabel("Certificate signing request (PEM)").fill(makeCsr(`/O=Example/CN=${cn}`, `DNS:${cn}`));
  await page.getByRole("button", { name: "Submit Certificate Signing Request" }).click();
  await expect(page.getByTestId("request-submitted")).toBeVisible();
  const pending = await (await request.get("/api/v1/admin/csrs", { headers })).json();
  expect(pending.items.filter((i: { renewalOf?: number }) => i.renewalOf === number)).toHaveLength(2);

  // A revoked certificate is not renewed.
  const rev = await request.post(`/api/v1/admin/certificates/${number}/revoke`, { headers, data: { reason: "superseded", caKeyPassword: CA_KEY_PASSWORD } });
  expect(rev.status()).toBe(200);
  expect((await request.post(`/api/v1/certificates/${number}/renewal`, { data: { ...body(`/O=Example/CN=${cn}`, `DNS:${cn}`), filename: uniqueName("Again") } })).status()).toBe(409);
});
