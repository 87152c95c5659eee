/**
 * A new key pair and its PKCS#10 certificate signing request, as IRIS's CA client makes
 * them at Submit: the subject DN the contact typed, optional subject alternative names
 * (asked for in an extensionRequest attribute), signed with the new private key. The
 * result is read back with the same strict parser the CA server uses, so what leaves
 * this instance is what the server will accept.
 */
import type { KeyObject } from "node:crypto";
import { AppError, type FieldErrors } from "../errors/app-error.ts";
import { generateKeyPair, importSigningKey } from "../pki/keys.ts";
import { DEFAULT_KEY_ALGORITHM, isKeyAlgorithm, type KeyAlgorithm } from "../pki/key-algorithms.ts";
import { subjectToName, validateSubject, type SubjectInput } from "../pki/names.ts";
import { isDnsName, isEmailSan, isUriSan, MAX_SANS, parseCsr, parseIpAddress, formatIpAddress, sanExtension, type ParsedCsr, type San } from "../pki/csr.ts";
import { derToPem } from "../pki/pem.ts";
import { toBuffer } from "../pki/bytes.ts";
import { x509 } from "../pki/setup.ts";

export interface CreateCsrInput {
  subject?: SubjectInput;
  keyAlgorithm?: unknown;
  /** "DNS:name", "IP:address" (also "email:", "URI:"), or bare names/addresses; a list or text separated by commas or line breaks. */
  sans?: unknown;
}

export interface CreatedCsr {
  keyAlgorithm: KeyAlgorithm;
  privateKey: KeyObject;
  publicKey: KeyObject;
  /** PEM "CERTIFICATE REQUEST". */
  csrPem: string;
  csr: ParsedCsr;
}

/** Splits the SAN text of a form (commas, spaces or line breaks) or takes a JSON list. */
function sanEntries(raw: unknown): string[] | null {
  if (raw === undefined || raw === null || raw === "") return [];
  if (Array.isArray(raw)) return raw.every((x) => typeof x === "string") ? raw.map((x: string) => x.trim()).filter(Boolean) : null;
  if (typeof raw !== "string") return null;
  return raw
    .split(/[\s,;]+/)
    .map((s) => s.trim())
    .filter(Boolean);
}

/**
 * Reads subject alternative names as people type them: "DNS:host.example.com",
 * "IP:192.0.2.1", "email:a@example.com", "URI:https://…", or a bare host name or IP
 * address. Returns the SANs or a message for the field.
 */
export function parseSanList(raw: unknown): { sans: San[] } | { problem: string } {
  const entries = sanEntries(raw);
  if (entries === null) return { problem: "Give the subject alternative names as text, such as DNS:host.example.com, IP:192.0.2.1" };
  if (entries.length > MAX_SANS) return { problem: `At most ${MAX_SANS} subject alternative names are accepted` };
  const sans: San[] = [];
  const seen = new Set<string>();
  for (const entry of entries) {
    const m = /^(DNS|IP|email|URI):(.*)$/i.exec(entry);
    const type = m ? m[1].toLowerCase() : null;
    const value = (m ? m[2] : entry).trim();
    let san: San | null = null;
    if (type === "dns" || (type === null && !parseIpAddress(value))) {
      if (!isDnsName(value)) return { problem: `"${entry.slice(0, 80)}" is not a valid DNS name (letters, digits and hyphens, labels separated by dots)` };
      san = { type: "dns", value: value.toLowerCase() };
    } else if (type === "ip" || type === null) {
      const bytes = parseIpAddress(value);
      if (!bytes) return { problem: `"${entry.slice(0, 80)}" is not an IPv4 or IPv6 address` };
      san = { type: "ip", value: formatIpAddress(bytes) };
    } else if (type === "email") {
      if (!isEmailSan(value)) return { problem: `"${entry.slice(0, 80)}" is not a valid e-mail address` };
      san = { type: "email", value };
    } else {
      if (!isUriSan(value)) return { problem: `"${entry.slice(0, 80)}" is not an absolute URI` };
      san = { type: "uri", value };
    }
    const key = `${san.type}:${san.value}`;
    if (!seen.has(key)) {
      seen.add(key);
      sans.push(san);
    }
  }
  return { sans };
}

/** Validates the inputs of a CSR; field errors keyed subject.X, keyAlgorithm, sans. */
export function validateCsrInput(input: CreateCsrInput, errors: FieldErrors = {}): { subject: SubjectInput; keyAlgorithm: KeyAlgorithm; sans: San[] } {
  Object.assign(errors, validateSubject(input.subject ?? {}, "subject."));
  const alg = input.keyAlgorithm === undefined || input.keyAlgorithm === "" ? DEFAULT_KEY_ALGORITHM : input.keyAlgorithm;
  if (!isKeyAlgorithm(alg)) errors.keyAlgorithm = "Choose one of ecdsa-p256, ecdsa-p384, rsa-2048, rsa-3072, rsa-4096";
  const s = parseSanList(input.sans);
  if ("problem" in s) errors.sans = s.problem;
  return { subject: input.subject ?? {}, keyAlgorithm: alg as KeyAlgorithm, sans: "sans" in s ? s.sans : [] };
}

/** Generates the key pair and the CSR. Throws AppError (validation_failed, with fields) on bad input. */
export async function createCsr(input: CreateCsrInput): Promise<CreatedCsr> {
  const errors: FieldErrors = {};
  const v = validateCsrInput(input, errors);
  if (Object.keys(errors).length) throw AppError.validation(errors);
  const name = subjectToName(v.subject);
  const keys = await generateKeyPair(v.keyAlgorithm);
  const signing = await importSigningKey(keys.privateKey);
  const request = await x509.Pkcs10CertificateRequestGenerator.create({
    name,
    keys: { privateKey: signing.privateKey, publicKey: signing.publicKey },
    signingAlgorithm: signing.signingAlgorithm,
    extensions: v.sans.length ? [sanExtension(v.sans)] : [],
  });
  const csrPem = derToPem(toBuffer(request.rawData), "CERTIFICATE REQUEST");
  // The server's parser, signature check included: a CSR it would refuse never leaves here.
  const csr = await parseCsr(csrPem, "csr");
  return { keyAlgorithm: v.keyAlgorithm, privateKey: keys.privateKey, publicKey: keys.publicKey, csrPem, csr };
}
