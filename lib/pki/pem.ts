import { AppError } from "../errors/app-error.ts";
import { toBuffer } from "./bytes.ts";

// RFC 7468 labels: printable ASCII without "-", spaces allowed inside. A body never holds
// another BEGIN line: stopping there keeps the scan linear (otherwise every unterminated
// BEGIN line of a hostile text would rescan the rest of it).
const BLOCK = /-----BEGIN ([^\r\n-]*)-----\r?\n?((?:(?!-----BEGIN )[\s\S])*?)-----END \1-----/g;
const BEGIN = /-----BEGIN [^\r\n-]*-----/;

interface PemBlock {
  label: string;
  body: string;
}

function blocks(text: string): PemBlock[] {
  return Array.from(text.matchAll(BLOCK), (m) => ({ label: m[1], body: m[2] }));
}

/** Number of complete PEM blocks in `text`, only those labelled `label` when given. */
export function countPemBlocks(text: string, label?: string): number {
  return blocks(text).filter((b) => label === undefined || b.label === label).length;
}

/** True when `text` contains at least one PEM BEGIN line. */
export function looksLikePem(text: string): boolean {
  return BEGIN.test(text);
}

/**
 * DER bytes of the one block labelled `label` in `text`. Text around the block is
 * ignored (OpenSSL writes explanatory text before certificates); a missing block,
 * several blocks or bad base64 is the caller's mistake, reported as bad_request.
 */
export function pemToDer(text: string, label: string, field?: string): Buffer {
  const found = blocks(text).filter((b) => b.label === label);
  if (found.length === 0) {
    const truncated = text.includes(`-----BEGIN ${label}-----`);
    throw new AppError(
      "bad_request",
      truncated
        ? `The ${label} PEM block is incomplete (no -----END ${label}----- line)`
        : `No -----BEGIN ${label}----- block was found`,
      { field },
    );
  }
  if (found.length > 1) {
    throw new AppError("bad_request", `The text holds ${found.length} ${label} PEM blocks; exactly one is expected`, { field });
  }
  return decodeBody(found[0].body, label, field);
}

function decodeBody(body: string, label: string, field?: string): Buffer {
  // RFC 1421 encapsulated headers ("Proc-Type: ...") precede the base64 and are not part of it.
  const lines = body.split(/\r?\n/);
  let i = 0;
  if (lines.some((l) => l.includes(":"))) {
    while (i < lines.length && lines[i].trim() !== "") i++;
  }
  const b64 = lines.slice(i).join("").replace(/\s+/g, "");
  if (b64 === "" || b64.length % 4 !== 0 || !/^[A-Za-z0-9+/]*={0,2}$/.test(b64)) {
    throw new AppError("bad_request", `The ${label} PEM block is not valid base64`, { field });
  }
  return Buffer.from(b64, "base64");
}

/** PEM text with 64-character lines and a trailing newline, as OpenSSL writes it. */
export function derToPem(der: ArrayBuffer | ArrayBufferView, label: string): string {
  const b64 = toBuffer(der).toString("base64");
  let body = "";
  for (let i = 0; i < b64.length; i += 64) body += `${b64.slice(i, i + 64)}\n`;
  return `-----BEGIN ${label}-----\n${body}-----END ${label}-----\n`;
}
