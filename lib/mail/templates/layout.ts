/**
 * The shared frame of every Portcullis e-mail: the same content rendered twice, as
 * inline-styled HTML (mail clients ignore <style> blocks and external CSS) and as plain
 * text. Templates pass plain strings; all escaping happens here, once.
 */
import { escapeHtml } from "../escape.ts";

/** A rendered e-mail, ready for the outbox. */
export interface EmailContent {
  subject: string;
  text: string;
  html: string;
}

/** What a template puts into the frame. Every string is plain text, never HTML. */
export interface LayoutInput {
  /** Subject line; line breaks are removed (they would break the header). */
  subject: string;
  heading: string;
  /** Paragraphs before the details table. */
  paragraphs: string[];
  /** Label/value rows; a list value is shown one item per line. */
  details?: Array<[label: string, value: string | string[]]>;
  /** Paragraphs after the details table. */
  after?: string[];
  /** A link button; only http(s) URLs are rendered as links. */
  link?: { label: string; url: string };
}

const FOOTER = "Sent by the Portcullis PKI portal";

const FONT = "font-family:-apple-system,BlinkMacSystemFont,'Segoe UI',Roboto,Helvetica,Arial,sans-serif";

/** A time as the mails show it: ISO 8601 in UTC, whole seconds. */
export function isoUtc(d: Date): string {
  return d.toISOString().replace(/\.\d{3}Z$/, "Z");
}

/** One line of a header: no CR/LF, no runs of whitespace. */
export function oneLine(s: string): string {
  return s.replace(/\s+/g, " ").trim();
}

function isWebUrl(url: string): boolean {
  try {
    const u = new URL(url);
    return u.protocol === "https:" || u.protocol === "http:";
  } catch {
    return false;
  }
}

/** Renders `input` as subject, plain text and HTML. */
export function renderEmail(input: LayoutInput): EmailContent {
  const subject = oneLine(input.subject);
  const link = input.link && isWebUrl(input.link.url) ? input.link : undefined;
  return { subject, text: renderText(input, link), html: renderHtml(input, subject, link) };
}

function renderText(input: LayoutInput, link: LayoutInput["link"]): string {
  const out: string[] = [input.heading, "=".repeat(Math.min(input.heading.length, 72)), ""];
  for (const p of input.paragraphs) out.push(p, "");
  if (input.details?.length) {
    for (const [label, value] of input.details) {
      if (Array.isArray(value)) {
        out.push(`${label}:`);
        for (const v of value) out.push(`  - ${v}`);
      } else {
        out.push(`${label}: ${value}`);
      }
    }
    out.push("");
  }
  for (const p of input.after ?? []) out.push(p, "");
  if (link) out.push(`${link.label}: ${link.url}`, "");
  out.push("-- ", FOOTER, "");
  return out.join("\n");
}

function renderHtml(input: LayoutInput, subject: string, link: LayoutInput["link"]): string {
  const p = (t: string) => `<p style="margin:0 0 14px;line-height:1.5">${escapeHtml(t)}</p>`;
  const rows = (input.details ?? [])
    .map(([label, value]) => {
      const cell = Array.isArray(value)
        ? value.map((v) => escapeHtml(v)).join("<br>")
        : escapeHtml(value);
      return (
        `<tr><th align="left" valign="top" style="padding:6px 12px 6px 0;color:#555;font-weight:600;white-space:nowrap">${escapeHtml(label)}</th>` +
        `<td style="padding:6px 0;font-family:Menlo,Consolas,monospace;font-size:13px;word-break:break-all">${cell}</td></tr>`
      );
    })
    .join("");
  const table = rows
    ? `<table role="presentation" cellpadding="0" cellspacing="0" style="border-collapse:collapse;margin:4px 0 18px;font-size:14px">${rows}</table>`
    : "";
  const button = link
    ? `<p style="margin:18px 0"><a href="${escapeHtml(link.url)}" style="display:inline-block;background:#1f4e79;color:#ffffff;text-decoration:none;padding:10px 16px;border-radius:4px">${escapeHtml(link.label)}</a></p>`
    : "";
  return [
    "<!DOCTYPE html>",
    `<html><head><meta charset="utf-8"><meta name="viewport" content="width=device-width"><title>${escapeHtml(subject)}</title></head>`,
    `<body style="margin:0;padding:24px;background:#f3f4f6;${FONT};color:#1f2937">`,
    `<div style="max-width:640px;margin:0 auto;background:#ffffff;border:1px solid #e5e7eb;border-radius:6px">`,
    `<div style="padding:14px 24px;border-bottom:1px solid #e5e7eb;font-weight:700;letter-spacing:.02em;color:#1f4e79">Portcullis</div>`,
    `<div style="padding:24px">`,
    `<h1 style="margin:0 0 16px;font-size:20px;line-height:1.3">${escapeHtml(input.heading)}</h1>`,
    ...input.paragraphs.map(p),
    table,
    ...(input.after ?? []).map(p),
    button,
    `</div>`,
    `<div style="padding:12px 24px;border-top:1px solid #e5e7eb;font-size:12px;color:#6b7280">${FOOTER}</div>`,
    `</div></body></html>`,
  ]
    .filter(Boolean)
    .join("\n");
}
