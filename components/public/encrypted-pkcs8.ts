/**
 * Encrypted PKCS#8 ("ENCRYPTED PRIVATE KEY") built with WebCrypto only, so it runs in the
 * browser: PBES2 with PBKDF2-HMAC-SHA256 (600 000 iterations, 16-byte salt) and
 * AES-256-CBC (RFC 8018), the form `openssl pkey -passin pass:…` reads. A few DER
 * writers are enough for the fixed structure:
 *
 *   EncryptedPrivateKeyInfo ::= SEQUENCE {
 *     encryptionAlgorithm SEQUENCE { id-PBES2, PBES2-params SEQUENCE {
 *       keyDerivationFunc SEQUENCE { id-PBKDF2, SEQUENCE { salt OCTET STRING, iterationCount INTEGER,
 *                                                          prf SEQUENCE { id-hmacWithSHA256, NULL } } },
 *       encryptionScheme  SEQUENCE { aes256-CBC, iv OCTET STRING } } },
 *     encryptedData OCTET STRING }
 */

export const PBKDF2_ITERATIONS = 600_000;
const OID_PBES2 = "1.2.840.113549.1.5.13";
const OID_PBKDF2 = "1.2.840.113549.1.5.12";
const OID_HMAC_SHA256 = "1.2.840.113549.2.9";
const OID_AES256_CBC = "2.16.840.1.101.3.4.1.42";

function concat(parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let offset = 0;
  for (const p of parts) {
    out.set(p, offset);
    offset += p.length;
  }
  return out;
}

/** DER definite length: short form below 128, otherwise the minimal long form. */
function derLength(n: number): Uint8Array {
  if (n < 0x80) return Uint8Array.of(n);
  const bytes: number[] = [];
  for (let v = n; v > 0; v = Math.floor(v / 256)) bytes.unshift(v & 0xff);
  return Uint8Array.of(0x80 | bytes.length, ...bytes);
}

function tlv(tag: number, content: Uint8Array): Uint8Array {
  return concat([Uint8Array.of(tag), derLength(content.length), content]);
}

const sequence = (...items: Uint8Array[]) => tlv(0x30, concat(items));
const octetString = (bytes: Uint8Array) => tlv(0x04, bytes);
const derNull = () => Uint8Array.of(0x05, 0x00);

/** A non-negative INTEGER, minimal two's complement (a leading 0x00 when the top bit is set). */
function integer(n: number): Uint8Array {
  if (!Number.isSafeInteger(n) || n < 0) throw new Error("Only non-negative safe integers are encoded");
  const bytes: number[] = [];
  for (let v = n; v > 0; v = Math.floor(v / 256)) bytes.unshift(v & 0xff);
  if (bytes.length === 0 || bytes[0] & 0x80) bytes.unshift(0);
  return tlv(0x02, Uint8Array.from(bytes));
}

function oid(dotted: string): Uint8Array {
  const arcs = dotted.split(".").map((a) => BigInt(a));
  const body: number[] = [];
  const push = (v: bigint) => {
    const chunk: number[] = [Number(v & 0x7fn)];
    for (v >>= 7n; v > 0n; v >>= 7n) chunk.unshift(Number(v & 0x7fn) | 0x80);
    body.push(...chunk);
  };
  push(arcs[0] * 40n + arcs[1]);
  for (const a of arcs.slice(2)) push(a);
  return tlv(0x06, Uint8Array.from(body));
}

function base64(bytes: Uint8Array): string {
  let s = "";
  for (let i = 0; i < bytes.length; i += 0x8000) s += String.fromCharCode(...bytes.subarray(i, i + 0x8000));
  return btoa(s);
}

/** PEM with 64-character lines and a final newline, as OpenSSL writes it. */
export function derToPem(der: Uint8Array, label: string): string {
  const lines = base64(der).match(/.{1,64}/g) ?? [];
  return `-----BEGIN ${label}-----\n${lines.join("\n")}\n-----END ${label}-----\n`;
}

/**
 * Encrypts an unencrypted PKCS#8 PrivateKeyInfo (DER, as `crypto.subtle.exportKey("pkcs8")`
 * returns it) with `password`, and returns the "ENCRYPTED PRIVATE KEY" PEM.
 */
export async function encryptPkcs8(pkcs8: ArrayBuffer | Uint8Array, password: string, opts: { iterations?: number; subtle?: SubtleCrypto; random?: (b: Uint8Array<ArrayBuffer>) => Uint8Array } = {}): Promise<string> {
  if (password === "") throw new Error("A password is required to encrypt the private key");
  const subtle = opts.subtle ?? globalThis.crypto.subtle;
  const random = opts.random ?? ((b: Uint8Array<ArrayBuffer>) => globalThis.crypto.getRandomValues(b));
  const iterations = opts.iterations ?? PBKDF2_ITERATIONS;
  const salt = new Uint8Array(16);
  const iv = new Uint8Array(16);
  random(salt);
  random(iv);
  const base = await subtle.importKey("raw", new TextEncoder().encode(password), "PBKDF2", false, ["deriveKey"]);
  const aesKey = await subtle.deriveKey({ name: "PBKDF2", salt, iterations, hash: "SHA-256" }, base, { name: "AES-CBC", length: 256 }, false, ["encrypt"]);
  // WebCrypto's AES-CBC pads with PKCS#7, as PBES2 requires.
  const plain = pkcs8 instanceof Uint8Array ? pkcs8 : new Uint8Array(pkcs8);
  const encrypted = new Uint8Array(await subtle.encrypt({ name: "AES-CBC", iv }, aesKey, plain as Uint8Array<ArrayBuffer>));
  const der = sequence(
    sequence(
      oid(OID_PBES2),
      sequence(
        sequence(oid(OID_PBKDF2), sequence(octetString(salt), integer(iterations), sequence(oid(OID_HMAC_SHA256), derNull()))),
        sequence(oid(OID_AES256_CBC), octetString(iv)),
      ),
    ),
    octetString(encrypted),
  );
  return derToPem(der, "ENCRYPTED PRIVATE KEY");
}
