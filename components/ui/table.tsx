import type { ReactNode } from "react";

/** A responsive table with column headers, or `empty` when there are no rows. */
export function DataTable({ columns, rows, empty }: { columns: string[]; rows: ReactNode[]; empty: ReactNode }) {
  if (rows.length === 0) return <p className="text-sm text-slate-600">{empty}</p>;
  return (
    <div className="relative overflow-x-auto">
      <table className="w-full text-left text-sm">
        <thead className="text-xs uppercase text-slate-500">
          <tr>
            {columns.map((c) => (
              <th key={c} scope="col" className="py-2 pr-4 last:pr-0">
                {c}
              </th>
            ))}
          </tr>
        </thead>
        <tbody className="divide-y divide-slate-100">{rows}</tbody>
      </table>
    </div>
  );
}

/** A date to the minute, in UTC, as tables show it; "—" when absent. */
export function utcMinute(d: Date | null | undefined): string {
  return d ? d.toISOString().slice(0, 16).replace("T", " ") + " UTC" : "—";
}
