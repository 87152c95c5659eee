/**
 * Expiry warnings by time travel: certificates are issued with known notAfter dates and
 * the job is run with an injected clock at chosen distances from them. Mails are read
 * from a real SMTP server after the outbox delivered them; OpenSSL reads the serial and
 * the expiry date the mail must name.
 */
import { beforeAll, describe, expect, it } from "vitest";
import { readFileSync } from "node:fs";
import { closeDb, databaseProvider, getDb } from "../db/index.ts";
import { env } from "../env.ts";
import { escapeHtml } from "../mail/escape.ts";
import { certificateExpiringEmail } from "../mail/templates/certificate-expiring.ts";
import { processOutbox } from "../mail/outbox.ts";
import type { ReceivedMail } from "../mail/test-smtp-server.ts";
import { runJobOnce } from "../jobs/scheduler.ts";
import { opensslOk } from "../pki/test-support.ts";
import { useIsolatedDataDir, useTestSmtpServer } from "../test-support/data-dir.ts";
import { setEnv } from "../test-support/env.ts";
import { configureCaServer } from "./configure-server.ts";
import { submitRequest } from "./requests.ts";
import { issueRequest } from "./issue-request.ts";
import { revokeCertificate } from "./revoke-certificate.ts";
import { reinitializeCaServer } from "./reinitialize-server.ts";
import { getCertificate } from "./certificates.ts";
import { listExpiringCertificates } from "./expiring.ts";
import { usePostgresDatabase } from "../test-support/postgres.ts";
import { EXPIRY_WARNINGS_JOB, expiryWarningThresholds, expiryWarningsJob, lastScheduledExpiryCheck, runExpiryWarnings } from "./expiry-warnings.ts";

const scratch = useIsolatedDataDir("expiry-warnings", {
  PORTCULLIS_PUBLIC_URL: "https://pki.example.com",
  PORTCULLIS_EXPIRY_WARNING_DAYS: undefined,
  PORTCULLIS_EXPIRY_CHECK_MINUTES: undefined,
});
const smtp = useTestSmtpServer();
const KEY_PW = "expiry warnings test CA password";
const ADMIN = "camgr@example.com";
const DAY = 86_400_000;
const VALIDITY_DAYS = 90;
const T0 = new Date(Math.floor(Date.now() / 1000) * 1000 + 60_000);
const at = (days: number) => new Date(T0.getTime() + days * DAY);
let counter = 0;

