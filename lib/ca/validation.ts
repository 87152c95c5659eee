/** Field rules shared by the CA server and client forms. */

export const EMAIL_PATTERN = /^[^\s@<>()",;:\\[\]]{1,64}@[A-Za-z0-9](?:[A-Za-z0-9-]{0,62}[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,62}[A-Za-z0-9])?)*$/;
export const HOST_PATTERN = /^(?:[A-Za-z0-9](?:[A-Za-z0-9-]{0,62}[A-Za-z0-9])?)(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,62}[A-Za-z0-9])?)*$|^\d{1,3}(?:\.\d{1,3}){3}$|^\[[0-9A-Fa-f:.]+\]$/;

// Half of a surrogate pair is no text: no UTF-8 encoder (nor the database) takes it.
const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;

export function emailProblem(v: string | undefined | null, required = true): string | null {
  const e = (v ?? "").trim();
  if (!e) return required ? "Enter an e-mail address" : null;
  if (e.length > 254 || !EMAIL_PATTERN.test(e) || LONE_SURROGATE.test(e)) return "Enter an e-mail address such as camgr@example.com";
  return null;
}

/**
 * A From address: "addr@domain" or "Display Name <addr@domain>" (the name without quotes,
 * angle brackets, commas, semicolons, backslashes or control characters, at most 64
 * characters). Null when it is fine.
 */
export function fromAddressProblem(v: string): string | null {
  const message = "Enter an address such as pki@example.com or PKI Team <pki@example.com>";
  if (v.length > 320 || LONE_SURROGATE.test(v)) return message;
  const m = /^([^<>",;\\\u0000-\u001f\u007f]{1,64}?)\s*<([^<>\s]+)>$/.exec(v);
  const address = m ? m[2] : v;
  return emailProblem(address) ? message : null;
}

export function hostProblem(v: string | undefined | null): string | null {
  const h = (v ?? "").trim();
  if (!h) return "Enter a host name";
  if (h.length > 253 || !HOST_PATTERN.test(h)) return "Enter a host name such as smtp.example.com or an IP address";
  return null;
}

/** Parses a whole number in [min, max] from a number or a form string; returns the value or the message. */
export function intInRange(v: unknown, min: number, max: number, what: string): { value?: number; problem?: string } {
  const s = typeof v === "number" ? String(v) : typeof v === "string" ? v.trim() : "";
  if (s === "") return { problem: `Enter the ${what}` };
  if (!/^-?\d+$/.test(s)) return { problem: `Enter the ${what} as a whole number` };
  const n = Number(s);
  if (n < min || n > max) return { problem: `The ${what} must be between ${min} and ${max}` };
  return { value: n };
}

/** A form or JSON value as text; half of a surrogate pair becomes U+FFFD, as any UTF-8 encoder (a browser's too) makes it. */
export function str(v: unknown): string {
  return typeof v === "string" ? v.replace(new RegExp(LONE_SURROGATE.source, "g"), "\uFFFD") : typeof v === "number" ? String(v) : "";
}

export function bool(v: unknown): boolean {
  return v === true || v === "true" || v === "on" || v === "1";
}
