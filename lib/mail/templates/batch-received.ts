/** To the CA administrator: a submission batch of certificate signing requests arrived in the queue. */
import { renderEmail, type EmailContent } from "./layout.ts";

export function batchReceivedEmail(p: { batchId: string; count: number; submittedBy: string; instances: string[]; queueUrl?: string }): EmailContent {
  return renderEmail({
    subject: `${p.count} Certificate Signing Requests received (batch ${p.batchId})`,
    heading: "New submission batch",
    paragraphs: [
      `${p.count} Certificate Signing Request${p.count === 1 ? " was" : "s were"} submitted to the Certificate Authority in one batch and wait${p.count === 1 ? "s" : ""} in the pending queue.`,
      "Before issuing, verify the batch with its technical contact: who sent it, for which devices or hosts, and how many requests it holds.",
    ],
    details: [
      ["Batch", p.batchId],
      ["Requests", String(p.count)],
      ["Submitted by", p.submittedBy],
      ["Instances", p.instances.length ? p.instances.slice(0, 20).join(", ") + (p.instances.length > 20 ? ` and ${p.instances.length - 20} more` : "") : "—"],
    ],
    link: p.queueUrl ? { label: "Open the pending queue", url: p.queueUrl } : undefined,
  });
}