function csr(subject: string, san: string): string {
  const file = scratch.path(`csr-${++counter}`);
  opensslOk(["req", "-new", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-keyout", `${file}.key`, "-subj", subject, "-addext", `subjectAltName=${san}`, "-out", `${file}.csr`]);
  return readFileSync(`${file}.csr`, "utf8");
}

interface Issued {
  number: number;
  notAfter: Date;
  contact: string | null;
  filename: string;
}

/** Issues a TLS certificate at `now`: it expires VALIDITY_DAYS later. */
async function issueAt(cn: string, now: Date, opts: { subject?: string; contactName?: string; email?: string | null; renewalOf?: number } = {}): Promise<Issued> {
  const filename = `F${++counter}`;
  const email = opts.email === undefined ? `${filename.toLowerCase()}@example.com` : opts.email;
  const r = await submitRequest(
    { csr: csr(opts.subject ?? `/O=Example/CN=${cn}`, `DNS:${cn}`), contact: { name: opts.contactName ?? "Tina Tech", ...(email ? { email } : {}) }, hostname: cn, filename },
    { now, renewalOf: opts.renewalOf },
  );
  const issued = await issueRequest(r.id, { usage: "tls", caKeyPassword: KEY_PW, fingerprintVerified: true, verificationChannel: "phone" }, { actor: "admin", now });
  return { number: issued.number, notAfter: new Date(issued.notAfter), contact: email, filename };
}

/** The expiry mails the SMTP server received about certificate `n`. */
const mailsAbout = (n: number) => smtp.messages.filter((m) => m.subject.startsWith(`Certificate number ${n} for `));

/** One scheduler tick at `now` as instance `holder`, then the outbox delivers what it queued. */
async function tick(now: Date, holder = "instance-1"): Promise<boolean> {
  const ran = await runJobOnce(expiryWarningsJob(), { now, holder });
  await processOutbox();
  return ran;
}

async function recorded(n: number): Promise<number[]> {
  const db = await getDb();
  const rows = await db.expiryWarning.findMany({ where: { certificateNumber: n }, orderBy: { thresholdDays: "desc" } });
  return rows.map((r) => r.thresholdDays);
}

function byRecipient(mails: ReceivedMail[]): Record<string, ReceivedMail[]> {
  const out: Record<string, ReceivedMail[]> = {};
  for (const m of mails) for (const to of m.to) (out[to] ??= []).push(m);
  return out;
}

/** Serial (hex, no leading zeros) and notAfter as OpenSSL reads them from the certificate. */
async function opensslFacts(n: number): Promise<{ serial: string; notAfter: string }> {
  const out = opensslOk(["x509", "-noout", "-serial", "-enddate"], (await getCertificate(n)).pem);
  const serial = /serial=([0-9A-F]+)/.exec(out)![1].replace(/^0+(?=.)/, "");
  const notAfter = new Date(/notAfter=(.+)/.exec(out)![1].trim()).toISOString().replace(/\.\d{3}Z$/, "Z");
  return { serial, notAfter };
}

/** The CA of these tests, in `directory`, mailing through the test SMTP server. */
function configureWarnCa(directory: string) {
  return configureCaServer({
    fileNameRoot: "WarnCA",
    directory,
    keyPassword: KEY_PW,
    subject: { O: "Example", CN: "Expiry Warnings Test CA" },
    caValidityDays: 3650,
    issuedValidityDays: VALIDITY_DAYS,
    smtp: { host: "127.0.0.1", port: smtp.port },
    adminEmail: ADMIN,
  });
}

beforeAll(async () => {
  await configureWarnCa("ca");
}, 120_000);

describe("configuration", () => {
  it("defaults to 60, 30 and 7 days, checked every 60 minutes", () => {
    expect(expiryWarningThresholds()).toEqual([7, 30, 60]);
    expect(env().PORTCULLIS_EXPIRY_CHECK_MINUTES).toBe(60);
    expect(expiryWarningsJob()).toMatchObject({ name: EXPIRY_WARNINGS_JOB, intervalMs: 60 * 60_000 });
  });

  it("reads a list in any order and spacing", () => {
    const restore = setEnv({ PORTCULLIS_EXPIRY_WARNING_DAYS: " 14, 90,1 ,3650", PORTCULLIS_EXPIRY_CHECK_MINUTES: "5" });
    try {
      expect(expiryWarningThresholds()).toEqual([1, 14, 90, 3650]);
      expect(expiryWarningsJob().intervalMs).toBe(5 * 60_000);
    } finally {
      restore();
    }
  });

  it.each(["", "60,30,", "0", "3651", "60,30,60", "sixty", "7.5", "-7", "60;30"])("refuses PORTCULLIS_EXPIRY_WARNING_DAYS=%j at start with a clear message", (value) => {
    const restore = setEnv({ PORTCULLIS_EXPIRY_WARNING_DAYS: value });
    try {
      expect(() => env()).toThrow(/^Invalid configuration: PORTCULLIS_EXPIRY_WARNING_DAYS: (expected a comma-separated list|each number of days may appear once)/);
    } finally {
      restore();
    }
  });

  it.each(["0", "1441", "1.5", "soon"])("refuses PORTCULLIS_EXPIRY_CHECK_MINUTES=%j", (value) => {
    const restore = setEnv({ PORTCULLIS_EXPIRY_CHECK_MINUTES: value });
    try {
      expect(() => env()).toThrow(/PORTCULLIS_EXPIRY_CHECK_MINUTES/);
    } finally {
      restore();
    }
  });
});

describe("warnings over a certificate's last 61 days", () => {
  const c: Record<string, Issued> = {};

  beforeAll(async () => {
    c.x = await issueAt("x.example.com", T0);
    c.revoked = await issueAt("revoked.example.com", T0);
    await revokeCertificate(c.revoked.number, { reason: "superseded", caKeyPassword: KEY_PW }, { actor: "admin", now: T0 });
    c.renewed = await issueAt("renewed.example.com", T0);
    c.renewal = await issueAt("renewed.example.com", at(1), { renewalOf: c.renewed.number });
    // A renewal that was revoked does not stand in for the original: that one is still warned about.
    c.badRenewalOf = await issueAt("again.example.com", T0);
    c.badRenewal = await issueAt("again.example.com", at(1), { renewalOf: c.badRenewalOf.number });
    await revokeCertificate(c.badRenewal.number, { reason: "keyCompromise", caKeyPassword: KEY_PW }, { actor: "admin", now: at(1) });
    expect(c.x.notAfter.getTime()).toBe(at(VALIDITY_DAYS).getTime());
  }, 120_000);

  const before = (days: number) => new Date(c.x.notAfter.getTime() - days * DAY);

  it("61 days before: nothing", async () => {
    expect(await lastScheduledExpiryCheck()).toBeNull();
    expect(await tick(before(61))).toBe(true);
    expect(await lastScheduledExpiryCheck()).toEqual(before(61));
    expect(mailsAbout(c.x.number)).toEqual([]);
    expect(await recorded(c.x.number)).toEqual([]);
  });

  it("59 days before: the 60-day warning, once to the contact and once to the administrator", async () => {
    expect(await tick(before(59))).toBe(true);
    const mails = mailsAbout(c.x.number);
    expect(mails).toHaveLength(2);
    const to = byRecipient(mails);
    expect(Object.keys(to).sort()).toEqual([ADMIN, c.x.contact].sort());
    const facts = await opensslFacts(c.x.number);
    const subjectDn = (await getCertificate(c.x.number)).subject;
    expect(subjectDn).toContain("CN=x.example.com");
    for (const m of mails) {
      expect(m.subject).toBe(`Certificate number ${c.x.number} for "${c.x.filename}" expires in 59 days`);
      for (const body of [m.text, m.html]) {
        expect(body).toContain(subjectDn);
        expect(body).toContain(facts.serial);
        expect(body).toContain(facts.notAfter);
        expect(body).toContain("60 days before expiry");
        expect(body).toContain(`https://pki.example.com/certificates/${c.x.number}/renew`);
        expect(body).toContain(`https://pki.example.com/ca-server/certificates/${c.x.number}`);
      }
      expect(m.text).toMatch(/^Days left: 59$/m);
      expect(m.text).toContain("Further reminders follow 30 and 7 days before expiry");
    }
    expect(to[c.x.contact!][0].html).toContain(`href="https://pki.example.com/certificates/${c.x.number}/renew"`);
    expect(to[c.x.contact!][0].text).toContain("submit a new Certificate Signing Request with exactly the same common name");
    expect(to[ADMIN][0].html).toContain(`href="https://pki.example.com/ca-server/certificates/${c.x.number}"`);
    expect(to[ADMIN][0].text).toContain(`Its technical contact, Tina Tech ${c.x.contact}, received the same reminder`);
    expect(await recorded(c.x.number)).toEqual([60]);
    const db = await getDb();
    expect(await db.outboxMessage.count({ where: { kind: "certificate-expiring", subject: { startsWith: `Certificate number ${c.x.number} for ` } } })).toBe(2);
  });

  it("59 days before, again: nothing new", async () => {
    expect(await tick(before(59))).toBe(true);
    expect(await runExpiryWarnings(before(59))).toMatchObject({ warned: 0, mails: 0, mailEnabled: true });
    await processOutbox();
    expect(mailsAbout(c.x.number)).toHaveLength(2);
    expect(await recorded(c.x.number)).toEqual([60]);
  });

  it("29 days before: the 30-day warning", async () => {
    expect(await tick(before(29))).toBe(true);
    const fresh = mailsAbout(c.x.number).slice(2);
    expect(fresh).toHaveLength(2);
    expect(fresh.map((m) => m.to[0]).sort()).toEqual([ADMIN, c.x.contact].sort());
    for (const m of fresh) {
      expect(m.subject).toBe(`Certificate number ${c.x.number} for "${c.x.filename}" expires in 29 days`);
      expect(m.text).toContain("30 days before expiry");
      expect(m.text).toContain("Further reminders follow 7 days before expiry");
    }
    expect(await recorded(c.x.number)).toEqual([60, 30]);
  });

  it("after a restart, as another instance, 28 days before: nothing", async () => {
    await closeDb();
    await getDb();
    expect(await tick(before(28), "instance-after-restart")).toBe(true);
    expect(mailsAbout(c.x.number)).toHaveLength(4);
    expect(await recorded(c.x.number)).toEqual([60, 30]);
  });

  it("6 days before: the 7-day warning, the last one", async () => {
    expect(await tick(before(6), "instance-after-restart")).toBe(true);
    const fresh = mailsAbout(c.x.number).slice(4);
    expect(fresh).toHaveLength(2);
    for (const m of fresh) {
      expect(m.subject).toBe(`Certificate number ${c.x.number} for "${c.x.filename}" expires in 6 days`);
      expect(m.text).toContain("7 days before expiry");
      expect(m.text).toContain("This is the last reminder.");
    }
    expect(await recorded(c.x.number)).toEqual([60, 30, 7]);
  });

  it("the last day and after expiry: nothing more", async () => {
    expect(await tick(new Date(c.x.notAfter.getTime() - 3_600_000))).toBe(true);
    expect(await tick(new Date(c.x.notAfter.getTime() + DAY))).toBe(true);
    expect(mailsAbout(c.x.number)).toHaveLength(6);
  });

  it("revoked and renewed certificates got none; a certificate whose renewal was revoked got all three", async () => {
    expect(mailsAbout(c.revoked.number)).toEqual([]);
    expect(await recorded(c.revoked.number)).toEqual([]);
    expect(mailsAbout(c.renewed.number)).toEqual([]);
    expect(await recorded(c.renewed.number)).toEqual([]);
    expect(mailsAbout(c.badRenewalOf.number)).toHaveLength(6);
    expect(await recorded(c.badRenewalOf.number)).toEqual([60, 30, 7]);
    // The renewal itself is an ordinary certificate, warned about on its own dates.
    expect(await recorded(c.renewal.number)).toEqual([60, 30, 7]);
  });

  it("the Expiring list shows the warnings mailed and the renewal", async () => {
    const { items } = await listExpiringCertificates({ now: before(5), withinDays: 30 });
    const x = items.find((i) => i.number === c.x.number)!;
    expect(x.warnings.map((w) => w.thresholdDays)).toEqual([60, 30, 7]);
    expect(x.warnings.every((w) => w.mailed)).toBe(true);
    expect(x.warnings.map((w) => w.sentAt)).toEqual([before(59), before(29), before(6)].map((d) => d.toISOString()));
    expect(x.renewedBy).toBeNull();
    const renewed = items.find((i) => i.number === c.renewed.number)!;
    expect(renewed).toMatchObject({ renewedBy: c.renewal.number, warnings: [] });
    expect(items.find((i) => i.number === c.badRenewalOf.number)?.renewedBy).toBeNull();
    expect(items.find((i) => i.number === c.revoked.number)).toBeUndefined();
  });
});

describe("a certificate first seen inside the window", () => {
  it("at 25 days left gets the 30-day warning only, and never the 60-day one", async () => {
    const y = await issueAt("y.example.com", at(100));
    const t = (daysLeft: number) => new Date(y.notAfter.getTime() - daysLeft * DAY);
    expect(await tick(t(25))).toBe(true);
    const mails = mailsAbout(y.number);
    expect(mails).toHaveLength(2);
    for (const m of mails) {
      expect(m.subject).toBe(`Certificate number ${y.number} for "${y.filename}" expires in 25 days`);
      expect(m.text).toContain("30 days before expiry");
      expect(m.text).not.toContain("60 days before expiry");
    }
    expect(await recorded(y.number)).toEqual([60, 30]);
    const listed = (await listExpiringCertificates({ now: t(25), withinDays: 30 })).items.find((i) => i.number === y.number)!;
    expect(listed.warnings).toEqual([
      { thresholdDays: 60, sentAt: t(25).toISOString(), mailed: false },
      { thresholdDays: 30, sentAt: t(25).toISOString(), mailed: true },
    ]);
    expect(await tick(t(20))).toBe(true);
    expect(mailsAbout(y.number)).toHaveLength(2);
    expect(await tick(t(6.5))).toBe(true);
    expect(mailsAbout(y.number)).toHaveLength(4);
    expect(await recorded(y.number)).toEqual([60, 30, 7]);
  });
});

describe("several instances", () => {
  it("two holders racing with the same clock: one runs, the warning is mailed once", async () => {
    const z = await issueAt("z.example.com", at(300));
    const now = new Date(z.notAfter.getTime() - 50 * DAY);
    const ran = await Promise.all([runJobOnce(expiryWarningsJob(), { now, holder: "instance-a" }), runJobOnce(expiryWarningsJob(), { now, holder: "instance-b" })]);
    expect(ran.filter(Boolean)).toHaveLength(1);
    await processOutbox();
    expect(mailsAbout(z.number)).toHaveLength(2);
    expect(await recorded(z.number)).toEqual([60]);
  });

  it("two runs at once without the lease (a slow run outliving it): the key lets one mail, the other skips", async () => {
    const z2 = await issueAt("z2.example.com", at(310));
    const now = new Date(z2.notAfter.getTime() - 20 * DAY);
    const runs = await Promise.all([runExpiryWarnings(now), runExpiryWarnings(now), runExpiryWarnings(now)]);
    const mine = runs.map((r) => r.warned);
    // z.example.com (30 days left too) and z2 are each warned once, in whichever run got there first.
    expect(mine.reduce((a, b) => a + b, 0)).toBe(2);
    await processOutbox();
    expect(mailsAbout(z2.number)).toHaveLength(2);
    expect(mailsAbout(z2.number).every((m) => m.text.includes("30 days before expiry"))).toBe(true);
    expect(await recorded(z2.number)).toEqual([60, 30]);
    const db = await getDb();
    expect(await db.outboxMessage.count({ where: { kind: "certificate-expiring", subject: { startsWith: `Certificate number ${z2.number} for ` } } })).toBe(2);
  });
});

describe("recipients and escaping", () => {
  it("escapes a hostile subject and contact name in the HTML, keeps them as typed in the text, and keeps the subject line one line", async () => {
    const h = await issueAt("h.example.com", at(500), {
      subject: `/O=Evil <script>alert(1)<\\/script> & Co/OU="><img src=x onerror=alert(2)>/CN=h.example.com`,
      contactName: `Mallory <b>"bold"</b> O'Hara`,
    });
    const lonely = await issueAt("lonely.example.com", at(500), { email: null, contactName: "Norbert Nomail" });
    const self = await issueAt("self.example.com", at(500), { email: ADMIN });
    expect(await tick(at(500 + VALIDITY_DAYS - 10))).toBe(true);

    // The subject as stored (RFC 4514 escapes some of it with backslashes); OpenSSL agrees it holds the markup.
    const dn = (await getCertificate(h.number)).subject;
    const judged = opensslOk(["x509", "-noout", "-subject", "-nameopt", "RFC2253"], (await getCertificate(h.number)).pem);
    expect(judged).toContain("<script");
    expect(judged).toContain("<img src=x onerror=alert(2)");
    expect(dn).toContain("<script");
    expect(dn).toContain("<img src=x onerror=alert(2)");
    const mails = mailsAbout(h.number);
    expect(mails).toHaveLength(2);
    for (const m of mails) {
      expect(m.headers["subject"]).not.toMatch(/[\r\n]/);
      expect(m.html).not.toMatch(/<script|<img|<b>/);
      expect(m.html).toContain(escapeHtml(dn));
      expect(m.html).toContain("&lt;img src=x onerror=alert(2)");
      expect(m.html).toContain("Mallory &lt;b&gt;&quot;bold&quot;&lt;/b&gt; O&#39;Hara");
      expect(m.text).toContain(`Subject: ${dn}`);
      expect(m.text).toContain(`Mallory <b>"bold"</b> O'Hara`);
    }

    // No contact address: the administrator alone, told so.
    const l = mailsAbout(lonely.number);
    expect(l.map((m) => m.to)).toEqual([[ADMIN]]);
    expect(l[0].text).toContain("Its technical contact, Norbert Nomail, has no e-mail address on record and was not notified");
    // The contact is the administrator: one mail, not two.
    expect(mailsAbout(self.number).map((m) => m.to)).toEqual([[ADMIN]]);
  });

  it("uses the configured thresholds", async () => {
    const q = await issueAt("q.example.com", at(700));
    const restore = setEnv({ PORTCULLIS_EXPIRY_WARNING_DAYS: "100,14" });
    try {
      await tick(new Date(q.notAfter.getTime() - 99 * DAY));
      await tick(new Date(q.notAfter.getTime() - 50 * DAY));
    } finally {
      restore();
    }
    const mails = mailsAbout(q.number);
    expect(mails).toHaveLength(2);
    expect(mails[0].text).toContain("100 days before expiry");
    expect(mails[0].text).toContain("Further reminders follow 14 days before expiry");
    expect(await recorded(q.number)).toEqual([100]);
  });

  it("without SMTP settings nothing is recorded, so the warning goes out once mail works", async () => {
    const s = await issueAt("s.example.com", at(900));
    const db = await getDb();
    const smtpRow = await db.caServer.findUniqueOrThrow({ where: { id: 1 }, select: { smtpHost: true, smtpPort: true } });
    await db.caServer.update({ where: { id: 1 }, data: { smtpHost: null, smtpPort: null } });
    const now = new Date(s.notAfter.getTime() - 40 * DAY);
    try {
      expect(await runExpiryWarnings(now)).toMatchObject({ mailEnabled: false, warned: 0 });
      expect(await recorded(s.number)).toEqual([]);
    } finally {
      await db.caServer.update({ where: { id: 1 }, data: smtpRow });
    }
    expect(await runExpiryWarnings(now)).toMatchObject({ mailEnabled: true, warned: 1, mails: 2 });
    expect(await recorded(s.number)).toEqual([60]);
  });
});

describe("the mail's wording", () => {
  const base = {
    number: 7,
    filename: "web01",
    subject: "CN=web01.example.com",
    serial: "0A1B",
    notAfter: new Date("2031-01-02T03:04:05.678Z"),
    thresholdDays: 7,
    laterThresholds: [],
    contact: { name: "Tina Tech", email: "tina@example.com" },
  };

  it("counts the last days right and has no links without a portal URL", () => {
    expect(certificateExpiringEmail({ ...base, audience: "contact", daysLeft: 0 }).subject).toBe('Certificate number 7 for "web01" expires within a day');
    expect(certificateExpiringEmail({ ...base, audience: "contact", daysLeft: 1 }).subject).toBe('Certificate number 7 for "web01" expires in 1 day');
    const m = certificateExpiringEmail({ ...base, audience: "admin", daysLeft: 3 });
    expect(m.text).toContain("Valid until: 2031-01-02T03:04:05Z");
    expect(m.text).toContain("This is the last reminder.");
    expect(m.html).not.toContain("href=");
    expect(m.text).not.toContain("http");
  });

  it("renders only http(s) links", () => {
    const m = certificateExpiringEmail({ ...base, audience: "contact", daysLeft: 3, renewUrl: "javascript:alert(1)", certificateUrl: "javascript:alert(2)" });
    expect(m.html).not.toContain("href=");
  });
});

describe("reinitialize", () => {
  it("forgets the warnings with the certificates, so a new CA's certificate number 1 is warned about again", async () => {
    const db = await getDb();
    expect(await db.expiryWarning.count()).toBeGreaterThan(0);
    await reinitializeCaServer();
    expect(await db.expiryWarning.count()).toBe(0);
  });
});

/**
 * The same races where instances really run at once: a shared PostgreSQL server. Runs only
 * with PORTCULLIS_TEST_POSTGRES_URL set (see scripts/postgres-test.sh); works in a fresh
 * database that it drops.
 */
const pgUrl = process.env.PORTCULLIS_TEST_POSTGRES_URL;
// Needs a live PostgreSQL server: the test command starts one and sets PORTCULLIS_TEST_POSTGRES_URL, so it runs there; a bare `vitest run` skips it.
describe.skipIf(!pgUrl)("on PostgreSQL", () => {
  usePostgresDatabase("expiry");

  beforeAll(async () => {
    expect(databaseProvider()).toBe("postgres");
    await configureWarnCa("ca-postgres");
  }, 120_000);

  it("racing holders and racing runs mail each threshold once", async () => {
    const since = smtp.messages.length;
    const certs: Issued[] = [];
    for (const cn of ["pg1.example.com", "pg2.example.com", "pg3.example.com"]) certs.push(await issueAt(cn, at(1000)));
    const last = certs.reduce((a, b) => (a.notAfter > b.notAfter ? a : b));
    const ran = await Promise.all(["pg-a", "pg-b", "pg-c"].map((holder) => runJobOnce(expiryWarningsJob(), { now: new Date(last.notAfter.getTime() - 59 * DAY), holder })));
    expect(ran.filter(Boolean)).toHaveLength(1);
    const runs = await Promise.all(Array.from({ length: 4 }, () => runExpiryWarnings(new Date(last.notAfter.getTime() - 29 * DAY))));
    expect(runs.reduce((a, r) => a + r.warned, 0)).toBe(3);
    await processOutbox();
    for (const c of certs) {
      const mails = smtp.messages.slice(since).filter((m) => m.subject.startsWith(`Certificate number ${c.number} for `));
      expect(mails.map((m) => m.to[0]).sort()).toEqual([ADMIN, ADMIN, c.contact, c.contact].sort());
      expect(mails.filter((m) => m.text.includes("60 days before expiry"))).toHaveLength(2);
      expect(mails.filter((m) => m.text.includes("30 days before expiry"))).toHaveLength(2);
      expect(await recorded(c.number)).toEqual([60, 30]);
    }
    const db = await getDb();
    expect(await db.outboxMessage.count({ where: { kind: "certificate-expiring" } })).toBe(12);
  });
});
