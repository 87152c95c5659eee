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
import { getDb, sqliteConnection } from "../db/index.ts";
import { Prisma } from "../db/generated/sqlite/client.ts";
import { dateParameter, insertMany } from "../db/insert-many.ts";
import { getOne, runEach } from "../db/sqlite-direct.ts";
import { AppError, type FieldErrors } from "../errors/app-error.ts";
import { env } from "../env.ts";
import type { CheckedCertificate } from "../pki/preview.ts";
import { signItem, type SignSettings } from "../pki/worker/jobs.ts";
import type { Finding } from "../pki/lint.ts";
import { isUsage, USAGES, type Usage } from "../pki/profiles.ts";
import { describeCertificate } from "../pki/certificates.ts";
import { enqueueMail, deliverMail } from "../mail/outbox.ts";
import { certificateIssuedEmail } from "../mail/templates/certificate-issued.ts";
import { certificatesIssuedEmail } from "../mail/templates/certificates-issued.ts";
import { ensureOcspSigner } from "./ocsp-responder.ts";
import { crlDue, signCrlIfDue } from "./crl-signing.ts";
import { portalBase, requireCaServer, smtpOf, unlockCa, type CaServerRow } from "./server-context.ts";
import { serverFilePaths, srlText } from "./server-files.ts";
import { extensionUrls } from "./extension-urls.ts";
import { appendAuditMany } from "../audit/audit-log.ts";
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
  const request = await pendingRequest(id);
  const ca = await requireCaServer(db);
  const unlocked = await unlockCa(ca, v.password);
  await afterUnlock(unlocked, { actor: opts.actor, now: opts.now ?? new Date(), row: ca });
  return issueWithUnlockedCa(id, v, ca, unlocked, { ...opts, request });
}

/** The issuance input, checked: what `issueWithUnlockedCa` takes. */
export type ValidIssueInput = ReturnType<typeof validate>;
export { validate as validateIssueInput };

/** What issuance reads of a request (a fleet's chunk reads 250 at once: no more than this). */
export const ISSUED_REQUEST_FIELDS = {
  id: true,
  status: true,
  certificateNumber: true,
  csrPem: true,
  commonName: true,
  sha1Fingerprint: true,
  sha256Fingerprint: true,
  subject: true,
  hostname: true,
  instance: true,
  filename: true,
  contactName: true,
  contactEmail: true,
  renewalOf: true,
} as const;

async function pendingRequest(id: string) {
  const request = await (await getDb()).certificateRequest.findUnique({ where: { id }, select: ISSUED_REQUEST_FIELDS });
  if (!request) throw new AppError("not_found", "No such request");
  if (request.status !== "pending") throw new AppError("conflict", `This request was already ${request.status}${request.certificateNumber ? ` (certificate number ${request.certificateNumber})` : ""}; nothing was changed`);
  return request;
}

/** What is due whenever the password was typed: the OCSP responder's certificate and the CRL. */
export async function afterUnlock(unlocked: UnlockedCa, opts: { actor: string; now: Date; row?: CaServerRow }): Promise<void> {
  const row =
    opts.row ??
    (await (await getDb()).caServer.findUnique({
      where: { id: 1 },
      select: { ocspCertificatePem: true, ocspKeyEnc: true, ocspNotAfter: true, crlPem: true, crlThisUpdate: true, crlNextUpdate: true },
    }));
  if (!row) return;
  // The password is typed: the moment to (re)issue the OCSP responder's certificate when due.
  await ensureOcspSigner(unlocked, { now: opts.now, row });
  // Likewise the CRL, when there is none yet or it is ageing.
  if (crlDue(row, opts.now)) await signCrlIfDue(unlocked.privateKey, { now: opts.now, actor: opts.actor });
}

export type UnlockedCa = Awaited<ReturnType<typeof unlockCa>>;

type RequestRow = Awaited<ReturnType<typeof pendingRequest>>;

/** A request and the certificate made for it, linted and signed, not yet stored. */
export interface SignedForRequest {
  request: RequestRow;
  issued: CheckedCertificate;
}

