import { test, expect } from "@playwright/test";
import { adminHeaders, CA_KEY_PASSWORD, configureQueueCa, submitNew } from "./queue-support";

// The whole IoT path through the product: this instance's CA is registered for device
// authentication with one call, a device request is issued with the "IoT device" usage,
// and the device check accepts the result — until the CA is deactivated.
test("a device certificate issued with the IoT profile is accepted by the device check", async ({ request }) => {
  await configureQueueCa(request);
  const headers = await adminHeaders(request);
  const registered = await request.post("/api/v1/admin/iot/ca-certificates/local", { headers });
  expect(registered.status(), await registered.text()).toBe(201);
  const ca = await registered.json();
  expect(ca.active).toBe(true);

  const sub = await submitNew(request, { subject: "/CN=d:sensor:abc-123", prefix: "Device" });
  const issued = await request.post(`/api/v1/admin/csrs/${sub.id}/issue`, { headers, data: { usage: "iot-device", caKeyPassword: CA_KEY_PASSWORD, fingerprintVerified: true } });
  expect(issued.status(), await issued.text()).toBe(201);
  const { pem } = await issued.json();

  const check = async () => (await request.post("/api/v1/iot/device-check", { data: { certificate: pem } })).json();
  const ok = await check();
  expect(ok).toMatchObject({ accepted: true, deviceType: "sensor", deviceId: "abc-123", reasons: [] });

  const bundle = await (await request.get("/api/v1/iot/trust-bundle")).text();
  expect(bundle).toContain("-----BEGIN CERTIFICATE-----");

  expect((await request.patch(`/api/v1/admin/iot/ca-certificates/${ca.id}`, { headers, data: { active: false } })).status()).toBe(200);
  const refused = await check();
  expect(refused.accepted).toBe(false);
  expect(refused.reasons.join(" ")).toMatch(/active/);
  expect((await request.delete(`/api/v1/admin/iot/ca-certificates/${ca.id}`, { headers })).status()).toBe(200);

  const garbage = await request.post("/api/v1/iot/device-check", { data: { certificate: "not a certificate" } });
  expect(garbage.status()).toBe(400);
});
