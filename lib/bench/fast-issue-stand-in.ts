/**
 * A stand-in with the fast issuance engine's contract (scripts/bench/fast-engine.ts), built on
 * the reference issuance path, so the bench's (b) measurement and its OpenSSL checks can be
 * exercised before the real engine exists. Not fast; used by lib/bench/bench.test.ts only.
 */
import { parseCertificate } from "../pki/certificates.ts";
import { parseCsr } from "../pki/csr.ts";
import { issueCertificate } from "../pki/issue.ts";
import type { FastIssuer, FastIssuerOptions } from "../../scripts/bench/fast-engine.ts";

export async function createFastIssuer(o: FastIssuerOptions): Promise<FastIssuer> {
  const ca = { certificate: parseCertificate(o.caCertificatePem), privateKey: o.caPrivateKey };
  const base = o.portalUrl.replace(/\/+$/, "");
  return {
    async issue(csrPem: string): Promise<string> {
      const csr = await parseCsr(csrPem);
      const issued = await issueCertificate({
        csr,
        usage: o.usage,
        ca,
        validityDays: o.validityDays,
        crlUrl: `${base}/crl/${o.fileNameRoot}.crl`,
        ocspUrl: `${base}/ocsp`,
        caIssuersUrl: `${base}/api/v1/ca/certificate?format=der`,
      });
      return issued.pem;
    },
    async close(): Promise<void> {},
  };
}
