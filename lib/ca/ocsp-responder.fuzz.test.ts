/**
 * Hostile OCSP requests: requests made by `openssl ocsp` (nonce, SHA-1 and SHA-256
 * CertIDs, several certificates) mutated as bytes and as structure, deep nests and
 * garbage. The responder never throws and never answers internalError: what does not
 * parse is malformedRequest, and every successful answer verifies with OpenSSL against
 * the CA certificate.
 */
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import fc from "fast-check";
import { deepNesting, derMutation, fuzzParameters, runs, testTimeout } from "../fuzz/support.ts";
import { getDb } from "../db/index.ts";
import { OCSP_STATUS, ocspResponseStatus, parseOcspRequest } from "../pki/ocsp.ts";
import { openssl, opensslOk } from "../pki/test-support.ts";
import { useIsolatedDataDir } from "../test-support/data-dir.ts";
import { configureCaServer } from "./configure-server.ts";
import { issueRequest } from "./issue-request.ts";
import { answerOcsp } from "./ocsp-responder.ts";
import { submitRequest } from "./requests.ts";
import { revokeCertificate } from "./revoke-certificate.ts";

const scratch = useIsolatedDataDir("ocsp-fuzz", { PORTCULLIS_PUBLIC_URL: undefined });
const KEY_PW = "ocsp fuzz CA password";
let caFile = "";
let samples: Buffer[] = [];
let n = 0;

async function issue(cn: string): Promise<{ number: number; file: string }> {
  const base = scratch.path(cn);
  opensslOk(["req", "-new", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-keyout", `${base}.key`, "-subj", `/CN=${cn}`, "-addext", `subjectAltName=DNS:${cn}`, "-out", `${base}.csr`]);
  const r = await submitRequest({ csr: readFileSync(`${base}.csr`, "utf8"), contact: { name: "Fuzz" }, hostname: cn, instance: "FUZZ", filename: cn.split(".")[0] });
  const issued = await issueRequest(r.id, { usage: "tls", caKeyPassword: KEY_PW, fingerprintVerified: true }, { actor: "admin" });
  writeFileSync(`${base}.pem`, issued.pem);
  return { number: issued.number, file: `${base}.pem` };
}

/** Why OpenSSL does not verify the successful OCSP response against the CA; null when it does. */
function opensslRefusal(der: Buffer): string | null {
  const file = scratch.file(`resp-${++n}.der`, der);
  const r = openssl(["ocsp", "-respin", file, "-CAfile", caFile, "-no_nonce", "-resp_text"]);
  const out = `${r.stdout}${r.stderr}`;
  return /Response verify OK/.test(out) ? null : out.slice(0, 600);
}

beforeAll(async () => {
  await configureCaServer({
    fileNameRoot: "FuzzCA",
    directory: "ca",
    keyPassword: KEY_PW,
    subject: { O: "Example", CN: "OCSP Fuzz CA" },
    caValidityDays: 3650,
    issuedValidityDays: 365,
    adminEmail: "camgr@example.com",
  });
  caFile = join((await (await getDb()).caServer.findUniqueOrThrow({ where: { id: 1 } })).directory, "FuzzCA.cer");
  const good = await issue("good.example.com");
  const gone = await issue("gone.example.com");
  await revokeCertificate(gone.number, { reason: "keyCompromise", caKeyPassword: KEY_PW }, { actor: "admin" });
  const req = (...args: string[]) => {
    const out = scratch.path(`req-${++n}.der`);
    opensslOk(["ocsp", "-issuer", caFile, ...args, "-reqout", out]);
    return readFileSync(out);
  };
  samples = [
    req("-cert", good.file),
    req("-cert", gone.file, "-no_nonce"),
    req("-sha256", "-cert", good.file, "-cert", gone.file),
    req("-serial", "0x0123456789ABCDEF", "-cert", good.file),
  ];
  for (const s of samples) expect(ocspResponseStatus(await answerOcsp(s))).toBe(OCSP_STATUS.successful);
}, 120_000);

describe("the OCSP responder with hostile requests", () => {
  const count = runs();
  it(
    "never throws nor answers internalError; garbage is malformedRequest; successful answers verify with OpenSSL",
    async () => {
      const request = fc.oneof(
        { weight: 6, arbitrary: fc.tuple(fc.constantFrom(0, 1, 2, 3), derMutation).map(([i, m]) => m(samples[i])) },
        { weight: 1, arbitrary: deepNesting },
        { weight: 1, arbitrary: fc.uint8Array({ maxLength: 300 }).map((u) => Buffer.from(u)) },
      );
      await fc.assert(
        fc.asyncProperty(request, async (der) => {
          const answer = await answerOcsp(der);
          const status = ocspResponseStatus(answer);
          expect([OCSP_STATUS.successful, OCSP_STATUS.malformedRequest, OCSP_STATUS.unauthorized, OCSP_STATUS.tryLater]).toContain(status);
          let parses = true;
          try {
            parseOcspRequest(der);
          } catch {
            parses = false;
          }
          if (!parses) expect(status).toBe(OCSP_STATUS.malformedRequest);
          if (status === OCSP_STATUS.successful && !samples.some((s) => s.equals(der))) expect(opensslRefusal(answer)).toBeNull();
        }),
        fuzzParameters(count),
      );
    },
    testTimeout(count, 30),
  );
});
