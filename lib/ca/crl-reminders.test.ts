import { beforeEach, describe, expect, it } from "vitest";
import { getDb } from "../db/index.ts";
import { processOutbox } from "../mail/outbox.ts";
import { useIsolatedDataDir, useTestSmtpServer } from "../test-support/data-dir.ts";
import { setEnv } from "../test-support/env.ts";
import { runJobOnce } from "../jobs/scheduler.ts";
import { configureCaServer } from "./configure-server.ts";
import { reinitializeCaServer } from "./reinitialize-server.ts";
import { resignCrl } from "./crl-signing.ts";
import { crlReminder, crlReminderJob, runCrlReminder } from "./crl-reminders.ts";

useIsolatedDataDir("crl-reminders", { PORTCULLIS_PUBLIC_URL: "https://pki.example.com", PORTCULLIS_CRL_REMINDER_HOURS: undefined });
const smtp = useTestSmtpServer();
const KEY_PW = "crl reminder test CA password";
const HOUR_MS = 3_600_000;
const DAY_MS = 24 * HOUR_MS;
const ADMIN = "ca-admin@example.com";
let counter = 0;

const caRow = async () => (await getDb()).caServer.findUniqueOrThrow({ where: { id: 1 } });
const reminders = () => smtp.messages.filter((m) => m.to.includes(ADMIN) && /CRL/.test(m.subject));

async function configure(opts: { smtp?: boolean; org?: string } = {}) {
  const db = await getDb();
  if (await db.caServer.count()) await reinitializeCaServer();
  await configureCaServer({
    fileNameRoot: "RemindCA",
    directory: `ca-${++counter}`,
    keyPassword: KEY_PW,
    subject: { O: opts.org ?? "Example", CN: "Reminder Test CA" },
    caValidityDays: 3650,
    issuedValidityDays: 365,
    smtp: opts.smtp === false ? { host: "" } : { host: "127.0.0.1", port: smtp.port, secure: false },
    adminEmail: ADMIN,
  });
  return caRow();
}

beforeEach(() => {
  smtp.messages.length = 0;
});

