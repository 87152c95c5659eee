/** Key algorithms a user may choose for new keys (CA keys and CSR keys). */
export type KeyAlgorithm = "ecdsa-p256" | "ecdsa-p384" | "rsa-2048" | "rsa-3072" | "rsa-4096";

/** Choices in display order, with the labels forms show. */
export const KEY_ALGORITHMS: readonly { id: KeyAlgorithm; label: string }[] = Object.freeze([
  { id: "ecdsa-p256", label: "ECDSA P-256 (recommended)" },
  { id: "ecdsa-p384", label: "ECDSA P-384" },
  { id: "rsa-2048", label: "RSA 2048" },
  { id: "rsa-3072", label: "RSA 3072" },
  { id: "rsa-4096", label: "RSA 4096" },
]);

/** P-256 is the default: small, fast, and accepted everywhere that matters. */
export const DEFAULT_KEY_ALGORITHM: KeyAlgorithm = "ecdsa-p256";

/** Narrows untrusted input (form values, JSON) to a KeyAlgorithm. */
export function isKeyAlgorithm(x: unknown): x is KeyAlgorithm {
  return typeof x === "string" && KEY_ALGORITHMS.some((a) => a.id === x);
}