/**
 * Issues request `id` with a CA key already unlocked by the caller (one password entry for
 * a batch). Lint before issuance, the claim of the request and the number allocation are
 * the same as for a single issuance.
 */
export async function issueWithUnlockedCa(
  id: string,
  v: ValidIssueInput,
  ca: CaServerRow,
  unlocked: UnlockedCa,
  opts: { actor: string; portalUrl?: string; now?: Date; mirror?: boolean; /** The pending row, when the caller just read it. */ request?: RequestRow },
): Promise<IssueResult> {
  const request = opts.request?.id === id ? opts.request : await pendingRequest(id);
  const now = opts.now ?? new Date();
  const signed = await signForRequest(request, v, ca, unlocked, { now, portalUrl: opts.portalUrl });
  const [stored] = await storeIssued([signed], v, unlocked, { actor: opts.actor, portalUrl: opts.portalUrl, now });
  if (opts.mirror !== false) await mirrorSrl(ca.directory, ca.fileNameRoot);
  let emailSentTo: string | null = null;
  if (stored.mailId) {
    const r = await deliverMail(stored.mailId).catch(() => ({ status: "pending" as const }));
    if (r.status === "sent") emailSentTo = request.contactEmail;
  }
  const { issued } = signed;
  return {
    number: stored.number,
    serial: issued.serial,
    pem: issued.pem,
    filename: request.filename,
    subject: request.subject,
    notBefore: issued.notBefore.toISOString(),
    notAfter: issued.notAfter.toISOString(),
    sha1Fingerprint: issued.sha1Fingerprint,
    sha256Fingerprint: issued.sha256Fingerprint,
    usage: v.usage,
    emailSentTo,
    message: `Certificate number ${stored.number} issued for Certificate Signing Request "${request.filename}"`,
    lintWarnings: issued.lintWarnings,
  };
}

/** The settings every certificate of an issuance shares: the usage, validity, time and the CA's URLs. */
export function signSettings(v: ValidIssueInput, ca: CaServerRow, opts: { now: Date; portalUrl?: string }): SignSettings {
  return { usage: v.usage, validityDays: ca.issuedValidityDays, now: opts.now, ...extensionUrls(ca.fileNameRoot, opts.portalUrl) };
}

/**
 * The certificate for a pending request, built, linted and signed (nothing stored). The
 * CSR was checked in full when it was submitted; here it is read again with the lean
 * reader, its signature checked once more, and the stored common name used.
 */
export async function signForRequest(request: RequestRow, v: ValidIssueInput, ca: CaServerRow, unlocked: UnlockedCa, opts: { now: Date; portalUrl?: string }): Promise<SignedForRequest> {
  return { request, issued: await signItem(request, signSettings(v, ca, opts), unlocked) };
}

const issuerNames = new WeakMap<UnlockedCa["certificate"], string>();

function issuerName(certificate: UnlockedCa["certificate"]): string {
  let name = issuerNames.get(certificate);
  if (name === undefined) issuerNames.set(certificate, (name = describeCertificate(certificate).subject));
  return name;
}

/** The CA row's counter and mail settings: what storing certificates reads back (not its PEMs, keys and CRL). */
const NUMBER_AND_SMTP = { nextNumber: true, smtpHost: true, smtpPort: true, smtpSecure: true, smtpUsername: true, smtpPasswordEnc: true, smtpFrom: true } as const;

/**
 * Stores signed certificates in one transaction: every request is claimed (all still
 * pending, or nothing is stored: conflict), the numbers are taken with one atomic increment
 * (concurrent issuances, on other instances too, wait for the CA row's lock; a rollback
 * gives them back, so none is skipped), and the certificates, their audit entries and the
 * contacts' mails are written with them.
 */
