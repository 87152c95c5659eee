/** Helpers for e2e/public.spec.ts: a configured CA, CSRs made by OpenSSL, issuance over the API. */
import { expect, type APIRequestContext } from "@playwright/test";
import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { apiToken, resetCa, SMTP_PORT } from "./support";

export const CA_KEY_PASSWORD = "public pages CA key password";
export const CA_ADMIN_EMAIL = "public-ca-admin@example.com";

export const CA_BODY = {
  fileNameRoot: "PublicCA",
  directory: "e2e-public",
  keyPassword: CA_KEY_PASSWORD,
  subject: { C: "GB", O: "Example Ltd", CN: "Public Pages Test CA" },
  keyAlgorithm: "ecdsa-p256",
  caValidityDays: 1000,
  issuedValidityDays: 90,
  smtp: { host: "127.0.0.1", port: SMTP_PORT, secure: false, username: "", password: "" },
  adminEmail: CA_ADMIN_EMAIL,
};

export async function adminAuth(request: APIRequestContext): Promise<{ authorization: string }> {
  return { authorization: `Bearer ${await apiToken(request)}` };
}

/** Reinitializes whatever CA is configured and configures this file's CA; returns its PEM. */
export async function configureCa(request: APIRequestContext): Promise<{ pem: string; sha1Fingerprint: string }> {
  await resetCa(request);
  const r = await request.post("/api/v1/admin/ca", { data: CA_BODY, headers: await adminAuth(request) });
  expect(r.status(), await r.text()).toBe(201);
  const ca = await (await request.get("/api/v1/ca")).json();
  return { pem: ca.pem, sha1Fingerprint: ca.sha1Fingerprint };
}

export function tempDir(prefix = "pc-public-"): string {
  return mkdtempSync(join(tmpdir(), prefix));
}

function run(args: string[], input?: string | Buffer): Buffer {
  return execFileSync("openssl", args, { input, stdio: ["pipe", "pipe", "pipe"] });
}

export interface OpensslCsr {
  dir: string;
  keyPath: string;
  csrPath: string;
  pem: string;
  der: Buffer;
  /** `openssl req -outform DER | openssl sha1 -c`, upper-cased. */
  sha1: string;
}

let counter = 0;

/** A CSR made by `openssl req` (a fresh key each time, so no two are identical). */
export function opensslCsr(opts: { cn?: string; dns?: string[]; key?: "ec" | "rsa:1024" | "rsa:2048" } = {}): OpensslCsr {
  const dir = tempDir();
  const keyPath = join(dir, "req.key");
  const csrPath = join(dir, "req.csr");
  const cn = opts.cn ?? `host${++counter}-${Date.now().toString(36)}.example.com`;
  const dns = opts.dns ?? [cn];
  const key = opts.key ?? "ec";
  const keyArgs = key === "ec" ? ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256"] : ["-newkey", key];
  run(["req", "-new", ...keyArgs, "-nodes", "-keyout", keyPath, "-subj", `/C=GB/O=Example Ltd/CN=${cn}`, ...(dns.length ? ["-addext", `subjectAltName=${dns.map((d) => `DNS:${d}`).join(",")}`] : []), "-out", csrPath]);
  const pem = readFileSync(csrPath, "utf8");
  const der = run(["req", "-in", csrPath, "-outform", "DER"]);
  return { dir, keyPath, csrPath, pem, der, sha1: sha1Colon(der) };
}

/** SHA-1 of bytes as `openssl sha1 -c` prints it, upper-cased: the form IRIS shows. */
export function sha1Colon(der: Buffer): string {
  const out = run(["sha1", "-c"], der).toString("utf8");
  return out.split("= ")[1].trim().toUpperCase();
}

/** The SHA-1 fingerprint of a CSR in PEM, computed by OpenSSL from its DER. */
export function csrPemSha1(pem: string): string {
  const dir = tempDir();
  const p = join(dir, "x.csr");
  writeFileSync(p, pem);
  return sha1Colon(run(["req", "-in", p, "-outform", "DER"]));
}

/** Submits over the API with the admin token (not rate limited); returns the request id. */
export async function submitCsr(request: APIRequestContext, csr: OpensslCsr, fields: { filename: string; hostname?: string; instance?: string; contact?: string }): Promise<string> {
  const r = await request.post("/api/v1/csrs", {
    data: { csr: csr.pem, contact: { name: fields.contact ?? "Test Contact", phone: "+44 20 7946 0000", email: "contact@example.com" }, hostname: fields.hostname, instance: fields.instance, filename: fields.filename },
    headers: await adminAuth(request),
  });
  expect(r.status(), await r.text()).toBe(201);
  return (await r.json()).id as string;
}

export interface Issued {
  number: number;
  serial: string;
  pem: string;
}

export async function issue(request: APIRequestContext, id: string, usage = "tls"): Promise<Issued> {
  const r = await request.post(`/api/v1/admin/csrs/${id}/issue`, { data: { usage, caKeyPassword: CA_KEY_PASSWORD, fingerprintVerified: true }, headers: await adminAuth(request) });
  expect(r.status(), await r.text()).toBe(201);
  const b = await r.json();
  return { number: b.number, serial: b.serial, pem: b.pem };
}

/** The PEM blocks of a bundle, each with its own trailing newline. */
export function splitPem(text: string): string[] {
  return Array.from(text.matchAll(/-----BEGIN ([A-Z ]+)-----[\s\S]*?-----END \1-----\n?/g), (m) => (m[0].endsWith("\n") ? m[0] : m[0] + "\n"));
}

/** "5A0C…" → "5a:0c:…": how people copy serials out of `openssl x509 -text`. */
export function colonLower(hex: string): string {
  const even = hex.length % 2 ? "0" + hex : hex;
  return even.toLowerCase().match(/../g)!.join(":");
}

export function opensslText(args: string[], input?: string | Buffer): string {
  return run(args, input).toString("utf8");
}
