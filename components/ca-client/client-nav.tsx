import Link from "next/link";

const TABS = [
  { href: "/ca-client", label: "Configure" },
  { href: "/ca-client/submit", label: "Submit Certificate Signing Request" },
  { href: "/ca-client/certificates", label: "Get Certificate(s)" },
] as const;

export type ClientTab = (typeof TABS)[number]["href"];

/** The three CA client tasks, as tabs. */
export function ClientNav({ current }: { current: ClientTab }) {
  return (
    <nav aria-label="Certificate Authority client" className="flex flex-wrap gap-1 border-b border-slate-200 text-sm">
      {TABS.map((t) => (
        <Link
          key={t.href}
          href={t.href}
          aria-current={t.href === current ? "page" : undefined}
          className={`-mb-px rounded-t-md border px-3 py-2 ${t.href === current ? "border-slate-200 border-b-white bg-white font-semibold text-brand-900" : "border-transparent text-slate-600 hover:text-brand-700"}`}
        >
          {t.label}
        </Link>
      ))}
    </nav>
  );
}
