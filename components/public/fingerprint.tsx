/**
 * A colon-hex fingerprint split into groups of four bytes, so it can be read back on the
 * phone group by group. The text content stays exactly the colon-hex string (copy and
 * paste, and scripted checks, see "AB:CD:…").
 */
export function GroupedFingerprint({ value, size = "large", testId }: { value: string; size?: "large" | "small"; testId?: string }) {
  const bytes = value.split(":");
  const groups: string[] = [];
  for (let i = 0; i < bytes.length; i += 4) groups.push(bytes.slice(i, i + 4).join(":") + (i + 4 < bytes.length ? ":" : ""));
  const cls = size === "large" ? "text-xl sm:text-2xl font-semibold tracking-wide text-slate-900" : "text-xs text-slate-700";
  return (
    <code data-testid={testId} className={`flex flex-wrap gap-x-3 gap-y-1 font-mono ${cls}`}>
      {groups.map((g, i) => (
        <span key={i} className="whitespace-nowrap">
          {g}
        </span>
      ))}
    </code>
  );
}
