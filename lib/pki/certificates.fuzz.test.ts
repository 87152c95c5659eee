/**
 * Hostile certificates: OpenSSL-made certificates (a CA with many extensions, RSA, P-384
 * and Ed25519 leaves) mutated as bytes, as structure and as PEM text. parseCertificate
 * accepts or refuses with a 4xx AppError; a certificate it accepts can be described and
 * judged as a device CA without any other error, and OpenSSL reads it too.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import fc from "fast-check";
import { fuzzParameters, mutatedInputs, runs, settle, testTimeout } from "../fuzz/support.ts";
import { caCertificateProblems, crlDistributionPoints } from "../iot/ca-certificates.ts";
import { certificateToPem, describeCertificate, isCaCertificate, parseCertificate } from "./certificates.ts";
import { EMPTY_REQ_CONFIG, GENPKEY_ARGS, openssl, opensslBytes, opensslKeyFiles, scratchDir } from "./test-support.ts";

const tmp = scratchDir("cert-fuzz");
const LABELS = ["CERTIFICATE", "X509 CERTIFICATE", "TRUSTED CERTIFICATE", "CERTIFICATE REQUEST"];
let samples: Buffer[] = [];
let n = 0;

/** Why OpenSSL cannot read the DER certificate; null when it can. */
function opensslRefusal(der: Buffer): string | null {
  const file = tmp.file(`check-${++n}.der`, der);
  const r = openssl(["x509", "-inform", "DER", "-in", file, "-noout", "-subject", "-ext", "basicConstraints,keyUsage,subjectAltName,crlDistributionPoints"]);
  return r.status === 0 ? null : `${r.stdout}${r.stderr}`.slice(0, 500);
}

beforeAll(async () => {
  const keys = await opensslKeyFiles(tmp, { p256: GENPKEY_ARGS.p256, p384: GENPKEY_ARGS.p384, rsa2048: GENPKEY_ARGS.rsa2048, ed25519: GENPKEY_ARGS.ed25519 });
  const cnf = tmp.file("x509.cnf", EMPTY_REQ_CONFIG);
  const selfSigned = (key: keyof typeof keys, subj: string, ext: string[]) => {
    const out = tmp.path(`${key}-${++n}.cer`);
    opensslBytes(["req", "-x509", "-key", keys[key], "-subj", subj, "-days", "30", "-config", cnf, ...ext.flatMap((e) => ["-addext", e]), "-out", out]);
    return opensslBytes(["x509", "-in", out, "-outform", "DER"]);
  };
  samples = [
    selfSigned("p256", "/C=DE/O=Acme GmbH/CN=Acme Device CA", [
      "basicConstraints=critical,CA:TRUE,pathlen:1",
      "keyUsage=critical,keyCertSign,cRLSign",
      "subjectKeyIdentifier=hash",
      "authorityKeyIdentifier=keyid",
      "crlDistributionPoints=URI:http://127.0.0.1:9/ca.crl,URI:ldap://example.com/cn=x",
      "authorityInfoAccess=OCSP;URI:http://127.0.0.1:9/ocsp,caIssuers;URI:http://127.0.0.1:9/ca.cer",
      "nameConstraints=permitted;DNS:example.com,excluded;IP:10.0.0.0/255.0.0.0",
      "certificatePolicies=1.3.6.1.4.1.99999.1",
    ]),
    selfSigned("rsa2048", "/CN=rsa.example.com", ["subjectAltName=DNS:rsa.example.com,IP:192.0.2.1,email:a@example.com", "extendedKeyUsage=serverAuth,clientAuth", "basicConstraints=CA:FALSE"]),
    selfSigned("p384", "/O=Example/CN=d:sensor:42", ["subjectAltName=email:d:sensor:42", "keyUsage=critical,digitalSignature"]),
    selfSigned("ed25519", "/CN=Ed25519 CA", ["basicConstraints=critical,CA:TRUE", "keyUsage=critical,keyCertSign"]),
  ];
  for (const s of samples) parseCertificate(new Uint8Array(s));
}, 120_000);

afterAll(() => tmp.remove());

describe("parseCertificate with hostile input", () => {
  const count = runs();
  it(
    "accepts or refuses with a 4xx AppError; what it accepts is described without error and OpenSSL reads",
    async () => {
      const now = new Date();
      await fc.assert(
        fc.asyncProperty(mutatedInputs(samples, LABELS), async (input) => {
          const r = settle(() => parseCertificate(input), "parseCertificate");
          if (!r.ok) {
            expect(r.error.fields).toHaveProperty("certificate");
            return;
          }
          const cert = r.value;
          const d = describeCertificate(cert);
          expect(d.sha256Fingerprint).toMatch(/^([0-9A-F]{2}:){31}[0-9A-F]{2}$/);
          isCaCertificate(cert);
          caCertificateProblems(cert, now);
          crlDistributionPoints(cert);
          const der = Buffer.from(cert.rawData);
          expect(parseCertificate(certificateToPem(cert)).rawData).toEqual(cert.rawData);
          if (!samples.some((s) => s.equals(der))) expect(opensslRefusal(der), `DER ${der.toString("hex")}`).toBeNull();
        }),
        fuzzParameters(count),
      );
    },
    testTimeout(count),
  );
});
