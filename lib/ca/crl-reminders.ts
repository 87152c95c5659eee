/**
 * Reminders to re-sign the CRL as its nextUpdate nears: the banner on admin pages reads
 * {@link crlReminder}; the "crl-reminder" job mails the CA administrator once per CRL.
 * "Once" is kept by the database: CaServer.crlReminderFor records the nextUpdate the mail
 * was queued for, set with a conditional update in the transaction that queues the mail,
 * so a second run, a restart or another instance finds it done.
 */
import { getDb } from "../db/index.ts";
import { env } from "../env.ts";
import { deliverMail, enqueueMail } from "../mail/outbox.ts";
import { crlReminderEmail } from "../mail/templates/crl-reminder.ts";
import { startScheduledJob, type ScheduledJob } from "../jobs/scheduler.ts";
import { crlReminderWindowMs, crlState, type CrlState } from "./crl-signing.ts";
import { portalBase, smtpOf } from "./server-context.ts";

export const CRL_REMINDER_JOB = "crl-reminder";
const CRL_REMINDER_INTERVAL_MS = 15 * 60_000;

export interface CrlReminder {
  state: Exclude<CrlState, "ok">;
  /** ISO nextUpdate of the current CRL; null when there is none. */
  nextUpdate: string | null;
}

/** What the banner says, or null when the CRL is fine or there is no CA server. */
export async function crlReminder(opts: { now?: Date } = {}): Promise<CrlReminder | null> {
  const now = opts.now ?? new Date();
  const db = await getDb();
  const c = await db.caServer.findUnique({ where: { id: 1 }, select: { crlPem: true, crlNextUpdate: true } });
  if (!c) return null;
  const state = crlState(c.crlPem ? c.crlNextUpdate : null, now);
  if (state === "ok") return null;
  return { state, nextUpdate: c.crlPem && c.crlNextUpdate ? c.crlNextUpdate.toISOString() : null };
}

export interface CrlReminderRun {
  /** "mailed": queued now; "already": this CRL's reminder was queued before; "not-due", "no-crl", "no-ca", "no-smtp": nothing to do. */
  outcome: "mailed" | "already" | "not-due" | "no-crl" | "no-ca" | "no-smtp";
  mailId?: string;
}

/**
 * One run: when the current CRL's nextUpdate is within the reminder window (or passed)
 * and its reminder has not been queued, queues one mail to the CA administrator and
 * records it, then tries to send it at once.
 */
export async function runCrlReminder(now: Date): Promise<CrlReminderRun> {
  const db = await getDb();
  const ca = await db.caServer.findUnique({ where: { id: 1 } });
  if (!ca) return { outcome: "no-ca" };
  const nextUpdate = ca.crlPem ? ca.crlNextUpdate : null;
  if (!nextUpdate || !ca.crlThisUpdate) return { outcome: "no-crl" };
  if (crlState(nextUpdate, now, crlReminderWindowMs()) === "ok") return { outcome: "not-due" };
  if (ca.crlReminderFor?.getTime() === nextUpdate.getTime()) return { outcome: "already" };
  const smtp = smtpOf(ca);
  if (!smtp || !ca.adminEmail) return { outcome: "no-smtp" };
  const base = portalBase(env().PORTCULLIS_PUBLIC_URL);
  const mail = crlReminderEmail({
    caSubject: ca.subject,
    fileNameRoot: ca.fileNameRoot,
    crlNumber: ca.crlNumber,
    thisUpdate: ca.crlThisUpdate,
    nextUpdate,
    expired: nextUpdate.getTime() <= now.getTime(),
    pageUrl: base ? `${base}/ca-server/crl` : undefined,
  });
  const mailId = await db.$transaction(async (tx) => {
    // Only for this very CRL, and only if no one recorded its reminder meanwhile.
    const claimed = await tx.caServer.updateMany({
      where: { id: 1, crlNextUpdate: nextUpdate, OR: [{ crlReminderFor: null }, { crlReminderFor: { not: nextUpdate } }] },
      data: { crlReminderFor: nextUpdate },
    });
    if (claimed.count !== 1) return null;
    return enqueueMail(tx, { kind: "crl-reminder", to: ca.adminEmail, ...mail, smtp });
  });
  if (!mailId) return { outcome: "already" };
  await deliverMail(mailId).catch(() => undefined);
  return { outcome: "mailed", mailId };
}

/** The scheduled job, every 15 minutes. */
export const crlReminderJob: ScheduledJob = {
  name: CRL_REMINDER_JOB,
  intervalMs: CRL_REMINDER_INTERVAL_MS,
  async run(now) {
    const r = await runCrlReminder(now);
    if (r.outcome === "mailed") console.log("[portcullis] CRL reminder queued for the CA administrator");
  },
};

/** Starts the reminder job in this process (once; the lease keeps it to one instance per interval). */
export function startCrlReminders(): () => void {
  return startScheduledJob(crlReminderJob);
}
