/**
 * The PKCS#12 key derivation function (RFC 7292 appendix B.2): the MAC key of every
 * PKCS#12 file, and the key and IV of the legacy pbeWithSHAAnd… encryption schemes.
 * Node has no binding for it; OpenSSL's PKCS12KDF is its independent judge in tests.
 */
import { createHash } from "node:crypto";

/** Purpose byte ("ID") of a derivation: B.3. */
export const PKCS12_KDF_ID = { key: 1, iv: 2, mac: 3 } as const;

export type Pkcs12Digest = "sha1" | "sha256";

const OUTPUT_BYTES: Record<Pkcs12Digest, number> = { sha1: 20, sha256: 32 };
// Both digests work on 512-bit blocks.
const BLOCK_BYTES = 64;
// Hash rounds between yields to the event loop: a derivation never blocks other requests for long.
const ROUNDS_PER_TURN = 4096;

/**
 * The password as B.1 says: BMPString (UTF-16 big-endian) with two zero bytes at the
 * end; an empty password is just the terminator.
 */
export function bmpPassword(password: string): Buffer {
  const out = Buffer.alloc((password.length + 1) * 2);
  for (let i = 0; i < password.length; i++) out.writeUInt16BE(password.charCodeAt(i), i * 2);
  return out;
}

function repeatTo(src: Buffer, length: number): Buffer {
  const out = Buffer.alloc(length);
  for (let i = 0; i < length; i++) out[i] = src[i % src.length];
  return out;
}

const turn = () => new Promise<void>((resolve) => setImmediate(resolve));

/**
 * Derives `length` bytes from the password (already BMP-encoded, see bmpPassword) and
 * salt for purpose `id` with `iterations` rounds of `digest`.
 */
export async function pkcs12Kdf(opts: { password: Buffer; salt: Buffer; id: number; iterations: number; length: number; digest: Pkcs12Digest }): Promise<Buffer> {
  const { password, salt, id, iterations, length, digest } = opts;
  if (!Number.isSafeInteger(iterations) || iterations < 1) throw new RangeError("iterations must be a positive integer");
  const u = OUTPUT_BYTES[digest];
  const v = BLOCK_BYTES;
  const D = Buffer.alloc(v, id);
  const S = salt.length ? repeatTo(salt, v * Math.ceil(salt.length / v)) : Buffer.alloc(0);
  const P = password.length ? repeatTo(password, v * Math.ceil(password.length / v)) : Buffer.alloc(0);
  const I = Buffer.concat([S, P]);
  const blocks: Buffer[] = [];
  for (let i = 0; i < Math.ceil(length / u); i++) {
    let A = createHash(digest).update(D).update(I).digest();
    for (let r = 1; r < iterations; r++) {
      A = createHash(digest).update(A).digest();
      if (r % ROUNDS_PER_TURN === 0) await turn();
    }
    blocks.push(A);
    // I_j = (I_j + B + 1) mod 2^(8v) for each v-byte block of I, B being A repeated to v bytes.
    const B = repeatTo(A, v);
    for (let j = 0; j < I.length; j += v) {
      let carry = 1;
      for (let k = v - 1; k >= 0; k--) {
        const sum = I[j + k] + B[k] + carry;
        I[j + k] = sum & 0xff;
        carry = sum >> 8;
      }
    }
  }
  return Buffer.concat(blocks).subarray(0, length);
}
