import { randomBytes } from "node:crypto";

/**
 * A fresh X.509 serial number as upper-case hex (no colons), the form
 * @peculiar/x509's generators take in `serialNumber`.
 *
 * 16 CSPRNG bytes with the first byte forced into 0x40–0x7F: the top bit clear keeps
 * the DER INTEGER positive without a 00 pad byte, and the set 0x40 bit keeps the first
 * octet non-zero so the encoding is always exactly 16 octets (≤ 20, RFC 5280 4.1.2.2)
 * and the hex has no leading zeros. That leaves 126 random bits (≥ 64, CA/B BR 7.1).
 */
export function randomSerialHex(): string {
  const bytes = randomBytes(16);
  bytes[0] = (bytes[0] & 0x3f) | 0x40;
  return bytes.toString("hex").toUpperCase();
}
