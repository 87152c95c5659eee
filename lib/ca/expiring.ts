/** Expiry: the certificates about to expire, for admins, and an iCalendar feed of expiry dates. */
import { getDb } from "../db/index.ts";
import { env } from "../env.ts";
import { AppError } from "../errors/app-error.ts";
import { toCertificateView, type CertificateView } from "./certificates.ts";
import { renewalsFor, warningsFor } from "./expiry-warnings.ts";

export const DEFAULT_EXPIRY_WINDOW_DAYS = 60;
export const MAX_EXPIRY_WINDOW_DAYS = 3650;
/** The calendar's reminder, this many days before a certificate expires. */
export const CALENDAR_ALARM_DAYS = 30;

const DAY_MS = 86_400_000;
const PAGE_SIZE = 100;

export interface ExpiringCertificate extends CertificateView {
  /** Whole days until notAfter (0 on the last day). */
  daysLeft: number;
  /**
   * The warning thresholds recorded for it, largest first; `mailed` is false for one it was
   * already past when first seen (the smaller threshold's mail, sent at the same time, covered it).
   */
  warnings: { thresholdDays: number; sentAt: string; mailed: boolean }[];
  /** The valid certificate that renews it (issued for a renewal request of this one), if any. */
  renewedBy: number | null;
}

const SELECT = {
  number: true,
  serial: true,
  subject: true,
  issuer: true,
  usage: true,
  hostname: true,
  instance: true,
  filename: true,
  notBefore: true,
  notAfter: true,
  sha1Fingerprint: true,
  sha256Fingerprint: true,
  status: true,
  revokedAt: true,
  revocationReason: true,
} as const;

/** A window in days, 1 to 3650; a string of digits (a query parameter) is read as a number. */
export function parseWindowDays(raw: unknown): number {
  if (raw === undefined || raw === null || raw === "") return DEFAULT_EXPIRY_WINDOW_DAYS;
  const n = typeof raw === "number" ? raw : typeof raw === "string" && /^\s*\d{1,9}\s*$/.test(raw) ? Number(raw) : NaN;
  if (!Number.isInteger(n) || n < 1 || n > MAX_EXPIRY_WINDOW_DAYS) {
    throw new AppError("validation_failed", `expiringWithinDays must be a whole number of days from 1 to ${MAX_EXPIRY_WINDOW_DAYS}`, { field: "expiringWithinDays" });
  }
  return n;
}

function parseCursor(cursor: string): { notAfter: Date; number: number } {
  const m = /^(\d{1,15})_(\d{1,9})$/.exec(cursor);
  if (!m) throw new AppError("bad_request", "Unknown cursor: pass back the nextCursor of a previous page");
  return { notAfter: new Date(Number(m[1])), number: Number(m[2]) };
}

/**
 * Valid, unrevoked certificates that expire within `withinDays` of `now` and have not yet
 * expired, soonest first (then by number), keyset-paginated.
 */
export async function listExpiringCertificates(opts: { withinDays?: unknown; now?: Date; cursor?: string | null; take?: number } = {}): Promise<{ items: ExpiringCertificate[]; nextCursor: string | null }> {
  const withinDays = parseWindowDays(opts.withinDays);
  const now = opts.now ?? new Date();
  const take = Math.min(Math.max(Math.trunc(Number.isFinite(opts.take) ? opts.take! : PAGE_SIZE), 1), 200);
  const until = new Date(now.getTime() + withinDays * DAY_MS);
  const after = opts.cursor ? parseCursor(opts.cursor) : null;
  const db = await getDb();
  const rows = await db.certificate.findMany({
    where: {
      status: "valid",
      revokedAt: null,
      // After a cursor, `notAfter >= a AND (notAfter > a OR number > b)`: an index range that starts at the cursor (see listPendingRequests).
      notAfter: { gt: now, lte: until, ...(after ? { gte: after.notAfter } : {}) },
      ...(after ? { OR: [{ notAfter: { gt: after.notAfter } }, { number: { gt: after.number } }] } : {}),
    },
    select: SELECT,
    orderBy: [{ notAfter: "asc" }, { number: "asc" }],
    take: take + 1,
  });
  const more = rows.length > take;
  const items = rows.slice(0, take);
  const last = items.at(-1);
  const numbers = items.map((r) => r.number);
  const [warnings, renewals] = await Promise.all([warningsFor(db, numbers), renewalsFor(db, numbers)]);
  return {
    items: items.map((r) => ({
      ...toCertificateView(r),
      daysLeft: Math.floor((r.notAfter.getTime() - now.getTime()) / DAY_MS),
      warnings: (warnings.get(r.number) ?? []).map((w) => ({ thresholdDays: w.thresholdDays, sentAt: w.sentAt.toISOString(), mailed: w.mailed })),
      renewedBy: renewals.get(r.number) ?? null,
    })),
    nextCursor: more && last ? `${last.notAfter.getTime()}_${last.number}` : null,
  };
}

