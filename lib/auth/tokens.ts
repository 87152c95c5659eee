/**
 * Opaque random tokens: session cookies and API tokens. Only their SHA-256 is stored.
 */
import { createHash, randomBytes } from "node:crypto";

export function newToken(prefix = ""): string {
  return prefix + randomBytes(32).toString("base64url");
}

export function tokenHash(token: string): string {
  return createHash("sha256").update(token).digest("hex");
}
