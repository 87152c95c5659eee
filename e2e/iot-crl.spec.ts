/**
 * Device security (IoT): a registered device CA's CRL fetched again. A device revoked after
 * the CA was registered is accepted until **Refresh CRL** fetches the new CRL, and refused
 * after; a distribution point that fails leaves the stored CRL and shows why, on the page
 * and over the API. The CA, its CRLs and the device are OpenSSL's; the CRL is served by a
 * small HTTP server in this test.
 */
import { test, expect } from "@playwright/test";
import { execFileSync } from "node:child_process";
import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { apiToken, gotoReady, signIn } from "./support";

const WORK = mkdtempSync(join(tmpdir(), "pc-iot-crl-e2e-"));
const RUN = Date.now().toString(36);
const sh = (args: string[]) => execFileSync("openssl", args, { encoding: "utf8", stdio: ["ignore", "pipe", "pipe"] });

let server: Server;
let answer: { status: number; body: Buffer } = { status: 404, body: Buffer.alloc(0) };

test.beforeAll(async () => {
  server = createServer((_req, res) => res.writeHead(answer.status, { "Content-Type": "application/pkix-crl" }).end(answer.body));
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
});
test.afterAll(async () => {
  await new Promise<void>((r) => server.close(() => r()));
});

/** An `openssl ca` directory for a P-256 CA whose certificate names `crlUrl`. */
function makeCa(cn: string, crlUrl: string) {
  const dir = join(WORK, "ca");
  mkdirSync(join(dir, "new"), { recursive: true });
  writeFileSync(join(dir, "index.txt"), "");
  writeFileSync(join(dir, "crlnumber"), "01\n");
  const config = join(dir, "ca.cnf");
  writeFileSync(
    config,
    [
      "[ca]\ndefault_ca = d\n[d]",
      `dir = ${dir}\ndatabase = $dir/index.txt\nnew_certs_dir = $dir/new\nserial = $dir/serial\ncrlnumber = $dir/crlnumber`,
      "default_md = sha256\npolicy = p\ndefault_days = 30\ndefault_crl_days = 1\nunique_subject = no\ncopy_extensions = none",
      "[p]\ncommonName = supplied",
      "[req]\ndistinguished_name = dn\n[dn]",
      `[v3_ca]\nbasicConstraints = critical,CA:TRUE\nkeyUsage = critical,keyCertSign,cRLSign\nsubjectKeyIdentifier = hash\ncrlDistributionPoints = URI:${crlUrl}`,
      "[device]\nbasicConstraints = critical,CA:FALSE\nkeyUsage = critical,digitalSignature\nextendedKeyUsage = clientAuth\nauthorityKeyIdentifier = keyid",
    ].join("\n"),
  );
  const key = join(dir, "ca.key");
  const cert = join(dir, "ca.pem");
  sh(["req", "-x509", "-config", config, "-extensions", "v3_ca", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-keyout", key, "-out", cert, "-days", "365", "-subj", `/O=IoT E2E/CN=${cn}`]);
  writeFileSync(join(dir, "serial"), "1000\n");
  const ca = ["-config", config, "-cert", cert, "-keyfile", key];
  return {
    pem: readFileSync(cert, "utf8"),
    subject: `O=IoT E2E, CN=${cn}`,
    device(cn: string) {
      const dkey = join(dir, `${cn}.key`);
      const csr = join(dir, `${cn}.csr`);
      const out = join(dir, `${cn}.pem`);
      sh(["req", "-new", "-config", config, "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-keyout", dkey, "-out", csr, "-subj", `/CN=${cn}`]);
      sh(["ca", "-batch", ...ca, "-extensions", "device", "-notext", "-in", csr, "-out", out]);
      return { file: out, pem: readFileSync(out, "utf8") };
    },
    revoke(file: string) {
      sh(["ca", ...ca, "-revoke", file, "-crl_reason", "keyCompromise"]);
    },
    crl(): Buffer {
      const out = join(dir, `crl-${Date.now()}.pem`);
      sh(["ca", ...ca, "-gencrl", "-out", out]);
      return Buffer.from(sh(["crl", "-in", out, "-outform", "PEM"]));
    },
  };
}

test("Refresh CRL: a device revoked after registration is refused once the CRL is fetched again; a failing distribution point shows why", async ({ page, request }) => {
  const port = (server.address() as AddressInfo).port;
  const ca = makeCa(`Meter Fleet ${RUN}`, `http://127.0.0.1:${port}/meters.crl`);
  const device = ca.device(`d:meter:${RUN}`);
  answer = { status: 200, body: ca.crl() };

  await signIn(page);
  await gotoReady(page, "/iot/ca-certificates");
  const form = page.getByTestId("add-ca-form");
  await form.getByRole("textbox", { name: /^CA certificate/ }).fill(ca.pem);
  await form.getByRole("button", { name: "Preview" }).click();
  await expect(page.getByTestId("preview-subject")).toHaveText(ca.subject);
  await form.getByRole("button", { name: "Save" }).click();
  await expect(page.getByTestId("added-message")).toContainText(ca.subject);

  const check = async () => (await request.post("/api/v1/iot/device-check", { data: { certificate: device.pem } })).json();
  expect((await check()).accepted).toBe(true);

  // Revoked at the CA: the stored CRL does not know yet.
  ca.revoke(device.file);
  await new Promise((r) => setTimeout(r, 1100));
  answer = { status: 200, body: ca.crl() };
  expect((await check()).accepted).toBe(true);

  const row = page.getByTestId("ca-row").filter({ hasText: ca.subject });
  await row.getByRole("button", { name: /^Refresh CRL/ }).click();
  await expect(page.getByTestId("crl-refreshed-message")).toContainText(`The CRL of "${ca.subject}" was fetched and verified; next update`);
  const refused = await check();
  expect(refused.accepted).toBe(false);
  expect(refused.reasons.join(" ")).toMatch(/revoked on .*\(reason: keyCompromise\)/);
  await page.screenshot({ path: "test-results/screenshots/iot-crl-refreshed.png", fullPage: true });

  // The distribution point fails: the stored CRL stays, the reason is shown on the page and kept for the API.
  answer = { status: 503, body: Buffer.from("maintenance") };
  await row.getByRole("button", { name: /^Refresh CRL/ }).click();
  await expect(page.getByTestId("crl-failed-message")).toContainText(`The CRL of "${ca.subject}" could not be refreshed`);
  await expect(page.getByTestId("crl-failed-message")).toContainText("503");
  await expect(row.getByTestId("ca-crl-error")).toContainText("failed");
  expect((await check()).accepted).toBe(false);

  const token = await apiToken(request);
  const list = await (await request.get("/api/v1/admin/iot/ca-certificates?limit=200", { headers: { authorization: `Bearer ${token}` } })).json();
  const entry = list.items.find((c: { subject: string }) => c.subject === ca.subject);
  expect(entry.crlRefresh.error).toMatch(/503/);
  const again = await request.post(`/api/v1/admin/iot/ca-certificates/${entry.id}/crl`, { headers: { authorization: `Bearer ${token}` } });
  expect(again.status()).toBe(422);
  expect((await again.json()).error.message).toMatch(/503/);
  answer = { status: 200, body: ca.crl() };
  const ok = await request.post(`/api/v1/admin/iot/ca-certificates/${entry.id}/crl`, { headers: { authorization: `Bearer ${token}` } });
  expect(ok.status()).toBe(200);
  expect((await ok.json()).crlRefresh.error).toBeNull();
  // Without credentials: refused.
  expect((await request.post(`/api/v1/admin/iot/ca-certificates/${entry.id}/crl`)).status()).toBe(401);
});
