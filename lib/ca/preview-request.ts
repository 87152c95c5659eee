/**
 * What issuing a pending request would produce for a usage, before anyone types the CA
 * key password: the CSR's contents beside the certificate's, and the lint findings that
 * would stop or accompany the issuance. Nothing is signed with the CA key and nothing
 * is stored.
 */
import { getDb } from "../db/index.ts";
import { AppError, isAppError } from "../errors/app-error.ts";
import { parseCertificate } from "../pki/certificates.ts";
import { parseCsr, sanToString } from "../pki/csr.ts";
import type { LintResult } from "../pki/lint.ts";
import { describeCertificateContents, previewCertificate, type CertificateContents } from "../pki/preview.ts";
import { isUsage, USAGES, usageLabel, type Usage } from "../pki/profiles.ts";
import { extensionUrls } from "./extension-urls.ts";
import { requireCaServer } from "./server-context.ts";

export interface RequestPreview {
  requestId: string;
  usage: Usage;
  usageLabel: string;
  /** What the CSR asks for. */
  requested: {
    subject: string;
    publicKey: string;
    subjectAltNames: string[];
    /** Extensions other than subjectAltName: shown, never copied. */
    otherExtensions: { oid: string; name: string; critical: boolean }[];
    signatureAlgorithm: string;
  };
  /** What the certificate will say; null when the usage refuses the request (the reason is among lint.errors). */
  issued: CertificateContents | null;
  /** Errors refuse the issuance; warnings are shown with it. */
  lint: LintResult;
}

/** Codes of issuance refusals that are about the request and the usage (shown as findings, not as a failed call). */
const REFUSALS = new Set(["validation_failed", "not_a_ca", "key_mismatch"]);

export async function previewRequest(id: string, usageInput: unknown, opts: { portalUrl?: string; now?: Date } = {}): Promise<RequestPreview> {
  if (!isUsage(usageInput)) {
    throw new AppError("validation_failed", `Choose the certificate usage: ${USAGES.map((u) => u.id).join(", ")}`, { field: "usage" });
  }
  const usage = usageInput;
  if (!/^[0-9a-f-]{36}$/i.test(id)) throw new AppError("not_found", "No such request");
  const db = await getDb();
  const request = await db.certificateRequest.findUnique({ where: { id } });
  if (!request) throw new AppError("not_found", "No such request");
  if (request.status !== "pending") throw new AppError("conflict", `This request was already ${request.status}: there is nothing to preview`);
  const ca = await requireCaServer(db);
  const caCertificate = parseCertificate(ca.certificatePem);
  const csr = await parseCsr(request.csrPem);

  const result: RequestPreview = {
    requestId: id,
    usage,
    usageLabel: usageLabel(usage),
    requested: {
      subject: csr.subject,
      publicKey: csr.publicKey.label,
      subjectAltNames: csr.sans.map(sanToString),
      otherExtensions: csr.requestedExtensions,
      signatureAlgorithm: csr.signatureAlgorithm,
    },
    issued: null,
    lint: { errors: [], warnings: [] },
  };
  try {
    const preview = await previewCertificate({
      csr,
      usage,
      caCertificate,
      validityDays: ca.issuedValidityDays,
      now: opts.now ?? new Date(),
      ...extensionUrls(ca.fileNameRoot, opts.portalUrl),
    });
    result.issued = describeCertificateContents(preview.certificate);
    result.lint = preview.lint;
  } catch (e) {
    if (!isAppError(e) || !REFUSALS.has(e.code)) throw e;
    result.lint = { errors: [{ code: "usage_refused", message: e.message }], warnings: [] };
  }
  return result;
}
