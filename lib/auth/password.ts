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

export async function verifyPassword(password: string, stored: string): Promise<boolean> {
  const [kind, n, r, p, salt, hash] = stored.split("$");
  if (kind !== "scrypt" || !salt || !hash) return false;
  const expected = Buffer.from(hash, "base64");
  const N2 = Number(n);
  const R2 = Number(r);
  const actual = await scrypt(password, Buffer.from(salt, "base64"), expected.length, { N: N2, r: R2, p: Number(p), maxmem: 128 * N2 * R2 * 2 });
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
  if (password.length < MIN_PASSWORD_LENGTH) return `Use at least ${MIN_PASSWORD_LENGTH} characters`;
  if (password.length > 1024) return "Use at most 1024 characters";
  if (username && password.toLowerCase() === username.toLowerCase()) return "The password must differ from the user name";
  return null;
}

export function assertPasswordRules(password: string, field = "password", username?: string): void {
  const p = passwordProblem(password, username);
  if (p) throw new AppError("validation_failed", p, { field });
}
