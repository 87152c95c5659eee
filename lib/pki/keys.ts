import { createPublicKey, generateKeyPair as generateKeyPairCallback, KeyObject } from "node:crypto";
import { fromBER, ObjectIdentifier, Sequence } from "asn1js";
import { AppError } from "../errors/app-error.ts";
import { toBuffer } from "./bytes.ts";
import type { KeyAlgorithm } from "./key-algorithms.ts";
import { x509 } from "./setup.ts";
import { publicKeyFromSpki } from "./der.mjs";

export interface KeyPair {
  privateKey: KeyObject;
  publicKey: KeyObject;
}

/**
 * A new key pair. Node's async generateKeyPair runs on the libuv thread pool, so an
 * RSA 4096 key (seconds of work) does not stall other requests.
 */
export function generateKeyPair(alg: KeyAlgorithm): Promise<KeyPair> {
  return new Promise((resolve, reject) => {
    const done = (err: Error | null, publicKey: KeyObject, privateKey: KeyObject) =>
      err ? reject(err) : resolve({ privateKey, publicKey });
    switch (alg) {
      case "ecdsa-p256":
        return generateKeyPairCallback("ec", { namedCurve: "P-256" }, done);
      case "ecdsa-p384":
        return generateKeyPairCallback("ec", { namedCurve: "P-384" }, done);
      case "rsa-2048":
      case "rsa-3072":
      case "rsa-4096":
        return generateKeyPairCallback("rsa", { modulusLength: Number(alg.slice(4)), publicExponent: 65537 }, done);
      default:
        reject(new AppError("bad_request", `Unknown key algorithm "${String(alg)}"`, { field: "keyAlgorithm" }));
    }
  });
}

export interface PublicKeyDescription {
  algorithm: "RSA" | "ECDSA" | "Ed25519" | string;
  bits?: number;
  curve?: "P-256" | "P-384" | string;
  /** For people: "ECDSA P-256", "RSA 4096". */
  label: string;
}

// OpenSSL's curve names as Node reports them, to the NIST names people know.
const CURVES: Record<string, { curve: string; bits: number }> = {
  prime256v1: { curve: "P-256", bits: 256 },
  secp384r1: { curve: "P-384", bits: 384 },
  secp521r1: { curve: "P-521", bits: 521 },
};

function publicKeyObject(key: KeyObject): KeyObject {
  if (key.type === "secret") throw new AppError("bad_request", "A symmetric key is not a public or private key");
  return key.type === "public" ? key : createPublicKey(key);
}

/**
 * Algorithm and size of a key: a node KeyObject (public or private), an
 * x509.PublicKey, or SubjectPublicKeyInfo DER.
 */
export function describePublicKey(key: KeyObject | x509.PublicKey | ArrayBuffer | Uint8Array): PublicKeyDescription {
  let keyObject: KeyObject;
  if (key instanceof KeyObject) {
    keyObject = publicKeyObject(key);
  } else {
    const der = toBuffer(key instanceof ArrayBuffer || ArrayBuffer.isView(key) ? key : key.rawData);
    try {
      keyObject = publicKeyFromSpki(der);
    } catch {
      // Node cannot load every algorithm a certificate may carry; name it by OID instead.
      const oid = spkiAlgorithmOid(der);
      if (!oid) throw new AppError("bad_request", "The data is not a public key (SubjectPublicKeyInfo)");
      return { algorithm: oid, label: `Unknown key type (${oid})` };
    }
  }
  const type = keyObject.asymmetricKeyType ?? "unknown";
  const details = keyObject.asymmetricKeyDetails ?? {};
  switch (type) {
    case "rsa":
    case "rsa-pss":
    case "dsa": {
      const algorithm = type.toUpperCase();
      const bits = details.modulusLength;
      return { algorithm, bits, label: bits ? `${algorithm} ${bits}` : algorithm };
    }
    case "ec": {
      const named = details.namedCurve ?? "unknown curve";
      const known = CURVES[named];
      return known
        ? { algorithm: "ECDSA", bits: known.bits, curve: known.curve, label: `ECDSA ${known.curve}` }
        : { algorithm: "ECDSA", curve: named, label: `ECDSA ${named}` };
    }
    case "ed25519":
      return { algorithm: "Ed25519", bits: 256, label: "Ed25519" };
    case "ed448":
      return { algorithm: "Ed448", bits: 456, label: "Ed448" };
    default:
      return { algorithm: type, label: type.toUpperCase() };
  }
}