/** RFC 5545 TEXT escaping: backslash, semicolon, comma and newlines. */
export function escapeIcsText(s: string): string {
  return s.replace(/\\/g, "\\\\").replace(/;/g, "\\;").replace(/,/g, "\\,").replace(/\r\n|\r|\n/g, "\\n");
}

/** Folds a content line at 75 octets (RFC 5545 §3.1), never inside a UTF-8 sequence; CRLF ends each line. */
export function foldIcsLine(line: string): string {
  const out: string[] = [];
  let cur = "";
  let octets = 0;
  for (const ch of line) {
    const n = Buffer.byteLength(ch, "utf8");
    if (octets + n > 75) {
      out.push(cur);
      cur = " ";
      octets = 1;
    }
    cur += ch;
    octets += n;
  }
  out.push(cur);
  return out.join("\r\n") + "\r\n";
}

function icsDate(d: Date): string {
  return d.toISOString().slice(0, 10).replace(/-/g, "");
}

function icsDateTime(d: Date): string {
  return d.toISOString().replace(/[-:]/g, "").replace(/\.\d+Z$/, "Z");
}

function calendarHost(): string {
  const url = env().PORTCULLIS_PUBLIC_URL;
  if (url) {
    try {
      const host = new URL(url).hostname;
      if (host) return host;
    } catch {
      /* validated by env(); fall through */
    }
  }
  return "portcullis";
}

/** Events in the calendar feed at most: the soonest expiries (a fleet's feed stays a size calendar clients read). */
export const CALENDAR_MAX_EVENTS = 5000;
/** Certificates that expired this long ago still have their event (a calendar shows the recent past). */
const CALENDAR_PAST_DAYS = 30;

/**
 * An iCalendar (RFC 5545) text with one all-day event on the expiry date (UTC) of each
 * valid certificate, each with a reminder 30 days before: those that expire from 30 days
 * ago on, soonest first, at most CALENDAR_MAX_EVENTS (`max`).
 */
export async function expiryCalendar(opts: { now?: Date; max?: number } = {}): Promise<string> {
  const now = opts.now ?? new Date();
  const host = calendarHost();
  const db = await getDb();
  const rows = await db.certificate.findMany({
    // Along the index (status, notAfter, number).
    where: { status: "valid", notAfter: { gte: new Date(now.getTime() - CALENDAR_PAST_DAYS * DAY_MS) }, revokedAt: null },
    select: { number: true, commonName: true, filename: true, subject: true, hostname: true, notAfter: true },
    orderBy: [{ notAfter: "asc" }, { number: "asc" }],
    take: Math.max(1, Math.min(opts.max ?? CALENDAR_MAX_EVENTS, CALENDAR_MAX_EVENTS)),
  });
  const stamp = icsDateTime(now);
  const lines: string[] = ["BEGIN:VCALENDAR", "VERSION:2.0", "PRODID:-//Portcullis//Certificate expiry//EN", "CALSCALE:GREGORIAN", "METHOD:PUBLISH", "X-WR-CALNAME:Portcullis certificate expiry"];
  for (const r of rows) {
    const name = r.commonName || r.filename;
    const summary = `Certificate ${r.number} (${name}) expires`;
    const description = [`Subject: ${r.subject}`, r.hostname ? `Hostname: ${r.hostname}` : null, `File name: ${r.filename}`, `Not after: ${r.notAfter.toISOString()}`].filter(Boolean).join("\n");
    lines.push(
      "BEGIN:VEVENT",
      `UID:portcullis-cert-${r.number}@${host}`,
      `DTSTAMP:${stamp}`,
      `DTSTART;VALUE=DATE:${icsDate(r.notAfter)}`,
      `DTEND;VALUE=DATE:${icsDate(new Date(r.notAfter.getTime() + DAY_MS))}`,
      `SUMMARY:${escapeIcsText(summary)}`,
      `DESCRIPTION:${escapeIcsText(description)}`,
      "TRANSP:TRANSPARENT",
      "BEGIN:VALARM",
      "ACTION:DISPLAY",
      `TRIGGER:-P${CALENDAR_ALARM_DAYS}D`,
      `DESCRIPTION:${escapeIcsText(`${summary} in ${CALENDAR_ALARM_DAYS} days`)}`,
      "END:VALARM",
      "END:VEVENT",
    );
  }
  lines.push("END:VCALENDAR");
  return lines.map(foldIcsLine).join("");
}
