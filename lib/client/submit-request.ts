/**
 * Submit Certificate Signing Request to the Certificate Authority server, as IRIS's CA
 * client does: generate a key pair and a CSR, save `<root>.key` and `<root>.csr` in the
 * client directory FIRST (so a failed submission loses nothing), then send the CSR with
 * the technical contact to the configured server. Every attempt is recorded; a failed
 * one keeps its files and can be sent again.
 */
import { createHash, randomUUID } from "node:crypto";
import { promises as fs } from "node:fs";
import { getDb } from "../db/index.ts";
import { AppError, type FieldErrors } from "../errors/app-error.ts";
import { fileNameRootProblem } from "../ca/file-name-root.ts";
import { FileTransaction } from "../ca/server-files.ts";
import { str } from "../ca/validation.ts";
import { encryptPrivateKey, unencryptedPkcs8Pem } from "../pki/pkcs8.ts";
import { parseCsr, sanToString } from "../pki/csr.ts";
import type { SubjectInput } from "../pki/names.ts";
import { createCsr, validateCsrInput } from "./create-csr.ts";
import { requireCaClient, locationOf, type CaClientView } from "./configure-client.ts";
import { fetchCa, fetchCaFileNameRoot, postCsr, RemoteCaError, serverBaseUrl, type CallOptions } from "./ca-server-api.ts";
import { recordAudit } from "../audit/audit-log.ts";
import { clientDirectory, clientFilePath, ensureClientDirectory, fileExists } from "./client-files.ts";

export const KEY_PASSWORD_MIN = 8;

export interface SubmitCsrInput {
  fileNameRoot?: unknown;
  keyPassword?: unknown;
  keyPasswordConfirm?: unknown;
  subject?: SubjectInput;
  keyAlgorithm?: unknown;
  sans?: unknown;
}

export interface SubmitCsrResult {
  id: string;
  serverRequestId: string;
  fileNameRoot: string;
  subject: string;
  sha1Fingerprint: string;
  sha256Fingerprint: string;
  keyFile: string;
  csrFile: string;
  keyEncrypted: boolean;
  /** The CA as the message names it, and the server's host. */
  caInstance: string;
  node: string;
  /** IRIS's message: SHA-1 Fingerprint: …, Certificate Signing Request "<root>" successfully submitted to the Certificate Authority at instance <name> on node <host> */
  message: string;
}

export interface ClientRequestView {
  id: string;
  fileNameRoot: string;
  subject: string;
  sans: string[];
  keyAlgorithm: string;
  sha1Fingerprint: string;
  sha256Fingerprint: string;
  serverUrl: string;
  serverRequestId: string | null;
  keyFile: string;
  csrFile: string;
  keyEncrypted: boolean;
  status: "submitted" | "failed";
  error: string | null;
  submittedAt: string;
}

const inFlight = new Set<string>();

function validate(input: SubmitCsrInput): { fileNameRoot: string; keyPassword: string | null } & ReturnType<typeof validateCsrInput> {
  const errors: FieldErrors = {};
  const fileNameRoot = str(input.fileNameRoot).trim();
  const rp = fileNameRootProblem(fileNameRoot);
  if (rp) errors.fileNameRoot = rp;
  const keyPassword = str(input.keyPassword);
  if (keyPassword) {
    if ([...keyPassword].length < KEY_PASSWORD_MIN) errors.keyPassword = `Use at least ${KEY_PASSWORD_MIN} characters, or leave the password empty to keep the key unencrypted`;
    else if (keyPassword.length > 1024) errors.keyPassword = "Use at most 1024 characters";
  }
  if ((input.keyPasswordConfirm !== undefined || keyPassword) && str(input.keyPasswordConfirm) !== keyPassword) errors.keyPasswordConfirm = "The passwords do not match";
  const csr = validateCsrInput(input, errors);
  if (Object.keys(errors).length) throw AppError.validation(errors);
  return { fileNameRoot, keyPassword: keyPassword || null, ...csr };
}

/** How IRIS names the CA in its message: the CA's file name root when the server tells it, else its common name. */
async function caName(client: CaClientView, opts: CallOptions): Promise<string> {
  const loc = locationOf(client);
  const quick = { timeoutMs: Math.min(opts.timeoutMs ?? 5000, 5000) };
  try {
    const ca = await fetchCa(loc, quick);
    if (ca.fileNameRoot) return ca.fileNameRoot;
    const root = await fetchCaFileNameRoot(loc, quick);
    if (root) return root;
    const cn = /(?:^|,\s*)CN=((?:\\.|[^,])+)/.exec(ca.subject)?.[1];
    return cn ?? ca.subject;
  } catch {
    return client.serverHost;
  }
}

export function submittedMessage(sha1: string, root: string, instance: string, node: string): string {
  return `SHA-1 Fingerprint: ${sha1}, Certificate Signing Request "${root}" successfully submitted to the Certificate Authority at instance ${instance} on node ${node}`;
}