function spkiAlgorithmOid(der: Buffer): string | undefined {
  try {
    const { offset, result } = fromBER(der);
    if (offset !== der.length || !(result instanceof Sequence)) return undefined;
    const algId = result.valueBlock.value[0];
    const oid = algId instanceof Sequence ? algId.valueBlock.value[0] : undefined;
    return oid instanceof ObjectIdentifier ? oid.valueBlock.toString() : undefined;
  } catch {
    return undefined;
  }
}

/** SubjectPublicKeyInfo DER of a public key, or of a private key's public half. */
export function spkiDer(key: KeyObject): Buffer {
  return publicKeyObject(key).export({ format: "der", type: "spki" });
}

/** True when `key` (public or private) is the key the certificate certifies. */
export function keyMatchesCertificate(key: KeyObject, cert: x509.X509Certificate): boolean {
  const certSpki = toBuffer(cert.publicKey.rawData);
  const ours = spkiDer(key);
  if (ours.equals(certSpki)) return true;
  // Same key, different encoding (e.g. a compressed EC point in the certificate).
  try {
    const mine = publicKeyObject(key);
    const theirs = createPublicKey({ key: certSpki, format: "der", type: "spki" });
    // Node 20's equals() on keys of different types leaves "different key types" on
    // OpenSSL's error queue, which then fails the next unrelated WebCrypto importKey.
    if (mine.asymmetricKeyType !== theirs.asymmetricKeyType) return false;
    return mine.equals(theirs);
  } catch {
    return false;
  }
}

export interface SigningKey {
  privateKey: CryptoKey;
  publicKey: CryptoKey;
  signingAlgorithm: Algorithm & { hash?: string };
}

/**
 * Native WebCrypto keys for @peculiar/x509's generators, with the signature algorithm
 * to use: ECDSA with the hash matching the curve size, RSA PKCS#1 v1.5 with SHA-256,
 * Ed25519. Throws bad_request for other key types.
 */
export async function importSigningKey(privateKey: KeyObject): Promise<SigningKey> {
  if (privateKey.type !== "private") throw new AppError("bad_request", "A private key is needed to sign");
  const type = privateKey.asymmetricKeyType;
  let importParams: RsaHashedImportParams | EcKeyImportParams | Algorithm;
  let signingAlgorithm: Algorithm & { hash?: string };
  if (type === "ec") {
    const curve = CURVES[privateKey.asymmetricKeyDetails?.namedCurve ?? ""]?.curve;
    const hash = curve === "P-256" ? "SHA-256" : curve === "P-384" ? "SHA-384" : curve === "P-521" ? "SHA-512" : undefined;
    if (!curve || !hash) {
      throw new AppError("bad_request", `EC keys on curve ${privateKey.asymmetricKeyDetails?.namedCurve} are not supported for signing; use P-256 or P-384`);
    }
    importParams = { name: "ECDSA", namedCurve: curve };
    signingAlgorithm = { name: "ECDSA", hash };
  } else if (type === "rsa") {
    importParams = { name: "RSASSA-PKCS1-v1_5", hash: "SHA-256" };
    signingAlgorithm = { name: "RSASSA-PKCS1-v1_5", hash: "SHA-256" };
  } else if (type === "ed25519") {
    importParams = { name: "Ed25519" };
    signingAlgorithm = { name: "Ed25519" };
  } else {
    throw new AppError("bad_request", `${type ?? "This"} keys are not supported for signing; use an ECDSA or RSA key`);
  }
  const subtle = globalThis.crypto.subtle;
  const pkcs8 = privateKey.export({ format: "der", type: "pkcs8" });
  const [cryptoPrivate, cryptoPublic] = await Promise.all([
    // Not extractable: nothing downstream needs the private key's bytes back.
    subtle.importKey("pkcs8", pkcs8, importParams, false, ["sign"]),
    subtle.importKey("spki", new Uint8Array(spkiDer(privateKey)), importParams, true, ["verify"]),
  ]);
  return { privateKey: cryptoPrivate, publicKey: cryptoPublic, signingAlgorithm };
}
