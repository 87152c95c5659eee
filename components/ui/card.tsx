import type { ReactNode } from "react";

export function Card({ title, description, children, actions }: { title?: ReactNode; description?: ReactNode; children?: ReactNode; actions?: ReactNode }) {
  return (
    <section className="rounded-xl border border-slate-200 bg-white shadow-sm">
      {title || actions ? (
        <header className="flex flex-wrap items-start justify-between gap-3 border-b border-slate-100 px-5 py-4">
          <div>
            {title ? <h2 className="text-base font-semibold text-slate-900">{title}</h2> : null}
            {description ? <p className="mt-1 text-sm text-slate-600">{description}</p> : null}
          </div>
          {actions}
        </header>
      ) : null}
      <div className="px-5 py-4">{children}</div>
    </section>
  );
}

export function PageHeader({ title, description, breadcrumb }: { title: ReactNode; description?: ReactNode; breadcrumb?: ReactNode }) {
  return (
    <div className="mb-6">
      {breadcrumb ? <nav aria-label="Breadcrumb" className="mb-1 text-sm text-slate-500">{breadcrumb}</nav> : null}
      <h1 className="text-2xl font-bold tracking-tight text-slate-900">{title}</h1>
      {description ? <p className="mt-1 max-w-3xl text-sm text-slate-600">{description}</p> : null}
    </div>
  );
}

export function DefinitionList({ items }: { items: { term: ReactNode; value: ReactNode }[] }) {
  return (
    <dl className="grid grid-cols-1 gap-x-6 gap-y-3 text-sm sm:grid-cols-[minmax(10rem,auto)_1fr]">
      {items.map((it, i) => (
        <div key={i} className="contents">
          <dt className="font-medium text-slate-600">{it.term}</dt>
          <dd className="break-all text-slate-900">{it.value}</dd>
        </div>
      ))}
    </dl>
  );
}
