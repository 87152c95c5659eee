/**
 * PKCS#12 (RFC 7292) files holding a private key, its certificate and the CA chain, as
 * Windows, Java keystores, browsers and OpenSSL import them.
 *
 * Default: what OpenSSL 3 writes: key and certificates encrypted with PBES2
 * (PBKDF2-HMAC-SHA256, AES-256-CBC) and an HMAC-SHA256 integrity MAC keyed by the
 * PKCS#12 KDF. `legacy`: pbeWithSHAAnd3-KeyTripleDES-CBC for both and an HMAC-SHA1 MAC,
 * for Windows before Server 2019 / Windows 10 1709 and other old importers.
 */
import { createHash, createHmac, randomBytes, type KeyObject } from "node:crypto";
import { AsnConvert, AsnProp, AsnPropTypes, OctetString } from "@peculiar/asn1-schema";
import { AlgorithmIdentifier } from "@peculiar/asn1-x509";
import { ContentEncryptionAlgorithmIdentifier, ContentInfo, EncryptedContent, EncryptedContentInfo, id_data, id_encryptedData } from "@peculiar/asn1-cms";
import { DigestInfo } from "@peculiar/asn1-rsa";
import { AuthenticatedSafe, CertBag, id_certBag, id_pkcs8ShroudedKeyBag, id_x509Certificate, MacData, PFX, PKCS12Attribute, SafeBag, SafeContents } from "@peculiar/asn1-pfx";
import { id_pkcs9_at_friendlyName, id_pkcs9_at_localKeyId } from "@peculiar/asn1-pkcs9";
import { encryptedPrivateKeyInfo, OID, pbeEncrypt, type PbeScheme } from "./pbe.ts";
import { bmpPassword, PKCS12_KDF_ID, pkcs12Kdf, type Pkcs12Digest } from "./pkcs12-kdf.ts";

/**
 * Iterations of the default mode, for each of the key, the certificates and the MAC:
 * .NET refuses files whose iterations add up to more than 600 000, so 3 × 100 000
 * is as strong as stays importable everywhere.
 */
export const PKCS12_ITERATIONS = 100_000;
/** Iterations of the legacy mode: what `openssl pkcs12 -export -legacy` writes. */
export const PKCS12_LEGACY_ITERATIONS = 2048;

/** CMS EncryptedData (RFC 5652 8): version 0, no unprotected attributes. */
class CmsEncryptedData {
  version = 0;
  encryptedContentInfo = new EncryptedContentInfo();
}
AsnProp({ type: AsnPropTypes.Integer })(CmsEncryptedData.prototype, "version");
AsnProp({ type: EncryptedContentInfo })(CmsEncryptedData.prototype, "encryptedContentInfo");

export interface Pkcs12Input {
  privateKey: KeyObject;
  /** The certificate (DER) of the private key. */
  certificate: Buffer;
  /** The CA certificates (DER), issuing CA first. */
  chain: Buffer[];
  password: string;
  /** friendlyName of the key and its certificate (e.g. the certificate's CN). */
  friendlyName?: string;
  legacy?: boolean;
}

function tlv(tag: number, content: Buffer): Buffer {
  const n = content.length;
  const len = n < 0x80 ? Buffer.from([n]) : n < 0x100 ? Buffer.from([0x81, n]) : n < 0x10000 ? Buffer.from([0x82, n >> 8, n & 0xff]) : Buffer.from([0x83, n >> 16, (n >> 8) & 0xff, n & 0xff]);
  return Buffer.concat([Buffer.from([tag]), len, content]);
}

function attribute(id: string, value: Buffer): PKCS12Attribute {
  // The class's constructor drops its parameters: set the fields.
  const a = new PKCS12Attribute();
  a.attrId = id;
  a.attrValues = [new Uint8Array(value).buffer];
  return a;
}

