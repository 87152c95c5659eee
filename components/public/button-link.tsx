"use client";
import Link from "next/link";
import type { ComponentProps } from "react";
import { buttonClass } from "@/components/ui/button";

/** A link that looks like the UI kit's buttons (buttonClass lives in a client module). */
export function ButtonLink({ variant = "secondary", ...rest }: ComponentProps<typeof Link> & { variant?: "primary" | "secondary" }) {
  return <Link className={buttonClass(variant)} {...rest} />;
}

/** A plain submit button styled like the UI kit's, for GET forms that need no pending state. */
export function PlainSubmit({ children }: { children: React.ReactNode }) {
  return (
    <button type="submit" className={buttonClass("primary")}>
      {children}
    </button>
  );
}
