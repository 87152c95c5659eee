import { test, expect } from "@playwright/test";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { openssl, opensslOk } from "./support";
import { adminHeaders, CA_KEY_PASSWORD, configureQueueCa, submitNew, WORK_DIR } from "./queue-support";

test("revoke over the API; the published CRL makes OpenSSL refuse the revoked certificate", async ({ request }) => {
  const ca = await configureQueueCa(request);
  const headers = await adminHeaders(request);
  // Configuration published CRL number 1, listing nothing, so the distribution point answers from day one.
  const empty = await request.get("/crl/QueueCA.pem");
  expect(empty.status()).toBe(200);
  const emptyFile = join(WORK_DIR, "crl-empty.pem");
  writeFileSync(emptyFile, await empty.text());
  expect(opensslOk(["crl", "-in", emptyFile, "-noout", "-crlnumber"]).trim()).toBe("crlNumber=0x01");
  expect(opensslOk(["crl", "-in", emptyFile, "-noout", "-text"])).toContain("No Revoked Certificates");
  const issue = async (cn: string) => {
    const sub = await submitNew(request, { subject: `/CN=${cn}`, san: `DNS:${cn}`, prefix: "Rev" });
    const r = await request.post(`/api/v1/admin/csrs/${sub.id}/issue`, { headers, data: { usage: "tls", caKeyPassword: CA_KEY_PASSWORD, fingerprintVerified: true } });
    expect(r.status(), await r.text()).toBe(201);
    return (await r.json()) as { number: number; pem: string };
  };
  const bad = await issue("revoked.example.com");
  const good = await issue("good.example.com");

  const wrong = await request.post(`/api/v1/admin/certificates/${bad.number}/revoke`, { headers, data: { reason: "keyCompromise", caKeyPassword: "not the password" } });
  expect(wrong.status()).toBe(422);
  expect((await request.post(`/api/v1/admin/certificates/${bad.number}/revoke`, { data: { reason: "keyCompromise", caKeyPassword: CA_KEY_PASSWORD } })).status()).toBe(401);
  const revoked = await request.post(`/api/v1/admin/certificates/${bad.number}/revoke`, { headers, data: { reason: "keyCompromise", caKeyPassword: CA_KEY_PASSWORD } });
  expect(revoked.status(), await revoked.text()).toBe(200);
  expect(await revoked.json()).toMatchObject({ number: bad.number, reason: "keyCompromise" });
  expect((await request.post(`/api/v1/admin/certificates/${bad.number}/revoke`, { headers, data: { reason: "keyCompromise", caKeyPassword: CA_KEY_PASSWORD } })).status()).toBe(409);

  const der = await request.get("/crl/QueueCA.crl");
  expect(der.status()).toBe(200);
  expect(der.headers()["content-type"]).toContain("application/pkix-crl");
  const crlDer = join(WORK_DIR, "crl.der");
  writeFileSync(crlDer, await der.body());
  const crlPem = join(WORK_DIR, "crl.pem");
  writeFileSync(crlPem, await (await request.get("/crl/QueueCA.pem")).text());
  expect(openssl(["crl", "-inform", "DER", "-in", crlDer, "-CAfile", ca.caFile, "-noout", "-verify"]).out).toContain("verify OK");
  expect(opensslOk(["crl", "-inform", "DER", "-in", crlDer, "-noout", "-crlnumber"]).trim()).toBe("crlNumber=0x02");
  const badFile = join(WORK_DIR, "bad.pem");
  const goodFile = join(WORK_DIR, "good.pem");
  writeFileSync(badFile, bad.pem);
  writeFileSync(goodFile, good.pem);
  const refused = openssl(["verify", "-crl_check", "-CAfile", ca.caFile, "-CRLfile", crlPem, badFile]);
  expect(refused.status).not.toBe(0);
  expect(refused.out).toContain("certificate revoked");
  expect(opensslOk(["verify", "-crl_check", "-CAfile", ca.caFile, "-CRLfile", crlPem, goodFile])).toContain("OK");
  const listed = await (await request.get(`/api/v1/certificates?number=${bad.number}`)).json();
  expect(listed.items[0].status).toBe("revoked");
  expect((await request.get("/crl/Other.crl")).status()).toBe(404);
});
