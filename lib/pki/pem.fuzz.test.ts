/**
 * PEM reading with hostile text: any text gives the DER of exactly one block or a 4xx
 * AppError, what is written reads back byte for byte, and scanning stays linear in the
 * size of the text (hundreds of unterminated BEGIN lines included).
 */
import { describe, expect, it } from "vitest";
import fc from "fast-check";
import { fuzzParameters, hostileText, pem as armour, runs, settle, testTimeout, textMutations } from "../fuzz/support.ts";
import { countPemBlocks, derToPem, looksLikePem, pemToDer } from "./pem.ts";

const LABELS = ["CERTIFICATE", "CERTIFICATE REQUEST", "X509 CRL", "PRIVATE KEY"];
const label = fc.oneof(fc.constantFrom(...LABELS), fc.stringMatching(/^[A-Z0-9 ]{1,20}$/));
const text = fc.oneof(
  hostileText(400),
  fc.tuple(fc.uint8Array({ maxLength: 300 }), fc.constantFrom(...LABELS), textMutations).map(([b, l, m]) => m(armour(Buffer.from(b), l))),
  fc.array(fc.constantFrom("-----BEGIN CERTIFICATE-----", "-----END CERTIFICATE-----", "-----BEGIN X509 CRL-----", "-----END ", "MIIB", "AAAA", "====", "\n", "\r\n", " ", "Proc-Type: 4,ENCRYPTED", "-----", ":"), { maxLength: 60 }).map((parts) => parts.join("")),
);

describe("PEM with hostile text", () => {
  it(
    "pemToDer answers the DER of exactly one block, or refuses with a 4xx AppError",
    () => {
      fc.assert(
        fc.property(text, fc.constantFrom(...LABELS), (t, l) => {
          const r = settle(() => pemToDer(t, l, "file"), "pemToDer");
          expect(() => countPemBlocks(t)).not.toThrow();
          expect(() => looksLikePem(t)).not.toThrow();
          if (r.ok) {
            expect(countPemBlocks(t, l)).toBe(1);
            expect(pemToDer(derToPem(r.value, l), l)).toEqual(r.value);
          } else {
            expect(r.error.code).toBe("bad_request");
            expect(r.error.fields).toEqual({ file: r.error.message });
          }
        }),
        fuzzParameters(runs(3)),
      );
    },
    testTimeout(runs(3)),
  );

  it(
    "what derToPem writes, pemToDer reads back byte for byte, with text around it",
    () => {
      fc.assert(
        fc.property(fc.uint8Array({ maxLength: 2000 }), label, fc.string({ maxLength: 40 }).filter((s) => !s.includes("-----")), (bytes, l, around) => {
          const der = Buffer.from(bytes);
          const pemText = derToPem(der, l);
          fc.pre(der.length > 0);
          expect(pemToDer(`${around}\n${pemText}${around}`, l)).toEqual(der);
          expect(countPemBlocks(pemText)).toBe(1);
        }),
        fuzzParameters(runs(2)),
      );
    },
    testTimeout(runs(2)),
  );

  // Scanning used to restart at every BEGIN line: 256 KB of them took seconds per call. With a
  // linear scan the whole property takes well under the test timeout.
  it(
    "hostile texts of up to 256 KB are scanned in linear time",
    () => {
      const line = fc.constantFrom("-----BEGIN CERTIFICATE-----\n", "-----BEGIN A-----", "-----BEGIN X509 CRL-----\r\n", "-----BEGIN CERTIFICATE-----\nMIIB\n-----END X509 CRL-----\n", "-----BEGIN " + "A ".repeat(60) + "-----\n");
      const hostile = fc.tuple(line, fc.integer({ min: 64 * 1024, max: 256 * 1024 }), fc.boolean()).map(([l, size, closed]) => l.repeat(Math.ceil(size / l.length)) + (closed ? "-----END CERTIFICATE-----\n" : ""));
      fc.assert(
        fc.property(hostile, (t) => {
          countPemBlocks(t);
          settle(() => pemToDer(t, "CERTIFICATE"), "pemToDer");
        }),
        { ...fuzzParameters(runs(0.03)), interruptAfterTimeLimit: undefined },
      );
    },
    15_000,
  );
});
