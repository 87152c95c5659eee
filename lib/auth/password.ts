/**
 * Administrator password hashing: scrypt (memory-hard), per-password salt,
 * parameters stored with the hash so they can be raised later.
 */
import { randomBytes, scrypt as scryptCb, timingSafeEqual, type ScryptOptions } from "node:crypto";
import { AppError } from "../errors/app-error.ts";

const N = 1 << 15;
const R = 8;
const P = 1;
const KEYLEN = 32;

function scrypt(password: string, salt: Buffer, keylen: number, opts: ScryptOptions): Promise<Buffer> {
  return new Promise((resolve, reject) => scryptCb(password.normalize("NFC"), salt, keylen, opts, (e, k) => (e ? reject(e) : resolve(k))));
}

export async function hashPassword(password: string): Promise<string> {
  const salt = randomBytes(16);
  const hash = await scrypt(password, salt, KEYLEN, { N, r: R, p: P, maxmem: 128 * N * R * 2 });
  return ["scrypt", N, R, P, salt.toString("base64"), hash.toString("base64")].join("$");
}

/** Upper bound on the memory a stored hash may ask scrypt for (128·N·r bytes). */
const MAX_SCRYPT_MEMORY = 256 * 1024 * 1024;

function decimal(s: string | undefined, min: number, max: number): number | null {
  if (!s || !/^[0-9]{1,10}$/.test(s)) return null;
  const v = Number(s);
  return v >= min && v <= max ? v : null;
}

/**
 * True when `password` matches `stored`. Anything that is not a well-formed scrypt hash
 * with sane parameters verifies nothing: a truncated or empty key would otherwise compare
 * equal to an equally short key derived from any password.
 */
export async function verifyPassword(password: string, stored: string): Promise<boolean> {
  const parts = stored.split("$");
  if (parts.length !== 6 || parts[0] !== "scrypt") return false;
  const n = decimal(parts[1], 2, 2 ** 24);
  const r = decimal(parts[2], 1, 64);
  const p = decimal(parts[3], 1, 16);
  if (n === null || r === null || p === null || (n & (n - 1)) !== 0 || 128 * n * r > MAX_SCRYPT_MEMORY) return false;
  const salt = Buffer.from(parts[4], "base64");
  const expected = Buffer.from(parts[5], "base64");
  if (salt.length < 8 || expected.length < 16 || expected.length > 64) return false;
  const actual = await scrypt(password, salt, expected.length, { N: n, r, p, maxmem: 128 * n * r * 2 });
  return timingSafeEqual(actual, expected);
}

/** A hash to verify against when the user does not exist, so timing does not reveal it. */
let dummy: Promise<string> | undefined;
export function dummyHash(): Promise<string> {
  dummy ??= hashPassword(randomBytes(16).toString("hex"));
  return dummy;
}

export const MIN_PASSWORD_LENGTH = 10;

/** Rules for administrator passwords; returns the message for the field, or null. */
export function passwordProblem(password: string, username?: string): string | null {
  // Counted as hashed: NFC, in code points (not UTF-16 units, so "e" + U+0301 is one character).
  const nfc = password.normalize("NFC");
  const length = [...nfc].length;
  if (length < MIN_PASSWORD_LENGTH) return `Use at least ${MIN_PASSWORD_LENGTH} characters`;
  if (length > 1024) return "Use at most 1024 characters";
  if (username && nfc.toLowerCase() === username.normalize("NFC").toLowerCase()) return "The password must differ from the user name";
  return null;
}

export function assertPasswordRules(password: string, field = "password", username?: string): void {
  const p = passwordProblem(password, username);
  if (p) throw new AppError("validation_failed", p, { field });
}
