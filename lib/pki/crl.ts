/**
 * Certificate revocation lists (RFC 5280 section 5): a v2 CRL signed by the CA's key,
 * with the CRL number and authority key identifier extensions, one entry per revoked
 * certificate with its revocation date and reason.
 */
import { sign, type KeyObject } from "node:crypto";
import { AsnConvert } from "@peculiar/asn1-schema";
import { CertificateList } from "@peculiar/asn1-x509";
import { Integer } from "asn1js";
import { AppError } from "../errors/app-error.ts";
import { toBuffer } from "./bytes.ts";
import { caKeyIdentifier, certificateSubjectDer } from "./issue.ts";
import { importSigningKey, keyMatchesCertificate } from "./keys.ts";
import { derToPem } from "./pem.ts";
import { x509 } from "./setup.ts";

/** CRLReason names exactly as RFC 5280 5.3.1 spells them (certificateHold and removeFromCRL are not offered: no holds). */
export const REVOCATION_REASONS = [
  "unspecified",
  "keyCompromise",
  "cACompromise",
  "affiliationChanged",
  "superseded",
  "cessationOfOperation",
  "privilegeWithdrawn",
  "aACompromise",
] as const;
export type RevocationReason = (typeof REVOCATION_REASONS)[number];

export function isRevocationReason(v: unknown): v is RevocationReason {
  return typeof v === "string" && (REVOCATION_REASONS as readonly string[]).includes(v);
}

const REASON_CODES: Record<RevocationReason, x509.X509CrlReason> = {
  unspecified: x509.X509CrlReason.unspecified,
  keyCompromise: x509.X509CrlReason.keyCompromise,
  cACompromise: x509.X509CrlReason.cACompromise,
  affiliationChanged: x509.X509CrlReason.affiliationChanged,
  superseded: x509.X509CrlReason.superseded,
  cessationOfOperation: x509.X509CrlReason.cessationOfOperation,
  privilegeWithdrawn: x509.X509CrlReason.privilegeWithdrawn,
  aACompromise: x509.X509CrlReason.aACompromise,
};

const OID_CRL_NUMBER = "2.5.29.20";

export interface RevokedEntry {
  /** Hex serial as stored with the certificate. */
  serialHex: string;
  revokedAt: Date;
  reason: RevocationReason;
}

export interface CreateCrlOptions {
  ca: { certificate: x509.X509Certificate; privateKey: KeyObject };
  /** Monotonically increasing CRL number (RFC 5280 5.2.3), at least 1. */
  crlNumber: number;
  thisUpdate: Date;
  nextUpdate: Date;
  revoked: RevokedEntry[];
}

export interface SignedCrl {
  der: Buffer;
  pem: string;
}

/** Whole seconds: CRL times have no fractions. */
function second(d: Date): Date {
  return new Date(Math.floor(d.getTime() / 1000) * 1000);
}

export async function createCrl(opts: CreateCrlOptions): Promise<SignedCrl> {
  const { ca, crlNumber } = opts;
  if (!Number.isSafeInteger(crlNumber) || crlNumber < 1) throw new AppError("bad_request", "The CRL number must be a positive whole number");
  if (opts.nextUpdate.getTime() <= opts.thisUpdate.getTime()) throw new AppError("bad_request", "The CRL's nextUpdate must be after its thisUpdate");
  if (!keyMatchesCertificate(ca.privateKey, ca.certificate)) throw new AppError("key_mismatch", "The CA private key does not match the CA certificate");
  for (const r of opts.revoked) {
    if (!isRevocationReason(r.reason)) throw new AppError("bad_request", `Unknown revocation reason "${String(r.reason)}"`);
  }

  const caDer = toBuffer(ca.certificate.rawData);
  const signing = await importSigningKey(ca.privateKey);
  const crl = await x509.X509CrlGenerator.create({
    // The CA's subject byte for byte, so the CRL's issuer matches the certificates' issuer exactly.
    issuer: new x509.Name(new Uint8Array(certificateSubjectDer(caDer))),
    thisUpdate: second(opts.thisUpdate),
    nextUpdate: second(opts.nextUpdate),
    signingKey: signing.privateKey,
    signingAlgorithm: signing.signingAlgorithm,
    extensions: [
      new x509.AuthorityKeyIdentifierExtension(caKeyIdentifier(ca.certificate), false),
      new x509.Extension(OID_CRL_NUMBER, false, new Uint8Array(new Integer({ value: crlNumber }).toBER())),
    ],
    entries: opts.revoked.map((r) => ({
      serialNumber: r.serialHex,
      revocationDate: second(r.revokedAt),
      // The generator omits the reasonCode extension for unspecified (0), as RFC 5280 5.3.1 advises.
      reason: REASON_CODES[r.reason],
    })),
  });
  const der = withoutEmptyEntryExtensions(toBuffer(crl.rawData), ca.privateKey);
  if (!(await new x509.X509Crl(new Uint8Array(der)).verify({ publicKey: ca.certificate.publicKey }))) {
    throw new AppError("internal_error", "The new CRL's signature does not verify with the CA certificate");
  }
  return { der, pem: derToPem(der, "X509 CRL") };
}



/** Digest of each signature algorithm the CRL generator writes (RSA PKCS#1 v1.5, ECDSA, Ed25519). */
const SIGNATURE_DIGESTS: Record<string, string | null> = {
  "1.2.840.113549.1.1.11": "sha256",
  "1.2.840.113549.1.1.12": "sha384",
  "1.2.840.113549.1.1.13": "sha512",
  "1.2.840.10045.4.3.2": "sha256",
  "1.2.840.10045.4.3.3": "sha384",
  "1.2.840.10045.4.3.4": "sha512",
  "1.3.101.112": null,
};

/**
 * The generator gives an entry without a reason code an empty crlEntryExtensions list,
 * which RFC 5280 (5.1.2.6) does not allow: the field must then be absent. Drops such
 * empty lists and signs the CRL again with the same algorithm; a CRL without entries is
 * returned as it is.
 */
function withoutEmptyEntryExtensions(der: Buffer, privateKey: KeyObject): Buffer {
  const list = AsnConvert.parse(der, CertificateList);
  const entries = list.tbsCertList.revokedCertificates ?? [];
  // The parser reads an empty list as absent, so serializing the parsed CRL leaves it out.
  if (entries.length === 0) return der;
  for (const e of entries) if (e.crlEntryExtensions?.length === 0) e.crlEntryExtensions = undefined;
  const tbs = Buffer.from(AsnConvert.serialize(list.tbsCertList));
  const oid = list.signatureAlgorithm.algorithm;
  if (!(oid in SIGNATURE_DIGESTS)) throw new AppError("internal_error", `Unexpected CRL signature algorithm ${oid}`);
  const digest = SIGNATURE_DIGESTS[oid]!;
  const signature = sign(digest, tbs, privateKey.asymmetricKeyType === "ec" ? { key: privateKey, dsaEncoding: "der" } : privateKey);
  list.signature = new Uint8Array(signature).buffer;
  return Buffer.from(AsnConvert.serialize(list));
}
