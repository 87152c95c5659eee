/**
 * Expiry warnings: a scheduled job mails the technical contact and the CA administrator
 * when an issued certificate reaches a warning threshold (PORTCULLIS_EXPIRY_WARNING_DAYS,
 * default 60, 30 and 7 days before notAfter), once per threshold.
 *
 * "Once" is kept by the database, not by the scheduler: each mailed threshold is an
 * ExpiryWarning row keyed (certificate, threshold), inserted in the same transaction
 * that queues the mails. A run that finds the row already written by another instance
 * (a unique violation) rolls its mails back and moves on, so a restart, a second
 * instance or an overlapping manual run never mails a threshold twice.
 */
import { getDb, type Db } from "../db/index.ts";
import { env } from "../env.ts";
import { enqueueMail } from "../mail/outbox.ts";
import { certificateExpiringEmail } from "../mail/templates/certificate-expiring.ts";
import { startScheduledJob, type ScheduledJob } from "../jobs/scheduler.ts";
import { portalBase, smtpOf } from "./server-context.ts";
import { isUniqueViolation } from "../db/unique-violation.ts";

export const EXPIRY_WARNINGS_JOB = "expiry-warnings";

const DAY_MS = 86_400_000;
const BATCH = 100;

/** The configured thresholds in days, ascending, e.g. [7, 30, 60]. */
export function expiryWarningThresholds(): number[] {
  return [...env().PORTCULLIS_EXPIRY_WARNING_DAYS];
}

/** What one run did. */
export interface ExpiryWarningRun {
  /** Certificates inside the warning window that were looked at. */
  checked: number;
  /** Certificates a warning was mailed for in this run. */
  warned: number;
  /** E-mails queued. */
  mails: number;
  /** In the window but already renewed by a valid certificate: no warning. */
  renewed: number;
  /** Warnings another instance (or run) recorded first: skipped here. */
  raced: number;
  /** False when the CA server has no SMTP settings: nothing is mailed nor recorded. */
  mailEnabled: boolean;
}

/** A recorded threshold of one certificate. */
export interface SentWarning {
  thresholdDays: number;
  sentAt: Date;
  /**
   * False for a threshold recorded without its own mail: the certificate was first seen
   * past it, and the smaller threshold recorded at the same moment was mailed instead.
   */
  mailed: boolean;
}

type ReadDb = Pick<Db, "expiryWarning" | "certificateRequest" | "certificate">;

/** The warnings recorded for each of `numbers`, largest threshold first. */
export async function warningsFor(db: ReadDb, numbers: number[]): Promise<Map<number, SentWarning[]>> {
  const out = new Map<number, SentWarning[]>();
  if (!numbers.length) return out;
  const rows = await db.expiryWarning.findMany({
    where: { certificateNumber: { in: numbers } },
    orderBy: [{ certificateNumber: "asc" }, { thresholdDays: "desc" }],
  });
  for (const r of rows) {
    const list = out.get(r.certificateNumber) ?? [];
    list.push({ thresholdDays: r.thresholdDays, sentAt: r.sentAt, mailed: true });
    out.set(r.certificateNumber, list);
  }
  // One run records every due threshold with one sentAt and mails the smallest of them.
  for (const list of out.values()) {
    for (const w of list) w.mailed = !list.some((o) => o.sentAt.getTime() === w.sentAt.getTime() && o.thresholdDays < w.thresholdDays);
  }
  return out;
}

/**
 * For each of `numbers` that was renewed, the number of its newest renewal: a valid
 * (unrevoked) certificate issued for a request with renewalOf = that number. A revoked
 * renewal does not count: the original still needs replacing.
 */
export async function renewalsFor(db: ReadDb, numbers: number[]): Promise<Map<number, number>> {
  const out = new Map<number, number>();
  if (!numbers.length) return out;
  const requests = await db.certificateRequest.findMany({
    where: { renewalOf: { in: numbers }, status: "issued", certificateNumber: { not: null } },
    select: { renewalOf: true, certificateNumber: true },
  });
  if (!requests.length) return out;
  const valid = await db.certificate.findMany({
    where: { number: { in: requests.map((r) => r.certificateNumber!) }, status: "valid", revokedAt: null },
    select: { number: true },
  });
  const ok = new Set(valid.map((c) => c.number));
  for (const r of requests) {
    if (r.renewalOf === null || r.certificateNumber === null || !ok.has(r.certificateNumber)) continue;
    out.set(r.renewalOf, Math.max(out.get(r.renewalOf) ?? 0, r.certificateNumber));
  }
  return out;
}

/** An address enqueueMail accepts; anything else is left out rather than failing the warning. */
function mailable(address: string | null | undefined): string | null {
  const a = address?.trim();
  return a && a.includes("@") && !/[\r\n]/.test(a) ? a : null;
}


/** The next keyset batch of certificates inside the window (now, until], by expiry then number. */
function windowBatch(db: Db, now: Date, until: Date, after: { notAfter: Date; number: number } | null) {
  return db.certificate.findMany({
    where: {
      status: "valid",
      revokedAt: null,
      notAfter: { gt: now, lte: until },
      ...(after ? { OR: [{ notAfter: { gt: after.notAfter } }, { notAfter: after.notAfter, number: { gt: after.number } }] } : {}),
    },
    select: { number: true, serial: true, subject: true, filename: true, hostname: true, notAfter: true, contactName: true, contactEmail: true },
    orderBy: [{ notAfter: "asc" }, { number: "asc" }],
    take: BATCH,
  });
}