export async function storeIssued(batch: SignedForRequest[], v: ValidIssueInput, unlocked: UnlockedCa, opts: { actor: string; portalUrl?: string; now: Date }): Promise<{ id: string; number: number; mailId: string | null }[]> {
  const db = await getDb();
  const { now, actor } = opts;
  const issuer = issuerName(unlocked.certificate);
  const base = portalBase(env().PORTCULLIS_PUBLIC_URL ?? opts.portalUrl);
  const ids = batch.map((b) => b.request.id);
  // SQLite: the per-request writes go straight to its connection (lib/db/sqlite-direct.ts).
  const direct = sqliteConnection();
  return db.$transaction(
    async (tx) => {
      // Claim the requests first: a second administrator (or a double click) finds them taken.
      const claimed = direct
        ? runEach(direct, `UPDATE "CertificateRequest" SET "status" = 'issued', "pendingKey" = NULL, "processedAt" = ?, "processedBy" = ? WHERE "id" = ? AND "status" = 'pending'`, ids.map((id) => [dateParameter(now) as string, actor, id]))
        : (await tx.certificateRequest.updateMany({ where: { id: { in: ids }, status: "pending" }, data: { status: "issued", pendingKey: null, processedAt: now, processedBy: actor } })).count;
      if (claimed !== ids.length) {
        throw new AppError("conflict", ids.length === 1 ? "This request was processed meanwhile by another administrator; nothing was changed" : "Some of these requests were processed meanwhile; nothing was changed");
      }
      const server = await tx.caServer.update({ where: { id: 1 }, data: { nextNumber: { increment: batch.length } }, select: NUMBER_AND_SMTP }).catch((e: unknown) => {
        if ((e as { code?: string }).code === "P2025") throw new AppError("not_configured", "This instance is not configured as a Certificate Authority server");
        throw e;
      });
      const first = server.nextNumber - batch.length;
      const rows = batch.map(({ request, issued }, i) => ({
        number: first + i,
        serial: issued.serial,
        requestId: request.id,
        subject: request.subject,
        issuer,
        usage: v.usage,
        hostname: request.hostname,
        instance: request.instance,
        filename: request.filename,
        commonName: request.commonName,
        notBefore: issued.notBefore,
        notAfter: issued.notAfter,
        sha1Fingerprint: issued.sha1Fingerprint,
        sha256Fingerprint: issued.sha256Fingerprint,
        pem: issued.pem,
        status: "valid",
        contactName: request.contactName,
        contactEmail: request.contactEmail,
        issuedAt: now,
        issuedBy: actor,
        verifiedBy: actor,
        verifiedAt: now,
        verifiedChannel: v.channel,
        verifiedNote: v.note,
      }));
      await insertMany(tx, "Certificate", rows);
      if (direct) runEach(direct, `UPDATE "CertificateRequest" SET "certificateNumber" = ? WHERE "id" = ?`, rows.map((r) => [r.number, r.requestId]));
      else if (rows.length === 1) await tx.certificateRequest.update({ where: { id: rows[0].requestId }, data: { certificateNumber: rows[0].number } });
      else {
        // One statement for the chunk (an update per request costs a query compilation each).
        const cases = Prisma.join(rows.map((r) => Prisma.sql`WHEN ${r.requestId} THEN CAST(${r.number} AS INTEGER)`), " ");
        await tx.$executeRaw`UPDATE "CertificateRequest" SET "certificateNumber" = CASE "id" ${cases} END WHERE "id" IN (${Prisma.join(rows.map((r) => r.requestId))})`;
      }
      await appendAuditMany(
        tx,
        batch.map(({ request, issued }, i) => ({
          action: "certificate.issue",
          actor,
          target: `certificate:${first + i}`,
          details: {
            request: request.id,
            usage: v.usage,
            subject: request.subject,
            serial: issued.serial,
            csrSha1: request.sha1Fingerprint,
            fingerprintVerified: true,
            verificationChannel: v.channel,
            ...(v.note ? { verificationNote: v.note } : {}),
            contact: request.contactName,
            ...(request.renewalOf ? { renewalOf: request.renewalOf } : {}),
          },
          at: now,
        })),
      );
      const smtp = smtpOf(server);
      const out: { id: string; number: number; mailId: string | null }[] = batch.map(({ request }, i) => ({ id: request.id, number: first + i, mailId: null }));
      if (smtp) {
        // One mail per contact: a contact with several certificates in the chunk (a fleet) gets one list.
        const byContact = new Map<string, number[]>();
        batch.forEach(({ request }, i) => {
          if (!request.contactEmail) return;
          const indexes = byContact.get(request.contactEmail);
          if (indexes) indexes.push(i);
          else byContact.set(request.contactEmail, [i]);
        });
        for (const [to, indexes] of byContact) {
          const item = (i: number) => ({ number: first + i, filename: batch[i]!.request.filename, subject: batch[i]!.request.subject, serial: batch[i]!.issued.serial, notAfter: batch[i]!.issued.notAfter, sha1Fingerprint: batch[i]!.issued.sha1Fingerprint });
          const mail =
            indexes.length === 1
              ? certificateIssuedEmail({ ...item(indexes[0]!), downloadUrl: base ? `${base}/api/v1/certificates/${first + indexes[0]!}?format=pem` : undefined, pageUrl: base ? `${base}/certificates?number=${first + indexes[0]!}` : undefined })
              : certificatesIssuedEmail({ certificates: indexes.map(item), downloadBase: base, pageUrl: base ? `${base}/certificates` : undefined });
          const mailId = await enqueueMail(tx, { kind: "certificate-issued", to, ...mail, smtp });
          // The mail goes out once; every certificate it lists was mailed to the contact.
          out[indexes[0]!]!.mailId = mailId;
        }
      }
      return out;
    },
    // Issuances queue on the CA row's lock (one batch of numbers at a time); under load, with
    // several instances, the wait can pass Prisma's 2 s / 5 s defaults without anything being wrong.
    { maxWait: 10_000, timeout: 30_000 },
  );
}

