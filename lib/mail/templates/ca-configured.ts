/** Sent to the administrator when the CA server has been configured (new or existing files). */
import { oneLine, renderEmail, type EmailContent, isoUtc } from "./layout.ts";

export interface CaConfiguredEmailInput {
  adminEmail: string;
  mode: "new" | "existing";
  /** File names written or adopted, e.g. the certificate and key. */
  files: string[];
  directory: string;
  /** Distinguished name of the CA certificate. */
  subject: string;
  sha1Fingerprint: string;
  sha256Fingerprint: string;
  notAfter: Date;
  portalUrl?: string;
}

/** "Certificate Authority server configured: <CA subject>". */
export function caConfiguredEmail(p: CaConfiguredEmailInput): EmailContent {
  const how =
    p.mode === "new"
      ? "with new files: a new CA private key and self-signed CA certificate were created"
      : "with existing files: the CA certificate and private key already in the directory were adopted";
  const details: Array<[string, string | string[]]> = [
    ["CA subject", p.subject],
    ["Directory", p.directory],
    ["Files", p.files.length ? p.files : ["(none)"]],
    ["SHA-1 fingerprint", p.sha1Fingerprint],
    ["SHA-256 fingerprint", p.sha256Fingerprint],
    ["Valid until", isoUtc(p.notAfter)],
  ];
  if (p.portalUrl) details.push(["Portal", p.portalUrl]);
  return renderEmail({
    subject: `Certificate Authority server configured: ${oneLine(p.subject)}`,
    heading: "Certificate Authority server configured",
    paragraphs: [`The Certificate Authority server was configured ${how}.`],
    details,
    after: [
      "Compare the fingerprints with the CA certificate you distribute to clients before trusting it.",
      `This message was sent to ${p.adminEmail}, the administrator contact of this CA server.`,
    ],
    link: p.portalUrl ? { label: "Open the portal", url: p.portalUrl } : undefined,
  });
}
