import Link from "next/link";
import type { ReactNode } from "react";
import { buttonClass } from "./button-styles";

/**
 * Navigation between the keyset pages of a list: a link back to the first page (when this is
 * not it) and a link to the next one (when there is one). Keyset pages have no page numbers and
 * no "previous": the cursor only points forward, which keeps every page as cheap as the first.
 * Renders nothing on a list that fits on one page.
 */
export function Pager({
  label,
  firstHref,
  nextHref,
  firstText = "First page",
  nextText = "Next page",
  summary,
  divided = true,
}: {
  /** The nav's accessible name, e.g. "Pages of the queue". */
  label: string;
  /** The first page's address; null on the first page. */
  firstHref: string | null;
  /** The next page's address; null on the last page. */
  nextHref: string | null;
  firstText?: string;
  nextText?: string;
  /** A short note after the links, e.g. "20 on this page". */
  summary?: ReactNode;
  /** Draw a rule above (inside a card, after a table). */
  divided?: boolean;
}) {
  if (!firstHref && !nextHref) return null;
  return (
    <nav aria-label={label} className={`flex flex-wrap items-center gap-3 text-sm ${divided ? "mt-4 border-t border-slate-100 pt-4" : ""}`}>
      {firstHref ? (
        <Link href={firstHref} className={buttonClass("secondary")}>
          {firstText}
        </Link>
      ) : null}
      {nextHref ? (
        <Link href={nextHref} rel="next" className={buttonClass("secondary")}>
          {nextText}
        </Link>
      ) : null}
      {summary ? <span className="text-slate-500">{summary}</span> : null}
    </nav>
  );
}
