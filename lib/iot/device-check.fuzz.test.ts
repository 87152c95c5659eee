/**
 * Hostile device checks: device certificates and chains made by OpenSSL, mutated (bytes,
 * structure, PEM text; and inside the signed part, signed again by the CA), against a
 * registered CA with a CRL. The check answers (accepted with no reasons, or refused with
 * at least one) or refuses input that is no certificate with a 4xx AppError; whatever it
 * accepts, `openssl verify` accepts as a TLS client certificate too.
 */
import { createPrivateKey, type KeyObject } from "node:crypto";
import { readFileSync } from "node:fs";
import { beforeAll, describe, expect, it } from "vitest";
import fc from "fast-check";
import { derMutation, fuzzParameters, hostileText, mutatedInputs, pem, resign, runs, settleAsync, testTimeout } from "../fuzz/support.ts";
import { openssl } from "../pki/test-support.ts";
import { useIsolatedDataDir } from "../test-support/data-dir.ts";
import { addIotCaCertificate } from "./ca-certificates.ts";
import { checkDeviceCertificate, type DeviceCheckResult } from "./device-check.ts";
import { gencrl, intermediateCa, issue, revoke, rootCa, type TestCa, type TestCert } from "./test-support.ts";

const scratch = useIsolatedDataDir("device-fuzz");
const CRL_URL = "http://127.0.0.1:9/root.crl";
let root: TestCa;
let inter: TestCa;
let rootKey: KeyObject;
let interKey: KeyObject;
let crlFile = "";
const dev: Record<string, TestCert> = {};
let n = 0;

/** Why `openssl verify` refuses the device certificate (with the chain); null when it accepts it. */
function opensslRefusal(leafDer: Buffer, chainDer: Buffer[]): string | null {
  const leaf = scratch.file(`leaf-${++n}.pem`, pem(leafDer, "CERTIFICATE"));
  const untrusted = scratch.file(`chain-${n}.pem`, chainDer.map((d) => pem(d, "CERTIFICATE")).join("") || "\n");
  // Only the root's CRL exists: it speaks for what the root issued (as in the check itself).
  const revocation = chainDer.length ? ["-untrusted", untrusted] : ["-crl_check", "-CRLfile", crlFile];
  const r = openssl(["verify", "-CAfile", root.cer, ...revocation, "-purpose", "sslclient", leaf]);
  const out = `${r.stdout}${r.stderr}`;
  return r.status === 0 && /: OK/.test(out) ? null : out.slice(0, 600);
}

function checkShape(r: DeviceCheckResult): void {
  expect(typeof r.accepted).toBe("boolean");
  expect(Array.isArray(r.reasons) && r.reasons.every((x) => typeof x === "string")).toBe(true);
  if (r.accepted) {
    expect(r.reasons).toEqual([]);
    expect(r.deviceType && r.deviceId && r.issuer).toBeTruthy();
  } else expect(r.reasons.length).toBeGreaterThan(0);
}

beforeAll(async () => {
  root = rootCa(scratch, "Fuzz Device Root", { crlUrl: CRL_URL });
  inter = intermediateCa(scratch, root, "Fuzz Device Intermediate");
  dev.direct = issue(scratch, root, "direct", { subject: "/CN=d:sensor:abc-1", san: "email:d:sensor:abc-1" });
  dev.viaInter = issue(scratch, inter, "via-inter", { subject: "/O=Acme/CN=Camera", san: "email:d:cam:42" });
  dev.revoked = issue(scratch, root, "revoked", { subject: "/CN=d:meter:gone" });
  revoke(root, dev.revoked, "keyCompromise");
  const crl = gencrl(scratch, root, "root");
  crlFile = scratch.file("root.crl.pem", crl.pem);
  rootKey = createPrivateKey(readFileSync(root.key));
  interKey = createPrivateKey(readFileSync(inter.key));
  await addIotCaCertificate({ certificate: root.pem, description: "Fuzz root" }, { fetch: async () => new Response(new Uint8Array(crl.der)) });
  // Sanity: the unmutated devices are judged as OpenSSL judges them.
  expect((await checkDeviceCertificate({ certificate: dev.direct.pem })).accepted).toBe(true);
  expect((await checkDeviceCertificate({ certificate: dev.viaInter.pem, chain: inter.pem })).accepted).toBe(true);
  expect((await checkDeviceCertificate({ certificate: dev.revoked.pem })).accepted).toBe(false);
}, 120_000);

describe("the device check with hostile input", () => {
  const count = runs(0.5);

  it(
    "mutated device certificates and chains: an answer, or a 4xx AppError for what is no certificate",
    async () => {
      const chainValue = fc.oneof(
        fc.constant(undefined),
        fc.constant(inter.pem),
        mutatedInputs([inter.der], ["CERTIFICATE"]).map((v) => (typeof v === "string" ? v : Buffer.from(v).toString("base64"))),
        fc.array(fc.oneof(fc.constant(inter.pem), hostileText(30), fc.constant(inter.der.toString("base64"))), { maxLength: 20 }),
        fc.jsonValue({ maxDepth: 2 }),
      );
      await fc.assert(
        fc.asyncProperty(mutatedInputs([dev.direct.der, dev.viaInter.der, dev.revoked.der], ["CERTIFICATE"]), chainValue, async (certificate, chain) => {
          const r = await settleAsync(() => checkDeviceCertificate({ certificate, chain }), "checkDeviceCertificate");
          if (r.ok) checkShape(r.value);
          else expect(["bad_request", "payload_too_large"]).toContain(r.error.code);
        }),
        fuzzParameters(count),
      );
    },
    testTimeout(count, 40),
  );

  it(
    "device certificates with a mutated TBSCertificate signed again by their CA: what is accepted, OpenSSL accepts",
    async () => {
      const samples = [
        { leaf: dev.direct, key: rootKey, chain: [] as Buffer[] },
        { leaf: dev.viaInter, key: interKey, chain: [inter.der] },
        { leaf: dev.revoked, key: rootKey, chain: [] as Buffer[] },
      ];
      await fc.assert(
        fc.asyncProperty(fc.constantFrom(0, 1, 2), derMutation, async (i, mutation) => {
          const s = samples[i];
          const der = resign(s.leaf.der, s.key, mutation);
          const r = await settleAsync(() => checkDeviceCertificate({ certificate: new Uint8Array(der), chain: s.chain.map((c) => c.toString("base64")) }), "checkDeviceCertificate");
          if (!r.ok) return;
          checkShape(r.value);
          if (r.value.accepted && !der.equals(s.leaf.der)) expect(opensslRefusal(der, s.chain), `DER ${der.toString("hex")}`).toBeNull();
        }),
        fuzzParameters(count),
      );
    },
    testTimeout(count, 40),
  );
});
