"use client";
import { useRouter } from "next/navigation";
import type { FormEvent, ReactNode } from "react";

/**
 * A GET search form whose URL keeps only the filled fields (`/certificates?number=3`), so
 * results are easy to bookmark and share. Without JavaScript it is a plain GET form.
 */
export function SearchForm({ action, children, label, className }: { action: string; children: ReactNode; label: string; className?: string }) {
  const router = useRouter();
  function onSubmit(e: FormEvent<HTMLFormElement>) {
    e.preventDefault();
    const params = new URLSearchParams();
    for (const [k, v] of new FormData(e.currentTarget).entries()) {
      if (typeof v === "string" && v.trim() !== "") params.set(k, v.trim());
    }
    const q = params.toString();
    router.push(q ? `${action}?${q}` : action);
  }
  return (
    <form method="get" action={action} onSubmit={onSubmit} className={className} role="search" aria-label={label}>
      {children}
    </form>
  );
}