/** At start: a process killed between an issuance's commit and its SRL update left the mirror behind. */
export async function mirrorSrlAtStart(): Promise<void> {
  const c = await (await getDb()).caServer.findUnique({ where: { id: 1 }, select: { directory: true, fileNameRoot: true } });
  if (c) await mirrorSrl(c.directory, c.fileNameRoot);
}

/** Per SRL file: the writes, one after the other, and the next one not yet started. */
const srlWrites = new Map<string, { tail: Promise<void>; waiting: Promise<void> | null }>();

/**
 * Writes `<root>.srl` from the database's counter (the truth), atomically. A failure
 * here does not undo the issuance; the next issuance rewrites the mirror. The writes of
 * one file run one at a time, each reading the counter when it starts; callers that
 * arrive while one waits to start share it (it reads the counter after their commits),
 * so concurrent issuances write the file a few times rather than once each, and the last
 * write is never an older count.
 */
export function mirrorSrl(directory: string, root: string): Promise<void> {
  const { srl } = serverFilePaths(directory, root);
  let writes = srlWrites.get(srl);
  if (!writes) srlWrites.set(srl, (writes = { tail: Promise.resolve(), waiting: null }));
  if (writes.waiting) return writes.waiting;
  const w = writes;
  const next = w.tail.then(() => {
    w.waiting = null;
    return writeSrl(srl);
  });
  w.waiting = next;
  // A write that failed (the database away) does not stop the ones after it.
  w.tail = next.catch(() => undefined);
  return next;
}

async function writeSrl(srl: string): Promise<void> {
  const direct = sqliteConnection();
  const row = direct ? getOne(direct, `SELECT "nextNumber" FROM "CaServer" WHERE "id" = 1`, []) : await (await getDb()).caServer.findUnique({ where: { id: 1 }, select: { nextNumber: true } });
  if (!row) return;
  const c = { nextNumber: Number(row.nextNumber) };
  const tmp = join(srl, "..", `.${randomBytes(6).toString("hex")}.srl.tmp`);
  try {
    await fs.writeFile(tmp, srlText(c.nextNumber), { mode: 0o600 });
    await fs.rename(tmp, srl);
  } catch (e) {
    await fs.rm(tmp, { force: true }).catch(() => undefined);
    console.error(`Portcullis: could not update ${srl}: ${(e as Error).message}`);
  }
}
