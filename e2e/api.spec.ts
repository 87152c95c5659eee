import { test, expect } from "@playwright/test";
import { writeFileSync, mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { ADMIN, apiToken, gotoReady, resetCa, opensslOk, SMTP_PORT, waitForMail } from "./support";

const body = {
  fileNameRoot: "ApiCA",
  directory: "e2e-api",
  keyPassword: "api CA key password",
  subject: { C: "DE", O: "Example GmbH", CN: "API Test CA" },
  keyAlgorithm: "ecdsa-p384",
  caValidityDays: 1000,
  issuedValidityDays: 200,
  smtp: { host: "127.0.0.1", port: SMTP_PORT, secure: false, username: "", password: "" },
  adminEmail: "api-admin@example.com",
};

test.beforeEach(async ({ request }) => {
  await resetCa(request);
});

test("admin routes refuse callers without a session or token", async ({ request }) => {
  for (const [method, path] of [
    ["GET", "/api/v1/admin/ca"],
    ["POST", "/api/v1/admin/ca"],
    ["DELETE", "/api/v1/admin/ca"],
  ] as const) {
    const r = await request.fetch(path, { method, data: method === "POST" ? body : undefined });
    expect(r.status(), `${method} ${path}`).toBe(401);
    expect((await r.json()).error.code).toBe("unauthorized");
  }
  const bad = await request.get("/api/v1/admin/ca", { headers: { authorization: "Bearer pcl_not-a-real-token" } });
  expect(bad.status()).toBe(401);
});

test("token endpoint: wrong credentials 401, bad body 400", async ({ request }) => {
  expect((await request.post("/api/v1/auth/token", { data: { username: ADMIN.username, password: "nope nope nope" } })).status()).toBe(401);
  const r = await request.post("/api/v1/auth/token", { data: Buffer.from("{not json"), headers: { "content-type": "application/json" } });
  expect(r.status()).toBe(400);
  expect((await r.json()).error).toEqual({ code: "bad_request", message: "The body is not valid JSON" });
  expect((await request.post("/api/v1/auth/token", { data: { username: 1 } })).status()).toBe(400);
});

test("configure, read, download and reinitialize the CA over the API", async ({ request }) => {
  const auth = { authorization: `Bearer ${await apiToken(request)}` };
  expect((await request.get("/api/v1/ca")).status()).toBe(404);

  const created = await request.post("/api/v1/admin/ca", { data: body, headers: auth });
  expect(created.status()).toBe(201);
  const c = await created.json();
  expect(c.mode).toBe("new");
  expect(c.sha1Fingerprint).toMatch(/^([0-9A-F]{2}:){19}[0-9A-F]{2}$/);
  expect(c.emailSentTo).toBe("api-admin@example.com");
  expect(c.files).toHaveLength(3);
  await waitForMail("api-admin@example.com", (m) => m.text.includes(c.sha1Fingerprint));

  const again = await request.post("/api/v1/admin/ca", { data: body, headers: auth });
  expect(again.status()).toBe(409);

  const cfg = await (await request.get("/api/v1/admin/ca", { headers: auth })).json();
  expect(cfg).toMatchObject({ fileNameRoot: "ApiCA", mode: "new", keyAlgorithm: "ecdsa-p384", issuedValidityDays: 200, adminEmail: "api-admin@example.com", sha1Fingerprint: c.sha1Fingerprint });
  expect(JSON.stringify(cfg)).not.toMatch(/password"\s*:\s*"/i);

  const pub = await (await request.get("/api/v1/ca")).json();
  expect(Object.keys(pub).sort()).toEqual(["chainPem", "notAfter", "notBefore", "pem", "sha1Fingerprint", "sha256Fingerprint", "subject"]);
  const dir = mkdtempSync(join(tmpdir(), "pc-api-"));
  writeFileSync(join(dir, "ca.pem"), pub.pem);
  expect(opensslOk(["x509", "-in", join(dir, "ca.pem"), "-noout", "-fingerprint", "-sha256"]).trim().split("=")[1]).toBe(pub.sha256Fingerprint);
  const der = await request.get("/api/v1/ca/certificate?format=der");
  expect(der.headers()["content-disposition"]).toBe('attachment; filename="ApiCA.der"');
  writeFileSync(join(dir, "ca.der"), await der.body());
  expect(opensslOk(["x509", "-inform", "DER", "-in", join(dir, "ca.der"), "-noout", "-subject"])).toContain("CN = API Test CA");
  const pem = await request.get("/api/v1/ca/certificate");
  expect(pem.headers()["content-disposition"]).toBe('attachment; filename="ApiCA.cer"');
  expect((await request.get("/api/v1/ca/certificate?format=xml")).status()).toBe(400);

  const del = await request.delete("/api/v1/admin/ca", { headers: auth });
  expect(del.status()).toBe(200);
  expect((await del.json()).keptFiles).toHaveLength(3);
  expect((await request.get("/api/v1/ca")).status()).toBe(404);

  // Existing mode over the API: the same files, the key password proves the key.
  const wrong = await request.post("/api/v1/admin/ca", { data: { fileNameRoot: "ApiCA", directory: "e2e-api", keyPassword: "wrong wrong", issuedValidityDays: 10, adminEmail: "a@example.com" }, headers: auth });
  expect(wrong.status()).toBe(422);
  expect((await wrong.json()).error).toMatchObject({ code: "wrong_password", fields: { keyPassword: "The password does not decrypt the private key" } });
  const existing = await request.post("/api/v1/admin/ca", { data: { fileNameRoot: "ApiCA", directory: "e2e-api", keyPassword: body.keyPassword, issuedValidityDays: 10, adminEmail: "a@example.com" }, headers: auth });
  expect(existing.status()).toBe(201);
  expect((await existing.json()).mode).toBe("existing");
});

test("validation errors are 422 with one message per field", async ({ request }) => {
  const auth = { authorization: `Bearer ${await apiToken(request)}` };
  const fresh = { ...body, directory: "e2e-api-validation" };
  const r = await request.post("/api/v1/admin/ca", {
    data: { ...fresh, fileNameRoot: "CACHE", subject: { C: "usa" }, caValidityDays: -1, adminEmail: "nobody" },
    headers: auth,
  });
  expect(r.status()).toBe(422);
  const e = (await r.json()).error;
  expect(e.code).toBe("validation_failed");
  expect(e.fields.fileNameRoot).toBe('The file name root cannot be "cache"');
  const r2 = await request.post("/api/v1/admin/ca", { data: { ...fresh, subject: { C: "usa" }, caValidityDays: -1, adminEmail: "nobody" }, headers: auth });
  const e2 = (await r2.json()).error;
  expect(Object.keys(e2.fields).sort()).toEqual(["adminEmail", "caValidityDays", "subject.C"]);
  expect((await request.post("/api/v1/admin/ca", { data: { ...fresh, subject: "CN=x" }, headers: auth })).status()).toBe(422);
  const big = await request.post("/api/v1/admin/ca", { data: { ...body, pad: "x".repeat(100_000) }, headers: auth });
  expect(big.status()).toBe(413);
  const wrongType = await request.post("/api/v1/admin/ca", { data: "a=b", headers: { ...auth, "content-type": "application/x-www-form-urlencoded" } });
  expect(wrongType.status()).toBe(415);
});

test("a cookie session cannot be used cross-site", async ({ page, request }) => {
  await gotoReady(page, "/login");
  await page.getByLabel("User name").fill(ADMIN.username);
  await page.getByLabel("Password").fill(ADMIN.password);
  await page.getByRole("button", { name: "Sign in" }).click();
  await expect(page.getByText(`Signed in as ${ADMIN.username}`)).toBeVisible();
  const cookies = await page.context().cookies();
  const session = cookies.find((c) => c.name === "portcullis_session")!;
  expect(session.httpOnly).toBe(true);
  expect(session.sameSite).toBe("Lax");
  const cookie = `portcullis_session=${session.value}`;
  // Reading with the cookie works; writing from another origin does not.
  expect((await request.get("/api/v1/admin/ca", { headers: { cookie } })).status()).toBe(404);
  const evil = await request.delete("/api/v1/admin/ca", { headers: { cookie, origin: "https://evil.example" } });
  expect(evil.status()).toBe(403);
  const noOrigin = await request.delete("/api/v1/admin/ca", { headers: { cookie } });
  expect(noOrigin.status()).toBe(403);
  const sameOrigin = await request.delete("/api/v1/admin/ca", { headers: { cookie, origin: new URL(page.url()).origin } });
  expect(sameOrigin.status()).toBe(404); // allowed through; nothing to reinitialize

  // Signing out ends the session on the server, not just in the browser.
  await page.getByRole("button", { name: "Sign out" }).click();
  await expect(page.getByText("You have signed out.")).toBeVisible();
  expect((await request.get("/api/v1/admin/ca", { headers: { cookie } })).status()).toBe(401);
});

test("API tokens: create in the page, use, revoke", async ({ page, request }) => {
  await gotoReady(page, "/login");
  await page.getByLabel("User name").fill(ADMIN.username);
  await page.getByLabel("Password").fill(ADMIN.password);
  await page.getByRole("button", { name: "Sign in" }).click();
  await page.getByRole("link", { name: "API tokens" }).click();
  await page.getByLabel("Name").fill("deploy script <x>");
  await page.getByRole("button", { name: "Create token" }).click();
  const token = (await page.getByTestId("new-token").textContent())!.trim();
  expect(token).toMatch(/^pcl_/);
  await page.screenshot({ path: "test-results/screenshots/tokens.png", fullPage: true });
  const auth = { authorization: `Bearer ${token}` };
  expect((await request.get("/api/v1/admin/ca", { headers: auth })).status()).toBe(404);

  await gotoReady(page, "/tokens");
  await expect(page.getByTestId("new-token")).toHaveCount(0);
  const row = page.getByRole("row", { name: /deploy script <x>/ });
  await row.getByRole("button", { name: "Revoke" }).click();
  await page.getByRole("dialog").getByRole("button", { name: "Revoke token" }).click();
  await expect(page.getByRole("row", { name: /deploy script <x>/ })).toContainText("Revoked");
  expect((await request.get("/api/v1/admin/ca", { headers: auth })).status()).toBe(401);
});

test("a 10 MB submission is refused before it is read whole, and the server keeps answering", async ({ request }) => {
  const big = await request.post("/api/v1/csrs", { data: Buffer.alloc(10 * 1024 * 1024, 0x61), headers: { "content-type": "application/json" } });
  expect(big.status()).toBe(413);
  expect((await big.json()).error.code).toBe("payload_too_large");
  const garbage = await request.post("/api/v1/csrs", { data: { csr: "-----BEGIN CERTIFICATE REQUEST-----\nnot base64!\n-----END CERTIFICATE REQUEST-----", contact: { name: "x" }, filename: "x" } });
  expect([400, 404, 422]).toContain(garbage.status());
  expect((await request.get("/api/v1/health")).status()).toBe(200);
});
