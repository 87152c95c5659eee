/** To the technical contact and to the CA administrator: an issued certificate reached an expiry warning threshold. */
import { renderEmail, type EmailContent, isoUtc } from "./layout.ts";

export interface CertificateExpiringEmailInput {
  /** Who reads it: the contact is asked to request a renewal, the administrator is told who was asked. */
  audience: "contact" | "admin";
  number: number;
  filename: string;
  subject: string;
  serial: string;
  hostname?: string | null;
  notAfter: Date;
  /** Whole days until notAfter (0 on the last day). */
  daysLeft: number;
  /** The warning threshold reached, in days before expiry. */
  thresholdDays: number;
  /** Thresholds still to come (smaller than `thresholdDays`), for "further warnings follow". */
  laterThresholds: number[];
  contact: { name: string; email?: string | null };
  /** The administrators' page of the certificate. */
  certificateUrl?: string;
  /** The public page where the contact requests the renewal. */
  renewUrl?: string;
}

function inDays(days: number): string {
  if (days <= 0) return "within a day";
  return days === 1 ? "in 1 day" : `in ${days} days`;
}

function list(days: number[]): string {
  const s = days.map(String);
  return s.length <= 1 ? s.join("") : `${s.slice(0, -1).join(", ")} and ${s.at(-1)}`;
}

/** `Certificate number N for "<file name>" expires in D days`. */
export function certificateExpiringEmail(p: CertificateExpiringEmailInput): EmailContent {
  const when = `${isoUtc(p.notAfter)} (${inDays(p.daysLeft)})`;
  const later = [...p.laterThresholds].sort((a, b) => b - a);
  const next = later.length ? `Further reminders follow ${list(later)} days before expiry unless it is renewed first.` : "This is the last reminder.";
  const contactLine = [p.contact.name, p.contact.email ?? ""].filter(Boolean).join(" ");
  const paragraphs =
    p.audience === "contact"
      ? [
          `Certificate number ${p.number}, issued for your Certificate Signing Request "${p.filename}", expires on ${when}.`,
          "Request its renewal before then: submit a new Certificate Signing Request with exactly the same common name. Once the new certificate is issued, install it in place of this one.",
        ]
      : [
          `Certificate number ${p.number}, issued for the Certificate Signing Request "${p.filename}", expires on ${when}.`,
          p.contact.email
            ? `Its technical contact, ${contactLine}, received the same reminder and was asked to request a renewal.`
            : `Its technical contact, ${p.contact.name}, has no e-mail address on record and was not notified: ask them to request a renewal.`,
        ];
  const details: Array<[string, string]> = [
    ["Number", String(p.number)],
    ["Subject", p.subject],
    ["Serial number", p.serial],
    ["File name", p.filename],
    ["Hostname", p.hostname || "—"],
    ["Valid until", isoUtc(p.notAfter)],
    ["Days left", String(Math.max(p.daysLeft, 0))],
    ["Reminder", `${p.thresholdDays} days before expiry`],
    ["Technical contact", contactLine || "—"],
  ];
  if (p.renewUrl) details.push(["Request renewal", p.renewUrl]);
  if (p.certificateUrl) details.push(["Certificate page (administrators)", p.certificateUrl]);
  const link =
    p.audience === "contact"
      ? p.renewUrl
        ? { label: "Request renewal", url: p.renewUrl }
        : undefined
      : p.certificateUrl
        ? { label: "Open the certificate", url: p.certificateUrl }
        : undefined;
  return renderEmail({
    subject: `Certificate number ${p.number} for "${p.filename}" expires ${inDays(p.daysLeft)}`,
    heading: `Certificate number ${p.number} expires ${inDays(p.daysLeft)}`,
    paragraphs,
    details,
    after: [next],
    link,
  });
}
