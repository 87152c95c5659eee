/**
 * The figures of one bench run, their ratios to the `openssl ca -batch` baseline (d) and
 * the targets of the scale-and-speed work; printed as a table and written as JSON.
 */
import { mkdirSync, writeFileSync } from "node:fs";
import { dirname } from "node:path";
import { round } from "./util.ts";

export const BASELINE_ID = "d.openssl-ca";
export const PER_CERT_ID = "e.openssl-x509-req";

export type Unit = "certs/s" | "signs/s" | "req/s" | "CSRs/s" | "ms" | "MB" | "×";

export interface Target {
  /** As printed: "≥ 3× (d)", "< 512 MB". */
  text: string;
  /** Whether a figure meets it; null when it cannot be judged (a figure it needs is missing). */
  check: (f: Figure, all: Figure[]) => boolean | null;
}

export interface Figure {
  /** Stable key, e.g. "a.p256.node-sign.serial". */
  id: string;
  section: "a" | "b" | "c" | "d" | "e" | "f" | "g";
  label: string;
  unit: Unit;
  /** A positive number when measured; null when skipped or failed. */
  value: number | null;
  /** Why the figure was not measured (a missing build, PostgreSQL not given, …). */
  skipped?: string;
  /** Why the measurement failed. */
  error?: string;
  /** Other numbers behind the value (runs, p50s, the 1k figures, counts). */
  detail?: Record<string, number | string>;
  /** Printed in the table's last column. */
  note?: string;
  target?: Target;
}

export interface FigureJson extends Omit<Figure, "target"> {
  ratioToBaseline: number | null;
  target: string | null;
  met: boolean | null;
}

export interface BenchReport {
  version: 1;
  mode: "full" | "short";
  startedAt: string;
  finishedAt: string;
  machine: Record<string, unknown>;
  parameters: Record<string, unknown>;
  baseline: { id: string; label: string; value: number | null };
  figures: FigureJson[];
  notes: string[];
  ok: boolean;
}

export function figure(f: Omit<Figure, "value"> & { value: number }): Figure {
  return f;
}

export function skippedFigure(f: Omit<Figure, "value" | "skipped">, reason: string): Figure {
  return { ...f, value: null, skipped: reason };
}

const RATE_UNITS: ReadonlySet<Unit> = new Set(["certs/s", "signs/s", "req/s", "CSRs/s"]);

export function valueOf(all: Figure[], id: string): number | null {
  return all.find((f) => f.id === id)?.value ?? null;
}

/** A rate's multiple of the baseline; null for latencies, sizes and missing values. */
export function ratioToBaseline(f: Figure, all: Figure[]): number | null {
  const base = valueOf(all, BASELINE_ID);
  if (f.value === null || base === null || !RATE_UNITS.has(f.unit)) return null;
  return f.value / base;
}

export function toJson(all: Figure[]): FigureJson[] {
  return all.map(({ target, ...f }) => {
    const ratio = ratioToBaseline(f, all);
    return {
      ...f,
      value: f.value === null ? null : round(f.value, f.value >= 100 ? 1 : 3),
      ratioToBaseline: ratio === null ? null : round(ratio, 3),
      target: target?.text ?? null,
      met: target && f.value !== null ? target.check(f, all) : null,
    };
  });
}

function fmtValue(f: FigureJson): string {
  if (f.value === null) return f.error ? "FAILED" : "—";
  const v = f.value;
  if (v >= 1000) return Math.round(v).toLocaleString("en-US");
  if (v >= 100) return v.toFixed(0);
  if (v >= 10) return v.toFixed(1);
  return v.toFixed(v >= 1 ? 2 : 3);
}

function fmtRatio(r: number | null): string {
  if (r === null) return "";
  return r >= 10 ? `${r.toFixed(0)}×` : r >= 1 ? `${r.toFixed(2)}×` : `${r.toFixed(3)}×`;
}

function fmtMet(m: boolean | null): string {
  return m === null ? "" : m ? "met" : "NOT met";
}

/** The table as plain text (fixed-width columns). */
export function formatTable(figs: FigureJson[]): string {
  const header = ["", "figure", "value", "unit", "× (d)", "target", "", "note"];
  const rows = figs.map((f) => [
    f.section,
    f.label,
    fmtValue(f),
    f.unit,
    fmtRatio(f.ratioToBaseline),
    f.target ?? "",
    fmtMet(f.met),
    f.error ? `error: ${f.error}` : f.skipped ? `skipped: ${f.skipped}` : (f.note ?? ""),
  ]);
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (i === header.length - 1 ? 0 : r[i].length))));
  const right = new Set([2, 4]);
  const line = (r: string[]) =>
    r
      .map((c, i) => (i === r.length - 1 ? c : right.has(i) ? c.padStart(widths[i]) : c.padEnd(widths[i])))
      .join("  ")
      .trimEnd();
  return [line(header), line(widths.map((w) => "-".repeat(w)).slice(0, -1).concat("----")), ...rows.map(line)].join("\n");
}

/** The table as Markdown, for the README. */
export function formatMarkdown(figs: FigureJson[]): string {
  const esc = (s: string) => s.replace(/\|/g, "\\|");
  const out = ["| | figure | value | unit | × (d) | target | | note |", "|---|---|--:|---|--:|---|---|---|"];
  for (const f of figs) {
    const note = f.error ? `error: ${f.error}` : f.skipped ? `skipped: ${f.skipped}` : (f.note ?? "");
    out.push(`| ${f.section} | ${esc(f.label)} | ${fmtValue(f)} | ${f.unit} | ${fmtRatio(f.ratioToBaseline)} | ${esc(f.target ?? "")} | ${fmtMet(f.met)} | ${esc(note)} |`);
  }
  return out.join("\n");
}

export function writeReport(file: string, report: BenchReport): void {
  mkdirSync(dirname(file), { recursive: true });
  writeFileSync(file, JSON.stringify(report, null, 2) + "\n");
}

// Targets from the scale-and-speed issue (ratios of one run on the 2-core machine).

/** value ≥ k × (d). */
export function atLeastBaseline(k: number): Target {
  return {
    text: `≥ ${k}× (d)`,
    check: (f, all) => {
      const r = ratioToBaseline(f, all);
      return r === null ? null : r >= k;
    },
  };
}

export const HTTP_TARGET: Target = {
  text: "≥ 1× (d), ≥ 20× (e)",
  check: (f, all) => {
    const d = valueOf(all, BASELINE_ID);
    const e = valueOf(all, PER_CERT_ID);
    if (f.value === null || d === null || e === null) return null;
    return f.value >= d && f.value >= 20 * e;
  },
};

export const RSS_TARGET: Target = { text: "< 512 MB", check: (f) => (f.value === null ? null : f.value < 512) };

/** Queue page: p95 at the large queue under 50 ms and at most 1.5× the p95 at 1k (detail.ratio). */
export const QUEUE_TARGET: Target = {
  text: "< 50 ms, ≤ 1.5× p95 at 1k",
  check: (f) => {
    const ratio = f.detail?.ratio;
    if (f.value === null || typeof ratio !== "number") return null;
    return f.value < 50 && ratio <= 1.5;
  },
};
