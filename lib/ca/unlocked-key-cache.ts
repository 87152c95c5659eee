/**
 * The CA key, decrypted, for a short while after the password was typed
 * (PORTCULLIS_CA_KEY_CACHE_SECONDS, default 60; 0 turns it off).
 *
 * The password is still asked for, and checked, at every issuance: what is kept is the
 * decrypted key and an HMAC of the password under a key made at start in this process,
 * never the password. A later call with the same password and the same key file gets the
 * key without the deliberately slow scrypt decryption; any other password goes through
 * the full decryption and fails as before. The entry ends after the idle time (no
 * sliding past twice that from the decryption), when the key file changes, on Lock, on
 * Reinitialize and on restart; it lives in this process's memory only.
 */
import { createHash, createHmac, randomBytes, timingSafeEqual, type KeyObject } from "node:crypto";
import { env } from "../env.ts";

/**
 * Only Node's own KeyObject is kept: the holder is shared by every bundle of the server
 * (route handlers, server actions), and objects of a bundle's libraries (a parsed
 * certificate, a WebCrypto key) do not work in another bundle.
 */
export interface UnlockedKey {
  privateKey: KeyObject;
}

interface Entry {
  /** SHA-256 of the key file and the CA certificate: another key, or a changed file, misses. */
  material: Buffer;
  tag: Buffer;
  unlocked: UnlockedKey;
  decryptedAt: number;
  lastUsedAt: number;
  timer: NodeJS.Timeout | null;
}

interface Holder {
  hmacKey: Buffer;
  entry: Entry | null;
}

const holder: Holder = ((globalThis as { __portcullisUnlockedKeyCache?: Holder }).__portcullisUnlockedKeyCache ??= { hmacKey: randomBytes(32), entry: null });

function ttlMs(): number {
  return env().PORTCULLIS_CA_KEY_CACHE_SECONDS * 1000;
}

function material(keyPem: string, certificatePem: string): Buffer {
  return createHash("sha256").update(keyPem).update("\0").update(certificatePem).digest();
}

function tagOf(password: string, m: Buffer): Buffer {
  return createHmac("sha256", holder.hmacKey).update(m).update(password, "utf8").digest();
}

/** The decrypted key when `password` unlocked this very key file within the idle time; otherwise null. */
export function cachedUnlock(keyPem: string, certificatePem: string, password: string, now = Date.now()): UnlockedKey | null {
  const e = holder.entry;
  const ttl = ttlMs();
  if (!e || ttl <= 0) return null;
  if (now - e.lastUsedAt > ttl || now - e.decryptedAt > 2 * ttl) {
    forgetUnlockedKey();
    return null;
  }
  const m = material(keyPem, certificatePem);
  if (!m.equals(e.material)) return null;
  if (!timingSafeEqual(tagOf(password, m), e.tag)) return null;
  e.lastUsedAt = now;
  schedule(e, now);
  return e.unlocked;
}

/** Keeps a freshly decrypted key for the idle time (nothing when the cache is off). */
export function rememberUnlock(keyPem: string, certificatePem: string, password: string, unlocked: UnlockedKey, now = Date.now()): void {
  if (ttlMs() <= 0) return;
  forgetUnlockedKey();
  const m = material(keyPem, certificatePem);
  const e: Entry = { material: m, tag: tagOf(password, m), unlocked, decryptedAt: now, lastUsedAt: now, timer: null };
  holder.entry = e;
  schedule(e, now);
}

/** Drops the kept key now (Lock, Reinitialize, configuration, tests). */
export function forgetUnlockedKey(): void {
  const e = holder.entry;
  if (!e) return;
  if (e.timer) clearTimeout(e.timer);
  holder.entry = null;
}

/** Whether a decrypted key is kept (never the key itself). */
export function unlockedKeyCached(): boolean {
  return holder.entry !== null;
}

function schedule(e: Entry, now: number): void {
  if (e.timer) clearTimeout(e.timer);
  const ttl = ttlMs();
  const end = Math.min(e.lastUsedAt + ttl, e.decryptedAt + 2 * ttl);
  e.timer = setTimeout(() => {
    if (holder.entry === e) holder.entry = null;
  }, Math.max(0, end - now) + 10);
  e.timer.unref();
}
