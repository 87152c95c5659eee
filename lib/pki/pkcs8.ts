import { createCipheriv, createPrivateKey, KeyObject, randomBytes, scrypt, type ScryptOptions } from "node:crypto";
import { fromBER, Integer, ObjectIdentifier, OctetString, Sequence } from "asn1js";
import { AppError } from "../errors/app-error.ts";
import { derToPem, pemToDer } from "./pem.ts";

const OID_PBES2 = "1.2.840.113549.1.5.13";
const OID_PBKDF2 = "1.2.840.113549.1.5.12";
const OID_SCRYPT = "1.3.6.1.4.1.11591.4.11"; // RFC 7914 section 7
const OID_AES256_CBC = "2.16.840.1.101.3.4.1.42";
// PBES2 ciphers OpenSSL 3's default provider decrypts (AES-CBC and 3DES).
const PBES2_CIPHERS = new Set(["2.16.840.1.101.3.4.1.2", "2.16.840.1.101.3.4.1.22", OID_AES256_CBC, "1.2.840.113549.3.7"]);
// Legacy "Proc-Type: 4,ENCRYPTED" ciphers the default provider decrypts (DES-CBC needs the legacy provider).
const LEGACY_CIPHERS = /^(AES-(128|192|256)-CBC|DES-EDE3-CBC|ARIA-(128|192|256)-CBC|CAMELLIA-(128|192|256)-CBC)$/i;

/**
 * scrypt cost: OpenSSL's `-scrypt` defaults. OpenSSL refuses scrypt parameters needing
 * more than 32 MiB (128·r·(N+2) + 128·r·p bytes) when it reads a key, so N=16384, r=8
 * (≈16 MiB) is the strongest setting every OpenSSL 3 reads without extra options.
 */
const SCRYPT = { N: 16384, r: 8, p: 1 } as const;
const OPENSSL_SCRYPT_MAXMEM = 32 * 1024 * 1024;

function scryptAsync(password: Buffer, salt: Buffer, keylen: number, options: ScryptOptions): Promise<Buffer> {
  return new Promise((resolve, reject) => scrypt(password, salt, keylen, options, (err, key) => (err ? reject(err) : resolve(key))));
}

/**
 * The private key as an encrypted PKCS#8 PEM ("ENCRYPTED PRIVATE KEY"): PBES2 with the
 * scrypt KDF (16-byte salt) and AES-256-CBC. Built by hand because Node's own
 * `export({ cipher, passphrase })` derives the key with PBKDF2 at 2048 iterations.
 */
export async function encryptPrivateKey(key: KeyObject, password: string): Promise<string> {
  if (key.type !== "private") throw new AppError("bad_request", "Only a private key can be encrypted");
  if (password === "") throw new AppError("validation_failed", "Enter a password for the private key", { field: "keyPassword" });
  const salt = randomBytes(16);
  const iv = randomBytes(16);
  const derivedKey = await scryptAsync(Buffer.from(password, "utf8"), salt, 32, { ...SCRYPT, maxmem: 64 * 1024 * 1024 });
  const cipher = createCipheriv("aes-256-cbc", derivedKey, iv);
  const encrypted = Buffer.concat([cipher.update(key.export({ format: "der", type: "pkcs8" })), cipher.final()]);

  const der = new Sequence({
    value: [
      new Sequence({
        value: [
          new ObjectIdentifier({ value: OID_PBES2 }),
          new Sequence({
            value: [
              new Sequence({
                value: [
                  new ObjectIdentifier({ value: OID_SCRYPT }),
                  new Sequence({
                    value: [
                      new OctetString({ valueHex: salt }),
                      new Integer({ value: SCRYPT.N }),
                      new Integer({ value: SCRYPT.r }),
                      new Integer({ value: SCRYPT.p }),
                      new Integer({ value: 32 }),
                    ],
                  }),
                ],
              }),
              new Sequence({ value: [new ObjectIdentifier({ value: OID_AES256_CBC }), new OctetString({ valueHex: iv })] }),
            ],
          }),
        ],
      }),
      new OctetString({ valueHex: encrypted }),
    ],
  }).toBER();
  return derToPem(der, "ENCRYPTED PRIVATE KEY");
}

/** The private key as unencrypted PKCS#8 PEM ("PRIVATE KEY"), for keys held only in memory or sealed elsewhere. */
export function unencryptedPkcs8Pem(key: KeyObject): string {
  if (key.type !== "private") throw new AppError("bad_request", "Only a private key can be exported as PKCS#8");
  return key.export({ format: "pem", type: "pkcs8" }) as string;
}

const KEY_BLOCK = /-----BEGIN (ENCRYPTED PRIVATE KEY|PRIVATE KEY|RSA PRIVATE KEY|EC PRIVATE KEY|DSA PRIVATE KEY)-----[\s\S]*?-----END \1-----/g;

interface KeyBlock {
  label: string;
  text: string;
  encrypted: boolean;
}