function failureMessage(reason: string, keyFile: string, csrFile: string): string {
  return `${reason.replace(/\.?$/, ".")} The private key and the Certificate Signing Request were kept: ${keyFile} and ${csrFile}. Correct the problem and submit them again from the list of this instance's requests.`;
}

/** Generates, saves and submits. Throws AppError: field errors before anything is written, or the submission's failure after the files were saved. */
export async function submitCertificateRequest(input: SubmitCsrInput, opts: CallOptions & { actor?: string } = {}): Promise<SubmitCsrResult> {
  const v = validate(input);
  const client = await requireCaClient();
  await ensureClientDirectory();
  const keyFile = clientFilePath(v.fileNameRoot, "key");
  const csrFile = clientFilePath(v.fileNameRoot, "csr");
  const cerFile = clientFilePath(v.fileNameRoot, "cer");
  for (const f of [keyFile, csrFile, cerFile]) {
    if (await fileExists(f)) {
      throw new AppError("conflict", `${f} already exists: choose another file name root (files are never overwritten)`, { field: "fileNameRoot" });
    }
  }
  if (inFlight.has(v.fileNameRoot)) throw new AppError("conflict", `A request with the file name root "${v.fileNameRoot}" is being submitted right now`, { field: "fileNameRoot" });
  inFlight.add(v.fileNameRoot);
  try {
    const created = await createCsr({ subject: v.subject, keyAlgorithm: v.keyAlgorithm, sans: v.sans.map(sanToString) });
    const keyPem = v.keyPassword ? await encryptPrivateKey(created.privateKey, v.keyPassword) : unencryptedPkcs8Pem(created.privateKey);
    // Both files or neither; never over an existing file.
    const tx = new FileTransaction();
    try {
      await tx.stage(keyFile, keyPem, 0o600);
      await tx.stage(csrFile, created.csrPem, 0o644);
      await tx.commit();
    } catch (e) {
      await tx.rollback();
      if (e instanceof AppError) throw new AppError("conflict", `${e.message.replace(/ while configuring; nothing was changed$/, "")}: choose another file name root`, { field: "fileNameRoot", cause: e });
      throw new AppError("directory_unwritable", `The key and CSR cannot be written to ${clientDirectory()} (${(e as NodeJS.ErrnoException).code ?? "error"})`, { cause: e });
    }
    const record = {
      id: randomUUID(),
      fileNameRoot: v.fileNameRoot,
      subject: created.csr.subject,
      sans: JSON.stringify(created.csr.sans.map(sanToString)),
      keyAlgorithm: created.keyAlgorithm,
      sha1Fingerprint: created.csr.sha1Fingerprint,
      sha256Fingerprint: created.csr.sha256Fingerprint,
      serverUrl: client.serverUrl,
      keyFile,
      csrFile,
      keyEncrypted: !!v.keyPassword,
      submittedBy: opts.actor ?? null,
      spkiSha256: spkiSha256(created.csr.spkiDer),
    };
    return await send(client, record, created.csrPem, opts);
  } finally {
    inFlight.delete(v.fileNameRoot);
  }
}

interface RecordBase {
  id: string;
  fileNameRoot: string;
  subject: string;
  sans: string;
  keyAlgorithm: string;
  sha1Fingerprint: string;
  sha256Fingerprint: string;
  serverUrl: string;
  keyFile: string;
  csrFile: string;
  keyEncrypted: boolean;
  submittedBy: string | null;
  /** SHA-256 (hex) of the key's SubjectPublicKeyInfo DER: how a certificate finds its key here. */
  spkiSha256: string;
}

/** SHA-256 (lower-case hex) of a SubjectPublicKeyInfo's DER, as ClientRequest.spkiSha256 keeps it. */
export function spkiSha256(spkiDer: Buffer): string {
  return createHash("sha256").update(spkiDer).digest("hex");
}

