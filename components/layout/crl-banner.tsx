import Link from "next/link";
import { currentAdmin } from "@/app/_server/session.ts";
import { crlReminder } from "@/lib/ca/crl-reminders.ts";

function utcMinute(iso: string): string {
  return `${iso.slice(0, 16).replace("T", " ")} UTC`;
}

/**
 * For signed-in administrators, on every page: the CA's CRL expires within the reminder
 * window (amber), has expired or does not exist (red), with a link to re-sign it.
 */
export async function CrlBanner() {
  const admin = await currentAdmin();
  if (!admin) return null;
  const r = await crlReminder();
  if (!r) return null;
  const red = r.state !== "soon";
  const text =
    r.state === "missing" || !r.nextUpdate
      ? "The CA has not published a CRL yet"
      : r.state === "expired"
        ? `The CRL expired at ${utcMinute(r.nextUpdate)}`
        : `The CRL expires at ${utcMinute(r.nextUpdate)}`;
  return (
    <div
      role={red ? "alert" : "status"}
      data-testid="crl-banner"
      data-state={r.state}
      className={`border-b py-2 text-sm ${red ? "border-red-300 bg-red-50 text-red-900" : "border-amber-300 bg-amber-50 text-amber-900"}`}
    >
      <p className="mx-auto max-w-5xl px-4 sm:px-6">
        <span className="font-semibold">{text}</span> —{" "}
        <Link href="/ca-server/crl" className="font-semibold underline">
          {r.state === "missing" ? "Sign it" : "Re-sign it"}
        </Link>
      </p>
    </div>
  );
}