function attributes(friendlyName: string | undefined, localKeyId: Buffer): PKCS12Attribute[] {
  const out: PKCS12Attribute[] = [];
  // BMPString: UTF-16 big-endian without a terminator.
  if (friendlyName) out.push(attribute(id_pkcs9_at_friendlyName, tlv(0x1e, bmpPassword(friendlyName).subarray(0, -2))));
  out.push(attribute(id_pkcs9_at_localKeyId, tlv(0x04, localKeyId)));
  return out;
}

function ab(buf: Buffer): ArrayBuffer {
  return new Uint8Array(buf).buffer;
}

function certBag(der: Buffer, attrs?: PKCS12Attribute[]): SafeBag {
  const bag = new CertBag({ certId: id_x509Certificate, certValue: AsnConvert.serialize(new OctetString(der)) });
  return new SafeBag({ bagId: id_certBag, bagValue: AsnConvert.serialize(bag), bagAttributes: attrs });
}

/** Builds the PKCS#12 file (DER). The password must already have passed the caller's policy. */
export async function buildPkcs12(input: Pkcs12Input): Promise<Buffer> {
  const legacy = input.legacy === true;
  const scheme: PbeScheme = legacy ? { kind: "legacy-3des", iterations: PKCS12_LEGACY_ITERATIONS } : { kind: "pbes2", iterations: PKCS12_ITERATIONS };
  // As OpenSSL does: the key and its certificate share the SHA-1 of the certificate as localKeyId.
  const localKeyId = createHash("sha1").update(input.certificate).digest();
  const attrs = attributes(input.friendlyName, localKeyId);

  const certs = new SafeContents([certBag(input.certificate, attrs), ...input.chain.map((c) => certBag(c))]);
  const encryptedCerts = await pbeEncrypt(Buffer.from(AsnConvert.serialize(certs)), input.password, scheme);
  const certsData = Object.assign(new CmsEncryptedData(), {
    encryptedContentInfo: new EncryptedContentInfo({
      contentType: id_data,
      contentEncryptionAlgorithm: new ContentEncryptionAlgorithmIdentifier({ algorithm: encryptedCerts.algorithm.algorithm, parameters: encryptedCerts.algorithm.parameters }),
      encryptedContent: new EncryptedContent({ value: new OctetString(encryptedCerts.ciphertext) }),
    }),
  });

  const shrouded = await encryptedPrivateKeyInfo(input.privateKey, input.password, scheme);
  const keys = new SafeContents([new SafeBag({ bagId: id_pkcs8ShroudedKeyBag, bagValue: ab(shrouded), bagAttributes: attrs })]);

  const authSafe = new AuthenticatedSafe([
    new ContentInfo({ contentType: id_encryptedData, content: AsnConvert.serialize(certsData) }),
    new ContentInfo({ contentType: id_data, content: AsnConvert.serialize(new OctetString(AsnConvert.serialize(keys))) }),
  ]);
  const authSafeDer = Buffer.from(AsnConvert.serialize(authSafe));

  const digest: Pkcs12Digest = legacy ? "sha1" : "sha256";
  const macSalt = randomBytes(legacy ? 8 : 16);
  const macIterations = scheme.iterations;
  const macKey = await pkcs12Kdf({ password: bmpPassword(input.password), salt: macSalt, id: PKCS12_KDF_ID.mac, iterations: macIterations, length: digest === "sha1" ? 20 : 32, digest });
  const mac = createHmac(digest, macKey).update(authSafeDer).digest();

  const pfx = new PFX({
    version: 3,
    authSafe: new ContentInfo({ contentType: id_data, content: AsnConvert.serialize(new OctetString(authSafeDer)) }),
    macData: new MacData({
      mac: new DigestInfo({ digestAlgorithm: new AlgorithmIdentifier({ algorithm: digest === "sha1" ? OID.sha1 : OID.sha256, parameters: null }), digest: new OctetString(mac) }),
      macSalt: new OctetString(macSalt),
      iterations: macIterations,
    }),
  });
  return Buffer.from(AsnConvert.serialize(pfx));
}
