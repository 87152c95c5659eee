import { Fragment, type ReactNode } from "react";
import Link from "next/link";

export interface Crumb {
  href: string;
  label: ReactNode;
}

/** The portal's start page, where most trails begin. */
export const HOME_CRUMB: Crumb = { href: "/", label: "Public Key Infrastructure" };

/**
 * A breadcrumb trail for PageHeader: the pages above this one as links (by default the
 * start page), then `current`, what this page is, when it is not itself a link.
 */
export function Breadcrumb({ links = [HOME_CRUMB], current }: { links?: Crumb[]; current?: ReactNode }) {
  return (
    <>
      {links.map((l, i) => (
        <Fragment key={l.href}>
          {i > 0 ? " › " : null}
          <Link href={l.href} className="underline">
            {l.label}
          </Link>
        </Fragment>
      ))}
      {current ? <> › {current}</> : null}
    </>
  );
}
