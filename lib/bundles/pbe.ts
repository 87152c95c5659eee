/**
 * Password-based encryption for bundles: PBES2 (PBKDF2-HMAC-SHA256, AES-256-CBC; RFC
 * 8018) and, for old Windows, pbeWithSHAAnd3-KeyTripleDES-CBC (RFC 7292 appendix C).
 * Both give an AlgorithmIdentifier and the ciphertext; encryptedPrivateKeyInfo wraps a
 * key in PKCS#8's EncryptedPrivateKeyInfo (also PKCS#12's shrouded key bag).
 */
import { createCipheriv, pbkdf2, randomBytes, type KeyObject } from "node:crypto";
import { promisify } from "node:util";
import { AsnConvert, AsnProp, AsnPropTypes, OctetString } from "@peculiar/asn1-schema";
import { AlgorithmIdentifier } from "@peculiar/asn1-x509";
import { EncryptedData, EncryptedPrivateKeyInfo } from "@peculiar/asn1-pkcs8";
import { bmpPassword, PKCS12_KDF_ID, pkcs12Kdf } from "./pkcs12-kdf.ts";

const pbkdf2Async = promisify(pbkdf2);

export const OID = {
  pbes2: "1.2.840.113549.1.5.13",
  pbkdf2: "1.2.840.113549.1.5.12",
  hmacWithSHA256: "1.2.840.113549.2.9",
  aes256Cbc: "2.16.840.1.101.3.4.1.42",
  pbeWithSHAAnd3KeyTripleDESCBC: "1.2.840.113549.1.12.1.3",
  sha1: "1.3.14.3.2.26",
  sha256: "2.16.840.1.101.3.4.2.1",
} as const;

/** PBKDF2-params (RFC 8018 A.2), the salt always "specified". */
class Pbkdf2Params {
  salt = new OctetString();
  iterationCount = 0;
  prf = new AlgorithmIdentifier({ algorithm: OID.hmacWithSHA256, parameters: null });
}
AsnProp({ type: OctetString })(Pbkdf2Params.prototype, "salt");
AsnProp({ type: AsnPropTypes.Integer })(Pbkdf2Params.prototype, "iterationCount");
AsnProp({ type: AlgorithmIdentifier })(Pbkdf2Params.prototype, "prf");

/** PBES2-params (RFC 8018 A.4). */
class Pbes2Params {
  keyDerivationFunc = new AlgorithmIdentifier();
  encryptionScheme = new AlgorithmIdentifier();
}
AsnProp({ type: AlgorithmIdentifier })(Pbes2Params.prototype, "keyDerivationFunc");
AsnProp({ type: AlgorithmIdentifier })(Pbes2Params.prototype, "encryptionScheme");

/** pkcs-12PbeParams (RFC 7292 appendix C). */
class Pkcs12PbeParams {
  salt = new OctetString();
  iterations = 0;
}
AsnProp({ type: OctetString })(Pkcs12PbeParams.prototype, "salt");
AsnProp({ type: AsnPropTypes.Integer })(Pkcs12PbeParams.prototype, "iterations");

export interface Encrypted {
  algorithm: AlgorithmIdentifier;
  ciphertext: Buffer;
}

export type PbeScheme = { kind: "pbes2"; iterations: number } | { kind: "legacy-3des"; iterations: number };

function der(value: object): ArrayBuffer {
  return AsnConvert.serialize(value);
}

/** PBES2: PBKDF2-HMAC-SHA256 (16-byte random salt) and AES-256-CBC (random IV); the password as UTF-8, as OpenSSL uses it. */
export async function pbes2Encrypt(plaintext: Buffer, password: string, iterations: number): Promise<Encrypted> {
  const salt = randomBytes(16);
  const iv = randomBytes(16);
  const key = await pbkdf2Async(Buffer.from(password, "utf8"), salt, iterations, 32, "sha256");
  const cipher = createCipheriv("aes-256-cbc", key, iv);
  const ciphertext = Buffer.concat([cipher.update(plaintext), cipher.final()]);
  const kdf = Object.assign(new Pbkdf2Params(), { salt: new OctetString(salt), iterationCount: iterations });
  const params = Object.assign(new Pbes2Params(), {
    keyDerivationFunc: new AlgorithmIdentifier({ algorithm: OID.pbkdf2, parameters: der(kdf) }),
    encryptionScheme: new AlgorithmIdentifier({ algorithm: OID.aes256Cbc, parameters: der(new OctetString(iv)) }),
  });
  return { algorithm: new AlgorithmIdentifier({ algorithm: OID.pbes2, parameters: der(params) }), ciphertext };
}

/** pbeWithSHAAnd3-KeyTripleDES-CBC: key and IV from the PKCS#12 KDF with SHA-1 (8-byte random salt). */
export async function legacy3desEncrypt(plaintext: Buffer, password: string, iterations: number): Promise<Encrypted> {
  const salt = randomBytes(8);
  const pw = bmpPassword(password);
  const key = await pkcs12Kdf({ password: pw, salt, id: PKCS12_KDF_ID.key, iterations, length: 24, digest: "sha1" });
  const iv = await pkcs12Kdf({ password: pw, salt, id: PKCS12_KDF_ID.iv, iterations, length: 8, digest: "sha1" });
  const cipher = createCipheriv("des-ede3-cbc", key, iv);
  const ciphertext = Buffer.concat([cipher.update(plaintext), cipher.final()]);
  const params = Object.assign(new Pkcs12PbeParams(), { salt: new OctetString(salt), iterations });
  return { algorithm: new AlgorithmIdentifier({ algorithm: OID.pbeWithSHAAnd3KeyTripleDESCBC, parameters: der(params) }), ciphertext };
}

export function pbeEncrypt(plaintext: Buffer, password: string, scheme: PbeScheme): Promise<Encrypted> {
  return scheme.kind === "pbes2" ? pbes2Encrypt(plaintext, password, scheme.iterations) : legacy3desEncrypt(plaintext, password, scheme.iterations);
}

/** The private key's PKCS#8 PrivateKeyInfo, encrypted: an EncryptedPrivateKeyInfo (DER). */
export async function encryptedPrivateKeyInfo(key: KeyObject, password: string, scheme: PbeScheme): Promise<Buffer> {
  const plain = key.export({ format: "der", type: "pkcs8" });
  const { algorithm, ciphertext } = await pbeEncrypt(plain, password, scheme);
  plain.fill(0);
  const info = new EncryptedPrivateKeyInfo({ encryptionAlgorithm: algorithm, encryptedData: new EncryptedData(ciphertext) });
  return Buffer.from(der(info));
}
