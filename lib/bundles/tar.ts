/**
 * A minimal POSIX ustar writer and gzip, for small archives of a few PEM files with
 * exact permissions (a CockroachDB certs directory). Only what that needs: regular
 * files and directories, ASCII names up to 100 bytes, owner 0:0.
 */
import { gzipSync } from "node:zlib";

export interface TarEntry {
  /** Path inside the archive; a directory ends with "/". */
  name: string;
  /** Permission bits, e.g. 0o600. */
  mode: number;
  /** File content; directories have none. */
  content?: Buffer | string;
}

const BLOCK = 512;

function octal(value: number, width: number): string {
  // width - 1 digits and a NUL, as GNU tar and POSIX ustar write numbers.
  const digits = value.toString(8);
  if (digits.length > width - 1) throw new RangeError(`${value} does not fit in a ${width}-byte tar field`);
  return digits.padStart(width - 1, "0") + "\0";
}

function header(name: string, mode: number, size: number, type: "0" | "5", mtime: number): Buffer {
  if (!/^[\x21-\x7e]+$/.test(name) || name.length > 100) throw new RangeError(`"${name}" is not a name this archive writer stores (printable ASCII, at most 100 bytes)`);
  const h = Buffer.alloc(BLOCK, 0);
  h.write(name, 0, 100, "ascii");
  h.write(octal(mode & 0o7777, 8), 100, 8, "ascii");
  h.write(octal(0, 8), 108, 8, "ascii"); // uid
  h.write(octal(0, 8), 116, 8, "ascii"); // gid
  h.write(octal(size, 12), 124, 12, "ascii");
  h.write(octal(mtime, 12), 136, 12, "ascii");
  h.write("        ", 148, 8, "ascii"); // checksum, counted as spaces
  h.write(type, 156, 1, "ascii");
  h.write("ustar\0", 257, 6, "ascii");
  h.write("00", 263, 2, "ascii");
  h.write("root", 265, 32, "ascii");
  h.write("root", 297, 32, "ascii");
  let sum = 0;
  for (const b of h) sum += b;
  h.write(sum.toString(8).padStart(6, "0") + "\0 ", 148, 8, "ascii");
  return h;
}

/** The entries as an uncompressed ustar archive. */
export function tar(entries: TarEntry[], mtime: Date = new Date()): Buffer {
  const seconds = Math.floor(mtime.getTime() / 1000);
  const parts: Buffer[] = [];
  for (const e of entries) {
    if (e.name.endsWith("/")) {
      parts.push(header(e.name, e.mode, 0, "5", seconds));
      continue;
    }
    const data = typeof e.content === "string" ? Buffer.from(e.content, "utf8") : (e.content ?? Buffer.alloc(0));
    parts.push(header(e.name, e.mode, data.length, "0", seconds), data);
    const pad = (BLOCK - (data.length % BLOCK)) % BLOCK;
    if (pad) parts.push(Buffer.alloc(pad, 0));
  }
  parts.push(Buffer.alloc(2 * BLOCK, 0));
  return Buffer.concat(parts);
}

/** The entries as a .tar.gz. */
export function tarGz(entries: TarEntry[], mtime?: Date): Buffer {
  return gzipSync(tar(entries, mtime), { level: 9 });
}
