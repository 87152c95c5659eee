import { createHash } from "node:crypto";
import { toBuffer } from "./bytes.ts";

export type FingerprintAlgorithm = "SHA-1" | "SHA-256";

/** Digest of DER bytes as OpenSSL prints it: upper-case hex pairs joined by colons. */
export function fingerprint(der: ArrayBuffer | Uint8Array, algorithm: FingerprintAlgorithm): string {
  const hex = createHash(algorithm === "SHA-1" ? "sha1" : "sha256")
    .update(toBuffer(der))
    .digest("hex")
    .toUpperCase();
  return hex.match(/../g)!.join(":");
}

/** SHA-1 (what people read over the phone, as in IRIS) and SHA-256. */
export function fingerprints(der: ArrayBuffer | Uint8Array): { sha1: string; sha256: string } {
  return { sha1: fingerprint(der, "SHA-1"), sha256: fingerprint(der, "SHA-256") };
}
