import type { KeyObject } from "node:crypto";

export interface DerSan {
  type: "dns" | "ip" | "email" | "uri";
  value: string;
}
export interface DerElement {
  tag: number;
  bytes: Buffer;
  content: Buffer;
}
/** What a usage puts into a certificate (profiles.ts, resolved for one subject key type). */
export interface ExtensionSpec {
  ca: boolean;
  pathLength?: number;
  keyUsage: string[];
  ekuOids: string[];
}
export interface IssuerParts {
  issuerNameDer: Buffer;
  signatureAlgorithmDer: Buffer;
  akiDer: Buffer;
  cdpDer?: Buffer;
  aiaDer?: Buffer;
}
export interface TbsInput {
  serialHex: string;
  notBefore: Date;
  notAfter: Date;
  subjectDer: Buffer;
  spkiDer: Buffer;
  sans: readonly DerSan[];
  spec: ExtensionSpec;
}
export interface LeanCsr {
  subjectDer: Buffer;
  spkiDer: Buffer;
  keyType: string | undefined;
  commonName: string | null;
  sans: DerSan[];
}

export function tlv(tag: number, content: Buffer | Buffer[]): Buffer;
export function seq(...parts: Buffer[]): Buffer;
export function set(...parts: Buffer[]): Buffer;
export function octetString(bytes: Buffer): Buffer;
export function bool(value: boolean): Buffer;
export function nullValue(): Buffer;
export function bitString(bytes: Buffer, unusedBits?: number): Buffer;
export function ctx(n: number, content: Buffer | Buffer[], constructed?: boolean): Buffer;
export function smallInteger(n: number): Buffer;
export function integerFromHex(hex: string): Buffer;
export function oid(dotted: string): Buffer;
export function time(date: Date): Buffer;
export function extension(dottedOid: string, critical: boolean, value: Buffer): Buffer;
export const OIDS: Readonly<Record<string, string>>;
export function keyUsageValue(names: readonly string[]): Buffer;
export function basicConstraintsValue(ca: boolean, pathLength?: number): Buffer;
export function keyIdentifier(spkiDer: Buffer): Buffer;
export function generalName(san: DerSan): Buffer;
export function ipBytes(text: string): Buffer;
export function signatureAlgorithmFor(privateKey: KeyObject): { algorithmDer: Buffer; digest: string | null };
export function buildExtensions(issuer: IssuerParts, spec: ExtensionSpec, spkiDer: Buffer, sans: readonly DerSan[]): Buffer[];
export function buildTbs(issuer: IssuerParts, cert: TbsInput): Buffer;
export function signTbs(tbs: Buffer, signatureAlgorithmDer: Buffer, digest: string | null, privateKey: KeyObject): Buffer;
export function toPem(der: Buffer, label?: string): string;
export function randomSerialHex(): string;
export function validityFor(nowMs: number, days: number, caNotBeforeMs: number, caNotAfterMs: number): { notBefore: Date; notAfter: Date };
export function read(buf: Buffer): DerElement;
export function children(el: DerElement): DerElement[];
export function leanParseCsr(der: Buffer): LeanCsr;
export function leanReadAcceptedCsr(der: Buffer): LeanCsr;
export function pemBody(pem: string): Buffer;
export function finalSans(rules: { requiresServerName: boolean; commonNameAsServerName: boolean }, commonName: string | null, sans: readonly DerSan[]): DerSan[];
export function publicKeyFromSpki(der: Buffer): KeyObject;
