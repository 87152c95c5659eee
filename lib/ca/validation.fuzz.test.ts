/**
 * Hostile form values for the CA server and CA client settings: the shared validators
 * answer a message or a value for anything (and the value is in range); configuring the
 * CA server with hostile input refuses with field messages (a 4xx AppError), or
 * configures it — then it is reinitialized for the next run.
 */
import { describe, expect, it } from "vitest";
import fc from "fast-check";
import { fuzzParameters, hostileText, runs, settle, settleAsync, testTimeout } from "../fuzz/support.ts";
import { useIsolatedDataDir } from "../test-support/data-dir.ts";
import { validateClientInput } from "../client/configure-client.ts";
import { configureCaServer, inspectCaServerLocation } from "./configure-server.ts";
import { fileNameRootProblem } from "./file-name-root.ts";
import { reinitializeCaServer } from "./reinitialize-server.ts";
import { directoryProblem } from "./server-files.ts";
import { bool, emailProblem, hostProblem, intInRange, str } from "./validation.ts";

const scratch = useIsolatedDataDir("validation-fuzz", { PORTCULLIS_PUBLIC_URL: undefined });

/** What forms and JSON bodies carry: text of any kind, numbers in every shape, wrong types. */
const formValue: fc.Arbitrary<unknown> = fc.oneof(
  { weight: 3, arbitrary: hostileText(60) },
  { weight: 2, arbitrary: fc.string({ maxLength: 40 }) },
  { weight: 1, arbitrary: fc.constantFrom("0", "-1", "1e3", "0x10", " 42 ", "1.5", "99999999999999999999", "NaN", "Infinity", "-0", "", "on", "true", "camgr@example.com", "a@b", "smtp.example.com", "[::1]", "256.256.256.256", "a".repeat(300)) },
  { weight: 1, arbitrary: fc.oneof(fc.integer(), fc.double(), fc.boolean(), fc.constant(null), fc.constant(undefined), fc.array(fc.string(), { maxLength: 2 }), fc.object({ maxDepth: 1 })) },
);

describe("form validators with hostile values", () => {
  it(
    "answer a message or a value for anything, never an exception",
    () => {
      fc.assert(
        fc.property(formValue, fc.integer({ min: -5, max: 5 }), fc.integer({ min: 0, max: 70000 }), (v, min, span) => {
          const r = settle(() => {
            const s = str(v);
            const email = emailProblem(s);
            const host = hostProblem(s);
            const range = intInRange(v, min, min + span, "value");
            return { s, email, host, range, b: bool(v), root: fileNameRootProblem(s), dir: directoryProblem(s) };
          }, "a validator");
          if (!r.ok) throw r.error;
          const { s, host, range, root } = r.value;
          expect(s).not.toMatch(/[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/);
          if (host === null) expect(s.trim().length).toBeLessThanOrEqual(253);
          if (root === null) expect(s.trim()).toMatch(/^[A-Za-z0-9_-]{1,64}$/);
          if (range.problem === undefined) {
            expect(Number.isSafeInteger(range.value)).toBe(true);
            expect(range.value!).toBeGreaterThanOrEqual(min);
            expect(range.value!).toBeLessThanOrEqual(min + span);
          }
        }),
        fuzzParameters(runs(3)),
      );
    },
    testTimeout(runs(3)),
  );

  it(
    "the CA client settings are refused field by field, or normalized",
    () => {
      const input = fc.record({ serverHost: formValue, serverPort: formValue, serverPath: formValue, useTls: formValue, instanceName: formValue, hostname: formValue, contactName: formValue, contactPhone: formValue, contactEmail: formValue }, { requiredKeys: [] });
      fc.assert(
        fc.property(input, (i) => {
          const r = settle(() => validateClientInput(i as never), "validateClientInput");
          if (!r.ok) expect(r.error.code).toBe("validation_failed");
          else expect(r.value.serverPort).toBeGreaterThanOrEqual(1);
        }),
        fuzzParameters(runs(2)),
      );
    },
    testTimeout(runs(2)),
  );

  const count = runs(0.2);
  it(
    "configuring the CA server refuses with field messages, or configures it",
    async () => {
      // Directories stay inside the data directory (hostile text included), or are absolute inside it.
      const directory = fc.oneof(
        fc.constantFrom("ca", "ca/sub", "./x", "", " ", "a".repeat(1025), `${scratch.dir}/abs`),
        hostileText(30).map((s) => `fuzz/${s.replace(/\.\./g, "_").replace(/^\/+/, "")}`),
        formValue,
      );
      const subject = fc.oneof(fc.record({ C: formValue, O: formValue, CN: formValue }, { requiredKeys: [] }), fc.constant({ CN: "Fuzz CA" }), formValue);
      const smtp = fc.oneof(
        fc.constant(undefined),
        fc.record({ host: formValue.map((h) => (typeof h === "string" && !hostProblem(h) ? "127.0.0.1" : h)), port: fc.constant(9), secure: formValue, username: formValue, password: formValue, passwordConfirm: formValue }, { requiredKeys: [] }),
        formValue,
      );
      // Each field mostly valid, so that some runs get through validation and configure.
      const field = <T,>(valid: fc.Arbitrary<T>, hostile: fc.Arbitrary<unknown>) => fc.oneof({ weight: 4, arbitrary: valid as fc.Arbitrary<unknown> }, { weight: 1, arbitrary: hostile });
      const input = fc.record(
        {
          fileNameRoot: field(fc.constantFrom("FuzzCA", "Other_CA-2"), fc.oneof(fc.constantFrom("cache", "CACHE", "a b", "x.key", ""), formValue)),
          directory: field(fc.constantFrom("ca", "ca/sub", `${scratch.dir}/abs`), directory),
          keyPassword: field(fc.constant("a long CA key password"), formValue),
          keyPasswordConfirm: field(fc.constantFrom(undefined, "a long CA key password"), formValue),
          subject: field(fc.constantFrom({ CN: "Fuzz CA" }, { C: "de", O: " Example ", CN: "Fuzz \u00e9 CA" }), subject),
          keyAlgorithm: field(fc.constantFrom(undefined, "ecdsa-p256", "ecdsa-p384", ""), fc.oneof(fc.constantFrom("rsa-1024", "ECDSA-P256"), formValue)),
          caValidityDays: field(fc.constantFrom(3650, "365"), fc.oneof(fc.constantFrom(0, 10951, -1, 1.5), formValue)),
          issuedValidityDays: field(fc.constantFrom(365, "30"), fc.oneof(fc.constantFrom(3651, 0, 4000), formValue)),
          smtp: field(fc.constantFrom(undefined, { host: "" }, { host: "127.0.0.1", port: 9 }), smtp),
          adminEmail: field(fc.constant("camgr@example.com"), formValue),
        },
        { requiredKeys: [] },
      );
      let configured = 0;
      await fc.assert(
        fc.asyncProperty(input, async (i) => {
          const inspected = await settleAsync(() => inspectCaServerLocation(i as never), "inspectCaServerLocation");
          const r = await settleAsync(() => configureCaServer(i as never, { actor: "fuzz" }), "configureCaServer");
          if (!r.ok) {
            expect(r.error.status).toBeLessThan(500);
            return;
          }
          expect(inspected.ok).toBe(true);
          configured++;
          await reinitializeCaServer();
        }),
        fuzzParameters(count, { timeoutMs: 20_000 }),
      );
      // Not a vacuous property: some hostile-looking inputs are valid and get configured.
      if (count >= 100) expect(configured).toBeGreaterThan(0);
    },
    testTimeout(count, 200),
  );
});
