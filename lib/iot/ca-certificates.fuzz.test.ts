/**
 * Hostile device CA registrations: CA certificates made by OpenSSL, mutated (bytes,
 * structure, PEM text; and inside the signed part, signed again by their own key), with
 * hostile descriptions, wrong JSON types and mutated CRLs behind their distribution
 * point. Preview and register answer or refuse with a 4xx AppError; whatever is
 * registered, OpenSSL reads from the trust bundle as a currently valid CA certificate.
 */
import { createPrivateKey, type KeyObject } from "node:crypto";
import { readFileSync } from "node:fs";
import { beforeAll, describe, expect, it } from "vitest";
import fc from "fast-check";
import { derMutation, fuzzParameters, hostileText, mutatedInputs, pem, resign, runs, settleAsync, testTimeout } from "../fuzz/support.ts";
import { openssl } from "../pki/test-support.ts";
import { useIsolatedDataDir } from "../test-support/data-dir.ts";
import { addIotCaCertificate, deleteIotCaCertificate, getIotCaCertificate, previewIotCaCertificate } from "./ca-certificates.ts";
import type { FetchLike } from "./crl-fetch.ts";
import { gencrl, rootCa, type TestCa } from "./test-support.ts";

const scratch = useIsolatedDataDir("iot-ca-fuzz");
let withCrl: TestCa;
let plain: TestCa;
let keys: KeyObject[] = [];
let crlDer: Buffer;
let n = 0;

/** Why OpenSSL does not take the PEM as a CA certificate valid now; null when it does. */
function opensslRefusal(certPem: string): string | null {
  const file = scratch.file(`reg-${++n}.pem`, certPem);
  const r = openssl(["x509", "-in", file, "-noout", "-checkend", "0", "-ext", "basicConstraints"]);
  const out = `${r.stdout}${r.stderr}`;
  return r.status === 0 && /CA:TRUE/.test(out) ? null : out.slice(0, 500);
}

beforeAll(() => {
  withCrl = rootCa(scratch, "Fuzz Fleet CA", { crlUrl: "http://127.0.0.1:9/fleet.crl" });
  plain = rootCa(scratch, "Fuzz Plain CA");
  keys = [withCrl, plain].map((c) => createPrivateKey(readFileSync(c.key)));
  crlDer = gencrl(scratch, withCrl, "fleet").der;
});

/** A fetch serving the CA's CRL, a mutated one, or an error. */
const crlFetch = fc.oneof(
  fc.constant<FetchLike>(async () => new Response(new Uint8Array(crlDer))),
  derMutation.map<FetchLike>((m) => async () => new Response(new Uint8Array(m(crlDer)))),
  fc.constant<FetchLike>(async () => new Response("gone", { status: 404 })),
  fc.constant<FetchLike>(async () => {
    throw new TypeError("fetch failed");
  }),
);

const certificateValue = () =>
  fc.oneof(
    { weight: 6, arbitrary: mutatedInputs([withCrl.der, plain.der], ["CERTIFICATE", "X509 CRL"]).map((v) => (typeof v === "string" ? v : Buffer.from(v).toString("base64"))) },
    { weight: 3, arbitrary: fc.tuple(fc.constantFrom(0, 1), derMutation).map(([i, m]) => pem(resign([withCrl, plain][i].der, keys[i], m), "CERTIFICATE")) },
    { weight: 1, arbitrary: fc.jsonValue({ maxDepth: 2 }) },
  );

describe("device CA registration with hostile input", () => {
  const count = runs(0.5);

  it(
    "preview answers the details and problems, or refuses with a 4xx AppError",
    async () => {
      await fc.assert(
        fc.asyncProperty(certificateValue(), fc.boolean(), crlFetch, async (certificate, checkCrl, fetch) => {
          const input = typeof certificate === "string" ? certificate : (certificate as never);
          const r = await settleAsync(() => previewIotCaCertificate(input, { checkCrl, fetch }), "previewIotCaCertificate");
          if (r.ok) expect(r.value.problems.every((p) => typeof p === "string")).toBe(true);
        }),
        fuzzParameters(count),
      );
    },
    testTimeout(count, 40),
  );

  it(
    "register saves a valid CA certificate that OpenSSL reads, or refuses with a 4xx AppError and saves nothing",
    async () => {
      await fc.assert(
        fc.asyncProperty(certificateValue(), fc.oneof(hostileText(250), fc.jsonValue({ maxDepth: 1 })), crlFetch, async (certificate, description, fetch) => {
          const r = await settleAsync(() => addIotCaCertificate({ certificate, description }, { fetch }), "addIotCaCertificate");
          if (!r.ok) return;
          const saved = await getIotCaCertificate(r.value.id);
          await deleteIotCaCertificate(r.value.id);
          expect(saved.description).not.toMatch(/[\u0000-\u001f\u007f-\u009f]/);
          expect(opensslRefusal(saved.pem)).toBeNull();
        }),
        fuzzParameters(count),
      );
    },
    testTimeout(count, 40),
  );
});
