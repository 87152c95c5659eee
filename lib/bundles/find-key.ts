/**
 * The private key of a certificate, when this instance generated it as a CA client:
 * found by the SHA-256 of the certificate's SubjectPublicKeyInfo among ClientRequest
 * rows, read from the key file, decrypted with its password when it was saved
 * encrypted, and checked against the certificate.
 */
import { createPrivateKey, createPublicKey, type KeyObject } from "node:crypto";
import { promises as fs } from "node:fs";
import { getDb } from "../db/index.ts";
import { AppError } from "../errors/app-error.ts";
import { parseCsr } from "../pki/csr.ts";
import { spkiDer } from "../pki/keys.ts";
import { decryptPrivateKey, isEncryptedPrivateKeyPem } from "../pki/pkcs8.ts";
import { spkiSha256 } from "../client/submit-request.ts";

export interface GeneratedKeyFile {
  requestId: string;
  fileNameRoot: string;
  keyFile: string;
  /** The key file needs a password. */
  encrypted: boolean;
}

/**
 * Fills in spkiSha256 of rows recorded before it existed, from their CSR files (the
 * CSR carries the key's SubjectPublicKeyInfo exactly as the certificate does). Rows
 * whose CSR cannot be read stay as they are.
 */
async function backfillSpkiHashes(): Promise<void> {
  const db = await getDb();
  const rows = await db.clientRequest.findMany({ where: { spkiSha256: null }, select: { id: true, csrFile: true }, take: 500 });
  for (const row of rows) {
    try {
      const csr = await parseCsr(await fs.readFile(row.csrFile, "utf8"), "csr");
      await db.clientRequest.update({ where: { id: row.id }, data: { spkiSha256: spkiSha256(csr.spkiDer) } });
    } catch {
      // A missing or unreadable CSR file: nothing to learn from it.
    }
  }
}

/** The newest key file this instance generated for the public key `spki` (DER) that still exists, or null. */
export async function findGeneratedKeyFile(spki: Buffer): Promise<GeneratedKeyFile | null> {
  await backfillSpkiHashes();
  const db = await getDb();
  const rows = await db.clientRequest.findMany({
    where: { spkiSha256: spkiSha256(spki) },
    orderBy: [{ submittedAt: "desc" }, { id: "asc" }],
    select: { id: true, fileNameRoot: true, keyFile: true, keyEncrypted: true },
  });
  for (const row of rows) {
    let text: string;
    try {
      text = await fs.readFile(row.keyFile, "utf8");
    } catch {
      continue;
    }
    return { requestId: row.id, fileNameRoot: row.fileNameRoot, keyFile: row.keyFile, encrypted: row.keyEncrypted || isEncryptedPrivateKeyPem(text) };
  }
  return null;
}

/**
 * Reads the key file, with `keyPassword` when it is encrypted (none given → 422 on
 * keyPassword; a wrong one → wrong_password on keyPassword), and checks it is the key
 * of `spki`.
 */
export async function readGeneratedKey(file: GeneratedKeyFile, spki: Buffer, keyPassword: string | undefined): Promise<KeyObject> {
  let text: string;
  try {
    text = await fs.readFile(file.keyFile, "utf8");
  } catch (e) {
    throw new AppError("not_found", `The private key file ${file.keyFile} cannot be read (${(e as NodeJS.ErrnoException).code ?? "error"})`, { cause: e });
  }
  let key: KeyObject;
  if (file.encrypted) {
    if (!keyPassword) {
      throw new AppError("validation_failed", `The private key file ${file.fileNameRoot}.key was saved encrypted: enter its password`, { field: "keyPassword" });
    }
    key = decryptPrivateKey(text, keyPassword, "keyPassword");
  } else {
    try {
      key = createPrivateKey({ key: text, format: "pem" });
    } catch (e) {
      throw new AppError("conflict", `The private key file ${file.keyFile} cannot be read as a private key`, { cause: e });
    }
  }
  if (!sameKey(key, spki)) {
    throw new AppError("conflict", `The private key file ${file.keyFile} no longer holds the key of this certificate`);
  }
  return key;
}

function sameKey(key: KeyObject, spki: Buffer): boolean {
  if (spkiDer(key).equals(spki)) return true;
  // The same key in another encoding (e.g. a compressed EC point).
  try {
    const theirs = createPublicKey({ key: spki, format: "der", type: "spki" });
    const mine = createPublicKey(key);
    return mine.asymmetricKeyType === theirs.asymmetricKeyType && mine.equals(theirs);
  } catch {
    return false;
  }
}
