/**
 * The RFC 5280 CRLReason names with plain-English labels, for forms (no server-only
 * imports: the revoke form is a client component). The names are those of
 * lib/pki/crl.ts's REVOCATION_REASONS; a test keeps the two lists equal.
 */
import type { RevocationReason } from "../pki/crl.ts";

export const REVOCATION_REASON_LABELS: readonly { value: RevocationReason; label: string }[] = [
  { value: "unspecified", label: "Unspecified — no particular reason" },
  { value: "keyCompromise", label: "Key compromise — the private key was lost, stolen or exposed" },
  { value: "cACompromise", label: "CA compromise — the issuing CA's key was compromised" },
  { value: "affiliationChanged", label: "Affiliation changed — the subject's name or organization changed" },
  { value: "superseded", label: "Superseded — replaced by a new certificate" },
  { value: "cessationOfOperation", label: "Cessation of operation — the server or service is retired" },
  { value: "privilegeWithdrawn", label: "Privilege withdrawn — the holder may no longer use it" },
  { value: "aACompromise", label: "AA compromise — an attribute authority was compromised" },
];

/** The short label of a reason name ("Key compromise"), or the name itself when unknown. */
export function revocationReasonLabel(reason: string): string {
  const l = REVOCATION_REASON_LABELS.find((r) => r.value === reason)?.label;
  return l ? l.split(" — ")[0] : reason;
}
