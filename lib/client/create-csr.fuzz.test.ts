/**
 * Hostile CA client input: SAN lists as people type them (any text, separators, prefixes
 * in any case, wrong JSON types) and whole CSR requests. parseSanList answers SANs or a
 * message without throwing, and reads its own output back unchanged; createCsr refuses
 * with field messages or writes a CSR that OpenSSL verifies.
 */
import { afterAll, describe, expect, it } from "vitest";
import fc from "fast-check";
import { fuzzParameters, hostileText, runs, settle, settleAsync, testTimeout } from "../fuzz/support.ts";
import { sanExtension, sanToString } from "../pki/csr.ts";
import { openssl, scratchDir } from "../pki/test-support.ts";
import { createCsr, parseSanList, validateCsrInput } from "./create-csr.ts";

const tmp = scratchDir("create-csr-fuzz");
afterAll(() => tmp.remove());
let n = 0;

const sanValue = fc.oneof(fc.domain(), fc.ipV4(), fc.ipV6(), fc.emailAddress(), fc.webUrl(), hostileText(20), fc.constantFrom("*.example.com", "*.*.x.com", "::", "1.2.3", "256.1.1.1", "a..b", "-a.com", "d:sensor:1", "urn:x", "http://[::1]/"));
const sanToken = fc.tuple(fc.constantFrom("DNS:", "dns:", "IP:", "ip:", "email:", "EMAIL:", "URI:", "uri:", "", "X400:", "DirName:"), sanValue).map(([prefix, v]) => prefix + v);
const sanList: fc.Arbitrary<unknown> = fc.oneof(
  fc.array(sanToken, { maxLength: 8 }).chain((tokens) => fc.constantFrom(", ", "\n", ";", " ", "\r\n,").map((sep) => tokens.join(sep))),
  fc.array(sanToken, { maxLength: 8 }),
  fc.tuple(fc.array(sanToken, { minLength: 1, maxLength: 4 }), fc.integer({ min: 101, max: 130 })).map(([t, size]) => Array.from({ length: size }, (_, i) => t[i % t.length])),
  hostileText(200),
  fc.jsonValue({ maxDepth: 2 }),
);

describe("the CA client's SAN list and CSR input with hostile input", () => {
  it(
    "parseSanList answers SANs or a message, and reads its own output back unchanged",
    () => {
      fc.assert(
        fc.property(sanList, (raw) => {
          const r = settle(() => parseSanList(raw), "parseSanList");
          if (!r.ok) throw r.error; // a message, never an exception
          if ("problem" in r.value) {
            expect(typeof r.value.problem).toBe("string");
            return;
          }
          const { sans } = r.value;
          expect(sans.length).toBeLessThanOrEqual(100);
          if (sans.length) sanExtension(sans);
          expect(parseSanList(sans.map(sanToString))).toEqual({ sans });
        }),
        fuzzParameters(runs(3)),
      );
    },
    testTimeout(runs(3)),
  );

  it(
    "validateCsrInput answers field messages for anything",
    () => {
      fc.assert(
        fc.property(fc.record({ subject: fc.oneof(fc.object({ maxDepth: 1 }), fc.record({ CN: hostileText(70), C: fc.string({ maxLength: 3 }) }, { requiredKeys: [] })), keyAlgorithm: fc.oneof(fc.constantFrom("ecdsa-p256", "rsa-2048", "", "dsa", "RSA-2048"), fc.jsonValue()), sans: sanList }, { requiredKeys: [] }), (input) => {
          const errors: Record<string, string> = {};
          const r = settle(() => validateCsrInput(input as never, errors), "validateCsrInput");
          if (!r.ok) throw r.error;
          for (const m of Object.values(errors)) expect(typeof m).toBe("string");
        }),
        fuzzParameters(runs(2)),
      );
    },
    testTimeout(runs(2)),
  );

  const count = runs(0.15);
  it(
    "createCsr refuses with field messages, or writes a CSR that OpenSSL verifies",
    async () => {
      const subject = fc.record({ C: fc.constantFrom("DE", "XX", "", "us"), O: fc.oneof(fc.string({ maxLength: 70 }), hostileText(10)), CN: fc.oneof(fc.domain(), hostileText(30), fc.string({ maxLength: 70 })) }, { requiredKeys: [] });
      await fc.assert(
        fc.asyncProperty(subject, fc.oneof(sanList, fc.array(fc.domain().map((d) => `DNS:${d}`), { maxLength: 3 })), async (s, sans) => {
          const r = await settleAsync(() => createCsr({ subject: s, keyAlgorithm: "ecdsa-p256", sans }), "createCsr");
          if (!r.ok) {
            expect(r.error.code).toBe("validation_failed");
            expect(Object.keys(r.error.fields ?? {}).length).toBeGreaterThan(0);
            return;
          }
          const file = tmp.file(`req-${++n}.csr`, r.value.csrPem);
          const out = openssl(["req", "-in", file, "-noout", "-verify"]);
          expect(`${out.stdout}${out.stderr}`).toMatch(/verify OK/);
          expect(`${out.stdout}${out.stderr}`).not.toMatch(/verify failure/);
        }),
        fuzzParameters(count),
      );
    },
    testTimeout(count, 50),
  );
});
