/**
 * Hostile CRLs and hostile CRL servers: an OpenSSL-made CRL mutated (bytes, structure,
 * PEM text; and inside the signed part, signed again by the CA), served by a fetch that
 * also lies about statuses, lengths, redirects and bodies. fetchVerifiedCrl answers a
 * verified CRL or refuses with a 4xx AppError; what it verifies, OpenSSL verifies too.
 */
import { createPrivateKey, type KeyObject } from "node:crypto";
import { readFileSync } from "node:fs";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import fc from "fast-check";
import { derMutation, fuzzParameters, hostileText, mutatedInputs, resign, runs, settleAsync, testTimeout } from "../fuzz/support.ts";
import { parseCertificate } from "../pki/certificates.ts";
import { openssl } from "../pki/test-support.ts";
import { scratchDir } from "../test-support/scratch-dir.ts";
import type { x509 } from "../pki/setup.ts";
import { fetchVerifiedCrl, parseCrl, type FetchLike } from "./crl-fetch.ts";
import { gencrl, issue, revoke, rootCa, type TestCa } from "./test-support.ts";

const scratch = scratchDir("crl-fuzz");
const URL_ = "http://127.0.0.1:9/ca.crl";
let ca: TestCa;
let caCert: x509.X509Certificate;
let caKey: KeyObject;
let crlDer: Buffer;
let n = 0;

/** A fetch that answers `body` (or a stream of it) with status 200. */
const serving =
  (body: string | Uint8Array): FetchLike =>
  async () =>
    new Response(typeof body === "string" ? body : new Uint8Array(body), { status: 200 });

/** Why OpenSSL refuses the CRL as signed by the CA; null when it verifies it. */
function opensslRefusal(der: Buffer): string | null {
  const file = scratch.file(`check-${++n}.crl`, der);
  const r = openssl(["crl", "-inform", "DER", "-in", file, "-CAfile", ca.cer, "-noout"]);
  const out = `${r.stdout}${r.stderr}`;
  return r.status === 0 && /verify OK/.test(out) ? null : out.slice(0, 500);
}

beforeAll(() => {
  ca = rootCa(scratch, "CRL Fuzz CA");
  for (const [i, reason] of ["keyCompromise", "superseded", "cessationOfOperation"].entries()) {
    revoke(ca, issue(scratch, ca, `d${i}`, { subject: `/CN=d:meter:${i}` }), reason);
  }
  crlDer = gencrl(scratch, ca, "ca").der;
  caCert = parseCertificate(ca.pem);
  caKey = createPrivateKey(readFileSync(ca.key));
});

afterAll(() => scratch.remove());

describe("CRLs with hostile input", () => {
  const count = runs();

  it(
    "mutated CRLs (DER, PEM, text) are verified or refused with a 4xx AppError; parseCrl alike",
    async () => {
      await fc.assert(
        fc.asyncProperty(mutatedInputs([crlDer], ["X509 CRL", "CRL", "CERTIFICATE"]), async (body) => {
          await settleAsync(async () => parseCrl(body), "parseCrl");
          const r = await settleAsync(() => fetchVerifiedCrl(URL_, caCert, { fetch: serving(body) }), "fetchVerifiedCrl");
          if (r.ok) {
            expect(r.value.revokedCount).toBeGreaterThanOrEqual(0);
            if (!r.value.der.equals(crlDer)) expect(opensslRefusal(r.value.der), `DER ${r.value.der.toString("hex")}`).toBeNull();
          } else expect(r.error.field).toBe("certificate");
        }),
        fuzzParameters(count),
      );
    },
    testTimeout(count),
  );

  it(
    "CRLs with a mutated TBSCertList signed again by the CA: verified (and OpenSSL agrees) or refused with a 4xx AppError",
    async () => {
      await fc.assert(
        fc.asyncProperty(derMutation, async (mutation) => {
          const der = resign(crlDer, caKey, mutation);
          const r = await settleAsync(() => fetchVerifiedCrl(URL_, caCert, { fetch: serving(der) }), "fetchVerifiedCrl");
          if (r.ok && !r.value.der.equals(crlDer)) expect(opensslRefusal(r.value.der), `DER ${r.value.der.toString("hex")}`).toBeNull();
        }),
        fuzzParameters(count),
      );
    },
    testTimeout(count),
  );

  it(
    "a CRL server that lies (statuses, redirects, lengths, broken streams, thrown errors) gives a 4xx AppError",
    async () => {
      const headers = fc.record(
        {
          location: fc.oneof(fc.constantFrom("/ca.crl", "file:///etc/passwd", "ftp://x/", "http://[::1", "//evil", "http://127.0.0.1:9/x"), hostileText(40)),
          "content-length": fc.oneof(fc.constantFrom("0", "-1", "1e9", "NaN", "99999999999999999999", " 12 "), fc.nat().map(String)),
          "content-type": fc.string({ maxLength: 20 }),
        },
        { requiredKeys: [] },
      );
      const body = fc.oneof(
        fc.uint8Array({ maxLength: 256 }).map((b) => ({ kind: "bytes" as const, b })),
        fc.record({ chunks: fc.integer({ min: 1, max: 40 }), size: fc.integer({ min: 1, max: 512 }), fail: fc.boolean() }).map((s) => ({ kind: "stream" as const, ...s })),
      );
      const failure = fc.oneof(
        fc.constant(undefined),
        fc.constantFrom<unknown>(new TypeError("fetch failed", { cause: { code: "ECONNREFUSED" } }), "a string", null, 42, { code: 17 }, Object.assign(new Error("x"), { code: "EWHATEVER" }), new Error("deep", { cause: new Error("deeper", { cause: { code: "ENOTFOUND" } }) })),
      );
      const answer = fc.record({ status: fc.integer({ min: 200, max: 599 }), headers, body, failure });
      await fc.assert(
        fc.asyncProperty(fc.array(answer, { minLength: 1, maxLength: 6 }), fc.constantFrom(URL_, "https://127.0.0.1:9/x.crl", "ftp://x/", "not a url", ""), async (answers, url) => {
          let i = 0;
          const fetch: FetchLike = async () => {
            const a = answers[Math.min(i++, answers.length - 1)];
            if (a.failure !== undefined) throw a.failure;
            const nullBody = [204, 205, 304].includes(a.status);
            let stream: ReadableStream<Uint8Array> | Uint8Array | null = null;
            if (!nullBody) {
              if (a.body.kind === "bytes") stream = a.body.b;
              else {
                const { chunks, size, fail } = a.body;
                let sent = 0;
                stream = new ReadableStream<Uint8Array>({
                  pull(c) {
                    if (sent++ >= chunks) return fail ? c.error(new Error("connection reset")) : c.close();
                    c.enqueue(new Uint8Array(size).fill(0x30));
                  },
                });
              }
            }
            return new Response(stream as BodyInit | null, { status: a.status, headers: a.headers as Record<string, string> });
          };
          const r = await settleAsync(() => fetchVerifiedCrl(url, caCert, { fetch, maxBytes: 4096, timeoutMs: 2000 }), "fetchVerifiedCrl");
          expect(r.ok).toBe(false);
        }),
        fuzzParameters(runs(0.5)),
      );
    },
    testTimeout(runs(0.5)),
  );
});