/** Posts the CSR; records the outcome (insert or update of `record.id`); returns the message or throws. */
async function send(client: CaClientView, record: RecordBase, csrPem: string, opts: CallOptions): Promise<SubmitCsrResult> {
  const db = await getDb();
  const loc = locationOf(client);
  const save = (data: { status: "submitted" | "failed"; error: string | null; serverRequestId: string | null }) =>
    db.clientRequest.upsert({ where: { id: record.id }, create: { ...record, ...data, submittedAt: new Date() }, update: { ...data, serverUrl: record.serverUrl, submittedAt: new Date(), submittedBy: record.submittedBy, spkiSha256: record.spkiSha256 } });
  let answer;
  try {
    answer = await postCsr(
      loc,
      {
        csr: csrPem,
        contact: { name: client.contactName, phone: client.contactPhone, email: client.contactEmail },
        hostname: client.effectiveHostname,
        instance: client.instanceName,
        filename: record.fileNameRoot,
      },
      opts,
    );
  } catch (e) {
    const reason = e instanceof AppError ? e.message : "The Certificate Signing Request could not be submitted";
    if (!(e instanceof AppError)) console.error("Submitting a CSR failed:", e);
    await save({ status: "failed", error: reason.slice(0, 2000), serverRequestId: null });
    const message = failureMessage(reason, record.keyFile, record.csrFile);
    if (e instanceof RemoteCaError) throw new RemoteCaError(e.reason, e.code, message, { cause: e, remoteStatus: e.remoteStatus, remoteFields: e.remoteFields, retryAfterSeconds: e.retryAfterSeconds });
    throw new AppError(e instanceof AppError ? e.code : "internal_error", message, { cause: e });
  }
  if (answer.sha1Fingerprint !== record.sha1Fingerprint) {
    // The server fingerprints the DER it received: a difference means the CSR was altered on the way.
    const reason = `The Certificate Authority server reports the fingerprint ${answer.sha1Fingerprint}, but the CSR sent has ${record.sha1Fingerprint}: do not confirm this request to the CA administrator`;
    await save({ status: "failed", error: reason, serverRequestId: answer.id });
    throw new AppError("conflict", failureMessage(reason, record.keyFile, record.csrFile));
  }
  await save({ status: "submitted", error: null, serverRequestId: answer.id });
  await recordAudit({ action: "client.submit", actor: record.submittedBy ?? "system", target: `client-request:${record.id}`, details: { subject: record.subject, sha1: record.sha1Fingerprint, server: record.serverUrl, serverRequestId: answer.id, keyFile: record.keyFile } });
  const caInstance = await caName(client, opts);
  const node = client.serverHost;
  return {
    id: record.id,
    serverRequestId: answer.id,
    fileNameRoot: record.fileNameRoot,
    subject: record.subject,
    sha1Fingerprint: record.sha1Fingerprint,
    sha256Fingerprint: record.sha256Fingerprint,
    keyFile: record.keyFile,
    csrFile: record.csrFile,
    keyEncrypted: record.keyEncrypted,
    caInstance,
    node,
    message: submittedMessage(record.sha1Fingerprint, record.fileNameRoot, caInstance, node),
  };
}

/** Sends a recorded request again (after a failure): the CSR file as it was saved; the key is not touched. */
export async function resubmitCertificateRequest(id: string, opts: CallOptions & { actor?: string } = {}): Promise<SubmitCsrResult> {
  const db = await getDb();
  const row = /^[0-9a-f-]{36}$/i.test(id) ? await db.clientRequest.findUnique({ where: { id } }) : null;
  if (!row) throw new AppError("not_found", "No such request of this instance");
  if (row.status === "submitted") throw new AppError("conflict", `The Certificate Signing Request "${row.fileNameRoot}" was already submitted${row.serverRequestId ? ` (request ${row.serverRequestId} on the server)` : ""}`);
  const client = await requireCaClient();
  let csrPem: string;
  try {
    csrPem = await fs.readFile(row.csrFile, "utf8");
  } catch (e) {
    throw new AppError("not_found", `The CSR file ${row.csrFile} cannot be read (${(e as NodeJS.ErrnoException).code ?? "error"}); submit a new request instead`, { cause: e });
  }
  const csr = await parseCsr(csrPem, "csr");
  if (csr.sha1Fingerprint !== row.sha1Fingerprint) throw new AppError("conflict", `The CSR file ${row.csrFile} changed since it was made (its fingerprint is now ${csr.sha1Fingerprint}); submit a new request instead`);
  return send(
    client,
    {
      id: row.id,
      fileNameRoot: row.fileNameRoot,
      subject: row.subject,
      sans: row.sans,
      keyAlgorithm: row.keyAlgorithm,
      sha1Fingerprint: row.sha1Fingerprint,
      sha256Fingerprint: row.sha256Fingerprint,
      serverUrl: client.serverUrl,
      keyFile: row.keyFile,
      csrFile: row.csrFile,
      keyEncrypted: row.keyEncrypted,
      submittedBy: opts.actor ?? row.submittedBy,
      spkiSha256: spkiSha256(csr.spkiDer),
    },
    csr.pem,
    opts,
  );
}

/** This instance's requests, newest first. */
export async function listClientRequests(take = 50): Promise<ClientRequestView[]> {
  const db = await getDb();
  const rows = await db.clientRequest.findMany({ orderBy: [{ submittedAt: "desc" }, { id: "asc" }], take: Math.min(Math.max(take, 1), 200) });
  return rows.map((r) => ({
    id: r.id,
    fileNameRoot: r.fileNameRoot,
    subject: r.subject,
    sans: safeList(r.sans),
    keyAlgorithm: r.keyAlgorithm,
    sha1Fingerprint: r.sha1Fingerprint,
    sha256Fingerprint: r.sha256Fingerprint,
    serverUrl: r.serverUrl,
    serverRequestId: r.serverRequestId,
    keyFile: r.keyFile,
    csrFile: r.csrFile,
    keyEncrypted: r.keyEncrypted,
    status: r.status === "submitted" ? "submitted" : "failed",
    error: r.error,
    submittedAt: r.submittedAt.toISOString(),
  }));
}

function safeList(json: string): string[] {
  try {
    const v = JSON.parse(json);
    return Array.isArray(v) ? v.filter((x) => typeof x === "string") : [];
  } catch {
    return [];
  }
}

export { serverBaseUrl };
