import { beforeAll, describe, expect, it } from "vitest";
import { readFileSync } from "node:fs";
import { getDb } from "../db/index.ts";
import { opensslOk } from "../pki/test-support.ts";
import { expectAppError } from "../test-support/app-error.ts";
import { useIsolatedDataDir, useTestSmtpServer } from "../test-support/data-dir.ts";
import { configureCaServer } from "./configure-server.ts";
import { submitRequest } from "./requests.ts";
import { issueRequest } from "./issue-request.ts";
import { revokeCertificate } from "./revoke-certificate.ts";
import { escapeIcsText, expiryCalendar, foldIcsLine, listExpiringCertificates } from "./expiring.ts";

const scratch = useIsolatedDataDir("expiring", { PORTCULLIS_PUBLIC_URL: "https://pki.example.com" });
const smtp = useTestSmtpServer();
const KEY_PW = "expiring test CA password";
const DAY = 86_400_000;
const T0 = new Date(Math.floor(Date.now() / 1000) * 1000 + 60_000);
const LONG_CN = "a-rather-long-host-name-for-folding.internal.example.com";
let counter = 0;

function csr(cn: string): string {
  const dir = scratch.path(`csr-${++counter}`);
  opensslOk(["req", "-new", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-keyout", `${dir}.key`, "-subj", `/CN=${cn}`, "-addext", `subjectAltName=DNS:${cn}`, "-out", `${dir}.csr`]);
  return readFileSync(`${dir}.csr`, "utf8");
}

/** Issues a certificate for `cn` at `now`: it expires 30 days later. */
async function issueAt(cn: string, filename: string, now: Date): Promise<number> {
  const r = await submitRequest({ csr: csr(cn), contact: { name: "Tina Tech", email: "tina@example.com" }, hostname: cn, filename }, { now });
  const issued = await issueRequest(r.id, { usage: "tls", caKeyPassword: KEY_PW, fingerprintVerified: true, verificationChannel: "phone" }, { actor: "admin", now });
  return issued.number;
}

const n: Record<string, number> = {};

beforeAll(async () => {
  await configureCaServer({
    fileNameRoot: "ExpiryCA",
    directory: "ca",
    keyPassword: KEY_PW,
    subject: { O: "Example", CN: "Expiry Test CA" },
    caValidityDays: 3650,
    issuedValidityDays: 30,
    smtp: { host: "127.0.0.1", port: smtp.port },
    adminEmail: "camgr@example.com",
  });
  // Issued in number order A, B, C, D; expiring B (T0+30d), C (T0+35d), A (T0+40d), D (T0+45d).
  n.A = await issueAt("a.example.com", "A", new Date(T0.getTime() + 10 * DAY));
  n.B = await issueAt(LONG_CN, "B", T0);
  n.C = await issueAt("c.example.com", "C", new Date(T0.getTime() + 5 * DAY));
  n.D = await issueAt("d.example.com", "D", new Date(T0.getTime() + 15 * DAY));
  await revokeCertificate(n.D, { reason: "superseded", caKeyPassword: KEY_PW }, { actor: "admin", now: new Date(T0.getTime() + 15 * DAY) });
}, 120_000);

describe("listExpiringCertificates", () => {
  it("lists valid certificates within the window, soonest first, with days left", async () => {
    const all = await listExpiringCertificates({ now: T0 });
    expect(all.items.map((c) => c.number)).toEqual([n.B, n.C, n.A]);
    expect(all.items.map((c) => c.daysLeft)).toEqual([30, 35, 40]);
    expect(all.nextCursor).toBeNull();
    expect(all.items[0]).toMatchObject({ filename: "B", hostname: LONG_CN, status: "valid" });
    expect(all.items[0].notAfter).toBe(new Date(T0.getTime() + 30 * DAY).toISOString());
    expect((await listExpiringCertificates({ now: T0, withinDays: 32 })).items.map((c) => c.number)).toEqual([n.B]);
    expect((await listExpiringCertificates({ now: T0, withinDays: "37" })).items.map((c) => c.number)).toEqual([n.B, n.C]);
    expect((await listExpiringCertificates({ now: T0, withinDays: 7 })).items).toEqual([]);
  });

  it("leaves out revoked and already expired certificates", async () => {
    const later = await listExpiringCertificates({ now: new Date(T0.getTime() + 31 * DAY), withinDays: 3650 });
    expect(later.items.map((c) => c.number)).toEqual([n.C, n.A]);
    expect(later.items.map((c) => c.daysLeft)).toEqual([4, 9]);
    const db = await getDb();
    expect((await db.certificate.findUniqueOrThrow({ where: { number: n.D } })).status).toBe("revoked");
  });

  it("pages with a cursor in notAfter order", async () => {
    const p1 = await listExpiringCertificates({ now: T0, take: 2 });
    expect(p1.items.map((c) => c.number)).toEqual([n.B, n.C]);
    const p2 = await listExpiringCertificates({ now: T0, take: 2, cursor: p1.nextCursor });
    expect(p2.items.map((c) => c.number)).toEqual([n.A]);
    expect(p2.nextCursor).toBeNull();
    await expectAppError(listExpiringCertificates({ cursor: "garbage" }), "bad_request");
  });

  it.each([0, -1, 3651, 2.5, "abc", "60days", Number.NaN])("refuses a window of %s days with 422", async (withinDays) => {
    const e = await expectAppError(listExpiringCertificates({ withinDays }), "validation_failed", "expiringWithinDays");
    expect(e.status).toBe(422);
  });

  it("accepts the bounds 1 and 3650", async () => {
    expect((await listExpiringCertificates({ now: T0, withinDays: 1 })).items).toEqual([]);
    expect((await listExpiringCertificates({ now: T0, withinDays: 3650 })).items).toHaveLength(3);
  });
});

describe("expiryCalendar", () => {
  it("is an RFC 5545 calendar with one event per valid certificate", async () => {
    const ics = await expiryCalendar({ now: T0 });
    expect(ics.startsWith("BEGIN:VCALENDAR\r\nVERSION:2.0\r\n")).toBe(true);
    expect(ics.endsWith("END:VCALENDAR\r\n")).toBe(true);
    expect(ics.replace(/\r\n/g, "")).not.toMatch(/[\r\n]/);
    const physical = ics.split("\r\n").slice(0, -1);
    for (const line of physical) expect(Buffer.byteLength(line, "utf8")).toBeLessThanOrEqual(75);
    expect(physical.some((l) => l.startsWith(" "))).toBe(true); // the long summary was folded
    const unfolded = ics.replace(/\r\n /g, "").split("\r\n");
    expect(unfolded.filter((l) => l === "BEGIN:VEVENT")).toHaveLength(3);
    expect(unfolded.filter((l) => l === "END:VEVENT")).toHaveLength(3);
    expect(unfolded.filter((l) => l === "BEGIN:VALARM")).toHaveLength(3);
    expect(unfolded.filter((l) => l === "TRIGGER:-P30D")).toHaveLength(3);
    expect(unfolded).toContain(`UID:portcullis-cert-${n.B}@pki.example.com`);
    expect(unfolded).not.toContain(`UID:portcullis-cert-${n.D}@pki.example.com`);
    const day = new Date(T0.getTime() + 30 * DAY).toISOString().slice(0, 10).replace(/-/g, "");
    expect(unfolded).toContain(`DTSTART;VALUE=DATE:${day}`);
    expect(unfolded).toContain(`SUMMARY:Certificate ${n.B} (${LONG_CN}) expires`);
    expect(unfolded.filter((l) => l.startsWith("DTSTAMP:"))).toHaveLength(3);
  });

  it("holds the soonest expiries, from 30 days ago on, at most `max` of them", async () => {
    const events = (ics: string) => [...ics.replace(/\r\n /g, "").matchAll(/UID:portcullis-cert-(\d+)@/g)].map((m) => Number(m[1]));
    expect(events(await expiryCalendar({ now: T0, max: 2 }))).toEqual([n.B, n.C]);
    // 65 days on, B (T0+30d) expired more than 30 days ago; C and A are recent enough to show.
    expect(events(await expiryCalendar({ now: new Date(T0.getTime() + 65 * DAY) }))).toEqual([n.C, n.A]);
    expect(events(await expiryCalendar({ now: new Date(T0.getTime() + 80 * DAY) }))).toEqual([]);
  });

  it("escapes text and folds by octets, never inside a character", () => {
    expect(escapeIcsText("a\\b;c,d\ne\r\nf")).toBe("a\\\\b\\;c\\,d\\ne\\nf");
    const line = "SUMMARY:" + "é".repeat(80);
    const folded = foldIcsLine(line);
    const parts = folded.split("\r\n").slice(0, -1);
    for (const p of parts) expect(Buffer.byteLength(p, "utf8")).toBeLessThanOrEqual(75);
    expect(parts.map((p, i) => (i ? p.slice(1) : p)).join("")).toBe(line);
    expect(foldIcsLine("SHORT:x")).toBe("SHORT:x\r\n");
  });
});
