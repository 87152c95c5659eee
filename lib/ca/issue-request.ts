/**
 * Issue a certificate for a pending request, as the administrator does at Finish:
 * the fingerprint was verified with the contact, a usage is chosen, and the CA key's
 * password is typed. The certificate number is allocated in the same transaction that
 * stores the certificate and marks the request issued, so a request is issued once and
 * numbers are never reused; `<root>.srl` mirrors the counter afterwards.
 */
import { promises as fs } from "node:fs";
import { randomBytes } from "node:crypto";
import { join } from "node:path";
import { getDb } from "../db/index.ts";
import { AppError, type FieldErrors } from "../errors/app-error.ts";
import { env } from "../env.ts";
import { parseCsr } from "../pki/csr.ts";
import { issueCertificate } from "../pki/issue.ts";
import { isUsage, type Usage } from "../pki/profiles.ts";
import { describeCertificate } from "../pki/certificates.ts";
import { enqueueMail, deliverMail } from "../mail/outbox.ts";
import { certificateIssuedEmail } from "../mail/templates/certificate-issued.ts";
import { ensureOcspSigner } from "./ocsp-responder.ts";
import { portalBase, requireCaServer, smtpOf, unlockCa } from "./server-context.ts";
import { serverFilePaths, srlText } from "./server-files.ts";
import { extensionUrls } from "./extension-urls.ts";
import { bool, str } from "./validation.ts";

export const VERIFICATION_CHANNELS = ["phone", "in-person", "other"] as const;
export type VerificationChannel = (typeof VERIFICATION_CHANNELS)[number];

export interface IssueInput {
  usage?: unknown;
  caKeyPassword?: unknown;
  fingerprintVerified?: unknown;
  verificationChannel?: unknown;
  verificationNote?: unknown;
}

export interface IssueResult {
  number: number;
  serial: string;
  pem: string;
  filename: string;
  subject: string;
  notBefore: string;
  notAfter: string;
  sha1Fingerprint: string;
  sha256Fingerprint: string;
  usage: Usage;
  emailSentTo: string | null;
  /** IRIS's message: Certificate number N issued for Certificate Signing Request "<file name>" */
  message: string;
}

function validate(input: IssueInput): { usage: Usage; password: string; channel: VerificationChannel; note: string | null } {
  const errors: FieldErrors = {};
  if (!isUsage(input.usage)) errors.usage = "Choose the certificate usage: tls, intermediate-ca, code-signing, tls-client or iot-device";
  if (input.fingerprintVerified !== true && !(typeof input.fingerprintVerified === "string" && bool(input.fingerprintVerified))) {
    errors.fingerprintVerified = "Confirm that you verified the identity, authority and fingerprint with the technical contact";
  }
  const channelRaw = input.verificationChannel === undefined || input.verificationChannel === "" ? "other" : str(input.verificationChannel);
  if (!(VERIFICATION_CHANNELS as readonly string[]).includes(channelRaw)) errors.verificationChannel = "Choose phone, in-person or other";
  const note = str(input.verificationNote).trim();
  if (note.length > 500) errors.verificationNote = "Use at most 500 characters";
  const password = str(input.caKeyPassword);
  if (!password) errors.caKeyPassword = "Enter the password of the CA private key";
  if (Object.keys(errors).length) throw AppError.validation(errors);
  return { usage: input.usage as Usage, password, channel: channelRaw as VerificationChannel, note: note || null };
}

