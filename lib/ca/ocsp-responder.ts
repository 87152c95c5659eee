/**
 * The OCSP responder (RFC 6960) of this CA. It signs with a delegated OCSP-signing
 * certificate that the CA issues whenever an administrator unlocks the CA key (issuing,
 * revoking) and the current one is missing or ends within two days; that responder key
 * is sealed with the server secret, so answers need no administrator.
 */
import { createPrivateKey, type KeyObject } from "node:crypto";
import { getDb } from "../db/index.ts";
import { open, seal } from "../crypto/secret-box.ts";
import { toBuffer } from "../pki/bytes.ts";
import { parseCertificate } from "../pki/certificates.ts";
import { isRevocationReason } from "../pki/crl.ts";
import {
  buildOcspResponse,
  ocspErrorResponse,
  ocspHash,
  OcspMalformedError,
  parseOcspRequest,
  subjectPublicKeyBits,
  type OcspAnswer,
  type OcspCertId,
} from "../pki/ocsp.ts";
import { issueOcspSigner } from "../pki/ocsp-signer.ts";
import { certificateSubjectDer } from "../pki/issue.ts";
import type { x509 } from "../pki/setup.ts";

const DAY_MS = 24 * 60 * 60 * 1000;
/** A new responder certificate is issued when the current one ends within this time. */
export const OCSP_SIGNER_RENEW_BEFORE_MS = 2 * DAY_MS;
export const OCSP_KEY_CONTEXT = "ocsp-responder-key";

export interface UnlockedCa {
  certificate: x509.X509Certificate;
  privateKey: KeyObject;
}

type SignerRow = { ocspCertificatePem: string | null; ocspKeyEnc: string | null; ocspNotAfter: Date | null };
/** The responder certificate last found signed by a CA certificate: checked once, not at every issuance. */
const signerVerified = new WeakMap<UnlockedCa["certificate"], string>();

/**
 * Issues and stores a new OCSP responder certificate and sealed key when there is none,
 * when it ends within two days, or when it was issued by another CA certificate. Returns
 * true when a new one was stored.
 */
export async function ensureOcspSigner(ca: UnlockedCa, opts: { now?: Date; row?: SignerRow } = {}): Promise<boolean> {
  const now = opts.now ?? new Date();
  const db = await getDb();
  const row = opts.row ?? (await db.caServer.findUnique({ where: { id: 1 }, select: { ocspCertificatePem: true, ocspKeyEnc: true, ocspNotAfter: true } }));
  if (!row) return false;
  if (row.ocspCertificatePem && row.ocspKeyEnc && row.ocspNotAfter && row.ocspNotAfter.getTime() - now.getTime() > OCSP_SIGNER_RENEW_BEFORE_MS) {
    if (signerVerified.get(ca.certificate) === row.ocspCertificatePem) return false;
    const current = parseCertificate(row.ocspCertificatePem);
    if (await current.verify({ publicKey: ca.certificate.publicKey, signatureOnly: true }).catch(() => false)) {
      signerVerified.set(ca.certificate, row.ocspCertificatePem);
      return false;
    }
  }
  const signer = await issueOcspSigner({ ca, now });
  const keyPem = signer.privateKey.export({ format: "pem", type: "pkcs8" }).toString();
  await db.caServer.update({
    where: { id: 1 },
    data: { ocspCertificatePem: signer.pem, ocspKeyEnc: seal(keyPem, OCSP_KEY_CONTEXT), ocspNotAfter: signer.notAfter },
  });
  return true;
}


function issuedByUs(id: OcspCertId, caSubject: Buffer, caKeyBits: Buffer): boolean {
  return ocspHash(id.hashAlgorithm, caSubject).equals(id.issuerNameHash) && ocspHash(id.hashAlgorithm, caKeyBits).equals(id.issuerKeyHash);
}

/**
 * The DER OCSPResponse for a DER OCSPRequest. Never throws: garbage is malformedRequest,
 * a CertID naming another issuer (or an instance that is no CA) is unauthorized, no
 * usable responder certificate yet is tryLater (it appears when an administrator next
 * types the CA key password), and any other failure is internalError.
 */
export async function answerOcsp(der: Uint8Array, opts: { now?: Date } = {}): Promise<Buffer> {
  const now = opts.now ?? new Date();
  let request;
  try {
    request = parseOcspRequest(der);
  } catch (e) {
    if (e instanceof OcspMalformedError) return ocspErrorResponse("malformedRequest");
    return ocspErrorResponse("internalError");
  }
  try {
    const db = await getDb();
    const ca = await db.caServer.findUnique({ where: { id: 1 } });
    if (!ca) return ocspErrorResponse("unauthorized");
    const caCert = parseCertificate(ca.certificatePem);
    const caSubject = certificateSubjectDer(toBuffer(caCert.rawData));
    const caKeyBits = subjectPublicKeyBits(toBuffer(caCert.publicKey.rawData));
    // RFC 6960 2.3: "unauthorized" when the responder is not authoritative for a certificate.
    if (!request.certIds.every((id) => issuedByUs(id, caSubject, caKeyBits))) return ocspErrorResponse("unauthorized");
    if (!ca.ocspCertificatePem || !ca.ocspKeyEnc || !ca.ocspNotAfter || ca.ocspNotAfter.getTime() <= now.getTime()) {
      return ocspErrorResponse("tryLater");
    }
    const responder = { certificate: parseCertificate(ca.ocspCertificatePem), privateKey: createPrivateKey(open(ca.ocspKeyEnc, OCSP_KEY_CONTEXT)) };
    const serials = [...new Set(request.certIds.map((id) => id.serial))];
    const rows = await db.certificate.findMany({
      where: { serial: { in: serials } },
      select: { serial: true, status: true, revokedAt: true, revocationReason: true, issuedAt: true },
    });
    const bySerial = new Map(rows.map((r) => [r.serial.toUpperCase(), r]));
    const answers: OcspAnswer[] = request.certIds.map((certId) => {
      const r = bySerial.get(certId.serial);
      if (!r) return { certId, certStatus: { status: "unknown" } };
      if (r.status === "revoked") {
        const reason = isRevocationReason(r.revocationReason) && r.revocationReason !== "unspecified" ? r.revocationReason : null;
        return { certId, certStatus: { status: "revoked", revokedAt: r.revokedAt ?? r.issuedAt, reason } };
      }
      return { certId, certStatus: { status: "good" } };
    });
    return buildOcspResponse({ responder, answers, nonceExtension: request.nonceExtension, now });
  } catch (e) {
    console.error("OCSP responder failed:", e instanceof Error ? e.stack : e);
    return ocspErrorResponse("internalError");
  }
}

/** Largest OCSP request accepted, by POST body or decoded GET path. */
export const MAX_OCSP_REQUEST_BYTES = 16 * 1024;

/** An OCSPResponse as HTTP (RFC 6960 appendix A): always 200 unless `status` says otherwise. */
export function ocspHttpResponse(der: Buffer, status = 200): Response {
  return new Response(new Uint8Array(der), {
    status,
    headers: { "Content-Type": "application/ocsp-response", "Content-Length": String(der.length), "Cache-Control": "no-cache" },
  });
}
