/**
 * What the "Deployment bundles" section of a certificate page offers: which bundles can
 * be made for certificate N, and why the others cannot.
 */
import type { CallOptions } from "../client/ca-server-api.ts";
import { isAppError } from "../errors/app-error.ts";
import { cockroachFileNames } from "./builders.ts";
import { deployProblem, locateCertificate, NO_KEY_MESSAGE } from "./build-bundle.ts";
import type { BundleSource, FoundCertificate } from "./find-certificate.ts";

export interface BundleAvailability {
  number: number;
  source: BundleSource;
  /** The name of the downloads: `<fileRoot>.p12`, `<fileRoot>.pem`. */
  fileRoot: string;
  commonName: string | null;
  /** The key file this instance generated, when it did. */
  keyFile: { fileNameRoot: string; encrypted: boolean } | null;
  /** Why bundles with the key are not offered (no key here, revoked, expired), or null. */
  keyBundlesProblem: string | null;
  /** The files of the CockroachDB certs directory, or why there is none for this certificate. */
  cockroach: { crt: string; key: string } | { problem: string };
}

/** The bundles of a certificate found by locateCertificate. */
export function availabilityOf(cert: FoundCertificate, keyFile: { fileNameRoot: string; encrypted: boolean } | null, now: Date = new Date()): BundleAvailability {
  let cockroach: BundleAvailability["cockroach"];
  try {
    cockroach = cockroachFileNames(cert);
  } catch (e) {
    if (!isAppError(e)) throw e;
    cockroach = { problem: e.message };
  }
  const problem = deployProblem(cert, now) ?? (keyFile ? null : `This instance did not generate the private key of certificate number ${cert.number}: ${NO_KEY_MESSAGE}.`);
  return {
    number: cert.number,
    source: cert.source,
    fileRoot: keyFile?.fileNameRoot || cert.fileRoot,
    commonName: cert.commonName,
    keyFile: keyFile ? { fileNameRoot: keyFile.fileNameRoot, encrypted: keyFile.encrypted } : null,
    keyBundlesProblem: problem,
    cockroach,
  };
}

/** Certificate N as the page shows it, with its bundles. */
export async function bundleAvailability(number: number, source: BundleSource, opts: CallOptions = {}): Promise<{ certificate: FoundCertificate; bundles: BundleAvailability }> {
  const { cert, keyFile } = await locateCertificate(number, source, opts);
  return { certificate: cert, bundles: availabilityOf(cert, keyFile) };
}
