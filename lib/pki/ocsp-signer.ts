/**
 * The delegated OCSP-signing certificate (RFC 6960 4.2.2.2) the CA issues to its own
 * responder: a fresh ECDSA P-256 key, EKU OCSPSigning only, keyUsage digitalSignature
 * (critical), id-pkix-ocsp-nocheck, 30 days and never beyond the CA certificate.
 */
import type { KeyObject } from "node:crypto";
import { AppError } from "../errors/app-error.ts";
import { toBuffer } from "./bytes.ts";
import { caKeyIdentifier, certificateSubjectDer, keyIdentifier } from "./issue.ts";
import { generateKeyPair, importSigningKey, keyMatchesCertificate, spkiDer } from "./keys.ts";
import { derToPem } from "./pem.ts";
import { randomSerialHex } from "./serial.ts";
import { x509 } from "./setup.ts";

const DAY_MS = 24 * 60 * 60 * 1000;
const CLOCK_SKEW_MS = 5 * 60 * 1000;
export const OCSP_SIGNER_VALIDITY_DAYS = 30;
export const OID_OCSP_SIGNING = "1.3.6.1.5.5.7.3.9";
export const OID_OCSP_NOCHECK = "1.3.6.1.5.5.7.48.1.5";
const SUFFIX = " OCSP Responder";
// ub-common-name (RFC 5280 appendix A).
const MAX_CN = 64;

export interface OcspSigner {
  certificate: x509.X509Certificate;
  pem: string;
  privateKey: KeyObject;
  notAfter: Date;
}

export async function issueOcspSigner(opts: { ca: { certificate: x509.X509Certificate; privateKey: KeyObject }; now?: Date }): Promise<OcspSigner> {
  const { ca } = opts;
  const now = (opts.now ?? new Date()).getTime();
  if (!keyMatchesCertificate(ca.privateKey, ca.certificate)) throw new AppError("key_mismatch", "The CA private key does not match the CA certificate");
  if (now > ca.certificate.notAfter.getTime()) throw new AppError("validation_failed", `The CA certificate expired on ${ca.certificate.notAfter.toISOString()}`);
  const second = (ms: number) => new Date(Math.floor(ms / 1000) * 1000);
  const notBefore = second(Math.max(now - CLOCK_SKEW_MS, ca.certificate.notBefore.getTime()));
  const notAfter = second(Math.min(now + OCSP_SIGNER_VALIDITY_DAYS * DAY_MS, ca.certificate.notAfter.getTime()));

  const caCn = ca.certificate.subjectName.getField("CN")[0] ?? "Portcullis CA";
  const cn = `${caCn.slice(0, MAX_CN - SUFFIX.length)}${SUFFIX}`;
  const keys = await generateKeyPair("ecdsa-p256");
  const spki = spkiDer(keys.publicKey);
  const caDer = toBuffer(ca.certificate.rawData);
  const signing = await importSigningKey(ca.privateKey);
  const certificate = await x509.X509CertificateGenerator.create({
    serialNumber: randomSerialHex(),
    subject: new x509.Name([{ CN: [{ utf8String: cn }] }]),
    issuer: new x509.Name(new Uint8Array(certificateSubjectDer(caDer))),
    notBefore,
    notAfter,
    publicKey: new Uint8Array(spki),
    signingKey: signing.privateKey,
    signingAlgorithm: signing.signingAlgorithm,
    extensions: [
      new x509.BasicConstraintsExtension(false, undefined, true),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature, true),
      new x509.ExtendedKeyUsageExtension([OID_OCSP_SIGNING], false),
      // id-pkix-ocsp-nocheck: extnValue is a DER NULL.
      new x509.Extension(OID_OCSP_NOCHECK, false, new Uint8Array([0x05, 0x00])),
      new x509.SubjectKeyIdentifierExtension(keyIdentifier(spki).toString("hex")),
      new x509.AuthorityKeyIdentifierExtension(caKeyIdentifier(ca.certificate), false),
    ],
  });
  if (!(await certificate.verify({ publicKey: ca.certificate.publicKey, signatureOnly: true }))) {
    throw new AppError("internal_error", "The OCSP signer certificate's signature does not verify with the CA certificate");
  }
  return { certificate, pem: derToPem(toBuffer(certificate.rawData), "CERTIFICATE"), privateKey: keys.privateKey, notAfter: certificate.notAfter };
}


