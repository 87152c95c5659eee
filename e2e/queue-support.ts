/** Helpers for the pending-CSR queue tests: a CA configured over the API, CSRs made with OpenSSL. */
import { expect, type APIRequestContext, type Page } from "@playwright/test";
import { execFileSync } from "node:child_process";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { apiToken, resetCa, SMTP_PORT } from "./support";

export const CA_KEY_PASSWORD = "queue CA key password";
export const QUEUE_ADMIN_EMAIL = "queue-admin@example.com";

/** Scratch files of this run: CA certificates, keys and downloaded certificates. */
export const WORK_DIR = mkdtempSync(join(tmpdir(), "pc-queue-"));

let seq = 0;
/** A name unique in this run, usable as a file name root (letters, digits, "-", "_"). */
export function uniqueName(prefix: string): string {
  return `${prefix}_${Date.now().toString(36)}${(++seq).toString(36)}`;
}

export async function adminHeaders(request: APIRequestContext): Promise<Record<string, string>> {
  return { authorization: `Bearer ${await apiToken(request)}` };
}

export interface QueueCa {
  /** The CA certificate (PEM) written to a file, for `openssl verify -CAfile`. */
  caFile: string;
  sha1Fingerprint: string;
}

/** Reinitializes and configures a fresh CA server (new files in a new directory) through the API. */
export async function configureQueueCa(request: APIRequestContext): Promise<QueueCa> {
  await resetCa(request);
  const directory = uniqueName("e2e-queue");
  const r = await request.post("/api/v1/admin/ca", {
    headers: await adminHeaders(request),
    data: {
      fileNameRoot: "QueueCA",
      directory,
      keyPassword: CA_KEY_PASSWORD,
      subject: { C: "US", O: "Example Queue Corp", CN: "Queue Test CA" },
      keyAlgorithm: "ecdsa-p256",
      caValidityDays: 3650,
      issuedValidityDays: 90,
      smtp: { host: "127.0.0.1", port: SMTP_PORT, secure: false, username: "", password: "" },
      adminEmail: QUEUE_ADMIN_EMAIL,
    },
  });
  expect(r.status(), await r.text()).toBe(201);
  const sha1Fingerprint = (await r.json()).sha1Fingerprint as string;
  const ca = await (await request.get("/api/v1/ca")).json();
  const caFile = join(WORK_DIR, `${directory}.pem`);
  writeFileSync(caFile, ca.pem);
  return { caFile, sha1Fingerprint };
}

/** A new P-256 key and its CSR (PEM), made by OpenSSL. `san` is e.g. "DNS:host.example.com". */
export function makeCsr(subject: string, san?: string): string {
  const args = ["req", "-new", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-keyout", join(WORK_DIR, `${uniqueName("key")}.pem`), "-subj", subject];
  if (san) args.push("-addext", `subjectAltName=${san}`);
  return execFileSync("openssl", args, { encoding: "utf8", stdio: ["ignore", "pipe", "pipe"] });
}

export interface Submission {
  csr: string;
  contact: { name: string; phone?: string; email?: string };
  hostname?: string;
  instance?: string;
  filename: string;
}

export interface Submitted {
  id: string;
  status: string;
  sha1Fingerprint: string;
  sha256Fingerprint: string;
}

/** POST /api/v1/csrs with the admin token (so many submissions are not rate limited). */
export async function submitCsr(request: APIRequestContext, s: Submission): Promise<Submitted> {
  const r = await request.post("/api/v1/csrs", { data: s, headers: await adminHeaders(request) });
  expect(r.status(), await r.text()).toBe(201);
  return (await r.json()) as Submitted;
}

/** Makes a CSR and submits it with a unique file name and contact e-mail. */
export async function submitNew(
  request: APIRequestContext,
  opts: { subject: string; san?: string; prefix?: string; contactName?: string; phone?: string; hostname?: string; instance?: string },
): Promise<Submitted & { filename: string; email: string; subject: string }> {
  const filename = uniqueName(opts.prefix ?? "Req");
  const email = `${filename.toLowerCase()}@example.com`;
  const s = await submitCsr(request, {
    csr: makeCsr(opts.subject, opts.san),
    contact: { name: opts.contactName ?? "Terry Contact", phone: opts.phone ?? "+1 617 555 0100", email },
    hostname: opts.hostname ?? "client1.example.com",
    instance: opts.instance ?? "IRIS01",
    filename,
  });
  return { ...s, filename, email, subject: opts.subject };
}

/** The request's status as anyone holding its id sees it. */
export async function requestStatus(request: APIRequestContext, id: string): Promise<{ status: string; certificateNumber?: number }> {
  const r = await request.get(`/api/v1/csrs/${id}`);
  expect(r.status()).toBe(200);
  return r.json();
}

/** Downloads a certificate by number and writes it to a file; returns the file's path. */
export async function downloadCertificate(request: APIRequestContext, number: number, format: "pem" | "der" | "chain" = "pem"): Promise<string> {
  const r = await request.get(`/api/v1/certificates/${number}?format=${format}`);
  expect(r.status()).toBe(200);
  const file = join(WORK_DIR, `${uniqueName(`cert${number}`)}.${format}`);
  writeFileSync(file, await r.body());
  return file;
}

/** The process page's form up to Finish: usage, verification, Issue Certificate, password. */
export async function fillIssueForm(page: Page, opts: { usageLabel: string; password: string; channel?: "Phone" | "In person" | "Other"; note?: string; verify?: boolean }): Promise<void> {
  await page.getByRole("radio", { name: opts.usageLabel, exact: true }).check();
  if (opts.verify !== false) await page.getByLabel("I verified the identity, authority and fingerprint with the technical contact").check();
  await page.getByRole("radio", { name: opts.channel ?? "Phone", exact: true }).check();
  if (opts.note) await page.getByLabel("Note (optional)").fill(opts.note);
  await page.getByRole("button", { name: "Issue Certificate" }).click();
  await page.getByLabel("Password for Certificate Authority's Private Key file").fill(opts.password);
}

/** Horizontal overflow of the whole page, in CSS pixels (0 when nothing sticks out). */
export async function pageOverflow(page: Page): Promise<number> {
  return page.evaluate(() => document.documentElement.scrollWidth - document.documentElement.clientWidth);
}
