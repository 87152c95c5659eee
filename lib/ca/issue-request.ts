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
import { issueLintedCertificate } from "../pki/preview.ts";
import type { Finding } from "../pki/lint.ts";
import { isUsage, USAGES, type Usage } from "../pki/profiles.ts";
import { describeCertificate } from "../pki/certificates.ts";
import { enqueueMail, deliverMail } from "../mail/outbox.ts";
import { certificateIssuedEmail } from "../mail/templates/certificate-issued.ts";
import { ensureOcspSigner } from "./ocsp-responder.ts";
import { signCrlIfDue } from "./crl-signing.ts";
import { portalBase, requireCaServer, smtpOf, unlockCa, type CaServerRow } from "./server-context.ts";
import { serverFilePaths, srlText } from "./server-files.ts";
import { extensionUrls } from "./extension-urls.ts";
import { appendAudit } from "../audit/audit-log.ts";
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
  /** What the pre-issuance lint found worth a look that did not stop the issuance. */
  lintWarnings: Finding[];
}

function validate(input: IssueInput): { usage: Usage; password: string; channel: VerificationChannel; note: string | null } {
  const errors: FieldErrors = {};
  if (!isUsage(input.usage)) errors.usage = `Choose the certificate usage: ${USAGES.map((u) => u.id).join(", ")}`;
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
  await pendingRequest(id);
  const ca = await requireCaServer(db);
  const unlocked = await unlockCa(ca, v.password);
  await afterUnlock(unlocked, { actor: opts.actor, now: opts.now ?? new Date() });
  return issueWithUnlockedCa(id, v, ca, unlocked, opts);
}

/** The issuance input, checked: what `issueWithUnlockedCa` takes. */
export type ValidIssueInput = ReturnType<typeof validate>;
export { validate as validateIssueInput };

async function pendingRequest(id: string) {
  const request = await (await getDb()).certificateRequest.findUnique({ where: { id } });
  if (!request) throw new AppError("not_found", "No such request");
  if (request.status !== "pending") throw new AppError("conflict", `This request was already ${request.status}${request.certificateNumber ? ` (certificate number ${request.certificateNumber})` : ""}; nothing was changed`);
  return request;
}

/** What is due whenever the password was typed: the OCSP responder's certificate and the CRL. */
export async function afterUnlock(unlocked: UnlockedCa, opts: { actor: string; now: Date }): Promise<void> {
  // The password is typed: the moment to (re)issue the OCSP responder's certificate when due.
  await ensureOcspSigner(unlocked);
  // Likewise the CRL, when there is none yet or it is ageing.
  await signCrlIfDue(unlocked.privateKey, { now: opts.now, actor: opts.actor });
}

export type UnlockedCa = Awaited<ReturnType<typeof unlockCa>>;

/**
 * Issues request `id` with a CA key already unlocked by the caller (one password entry for
 * a batch). Lint before issuance, the claim of the request and the number allocation are
 * the same as for a single issuance.
 */
export async function issueWithUnlockedCa(id: string, v: ValidIssueInput, ca: CaServerRow, unlocked: UnlockedCa, opts: { actor: string; portalUrl?: string; now?: Date; mirror?: boolean }): Promise<IssueResult> {
  const db = await getDb();
  const request = await pendingRequest(id);
  const now = opts.now ?? new Date();
  const csr = await parseCsr(request.csrPem);
  // Linted before the CA key signs: lint errors refuse the issuance here, before anything is stored.
  const issued = await issueLintedCertificate({ csr, usage: v.usage, ca: unlocked, validityDays: ca.issuedValidityDays, now, ...extensionUrls(ca.fileNameRoot, opts.portalUrl) });
  const issuer = describeCertificate(unlocked.certificate).subject;
  const base = portalBase(env().PORTCULLIS_PUBLIC_URL ?? opts.portalUrl);

  let mailId: string | null = null;
  const number = await db.$transaction(async (tx) => {
    // Claim the request first: a second administrator (or a double click) finds it taken.
    const claimed = await tx.certificateRequest.updateMany({ where: { id, status: "pending" }, data: { status: "issued", pendingKey: null, processedAt: now, processedBy: opts.actor } });
    if (claimed.count !== 1) throw new AppError("conflict", "This request was processed meanwhile by another administrator; nothing was changed");
    // An atomic increment: concurrent issuances (other instances too) wait for the row lock
    // and take the next number; a rollback gives the number back, so none is skipped.
    const server = await tx.caServer.update({ where: { id: 1 }, data: { nextNumber: { increment: 1 } } }).catch((e: unknown) => {
      if ((e as { code?: string }).code === "P2025") throw new AppError("not_configured", "This instance is not configured as a Certificate Authority server");
      throw e;
    });
    const n = server.nextNumber - 1;
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
    await appendAudit(tx, {
      action: "certificate.issue",
      actor: opts.actor,
      target: `certificate:${n}`,
      details: {
        request: id,
        usage: v.usage,
        subject: csr.subject,
        serial: issued.serial,
        csrSha1: request.sha1Fingerprint,
        fingerprintVerified: true,
        verificationChannel: v.channel,
        ...(v.note ? { verificationNote: v.note } : {}),
        contact: request.contactName,
        ...(request.renewalOf ? { renewalOf: request.renewalOf } : {}),
      },
      at: now,
    });
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
    // Issuances queue on the CA row's lock (one number at a time); under load, with several
    // instances, the wait can pass Prisma's 2 s / 5 s defaults without anything being wrong.
  }, { maxWait: 10_000, timeout: 30_000 });

  if (opts.mirror !== false) await mirrorSrl(ca.directory, ca.fileNameRoot);
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
    lintWarnings: issued.lintWarnings,
  };
}

/** At start: a process killed between an issuance's commit and its SRL update left the mirror behind. */
export async function mirrorSrlAtStart(): Promise<void> {
  const c = await (await getDb()).caServer.findUnique({ where: { id: 1 }, select: { directory: true, fileNameRoot: true } });
  if (c) await mirrorSrl(c.directory, c.fileNameRoot);
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
