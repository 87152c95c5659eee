/** The message the SMTP settings page sends to check the configuration. */
import { renderEmail, type EmailContent } from "./layout.ts";

/** "Portcullis SMTP test". */
export function smtpTestEmail(p: { to: string }): EmailContent {
  return renderEmail({
    subject: "Portcullis SMTP test",
    heading: "SMTP test",
    paragraphs: [
      `This is a test message from Portcullis to ${p.to}.`,
      "If you can read it, the SMTP settings work and notification e-mails will be delivered.",
    ],
  });
}
