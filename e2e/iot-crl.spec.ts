/**
 * Device security (IoT): a registered device CA's CRL fetched again. A device revoked after
 * the CA was registered is accepted until **Refresh CRL** fetches the new CRL, and refused
 * after; a distribution point that fails leaves the stored CRL and shows why, on the page
 * and over the API. The CA, its CRLs and the device are OpenSSL's, made and served by the
 * helpers the library tests use (lib/iot/test-support.ts).
 */
import { test, expect } from "@playwright/test";
import { scratchDir } from "../lib/pki/test-support.ts";
import { gencrl, issue, revoke, rootCa, serve, startCrlServer, type CrlServer } from "../lib/iot/test-support.ts";
import { apiToken, gotoReady, signIn } from "./support";

const scratch = scratchDir("pc-iot-crl-e2e");
const RUN = Date.now().toString(36);
let server: CrlServer;

test.beforeAll(async () => {
  server = await startCrlServer();
});
test.afterAll(async () => {
  await server?.close();
  scratch.remove();
});

test("Refresh CRL: a device revoked after registration is refused once the CRL is fetched again; a failing distribution point shows why", async ({ page, request }) => {
  const ca = rootCa(scratch, "meter-fleet", { subject: `/O=IoT E2E/CN=Meter Fleet ${RUN}`, crlUrl: server.url("/meters.crl"), days: 365 });
  const subject = `O=IoT E2E, CN=Meter Fleet ${RUN}`;
  const device = issue(scratch, ca, "meter", { subject: `/CN=d:meter:${RUN}` });
  let round = 0;
  const publish = () => server.routes.set("/meters.crl", serve.bytes(gencrl(scratch, ca, `crl-${++round}`).der));
  publish();

  await signIn(page);
  await gotoReady(page, "/iot/ca-certificates");
  const form = page.getByTestId("add-ca-form");
  await form.getByRole("textbox", { name: /^CA certificate/ }).fill(ca.pem);
  await form.getByRole("button", { name: "Preview" }).click();
  await expect(page.getByTestId("preview-subject")).toHaveText(subject);
  await form.getByRole("button", { name: "Save" }).click();
  await expect(page.getByTestId("added-message")).toContainText(subject);

  const check = async () => (await request.post("/api/v1/iot/device-check", { data: { certificate: device.pem } })).json();
  expect((await check()).accepted).toBe(true);

  // Revoked at the CA: the stored CRL does not know yet.
  revoke(ca, device);
  await new Promise((r) => setTimeout(r, 1100));
  publish();
  expect((await check()).accepted).toBe(true);

  const row = page.getByTestId("ca-row").filter({ hasText: subject });
  await row.getByRole("button", { name: /^Refresh CRL/ }).click();
  await expect(page.getByTestId("crl-refreshed-message")).toContainText(`The CRL of "${subject}" was fetched and verified; next update`);
  const refused = await check();
  expect(refused.accepted).toBe(false);
  expect(refused.reasons.join(" ")).toMatch(/revoked on .*\(reason: keyCompromise\)/);
  await page.screenshot({ path: "test-results/screenshots/iot-crl-refreshed.png", fullPage: true });

  // The distribution point fails: the stored CRL stays, the reason is shown on the page and kept for the API.
  server.routes.set("/meters.crl", (res) => res.writeHead(503).end("maintenance"));
  await row.getByRole("button", { name: /^Refresh CRL/ }).click();
  await expect(page.getByTestId("crl-failed-message")).toContainText(`The CRL of "${subject}" could not be refreshed`);
  await expect(page.getByTestId("crl-failed-message")).toContainText("503");
  await expect(row.getByTestId("ca-crl-error")).toContainText("failed");
  expect((await check()).accepted).toBe(false);

  const token = await apiToken(request);
  const list = await (await request.get("/api/v1/admin/iot/ca-certificates?limit=200", { headers: { authorization: `Bearer ${token}` } })).json();
  const entry = list.items.find((c: { subject: string }) => c.subject === subject);
  expect(entry.crlRefresh.error).toMatch(/503/);
  const again = await request.post(`/api/v1/admin/iot/ca-certificates/${entry.id}/crl`, { headers: { authorization: `Bearer ${token}` } });
  expect(again.status()).toBe(422);
  expect((await again.json()).error.message).toMatch(/503/);
  publish();
  const ok = await request.post(`/api/v1/admin/iot/ca-certificates/${entry.id}/crl`, { headers: { authorization: `Bearer ${token}` } });
  expect(ok.status()).toBe(200);
  expect((await ok.json()).crlRefresh.error).toBeNull();
  // Without credentials: refused.
  expect((await request.post(`/api/v1/admin/iot/ca-certificates/${entry.id}/crl`)).status()).toBe(401);
});
