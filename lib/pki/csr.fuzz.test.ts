/**
 * Hostile CSRs: valid requests made by OpenSSL, then mutated (bytes, structure, PEM
 * armour), and mutated inside the signed part and signed again so the checks after the
 * signature are reached too. parseCsr either accepts or refuses with a 4xx AppError;
 * what it accepts, OpenSSL also reads and verifies.
 */
import { createPrivateKey, type KeyObject } from "node:crypto";
import { readFileSync } from "node:fs";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import fc from "fast-check";
import { deepNesting, derMutation, fuzzParameters, mutatedInputs, resign, runs, settleAsync, testTimeout } from "../fuzz/support.ts";
import { MAX_ATTRIBUTE_LENGTH, MAX_SANS, parseCsr, sanExtension } from "./csr.ts";
import { EMPTY_REQ_CONFIG, GENPKEY_ARGS, openssl, opensslBytes, opensslKeyFiles, scratchDir } from "./test-support.ts";

const tmp = scratchDir("csr-fuzz");
const LABELS = ["CERTIFICATE REQUEST", "NEW CERTIFICATE REQUEST", "CERTIFICATE", "PRIVATE KEY"];

interface Sample {
  der: Buffer;
  key: KeyObject;
}
let samples: Sample[] = [];
let n = 0;

/** What OpenSSL makes of a CSR it is given as DER: null when it verifies, else why not. */
function opensslRefusal(der: Buffer): string | null {
  const file = tmp.file(`check-${++n}.der`, der);
  const r = openssl(["req", "-inform", "DER", "-in", file, "-noout", "-verify"]);
  const out = `${r.stdout}${r.stderr}`;
  return r.status === 0 && /verify OK/i.test(out) && !/verify failure/i.test(out) ? null : out.slice(0, 500);
}

/** Invariants of what parseCsr accepts. */
function checkAccepted(csr: Awaited<ReturnType<typeof parseCsr>>): void {
  expect(csr.sans.length).toBeLessThanOrEqual(MAX_SANS);
  expect(csr.subjectAttributes.length).toBeGreaterThan(0);
  for (const a of csr.subjectAttributes) {
    expect([...a.value].length).toBeLessThanOrEqual(MAX_ATTRIBUTE_LENGTH);
    expect(a.value).not.toMatch(/[\u0000-\u001f\u007f-\u009f]/);
  }
  // Whatever SANs were accepted can be written into a certificate.
  if (csr.sans.length) expect(() => sanExtension(csr.sans)).not.toThrow();
}

beforeAll(async () => {
  const keys = await opensslKeyFiles(tmp, { p256: GENPKEY_ARGS.p256, p384: GENPKEY_ARGS.p384, rsa2048: GENPKEY_ARGS.rsa2048, ed25519: GENPKEY_ARGS.ed25519 });
  const cnf = tmp.file("req.cnf", EMPTY_REQ_CONFIG);
  const make = (key: keyof typeof keys, subj: string, args: string[]): Sample => {
    const out = tmp.path(`${key}-${++n}.csr`);
    opensslBytes(["req", "-new", "-key", keys[key], "-subj", subj, "-config", cnf, ...(key === "ed25519" ? [] : ["-sha256"]), ...args, "-out", out]);
    const der = opensslBytes(["req", "-in", out, "-outform", "DER"]);
    return { der, key: createPrivateKey(readFileSync(keys[key])) };
  };
  samples = [
    make("p256", "/C=DE/ST=Berlin/O=Acme GmbH/OU=IT/CN=a.example.com", [
      "-addext", "subjectAltName=DNS:a.example.com,DNS:*.b.example.com,IP:192.0.2.1,IP:2001:db8::1,email:x@example.com,URI:https://example.com/x",
      "-addext", "keyUsage=critical,digitalSignature",
      "-addext", "basicConstraints=CA:FALSE",
    ]),
    make("rsa2048", "/CN=rsa.example.com/O=Example", ["-addext", "subjectAltName=DNS:rsa.example.com"]),
    make("p384", "/O=Example/CN=Jos\u00e9 M\u00fcller", ["-utf8", "-addext", "subjectAltName=email:jose@example.com,URI:urn:example:1"]),
    make("ed25519", "/CN=d:sensor:42", []),
  ];
  // Sanity: the samples themselves are accepted, so the mutations start from valid input.
  for (const s of samples) await parseCsr(new Uint8Array(s.der));
}, 120_000);

afterAll(() => tmp.remove());

describe("parseCsr with hostile input", () => {
  const count = runs();

  it(
    "mutated DER and PEM: accepted, or refused with a 4xx AppError; what is accepted OpenSSL verifies too",
    async () => {
      await fc.assert(
        fc.asyncProperty(
          fc.constantFrom(0, 1, 2, 3).chain((i) => fc.tuple(fc.constant(i), mutatedInputs([samples[i].der], LABELS))),
          async ([, input]) => {
            const r = await settleAsync(() => parseCsr(input), "parseCsr");
            if (r.ok) {
              checkAccepted(r.value);
              if (!samples.some((s) => s.der.equals(r.value.der))) expect(opensslRefusal(r.value.der)).toBeNull();
            }
          },
        ),
        fuzzParameters(count),
      );
    },
    testTimeout(count),
  );

  it(
    "re-signed requests with a mutated CertificationRequestInfo: accepted, or refused with a 4xx AppError",
    async () => {
      await fc.assert(
        fc.asyncProperty(fc.constantFrom(0, 1, 2, 3), derMutation, fc.boolean(), async (i, mutation, asPem) => {
          const s = samples[i];
          const der = resign(s.der, s.key, mutation);
          const input = asPem ? `-----BEGIN CERTIFICATE REQUEST-----\n${der.toString("base64")}\n-----END CERTIFICATE REQUEST-----\n` : new Uint8Array(der);
          const r = await settleAsync(() => parseCsr(input), "parseCsr");
          if (r.ok) {
            checkAccepted(r.value);
            if (!samples.some((x) => x.der.equals(r.value.der))) expect(opensslRefusal(r.value.der)).toBeNull();
          }
        }),
        fuzzParameters(count),
      );
    },
    testTimeout(count),
  );

  it(
    "deep nesting, huge declared lengths and oversized input are refused with a 4xx AppError",
    async () => {
      const huge = fc.oneof(
        deepNesting.map((b) => new Uint8Array(b)),
        fc.integer({ min: 64 * 1024 + 1, max: 300 * 1024 }).map((size) => `-----BEGIN CERTIFICATE REQUEST-----\n${"A".repeat(size)}\n-----END CERTIFICATE REQUEST-----\n`),
        fc.integer({ min: 60 * 1024, max: 64 * 1024 }).map((size) => "-----BEGIN CERTIFICATE REQUEST-----\n".repeat(Math.floor(size / 36))),
        fc.integer({ min: 22_000, max: 32_000 }).map((chars) => "\u20ac".repeat(chars)), // ≤ 64 K characters, over 64 KB of UTF-8
      );
      await fc.assert(
        fc.asyncProperty(huge, async (input) => {
          const r = await settleAsync(() => parseCsr(input), "parseCsr");
          expect(r.ok).toBe(false);
        }),
        fuzzParameters(runs(0.1)),
      );
    },
    testTimeout(runs(0.1), 200),
  );
});
