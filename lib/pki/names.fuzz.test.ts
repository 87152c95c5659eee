/**
 * Hostile subject fields, as a form or JSON sends them (any text, lone surrogates, control
 * characters, 64+ characters, wrong types, unknown keys): validateSubject answers field
 * messages without throwing, subjectToName refuses exactly what it reports, and what it
 * accepts encodes to a Name that reads back to the trimmed values.
 */
import { describe, expect, it } from "vitest";
import fc from "fast-check";
import { fuzzParameters, hostileText, runs, settle, testTimeout } from "../fuzz/support.ts";
import { normalizeSubject, SUBJECT_FIELDS, subjectToName, validateSubject, type SubjectInput } from "./names.ts";
import { x509 } from "./setup.ts";

const value = fc.oneof(
  { weight: 4, arbitrary: hostileText(80) },
  { weight: 2, arbitrary: fc.string({ maxLength: 70 }) },
  { weight: 1, arbitrary: fc.stringMatching(/^ ?[A-Za-z]{2} ?$/) },
  { weight: 1, arbitrary: fc.constantFrom("#0403616263", "a\\,b", '"quoted"', "CN=x, O=y", "+", "DE", "uk", "  ", "\u00e9t\u00e9", "\ud83d\ude00", "x".repeat(65)) },
  { weight: 1, arbitrary: fc.oneof(fc.integer(), fc.boolean(), fc.constant(null), fc.constant(undefined), fc.array(fc.string(), { maxLength: 2 }), fc.object({ maxDepth: 1 })) },
);
const subjectInput: fc.Arbitrary<Record<string, unknown>> = fc.record(
  { C: value, ST: value, L: value, O: value, OU: value, CN: value, extra: value },
  { requiredKeys: [] },
);

// Mostly acceptable values (printable ASCII and Unicode text), so that encoding is exercised as much as refusing.
const plausible = fc.oneof(fc.string({ minLength: 1, maxLength: 64 }), fc.string({ unit: "grapheme", minLength: 1, maxLength: 20 }));
const plausibleSubject = fc.record({ C: fc.constantFrom("DE", "us", " GB ", "FR"), ST: plausible, L: plausible, O: plausible, OU: plausible, CN: plausible }, { requiredKeys: [] });

describe("subject fields with hostile input", () => {
  const count = runs(3);
  it(
    "are refused field by field, or encoded to a Name that reads back to the trimmed values",
    () => {
      fc.assert(
        fc.property(fc.oneof(subjectInput, plausibleSubject, fc.jsonValue({ maxDepth: 1 }) as fc.Arbitrary<unknown>), (input) => {
          const errors = settle(() => validateSubject(input as SubjectInput), "validateSubject");
          expect(errors.ok).toBe(true);
          if (!errors.ok) return;
          for (const [k, m] of Object.entries(errors.value)) {
            expect(k).toMatch(/^subject\.(C|ST|L|O|OU|CN)$/);
            expect(typeof m).toBe("string");
          }
          const r = settle(() => subjectToName((input ?? {}) as SubjectInput), "subjectToName");
          expect(r.ok).toBe(Object.keys(errors.value).length === 0);
          if (!r.ok) {
            expect(r.error.code).toBe("validation_failed");
            return;
          }
          const normalized = normalizeSubject(input as SubjectInput);
          const reread = new x509.Name(r.value.toArrayBuffer()).toJSON();
          const values = Object.fromEntries(reread.map((rdn) => Object.entries(rdn)[0]).map(([k, v]) => [k, v[0]]));
          const expected = Object.fromEntries(SUBJECT_FIELDS.filter(({ key }) => normalized[key] !== undefined).map(({ key }) => [key, normalized[key]]));
          expect(values).toEqual(expected);
        }),
        fuzzParameters(count),
      );
    },
    testTimeout(count),
  );
});