function keyBlocks(pem: string): KeyBlock[] {
  return Array.from(pem.matchAll(KEY_BLOCK), (m) => ({
    label: m[1],
    text: m[0],
    encrypted: m[1] === "ENCRYPTED PRIVATE KEY" || /^Proc-Type:\s*4,\s*ENCRYPTED/m.test(m[0]),
  }));
}

/** True when the text holds a private key block that needs a password to read. */
export function isEncryptedPrivateKeyPem(pem: string): boolean {
  return keyBlocks(pem).some((b) => b.encrypted);
}

type Scheme = { readable: true } | { readable: false; reason: string };

/** Decides up front whether OpenSSL can read the encryption, so a later failure means a wrong password. */
function pkcs8Scheme(der: Buffer): Scheme | undefined {
  const { offset, result } = fromBER(der);
  if (offset !== der.length || !(result instanceof Sequence)) return undefined;
  const [algId, data] = result.valueBlock.value;
  if (!(algId instanceof Sequence) || !(data instanceof OctetString)) return undefined;
  const [oid, params] = algId.valueBlock.value;
  if (!(oid instanceof ObjectIdentifier)) return undefined;
  if (oid.valueBlock.toString() !== OID_PBES2) return { readable: false, reason: `encryption scheme ${oid.valueBlock.toString()}` };
  if (!(params instanceof Sequence)) return undefined;
  const [kdf, enc] = params.valueBlock.value;
  if (!(kdf instanceof Sequence) || !(enc instanceof Sequence)) return undefined;
  const [kdfOid, kdfParams] = kdf.valueBlock.value;
  const [encOid] = enc.valueBlock.value;
  if (!(kdfOid instanceof ObjectIdentifier) || !(encOid instanceof ObjectIdentifier)) return undefined;
  if (!PBES2_CIPHERS.has(encOid.valueBlock.toString())) return { readable: false, reason: `cipher ${encOid.valueBlock.toString()}` };
  const kdfName = kdfOid.valueBlock.toString();
  if (kdfName === OID_PBKDF2) return { readable: true };
  if (kdfName !== OID_SCRYPT) return { readable: false, reason: `key derivation ${kdfName}` };
  if (!(kdfParams instanceof Sequence)) return undefined;
  const [, n, r, p] = kdfParams.valueBlock.value;
  if (!(n instanceof Integer) || !(r instanceof Integer) || !(p instanceof Integer)) return undefined;
  const memory = 128n * r.toBigInt() * (n.toBigInt() + 2n) + 128n * r.toBigInt() * p.toBigInt();
  if (memory > BigInt(OPENSSL_SCRYPT_MAXMEM)) {
    return { readable: false, reason: `scrypt parameters needing more than 32 MiB (N=${n.toBigInt()}, r=${r.toBigInt()})` };
  }
  return { readable: true };
}

const REENCRYPT_HINT = "re-encrypt it with: openssl pkcs8 -topk8 -v2 aes-256-cbc -in key.pem -out key-encrypted.pem";

/**
 * Reads a password-protected private key: encrypted PKCS#8 (any PBES2 OpenSSL reads)
 * or a legacy OpenSSL-encrypted "RSA/EC PRIVATE KEY". Unencrypted keys are refused:
 * Portcullis only keeps CA keys that are encrypted at rest.
 */
export function decryptPrivateKey(pem: string, password: string, field = "keyPassword"): KeyObject {
  const notAKey = () => new AppError("bad_request", "The file is not a PEM private key", { field });
  const found = keyBlocks(pem);
  if (found.length === 0) throw notAKey();
  if (found.length > 1) {
    throw new AppError("bad_request", `The file holds ${found.length} private keys; exactly one is expected`, { field });
  }
  const block = found[0];
  if (!block.encrypted) {
    throw new AppError("bad_request", `The private key file is not encrypted. Portcullis only keeps encrypted keys; ${REENCRYPT_HINT.replace("re-encrypt", "encrypt")}`, { field });
  }

  let scheme: Scheme | undefined;
  if (block.label === "ENCRYPTED PRIVATE KEY") {
    try {
      scheme = pkcs8Scheme(pemToDer(block.text, block.label, field));
    } catch {
      scheme = undefined;
    }
    if (!scheme) throw notAKey();
  } else {
    const cipher = /^DEK-Info:\s*([A-Za-z0-9-]+)\s*,/m.exec(block.text)?.[1];
    if (!cipher) throw notAKey();
    scheme = LEGACY_CIPHERS.test(cipher) ? { readable: true } : { readable: false, reason: `cipher ${cipher}` };
  }

  try {
    return createPrivateKey({ key: block.text, format: "pem", passphrase: password });
  } catch (e) {
    // With a readable scheme any failure is the password: a wrong key usually fails the
    // CBC padding check, and the rare wrong key that passes it yields undecodable bytes.
    const badDecrypt = (e as NodeJS.ErrnoException).code === "ERR_OSSL_BAD_DECRYPT";
    if (scheme.readable || badDecrypt) {
      throw new AppError("wrong_password", "The password does not decrypt the private key", { field, cause: e });
    }
    throw new AppError("bad_request", `The private key is encrypted with ${scheme.reason}, which cannot be read here; ${REENCRYPT_HINT}`, { field, cause: e });
  }
}