/**
 * One pass over the certificates inside the warning window at `now`: valid, unrevoked,
 * now < notAfter ≤ now + the largest threshold, read in keyset batches. For each, the
 * due thresholds are those T with notAfter − now ≤ T days; when the smallest due one is
 * not yet recorded, one warning naming it is mailed (contact and administrator) and
 * every due threshold is recorded, so a certificate first seen at 25 days gets the
 * 30-day warning only, never a late 60-day one. Renewed certificates are skipped.
 */
export async function runExpiryWarnings(now: Date = new Date(), opts: { portalUrl?: string } = {}): Promise<ExpiryWarningRun> {
  const result: ExpiryWarningRun = { checked: 0, warned: 0, mails: 0, renewed: 0, raced: 0, mailEnabled: false };
  const thresholds = expiryWarningThresholds();
  const db = await getDb();
  const ca = await db.caServer.findUnique({ where: { id: 1 } });
  if (!ca) return result;
  const smtp = smtpOf(ca);
  if (!smtp) return result;
  result.mailEnabled = true;
  const adminEmail = mailable(ca.adminEmail);
  const base = portalBase(env().PORTCULLIS_PUBLIC_URL ?? opts.portalUrl);
  const until = new Date(now.getTime() + thresholds[thresholds.length - 1] * DAY_MS);

  let after: { notAfter: Date; number: number } | null = null;
  for (;;) {
    const batch = await windowBatch(db, now, until, after);
    if (!batch.length) break;
    const last = batch[batch.length - 1];
    after = { notAfter: last.notAfter, number: last.number };
    result.checked += batch.length;

    const numbers = batch.map((c) => c.number);
    const [sent, renewals] = await Promise.all([warningsFor(db, numbers), renewalsFor(db, numbers)]);
    for (const c of batch) {
      if (renewals.has(c.number)) {
        result.renewed += 1;
        continue;
      }
      const remainingMs = c.notAfter.getTime() - now.getTime();
      const due = thresholds.filter((t) => remainingMs <= t * DAY_MS);
      const recorded = new Set((sent.get(c.number) ?? []).map((w) => w.thresholdDays));
      if (!due.length || recorded.has(due[0])) continue;
      const threshold = due[0];
      const daysLeft = Math.floor(remainingMs / DAY_MS);
      const contactEmail = mailable(c.contactEmail);
      const recipients: Array<{ to: string; audience: "contact" | "admin" }> = [];
      if (contactEmail) recipients.push({ to: contactEmail, audience: "contact" });
      if (adminEmail && adminEmail.toLowerCase() !== contactEmail?.toLowerCase()) recipients.push({ to: adminEmail, audience: "admin" });
      const common = {
        number: c.number,
        filename: c.filename,
        subject: c.subject,
        serial: c.serial,
        hostname: c.hostname,
        notAfter: c.notAfter,
        daysLeft,
        thresholdDays: threshold,
        laterThresholds: thresholds.filter((t) => t < threshold),
        contact: { name: c.contactName, email: contactEmail },
        certificateUrl: base ? `${base}/ca-server/certificates/${c.number}` : undefined,
        renewUrl: base ? `${base}/certificates/${c.number}/renew` : undefined,
      };
      try {
        await db.$transaction(async (tx) => {
          await tx.expiryWarning.createMany({
            data: due.filter((t) => !recorded.has(t)).map((t) => ({ certificateNumber: c.number, thresholdDays: t, sentAt: now })),
          });
          for (const r of recipients) {
            await enqueueMail(tx, { kind: "certificate-expiring", to: r.to, smtp, ...certificateExpiringEmail({ ...common, audience: r.audience }) });
          }
        });
      } catch (e) {
        if (!isUniqueViolation(e)) throw e;
        result.raced += 1;
        continue;
      }
      result.warned += 1;
      result.mails += recipients.length;
    }
    if (batch.length < BATCH) break;
  }
  return result;
}

/** When the scheduled check last ran (on any instance), or null before its first run. */
export async function lastScheduledExpiryCheck(): Promise<Date | null> {
  const db = await getDb();
  const lease = await db.jobLease.findUnique({ where: { name: EXPIRY_WARNINGS_JOB }, select: { lastRunAt: true } });
  return lease?.lastRunAt ?? null;
}

/** The scheduled job, every PORTCULLIS_EXPIRY_CHECK_MINUTES. */
export function expiryWarningsJob(): ScheduledJob {
  return {
    name: EXPIRY_WARNINGS_JOB,
    intervalMs: env().PORTCULLIS_EXPIRY_CHECK_MINUTES * 60_000,
    async run(now) {
      const r = await runExpiryWarnings(now);
      if (r.warned) console.log(`[portcullis] expiry warnings: ${r.warned} certificate(s), ${r.mails} e-mail(s) queued`);
    },
  };
}

/** Starts the job in this process (once; the lease keeps it to one instance per interval). */
export function startExpiryWarnings(): () => void {
  return startScheduledJob(expiryWarningsJob());
}
