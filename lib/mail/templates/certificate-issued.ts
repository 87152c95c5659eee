/** To the technical contact: their certificate was issued. */
import { isoUtc, renderEmail, type EmailContent } from "./layout.ts";

/** What a contact is told of each issued certificate. */
export interface IssuedCertificateFacts {
  number: number;
  filename: string;
  subject: string;
  serial: string;
  notAfter: Date;
  sha1Fingerprint: string;
}

export function certificateIssuedEmail(p: IssuedCertificateFacts & { downloadUrl?: string; pageUrl?: string }): EmailContent {
  return renderEmail({
    subject: `Certificate number ${p.number} issued for Certificate Signing Request "${p.filename}"`,
    heading: `Certificate number ${p.number} issued`,
    paragraphs: [
      `Certificate number ${p.number} was issued for your Certificate Signing Request "${p.filename}".`,
      "Get it from the Certificate Authority: on your instance's \"Get Certificate(s) from Certificate Authority server\" page (search for the number, your hostname, instance or file name), or download it directly.",
    ],
    details: [
      ["Number", String(p.number)],
      ["Subject", p.subject],
      ["Serial number", p.serial],
      ["Valid until", isoUtc(p.notAfter)],
      ["SHA-1 fingerprint", p.sha1Fingerprint],
      ...(p.downloadUrl ? ([["Download (PEM)", p.downloadUrl]] as [string, string][]) : []),
    ],
    link: p.pageUrl ? { label: "Get the certificate", url: p.pageUrl } : undefined,
  });
}
