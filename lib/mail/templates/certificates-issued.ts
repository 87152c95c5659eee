/**
 * To a technical contact: several of their certificates were issued in one bulk issuance
 * (a fleet's batch). One mail lists them all, instead of one mail per certificate.
 */
import type { IssuedCertificateFacts } from "./certificate-issued.ts";
import { isoUtc, renderEmail, type EmailContent } from "./layout.ts";

/** "1–25", "3, 5, 7–9": the numbers in order, runs collapsed. */
export function numberRanges(numbers: number[]): string {
  const sorted = [...numbers].sort((a, b) => a - b);
  const out: string[] = [];
  for (let i = 0; i < sorted.length; ) {
    let j = i;
    while (j + 1 < sorted.length && sorted[j + 1] === sorted[j]! + 1) j++;
    out.push(j > i ? `${sorted[i]}–${sorted[j]}` : String(sorted[i]));
    i = j + 1;
  }
  return out.join(", ");
}

export function certificatesIssuedEmail(p: { certificates: IssuedCertificateFacts[]; downloadBase?: string; pageUrl?: string }): EmailContent {
  const n = p.certificates.length;
  const numbers = numberRanges(p.certificates.map((c) => c.number));
  return renderEmail({
    subject: `${n} certificates issued: numbers ${numbers}`,
    heading: `${n} certificates issued`,
    paragraphs: [
      `The Certificate Authority issued ${n} certificates for your Certificate Signing Requests (numbers ${numbers}).`,
      "Get them from the Certificate Authority: on your instance's \"Get Certificate(s) from Certificate Authority server\" page (search for a number, your hostname, instance or file name), or download each one directly.",
    ],
    details: p.certificates.map((c) => [
      `Number ${c.number}`,
      [
        `File name: ${c.filename}`,
        `Subject: ${c.subject}`,
        `Serial number: ${c.serial}`,
        `Valid until: ${isoUtc(c.notAfter)}`,
        `SHA-1 fingerprint: ${c.sha1Fingerprint}`,
        ...(p.downloadBase ? [`Download (PEM): ${p.downloadBase}/api/v1/certificates/${c.number}?format=pem`] : []),
      ],
    ]),
    link: p.pageUrl ? { label: "Get the certificates", url: p.pageUrl } : undefined,
  });
}
