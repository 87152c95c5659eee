/**
 * A fingerprint shown to be read aloud over the phone: large monospace, split into
 * groups of five bytes. The groups are spaced by layout only, so the text (and what is
 * copied) is exactly the colon hex the requester was shown.
 */
export function GroupedFingerprint({ value, testId, size = "lg" }: { value: string; testId?: string; size?: "lg" | "sm" }) {
  const bytes = value.split(":");
  const groups: string[][] = [];
  for (let i = 0; i < bytes.length; i += 5) groups.push(bytes.slice(i, i + 5));
  const text = size === "lg" ? "text-xl font-semibold" : "text-xs sm:text-sm";
  return (
    <code data-testid={testId} className={`flex flex-wrap gap-x-3 gap-y-1 font-mono tracking-wide text-slate-900 ${text}`}>
      {groups.map((g, i) => (
        <span key={i} className="whitespace-nowrap">
          {g.join(":")}
          {i < groups.length - 1 ? ":" : ""}
        </span>
      ))}
    </code>
  );
}