export async function issueRequest(id: string, input: IssueInput, opts: { actor: string; portalUrl?: string; now?: Date }): Promise<IssueResult> {
  const v = validate(input);
  const db = await getDb();
  const request = await db.certificateRequest.findUnique({ where: { id } });
  if (!request) throw new AppError("not_found", "No such request");
  if (request.status !== "pending") throw new AppError("conflict", `This request was already ${request.status}${request.certificateNumber ? ` (certificate number ${request.certificateNumber})` : ""}; nothing was changed`);
  const ca = await requireCaServer(db);
  const unlocked = await unlockCa(ca, v.password);
  // The password is typed: the moment to (re)issue the OCSP responder's certificate when due.
  await ensureOcspSigner(unlocked);
  const csr = await parseCsr(request.csrPem);
  const now = opts.now ?? new Date();
  const issued = await issueCertificate({ csr, usage: v.usage, ca: unlocked, validityDays: ca.issuedValidityDays, now, ...extensionUrls(ca.fileNameRoot, opts.portalUrl) });
  const issuer = describeCertificate(unlocked.certificate).subject;
  const base = portalBase(env().PORTCULLIS_PUBLIC_URL ?? opts.portalUrl);

  let mailId: string | null = null;
  const number = await db.$transaction(async (tx) => {
    // Claim the request first: a second administrator (or a double click) finds it taken.
    const claimed = await tx.certificateRequest.updateMany({ where: { id, status: "pending" }, data: { status: "issued", pendingKey: null, processedAt: now, processedBy: opts.actor } });
    if (claimed.count !== 1) throw new AppError("conflict", "This request was processed meanwhile by another administrator; nothing was changed");
    const server = await requireCaServer(tx);
    const n = server.nextNumber;
    const bumped = await tx.caServer.updateMany({ where: { id: 1, nextNumber: n }, data: { nextNumber: n + 1 } });
    if (bumped.count !== 1) throw new AppError("conflict", "Another certificate was issued at the same moment; try again");
    await tx.certificate.create({
      data: {
        number: n,
        serial: issued.serial,
        requestId: id,
        subject: csr.subject,
        issuer,
        usage: v.usage,
        hostname: request.hostname,
        instance: request.instance,
        filename: request.filename,
        commonName: csr.commonName,
        notBefore: issued.notBefore,
        notAfter: issued.notAfter,
        sha1Fingerprint: issued.sha1Fingerprint,
        sha256Fingerprint: issued.sha256Fingerprint,
        pem: issued.pem,
        status: "valid",
        contactName: request.contactName,
        contactEmail: request.contactEmail,
        issuedAt: now,
        issuedBy: opts.actor,
        verifiedBy: opts.actor,
        verifiedAt: now,
        verifiedChannel: v.channel,
        verifiedNote: v.note,
      },
    });
    await tx.certificateRequest.update({ where: { id }, data: { certificateNumber: n } });
    const smtp = smtpOf(server);
    if (smtp && request.contactEmail) {
      const mail = certificateIssuedEmail({
        number: n,
        filename: request.filename,
        subject: csr.subject,
        serial: issued.serial,
        notAfter: issued.notAfter,
        sha1Fingerprint: issued.sha1Fingerprint,
        downloadUrl: base ? `${base}/api/v1/certificates/${n}?format=pem` : undefined,
        pageUrl: base ? `${base}/certificates?number=${n}` : undefined,
      });
      mailId = await enqueueMail(tx, { kind: "certificate-issued", to: request.contactEmail, ...mail, smtp });
    }
    return n;
  });

  await mirrorSrl(ca.directory, ca.fileNameRoot);
  let emailSentTo: string | null = null;
  if (mailId) {
    const r = await deliverMail(mailId).catch(() => ({ status: "pending" as const }));
    if (r.status === "sent") emailSentTo = request.contactEmail;
  }
  return {
    number,
    serial: issued.serial,
    pem: issued.pem,
    filename: request.filename,
    subject: csr.subject,
    notBefore: issued.notBefore.toISOString(),
    notAfter: issued.notAfter.toISOString(),
    sha1Fingerprint: issued.sha1Fingerprint,
    sha256Fingerprint: issued.sha256Fingerprint,
    usage: v.usage,
    emailSentTo,
    message: `Certificate number ${number} issued for Certificate Signing Request "${request.filename}"`,
  };
}

/**
 * Writes `<root>.srl` from the database's counter (the truth), atomically. A failure
 * here does not undo the issuance; the next issuance rewrites the mirror.
 */
export async function mirrorSrl(directory: string, root: string): Promise<void> {
  const db = await getDb();
  const c = await db.caServer.findUnique({ where: { id: 1 }, select: { nextNumber: true } });
  if (!c) return;
  const { srl } = serverFilePaths(directory, root);
  const tmp = join(srl, "..", `.${randomBytes(6).toString("hex")}.srl.tmp`);
  try {
    await fs.writeFile(tmp, srlText(c.nextNumber), { mode: 0o600 });
    await fs.rename(tmp, srl);
  } catch (e) {
    await fs.rm(tmp, { force: true }).catch(() => undefined);
    console.error(`Portcullis: could not update ${srl}: ${(e as Error).message}`);
  }
}
