/**
 * The single entry point to @peculiar/x509 for Portcullis. The library resolves its
 * algorithms through tsyringe, which needs `reflect-metadata` loaded first, and it
 * defaults to whatever crypto it finds; we pin Node's native WebCrypto because it
 * signs several times faster than the @peculiar/webcrypto polyfill.
 */
import "reflect-metadata";
import * as x509 from "@peculiar/x509";

x509.cryptoProvider.set(globalThis.crypto as Crypto);

export { x509 };
