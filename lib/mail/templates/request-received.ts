/** To the CA administrator: a certificate signing request arrived in the queue. */
import { renderEmail, type EmailContent } from "./layout.ts";

export function requestReceivedEmail(p: {
  subject: string;
  filename: string;
  contact: { name: string; phone?: string | null; email?: string | null };
  hostname?: string | null;
  instance?: string | null;
  sha1Fingerprint: string;
  sha256Fingerprint: string;
  processUrl?: string;
}): EmailContent {
  return renderEmail({
    subject: `Certificate Signing Request "${p.filename}" received`,
    heading: "New certificate signing request",
    paragraphs: [
      `A Certificate Signing Request "${p.filename}" was submitted to the Certificate Authority and waits in the pending queue.`,
      "Before issuing, contact the technical contact and verify their identity, their authority to request this certificate, and that the SHA-1 fingerprint below matches the one reported to them when they submitted it.",
    ],
    details: [
      ["Subject", p.subject],
      ["Technical contact", [p.contact.name, p.contact.phone ?? "", p.contact.email ?? ""].filter(Boolean)],
      ["Hostname", p.hostname ?? "—"],
      ["Instance", p.instance ?? "—"],
      ["SHA-1 fingerprint", p.sha1Fingerprint],
      ["SHA-256 fingerprint", p.sha256Fingerprint],
    ],
    link: p.processUrl ? { label: "Process the request", url: p.processUrl } : undefined,
  });
}