describe("the CRL reminder mail", () => {
  it("is mailed once per CRL when nextUpdate is within 48 hours, again for the next CRL; escaped", async () => {
    const ca = await configure({ org: "<b>Evil & Co</b>" });
    const next = ca.crlNextUpdate!.getTime();
    // Configuration sent its own confirmation; only reminders count here.
    expect(reminders()).toHaveLength(0);

    // Three days before nextUpdate: nothing.
    expect(await runJobOnce(crlReminderJob, { now: new Date(next - 72 * HOUR_MS) })).toBe(true);
    expect(await crlReminder({ now: new Date(next - 72 * HOUR_MS) })).toBeNull();
    await processOutbox();
    expect(reminders()).toHaveLength(0);

    // 47 hours before: one mail to the CA administrator; the banner says "soon".
    const soon = new Date(next - 47 * HOUR_MS);
    expect(await runJobOnce(crlReminderJob, { now: soon })).toBe(true);
    const mail = await smtp.waitFor((m) => m.to.includes(ADMIN) && /CRL expires soon/.test(m.subject));
    expect(mail.subject).toContain("The CRL expires soon: re-sign it for");
    const when = new Date(next).toISOString().replace(/\.\d{3}Z$/, "Z");
    expect(mail.text).toContain(`expires at ${when}`);
    expect(mail.text).toContain("https://pki.example.com/ca-server/crl");
    expect(mail.text).toContain("RemindCA.crl, number 1");
    // The DN escapes < and > with a backslash (RFC 4514); the mail escapes them for HTML.
    expect(mail.html).toContain("O=\\&lt;b\\&gt;Evil &amp; Co\\&lt;/b\\&gt;");
    expect(mail.html).not.toContain("<b>Evil");
    expect((await caRow()).crlReminderFor?.getTime()).toBe(next);
    expect(await crlReminder({ now: soon })).toEqual({ state: "soon", nextUpdate: new Date(next).toISOString() });

    // The job runs again, and again after the CRL expired: still one mail for this CRL.
    expect(await runJobOnce(crlReminderJob, { now: new Date(soon.getTime() + 20 * 60_000) })).toBe(true);
    expect((await runCrlReminder(new Date(next + HOUR_MS))).outcome).toBe("already");
    await processOutbox();
    expect(reminders()).toHaveLength(1);
    expect(await crlReminder({ now: new Date(next + HOUR_MS) })).toMatchObject({ state: "expired" });

    // Re-signed: the new CRL gets its own reminder when its time comes.
    const resigned = await resignCrl({ caKeyPassword: KEY_PW }, { now: new Date(next - 30 * HOUR_MS) });
    const next2 = new Date(resigned.nextUpdate).getTime();
    expect(next2).toBe(Math.floor((next - 30 * HOUR_MS) / 1000) * 1000 + 7 * DAY_MS);
    expect((await runCrlReminder(new Date(next2 - 72 * HOUR_MS))).outcome).toBe("not-due");
    const second = await runCrlReminder(new Date(next2 - 12 * HOUR_MS));
    expect(second.outcome).toBe("mailed");
    await smtp.waitFor((m) => m.to.includes(ADMIN) && m.text.includes("RemindCA.crl, number 2"));
    expect((await runCrlReminder(new Date(next2 - 11 * HOUR_MS))).outcome).toBe("already");
    await processOutbox();
    expect(reminders()).toHaveLength(2);
  });

  it("says the CRL has expired when the first reminder comes after nextUpdate", async () => {
    const ca = await configure();
    const next = ca.crlNextUpdate!.getTime();
    expect((await runCrlReminder(new Date(next + 5 * 60_000))).outcome).toBe("mailed");
    const mail = await smtp.waitFor((m) => m.to.includes(ADMIN) && /CRL has expired/.test(m.subject));
    expect(mail.text).toContain("expired at");
  });

  it("follows PORTCULLIS_CRL_REMINDER_HOURS", async () => {
    const restore = setEnv({ PORTCULLIS_CRL_REMINDER_HOURS: "1000" });
    try {
      const ca = await configure();
      // A 7-day CRL is inside a 1000-hour window from the moment it is signed.
      expect(await crlReminder({ now: ca.crlThisUpdate! })).toMatchObject({ state: "soon" });
      expect((await runCrlReminder(ca.crlThisUpdate!)).outcome).toBe("mailed");
    } finally {
      restore();
    }
  });

  it("racing runs (two instances) queue one mail", async () => {
    const ca = await configure();
    const now = new Date(ca.crlNextUpdate!.getTime() - HOUR_MS);
    const queued = () => getDb().then((db) => db.outboxMessage.count({ where: { kind: "crl-reminder" } }));
    const before = await queued();
    const runs = await Promise.all(Array.from({ length: 5 }, () => runCrlReminder(now)));
    expect(runs.filter((r) => r.outcome === "mailed")).toHaveLength(1);
    expect(await queued()).toBe(before + 1);
    await processOutbox();
    expect(reminders()).toHaveLength(1);
  });

  it("without SMTP nothing is mailed nor recorded; without a CA there is no banner", async () => {
    const ca = await configure({ smtp: false });
    expect((await runCrlReminder(new Date(ca.crlNextUpdate!.getTime() - HOUR_MS))).outcome).toBe("no-smtp");
    expect((await caRow()).crlReminderFor).toBeNull();
    await reinitializeCaServer();
    expect(await crlReminder()).toBeNull();
    expect((await runCrlReminder(new Date())).outcome).toBe("no-ca");
  });

  it("the banner says so when no CRL exists", async () => {
    await configure();
    await (await getDb()).caServer.update({ where: { id: 1 }, data: { crlPem: null, crlThisUpdate: null, crlNextUpdate: null } });
    expect(await crlReminder()).toEqual({ state: "missing", nextUpdate: null });
    expect((await runCrlReminder(new Date())).outcome).toBe("no-crl");
  });
});
