/** A certificate's status as a badge: Revoked, Expired or Valid. */
export function CertificateStatusBadge({ status, notAfter, now = new Date() }: { status: string; notAfter: string; now?: Date }) {
  if (status !== "valid") {
    return (
      <span data-testid="certificate-status" className="rounded-full bg-red-100 px-2 py-0.5 text-xs font-semibold text-red-900">
        {status === "revoked" ? "Revoked" : status}
      </span>
    );
  }
  if (new Date(notAfter) < now) {
    return (
      <span data-testid="certificate-status" className="rounded-full bg-slate-200 px-2 py-0.5 text-xs font-semibold text-slate-800">
        Expired
      </span>
    );
  }
  return (
    <span data-testid="certificate-status" className="rounded-full bg-emerald-100 px-2 py-0.5 text-xs font-semibold text-emerald-900">
      Valid
    </span>
  );
}
