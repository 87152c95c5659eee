/** To the CA administrator: the current CRL's nextUpdate is near (or has passed); re-sign it with the CA key's password. */
import { oneLine, renderEmail, type EmailContent, isoUtc } from "./layout.ts";

export interface CrlReminderEmailInput {
  /** Distinguished name of the CA certificate. */
  caSubject: string;
  fileNameRoot: string;
  crlNumber: number;
  thisUpdate: Date;
  nextUpdate: Date;
  /** Whether nextUpdate has already passed when the reminder is written. */
  expired: boolean;
  /** The "Certificate revocation list" page, when the portal's address is known. */
  pageUrl?: string;
}

export function crlReminderEmail(p: CrlReminderEmailInput): EmailContent {
  const when = isoUtc(p.nextUpdate);
  const first = p.expired
    ? `The certificate revocation list (CRL) of ${p.caSubject} expired at ${when} (its nextUpdate). Relying parties that check revocation now refuse every certificate of this CA until a new CRL is published.`
    : `The certificate revocation list (CRL) of ${p.caSubject} expires at ${when} (its nextUpdate). Relying parties that check revocation will refuse every certificate of this CA once it has expired.`;
  return renderEmail({
    subject: `${p.expired ? "The CRL has expired" : "The CRL expires soon"}: re-sign it for ${oneLine(p.caSubject)}`,
    heading: p.expired ? "The CRL has expired" : "The CRL expires soon",
    paragraphs: [
      first,
      "Re-sign it on the portal's \"Certificate revocation list\" page (Re-sign CRL, with the CA key's password), or over the API: POST /api/v1/admin/crl {\"caKeyPassword\": …}.",
    ],
    details: [
      ["CA", p.caSubject],
      ["CRL", `${p.fileNameRoot}.crl, number ${p.crlNumber}`],
      ["This update", isoUtc(p.thisUpdate)],
      ["Next update", when],
    ],
    after: ["This reminder is sent once per CRL."],
    link: p.pageUrl ? { label: "Re-sign the CRL", url: p.pageUrl } : undefined,
  });
}
