/**
 * Key pair and CSR generation in the browser (WebCrypto + @peculiar/x509). Loaded on
 * demand by the request form, so the page itself stays small. The private key is
 * exported only to be encrypted here; nothing in this module sends anything anywhere.
 */
import { x509 } from "@/lib/pki/setup.ts"; // "reflect-metadata" first, then the provider: globalThis.crypto
import { subjectToName, validateSubject, type SubjectInput } from "@/lib/pki/names.ts";
import type { KeyAlgorithm } from "@/lib/pki/key-algorithms.ts";
import { isAppError } from "@/lib/errors/app-error.ts";
import { isDnsName, MAX_SANS } from "@/lib/pki/san-rules.ts";
import { derToPem, encryptPkcs8 } from "./encrypted-pkcs8.ts";

export interface GenerateInput {
  subject: SubjectInput;
  /** DNS names and IP addresses, as typed: separated by new lines, commas or spaces. */
  dnsNames: string;
  ipAddresses: string;
  algorithm: KeyAlgorithm;
  password: string;
}

export interface GeneratedCsr {
  csrPem: string;
  /** "ENCRYPTED PRIVATE KEY" PEM. */
  keyPem: string;
  subject: string;
  sans: string[];
  algorithmLabel: string;
  /** Of the CSR's DER, upper-case colon hex, as the CA will show it. */
  sha1Fingerprint: string;
}

/** Problems with what was typed, keyed by form field ("subject.CN", "sans.dns", "sans.ip"). */
export class GenerateProblems extends Error {
  constructor(readonly fields: Record<string, string>) {
    super("The key pair was not generated");
  }
}

/** An IPv4 address in strict dotted decimal, or an IPv6 address in the form x509 encodes; null otherwise. */
export function normalizeIp(text: string): string | null {
  const v4 = /^(0|[1-9][0-9]{0,2})\.(0|[1-9][0-9]{0,2})\.(0|[1-9][0-9]{0,2})\.(0|[1-9][0-9]{0,2})$/.exec(text);
  if (v4) return v4.slice(1).every((p) => Number(p) <= 255) ? text : null;
  if (!text.includes(":") || /[^0-9A-Fa-f:.]/.test(text)) return null;
  try {
    // The URL parser validates IPv6 and writes it canonically (embedded IPv4 as hex groups).
    const host = new URL(`http://[${text}]/`).hostname;
    return host.slice(1, -1);
  } catch {
    return null;
  }
}

function splitList(s: string): string[] {
  return s
    .split(/[\s,;]+/)
    .map((x) => x.trim())
    .filter(Boolean);
}

/** Validates subject and SANs without generating anything; throws GenerateProblems. */
export function checkGenerateInput(input: Pick<GenerateInput, "subject" | "dnsNames" | "ipAddresses">): { dns: string[]; ips: string[] } {
  const fields: Record<string, string> = { ...validateSubject(input.subject, "subject.") };
  const dns = splitList(input.dnsNames);
  const badDns = dns.filter((d) => !isDnsName(d));
  if (badDns.length) fields["sans.dns"] = `Not a DNS name: ${badDns.slice(0, 3).join(", ")}${badDns.length > 3 ? ", …" : ""} (use letters, digits and hyphens, e.g. server1.example.com)`;
  const rawIps = splitList(input.ipAddresses);
  const ips: string[] = [];
  const badIps: string[] = [];
  for (const ip of rawIps) {
    const n = normalizeIp(ip);
    if (n) ips.push(n);
    else badIps.push(ip);
  }
  if (badIps.length) fields["sans.ip"] = `Not an IP address: ${badIps.slice(0, 3).join(", ")}${badIps.length > 3 ? ", …" : ""}`;
  if (dns.length + ips.length > MAX_SANS) fields["sans.dns"] = `At most ${MAX_SANS} alternative names in all`;
  if (Object.keys(fields).length) throw new GenerateProblems(fields);
  return { dns: [...new Set(dns.map((d) => d.toLowerCase()))], ips: [...new Set(ips)] };
}

const ALGORITHMS: Record<KeyAlgorithm, { generate: RsaHashedKeyGenParams | EcKeyGenParams; sign: Algorithm | EcdsaParams; label: string }> = {
  "ecdsa-p256": { generate: { name: "ECDSA", namedCurve: "P-256" }, sign: { name: "ECDSA", hash: "SHA-256" } as EcdsaParams, label: "ECDSA P-256" },
  "ecdsa-p384": { generate: { name: "ECDSA", namedCurve: "P-384" }, sign: { name: "ECDSA", hash: "SHA-384" } as EcdsaParams, label: "ECDSA P-384" },
  "rsa-2048": { generate: rsa(2048), sign: { name: "RSASSA-PKCS1-v1_5" }, label: "RSA 2048" },
  "rsa-3072": { generate: rsa(3072), sign: { name: "RSASSA-PKCS1-v1_5" }, label: "RSA 3072" },
  "rsa-4096": { generate: rsa(4096), sign: { name: "RSASSA-PKCS1-v1_5" }, label: "RSA 4096" },
};

function rsa(modulusLength: number): RsaHashedKeyGenParams {
  return { name: "RSASSA-PKCS1-v1_5", modulusLength, publicExponent: new Uint8Array([1, 0, 1]), hash: "SHA-256" };
}

function colonHex(buf: ArrayBuffer): string {
  return Array.from(new Uint8Array(buf), (b) => b.toString(16).padStart(2, "0").toUpperCase()).join(":");
}

/** True when this page may use WebCrypto (HTTPS, or http://localhost). */
export function browserCryptoAvailable(): boolean {
  return typeof globalThis.crypto?.subtle?.generateKey === "function";
}

/** Generates the key pair, the CSR signed with it, and the encrypted private key. */
export async function generateKeyAndCsr(input: GenerateInput): Promise<GeneratedCsr> {
  const { dns, ips } = checkGenerateInput(input);
  const alg = ALGORITHMS[input.algorithm];
  if (!alg) throw new GenerateProblems({ keyAlgorithm: "Choose a key algorithm" });
  let name: x509.Name;
  try {
    name = subjectToName(input.subject);
  } catch (e) {
    if (isAppError(e) && e.fields) throw new GenerateProblems(e.fields);
    throw e;
  }
  const subtle = globalThis.crypto.subtle;
  // Extractable only so that the private key can be exported once, to be encrypted below.
  const keys = (await subtle.generateKey(alg.generate, true, ["sign", "verify"])) as CryptoKeyPair;
  const sans: x509.JsonGeneralName[] = [...dns.map((value) => ({ type: "dns" as const, value })), ...ips.map((value) => ({ type: "ip" as const, value }))];
  const csr = await x509.Pkcs10CertificateRequestGenerator.create({
    name,
    keys,
    signingAlgorithm: alg.sign,
    extensions: sans.length ? [new x509.SubjectAlternativeNameExtension(sans)] : [],
  });
  const der = new Uint8Array(csr.rawData);
  const keyPem = await encryptPkcs8(await subtle.exportKey("pkcs8", keys.privateKey), input.password);
  return {
    csrPem: derToPem(der, "CERTIFICATE REQUEST"),
    keyPem,
    subject: name.toString(),
    sans: [...dns.map((d) => `DNS:${d}`), ...ips.map((i) => `IP:${i}`)],
    algorithmLabel: alg.label,
    sha1Fingerprint: colonHex(await subtle.digest("SHA-1", der)),
  };
}
