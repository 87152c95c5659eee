/**
 * Rules for subject alternative names that hold alike on the server (lib/pki/csr.ts) and
 * in the browser (the request form's key generation): no Node.js APIs here, the browser
 * bundle imports this module.
 */

/** Most subject alternative names in one request. */
export const MAX_SANS = 100;

const LDH_LABEL = /^[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?$/;

/**
 * True for a DNS host name of LDH labels (letters, digits, inner hyphens; 1–63 each;
 * ≤ 253 in all; the last label not all digits), optionally with a leading "*." wildcard
 * label in front of at least two labels. No trailing dot, no Unicode (use A-labels).
 */
export function isDnsName(name: string, opts: { wildcard?: boolean } = {}): boolean {
  if (name.length === 0 || name.length > 253) return false;
  const labels = name.split(".");
  if (opts.wildcard !== false && labels[0] === "*") {
    labels.shift();
    if (labels.length < 2) return false;
  }
  if (!labels.every((l) => LDH_LABEL.test(l))) return false;
  return !/^[0-9]+$/.test(labels[labels.length - 1]);
}
