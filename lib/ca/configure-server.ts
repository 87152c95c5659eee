/**
 * Configure the local Certificate Authority server, as IRIS does: with a new key and
 * certificate, or with an existing pair found at `<directory>/<root>.{key,cer}`.
 * All-or-nothing: files and the configuration row land together or not at all; the
 * confirmation e-mail is queued in the same transaction and sent after it.
 */
import { promises as fs } from "node:fs";
import { getDb } from "../db/index.ts";
import { AppError, type FieldErrors } from "../errors/app-error.ts";
import { seal } from "../crypto/secret-box.ts";
import { env } from "../env.ts";
import { generateKeyPair, keyMatchesCertificate, describePublicKey } from "../pki/keys.ts";
import { encryptPrivateKey, decryptPrivateKey } from "../pki/pkcs8.ts";
import { createSelfSignedCa, parseCertificate, isCaCertificate, describeCertificate, certificateToPem } from "../pki/certificates.ts";
import { certificatesToPem, isSelfSigned, parseCertificateList, sameCertificate, validateIssuerChain } from "../pki/chain.ts";
import { countPemBlocks, looksLikePem } from "../pki/pem.ts";
import { x509 } from "../pki/setup.ts";
import { normalizeSubject, subjectToString, validateSubject, type SubjectInput } from "../pki/names.ts";
import { isKeyAlgorithm, DEFAULT_KEY_ALGORITHM, type KeyAlgorithm } from "../pki/key-algorithms.ts";
import { enqueueMail, deliverMail } from "../mail/outbox.ts";
import { caConfiguredEmail } from "../mail/templates/ca-configured.ts";
import type { SmtpSettings } from "../mail/transport.ts";
import { fileNameRootProblem } from "./file-name-root.ts";
import { directoryProblem, ensureWritableDirectory, FileTransaction, freeOldName, inspectFiles, parseSrl, serverFilePaths, srlText, type FilesState } from "./server-files.ts";
import { bool, emailProblem, fromAddressProblem, hostProblem, intInRange, str } from "./validation.ts";
import { chainFilePath, chainLinks, type ChainLinkView } from "./get-server.ts";
import { caIssuersUrls, fetchIssuersFromAia } from "./fetch-issuers.ts";
import { appendAudit } from "../audit/audit-log.ts";
import { crlNumberFilePath, readCrlNumberFile, signCrlIfDueWithPassword } from "./crl-signing.ts";

export const CA_VALIDITY_MAX_DAYS = 10950;
export const ISSUED_VALIDITY_MAX_DAYS = 3650;
export const KEY_PASSWORD_MIN = 10;
export const SMTP_PASSWORD_CONTEXT = "ca-server-smtp-password";

export interface LocationInput {
  fileNameRoot?: unknown;
  directory?: unknown;
}

export interface SmtpInput {
  host?: unknown;
  port?: unknown;
  secure?: unknown;
  username?: unknown;
  password?: unknown;
  passwordConfirm?: unknown;
  /** The From of the CA server's mail; empty: Portcullis PKI <portcullis@public host>. */
  from?: unknown;
}

export interface ConfigureCaInput extends LocationInput {
  keyPassword?: unknown;
  keyPasswordConfirm?: unknown;
  subject?: SubjectInput;
  keyAlgorithm?: unknown;
  caValidityDays?: unknown;
  issuedValidityDays?: unknown;
  smtp?: SmtpInput;
  adminEmail?: unknown;
  /**
   * Existing mode: the issuers of a CA certificate that is not self-signed, PEM, nearest
   * first and the root last. Optional when `<root>.cer` already holds them after the CA
   * certificate, or `<root>_chain.pem` does.
   */
  chainPem?: unknown;
}

export interface LocationInspection {
  mode: "new" | "existing";
  fileNameRoot: string;
  directory: string;
  /** Files that exist alone and will be renamed with `.old` when the new pair is created. */
  willRename: string[];
  srlExists: boolean;
  /** Existing mode: the CA certificate found, when it can be read. */
  certificate?: { subject: string; issuer: string; selfSigned: boolean };
  /** Existing mode: where an issuer chain was found without being asked for, if anywhere. */
  chainFound?: { file: string; certificates: number } | null;
  /** Existing mode, no chain found: where the certificate says its issuer's certificate is published. */
  caIssuersUrl?: string | null;
}

export interface ConfigureCaResult {
  mode: "new" | "existing";
  sha1Fingerprint: string;
  sha256Fingerprint: string;
  subject: string;
  files: string[];
  renamed: { from: string; to: string }[];
  emailSentTo: string | null;
  email: { status: "sent" | "queued" | "disabled"; to: string; error?: string };
  /** The success message in IRIS's form, one line per entry. */
  message: string[];
  /** The CA certificate, then its issuers up to the root; one entry for a self-signed CA. */
  chain: ChainLinkView[];
}

function validateLocation(input: LocationInput): { fileNameRoot: string; directory: string } {
  const errors: FieldErrors = {};
  const rootProblem = fileNameRootProblem(str(input.fileNameRoot));
  if (rootProblem) errors.fileNameRoot = rootProblem;
  const dirProblem = directoryProblem(str(input.directory));
  if (dirProblem) errors.directory = dirProblem;
  if (Object.keys(errors).length) throw AppError.validation(errors);
  return { fileNameRoot: str(input.fileNameRoot).trim(), directory: str(input.directory).trim() };
}

function inspectionOf(state: FilesState, fileNameRoot: string): LocationInspection {
  const existing = state.keyExists && state.cerExists;
  const willRename = existing ? [] : [state.keyExists ? state.paths.key : null, state.cerExists ? state.paths.cer : null].filter((x): x is string => !!x);
  return { mode: existing ? "existing" : "new", fileNameRoot, directory: state.paths.directory, willRename, srlExists: state.srlExists };
}

/** Step 1 (Next): which mode the location leads to. Reads only; creates nothing. */
export async function inspectCaServerLocation(input: LocationInput): Promise<LocationInspection> {
  const { fileNameRoot, directory } = validateLocation(input);
  const state = await inspectFiles(serverFilePaths(directory, fileNameRoot));
  const inspection = inspectionOf(state, fileNameRoot);
  if (inspection.mode !== "existing") return inspection;
  // What the details step can say about the certificate; problems are reported at Save.
  try {
    const { cert, fileChain } = readCaCertificateFile(await fs.readFile(state.paths.cer), state.paths.cer);
    const selfSigned = isSelfSigned(cert);
    inspection.certificate = { subject: cert.subject, issuer: cert.issuer, selfSigned };
    inspection.chainFound = null;
    if (!selfSigned && fileChain.length) inspection.chainFound = { file: state.paths.cer, certificates: fileChain.length };
    else if (!selfSigned) {
      const chainFile = chainFilePath(directory, fileNameRoot);
      const text = await fs.readFile(chainFile, "utf8").catch(() => null);
      if (text !== null) inspection.chainFound = { file: chainFile, certificates: countPemBlocks(text, "CERTIFICATE") };
    }
    if (!selfSigned && !inspection.chainFound) inspection.caIssuersUrl = caIssuersUrls(cert)[0] ?? null;
  } catch {
    // Unreadable here means refused with its reason at Save.
  }
  return inspection;
}

/**
 * `<root>.cer` as found: DER, or PEM holding the CA certificate, optionally followed by
 * its issuers (a "full chain" file). @peculiar/x509 would silently read only the first.
 */
function readCaCertificateFile(bytes: Buffer, path: string): { cert: x509.X509Certificate; fileChain: x509.X509Certificate[] } {
  const text = bytes.subarray(0, 256 * 1024).toString("latin1");
  if (looksLikePem(text) && countPemBlocks(text, "CERTIFICATE") > 1) {
    let certs: x509.X509Certificate[];
    try {
      certs = parseCertificateList(bytes.toString("utf8"), "fileNameRoot", 1 + 8);
    } catch (e) {
      if (e instanceof AppError) throw new AppError(e.code, `${path}: ${e.message}`, { field: "fileNameRoot", cause: e });
      throw e;
    }
    return { cert: certs[0], fileChain: certs.slice(1) };
  }
  return { cert: parseCertificate(new Uint8Array(bytes), "certificate"), fileChain: [] };
}

interface ValidSmtp {
  settings: SmtpSettings | null;
}

/** The most days an issued certificate may last under a CA certificate valid until `notAfter`. */
export function issuedValidityLimit(notAfter: Date, now: Date): { caDaysLeft: number; maxDays: number } {
  const caDaysLeft = Math.floor((notAfter.getTime() - now.getTime()) / 86400_000);
  return { caDaysLeft, maxDays: Math.max(1, caDaysLeft) };
}

/** The message for issued validity beyond the CA certificate's remaining life. */
export function issuedValidityTooLong(caDaysLeft: number, maxDays: number): string {
  return `Issued certificates cannot outlive the CA certificate (valid ${caDaysLeft} more days): use at most ${maxDays} days`;
}

/**
 * The settings that stay editable after configuration — issued validity, SMTP and the
 * administrator's e-mail — checked field by field into `errors`.
 */
export function validateServerSettings(input: ConfigureCaInput, errors: FieldErrors, caValidityDays?: number): { issuedValidityDays?: number; smtp: ValidSmtp; adminEmail: string } {
  const issued = intInRange(input.issuedValidityDays, 1, ISSUED_VALIDITY_MAX_DAYS, "validity period");
  if (issued.problem) errors.issuedValidityDays = issued.problem;
  else if (caValidityDays !== undefined && issued.value! > caValidityDays) errors.issuedValidityDays = `Issued certificates cannot outlive the CA certificate: use at most ${caValidityDays} days`;

  const smtpIn = input.smtp ?? {};
  const host = str(smtpIn.host).trim();
  let settings: SmtpSettings | null = null;
  if (host) {
    const hp = hostProblem(host);
    if (hp) errors["smtp.host"] = hp;
    const port = smtpIn.port === undefined || str(smtpIn.port).trim() === "" ? { value: bool(smtpIn.secure) ? 465 : 25 } : intInRange(smtpIn.port, 1, 65535, "port");
    if (port.problem) errors["smtp.port"] = port.problem;
    const username = str(smtpIn.username).trim();
    if (username.length > 256 || /[\u0000-\u001f]/.test(username)) errors["smtp.username"] = "Enter a user name of at most 256 characters";
    const password = str(smtpIn.password);
    if (password.length > 1024) errors["smtp.password"] = "Use at most 1024 characters";
    if (smtpIn.passwordConfirm !== undefined && str(smtpIn.passwordConfirm) !== password) errors["smtp.passwordConfirm"] = "The SMTP passwords do not match";
    if (password && !username) errors["smtp.username"] = "Enter the user name that goes with the SMTP password";
    const from = str(smtpIn.from).trim();
    const fp = from ? fromAddressProblem(from) : null;
    if (fp) errors["smtp.from"] = fp;
    settings = { host, port: port.value ?? 25, secure: bool(smtpIn.secure), username: username || null, password: password || null, ...(from ? { from } : {}) };
  } else if (str(smtpIn.username) || str(smtpIn.password) || str(smtpIn.from).trim()) {
    errors["smtp.host"] = "Enter the SMTP server for these credentials";
  }
  const adminEmail = str(input.adminEmail).trim();
  const ep = emailProblem(adminEmail);
  if (ep) errors.adminEmail = ep;
  return { issuedValidityDays: issued.value, smtp: { settings }, adminEmail };
}

async function fileExists(path: string): Promise<boolean> {
  return fs.access(path).then(
    () => true,
    () => false,
  );
}

let busy = false;

/** Configure the CA server (step 2, Save). Throws AppError with field messages on bad input. */
export async function configureCaServer(input: ConfigureCaInput, opts: { actor?: string; portalUrl?: string; now?: Date } = {}): Promise<ConfigureCaResult> {
  const { fileNameRoot, directory } = validateLocation(input);
  const db = await getDb();
  if (await db.caServer.findUnique({ where: { id: 1 }, select: { id: true } })) {
    throw new AppError("conflict", "The Certificate Authority server is already configured. Reinitialize it first to configure it again.");
  }
  if (busy) throw new AppError("conflict", "A configuration is already in progress; wait for it to finish");
  busy = true;
  try {
    const paths = serverFilePaths(directory, fileNameRoot);
    const state = await inspectFiles(paths);
    const mode = state.keyExists && state.cerExists ? "existing" : "new";
    const result = mode === "new" ? await configureNew(input, state, fileNameRoot, opts) : await configureExisting(input, state, fileNameRoot, opts);
    // The key's password was just typed: publish the first CRL at once.
    await signCrlIfDueWithPassword(str(input.keyPassword), { now: opts.now, actor: opts.actor });
    return result;
  } finally {
    busy = false;
  }
}

async function configureNew(input: ConfigureCaInput, state: FilesState, fileNameRoot: string, opts: { actor?: string; portalUrl?: string; now?: Date }): Promise<ConfigureCaResult> {
  const errors: FieldErrors = {};
  const keyPassword = str(input.keyPassword);
  if (keyPassword.length < KEY_PASSWORD_MIN) errors.keyPassword = keyPassword ? `Use at least ${KEY_PASSWORD_MIN} characters for the CA key password` : "Enter a password for the CA private key";
  else if (keyPassword.length > 1024) errors.keyPassword = "Use at most 1024 characters";
  if (input.keyPasswordConfirm !== undefined && str(input.keyPasswordConfirm) !== keyPassword) errors.keyPasswordConfirm = "The passwords do not match";
  Object.assign(errors, validateSubject(input.subject ?? {}, "subject."));
  const algRaw = input.keyAlgorithm === undefined || input.keyAlgorithm === "" ? DEFAULT_KEY_ALGORITHM : input.keyAlgorithm;
  if (!isKeyAlgorithm(algRaw)) errors.keyAlgorithm = "Choose one of ecdsa-p256, ecdsa-p384, rsa-2048, rsa-3072, rsa-4096";
  const caDays = intInRange(input.caValidityDays, 1, CA_VALIDITY_MAX_DAYS, "CA validity period");
  if (caDays.problem) errors.caValidityDays = caDays.problem;
  const common = validateServerSettings(input, errors, caDays.value);
  if (Object.keys(errors).length) throw AppError.validation(errors);

  const keyAlgorithm = algRaw as KeyAlgorithm;
  const subject = normalizeSubject(input.subject ?? {});
  await ensureWritableDirectory(state.paths.directory);

  const keys = await generateKeyPair(keyAlgorithm);
  const ca = await createSelfSignedCa({ subject, keys, validityDays: caDays.value!, now: opts.now });
  const keyPem = await encryptPrivateKey(keys.privateKey, keyPassword);
  const info = describeCertificate(ca.certificate);

  const tx = new FileTransaction();
  const renamed: { from: string; to: string }[] = [];
  try {
    for (const lone of [state.keyExists ? state.paths.key : null, state.cerExists ? state.paths.cer : null]) {
      if (!lone) continue;
      const to = await freeOldName(lone);
      await tx.moveAside(lone, to);
      renamed.push({ from: lone, to });
    }
    // A stale SRL or CRL number belongs to the old pair: numbering of a new CA starts at 1.
    const crlNumberFile = crlNumberFilePath(state.paths.directory, fileNameRoot);
    for (const stale of [state.srlExists ? state.paths.srl : null, (await fileExists(crlNumberFile)) ? crlNumberFile : null]) {
      if (!stale) continue;
      const to = await freeOldName(stale);
      await tx.moveAside(stale, to);
      renamed.push({ from: stale, to });
    }
    await tx.stage(state.paths.key, keyPem);
    await tx.stage(state.paths.cer, ca.pem);
    await tx.stage(state.paths.srl, srlText(1));
    await tx.commit();
    const mail = await saveConfiguration({
      input,
      common,
      mode: "new",
      fileNameRoot,
      directory: state.paths.directory,
      keyAlgorithm,
      subject: info.subject,
      caValidityDays: caDays.value!,
      pem: ca.pem,
      info,
      nextNumber: 1,
      files: [state.paths.cer, state.paths.key, state.paths.srl],
      actor: opts.actor,
      portalUrl: opts.portalUrl,
    });
    const email = await sendConfirmation(mail, common.adminEmail);
    const message = [
      "Certificate Authority server successfully configured.",
      ...renamed.map((r) => `Renamed ${r.from} to ${r.to}.`),
      `Created new files: ${state.paths.directory}/${fileNameRoot}.cer .key, and .srl.`,
      "Certificate Authority Certificate SHA-1 fingerprint:",
      info.sha1Fingerprint,
      emailLine(email),
    ];
    await recordMessage(message);
    return { mode: "new", sha1Fingerprint: info.sha1Fingerprint, sha256Fingerprint: info.sha256Fingerprint, subject: info.subject, files: [state.paths.cer, state.paths.key, state.paths.srl], renamed, emailSentTo: email.status === "sent" ? email.to : null, email, message, chain: chainLinks(ca.pem, null) };
  } catch (e) {
    await tx.rollback();
    throw e;
  }
}

async function configureExisting(input: ConfigureCaInput, state: FilesState, fileNameRoot: string, opts: { actor?: string; portalUrl?: string; now?: Date }): Promise<ConfigureCaResult> {
  const errors: FieldErrors = {};
  const keyPassword = str(input.keyPassword);
  if (!keyPassword) errors.keyPassword = "Enter the password of the existing CA private key";
  const common = validateServerSettings(input, errors);
  if (Object.keys(errors).length) throw AppError.validation(errors);

  const [cerText, keyText] = await Promise.all([fs.readFile(state.paths.cer), fs.readFile(state.paths.key, "utf8")]);
  const { cert, fileChain } = readCaCertificateFile(cerText, state.paths.cer);
  if (!isCaCertificate(cert)) throw new AppError("not_a_ca", `${state.paths.cer} is not a CA certificate (basicConstraints CA:TRUE is missing)`, { field: "fileNameRoot" });
  const keyUsage = cert.getExtension(x509.KeyUsagesExtension);
  if (keyUsage && (keyUsage.usages & x509.KeyUsageFlags.keyCertSign) === 0) {
    throw new AppError("not_a_ca", `${state.paths.cer} may not sign certificates: its key usage lacks keyCertSign`, { field: "fileNameRoot" });
  }
  const now = opts.now ?? new Date();
  if (cert.notAfter <= now) throw new AppError("validation_failed", `${state.paths.cer} expired on ${cert.notAfter.toISOString()}`, { field: "fileNameRoot" });
  if (cert.notBefore > now) throw new AppError("validation_failed", `${state.paths.cer} is not valid before ${cert.notBefore.toISOString()}`, { field: "fileNameRoot" });
  const key = decryptPrivateKey(keyText, keyPassword, "keyPassword");
  if (!keyMatchesCertificate(key, cert)) throw new AppError("key_mismatch", `${state.paths.key} does not belong to the certificate in ${state.paths.cer}`, { field: "fileNameRoot" });
  const limit = issuedValidityLimit(cert.notAfter, now);
  if (common.issuedValidityDays !== undefined && common.issuedValidityDays > limit.maxDays) {
    throw new AppError("validation_failed", issuedValidityTooLong(limit.caDaysLeft, limit.maxDays), { field: "issuedValidityDays" });
  }
  const chainPath = chainFilePath(state.paths.directory, fileNameRoot);
  const chain = await resolveIssuerChain({ input, cert, fileChain, cerPath: state.paths.cer, chainPath, now });

  const info = describeCertificate(cert);
  const pem = certificateToPem(cert);
  const pub = describePublicKey(key);
  const algId = pub.algorithm === "ECDSA" ? (pub.curve === "P-384" ? "ecdsa-p384" : pub.curve === "P-256" ? "ecdsa-p256" : pub.label) : pub.algorithm === "RSA" ? `rsa-${pub.bits}` : pub.label;

  let nextNumber = 1;
  // The CRL numbers this CA signed before it was reinitialized go on from where they were.
  const nextCrlNumber = (await readCrlNumberFile(state.paths.directory, fileNameRoot)) ?? 1;
  const tx = new FileTransaction();
  const files = [state.paths.cer, state.paths.key];
  const renamed: { from: string; to: string }[] = [];
  if (state.srlExists) {
    const n = parseSrl(await fs.readFile(state.paths.srl, "utf8"));
    if (n === null) throw new AppError("validation_failed", `${state.paths.srl} does not hold a hexadecimal serial counter`, { field: "fileNameRoot" });
    nextNumber = n;
  }
  if (!state.srlExists || chain.write) await ensureWritableDirectory(state.paths.directory);
  try {
    if (!state.srlExists) await tx.stage(state.paths.srl, srlText(1));
    if (chain.write) {
      if (chain.replaces) {
        const to = await freeOldName(chainPath);
        await tx.moveAside(chainPath, to);
        renamed.push({ from: chainPath, to });
      }
      await tx.stage(chainPath, certificatesToPem([cert, ...chain.issuers]));
    }
    await tx.commit();
    files.push(state.paths.srl);
    if (chain.issuers.length) files.push(chainPath);
    const mail = await saveConfiguration({
      input,
      common,
      mode: "existing",
      fileNameRoot,
      directory: state.paths.directory,
      keyAlgorithm: algId,
      subject: info.subject,
      caValidityDays: null,
      pem,
      caChainPem: chain.issuers.length ? certificatesToPem(chain.issuers) : null,
      info,
      nextNumber,
      crlNumber: nextCrlNumber - 1,
      files,
      actor: opts.actor,
      portalUrl: opts.portalUrl,
    });
    const email = await sendConfirmation(mail, common.adminEmail);
    const message = [
      "Certificate Authority server successfully configured.",
      `Using existing files: ${state.paths.directory}/${fileNameRoot}.cer and .key${state.srlExists ? "" : " (created .srl)"}`,
      ...renamed.map((r) => `Renamed ${r.from} to ${r.to}.`),
      ...(chain.issuers.length ? [chainLine(chain, chainPath)] : []),
      "Certificate Authority Certificate SHA-1 fingerprint:",
      info.sha1Fingerprint,
      emailLine(email),
    ];
    await recordMessage(message);
    return { mode: "existing", sha1Fingerprint: info.sha1Fingerprint, sha256Fingerprint: info.sha256Fingerprint, subject: info.subject, files, renamed, emailSentTo: email.status === "sent" ? email.to : null, email, message, chain: chainLinks(pem, chain.issuers.length ? certificatesToPem(chain.issuers) : null) };
  } catch (e) {
    await tx.rollback();
    throw e;
  }
}

interface IssuerChain {
  /** Nearest issuer first, the root last; empty for a self-signed CA. */
  issuers: x509.X509Certificate[];
  /** Where the chain came from ("fetched": the caIssuers URLs of the certificates). */
  source: "form" | "certificate file" | "chain file" | "fetched" | null;
  /** The caIssuers URLs the chain was fetched from. */
  urls: string[];
  /** `<root>_chain.pem` must be (re)written. */
  write: boolean;
  /** …and an existing, different `<root>_chain.pem` is renamed `.old` first. */
  replaces: boolean;
}

/**
 * The issuer chain of an existing CA certificate: from the form's Issuer chain field,
 * else the certificates after the CA's in `<root>.cer`, else `<root>_chain.pem`, else
 * fetched from the caIssuers URLs the certificates name; checked link by link up to a
 * self-signed root. A self-signed CA needs none.
 */
async function resolveIssuerChain(a: { input: ConfigureCaInput; cert: x509.X509Certificate; fileChain: x509.X509Certificate[]; cerPath: string; chainPath: string; now: Date }): Promise<IssuerChain> {
  const field = "chainPem";
  if (a.input.chainPem != null && typeof a.input.chainPem !== "string") throw new AppError("validation_failed", "Give the issuer chain as PEM text", { field });
  const given = str(a.input.chainPem).trim();
  const fromForm = given ? parseCertificateList(given, field) : null;
  const existingText = await fs.readFile(a.chainPath, "utf8").catch(() => null);
  let existing: x509.X509Certificate[] | null = null;
  if (existingText !== null) {
    try {
      existing = parseCertificateList(existingText, field);
    } catch (e) {
      if (!(e instanceof AppError)) throw e;
      // Only an error when it is the chain to use; a form chain replaces it.
      if (!fromForm && !a.fileChain.length && !isSelfSigned(a.cert)) throw new AppError(e.code, `${a.chainPath}: ${e.message}`, { field, cause: e });
    }
  }
  const withoutCa = (certs: x509.X509Certificate[]) => (certs.length && sameCertificate(certs[0], a.cert) ? certs.slice(1) : certs);
  const same = (x: x509.X509Certificate[], y: x509.X509Certificate[]) => x.length === y.length && x.every((c, i) => sameCertificate(c, y[i]));

  let source: IssuerChain["source"] = null;
  let candidate: x509.X509Certificate[] = [];
  if (fromForm) {
    if (a.fileChain.length && !same(withoutCa(fromForm), a.fileChain)) {
      throw new AppError("validation_failed", `${a.cerPath} already holds an issuer chain (${a.fileChain.length} certificate${a.fileChain.length === 1 ? "" : "s"} after the CA certificate) that is not the one given here: give the chain in one place only`, { field });
    }
    source = "form";
    candidate = fromForm;
  } else if (a.fileChain.length) {
    source = "certificate file";
    candidate = a.fileChain;
  } else if (existing && !isSelfSigned(a.cert)) {
    source = "chain file";
    candidate = existing;
  }
  let urls: string[] = [];
  let fetchProblem: string | undefined;
  if (source === null && !isSelfSigned(a.cert)) {
    const fetched = await fetchIssuersFromAia(a.cert);
    fetchProblem = fetched.problem;
    if (fetched.issuers.length) {
      source = "fetched";
      candidate = fetched.issuers;
      urls = fetched.urls;
    }
  }
  let issuers: x509.X509Certificate[];
  try {
    issuers = validateIssuerChain(a.cert, candidate, { now: a.now, field });
  } catch (e) {
    if (!(e instanceof AppError)) throw e;
    const where = source === "chain file" ? `${a.chainPath}: ` : source === "certificate file" ? `${a.cerPath}: ` : source === "fetched" ? `The issuer chain fetched from ${urls.join(", ")}: ` : "";
    const also = fetchProblem ? ` ${fetchProblem}` : "";
    if (where || also) throw new AppError(e.code, `${where}${e.message}${also}`, { field, cause: e });
    throw e;
  }
  if (!issuers.length) return { issuers, source, urls, write: false, replaces: false };
  const upToDate = existing !== null && same(withoutCa(existing), issuers);
  return { issuers, source, urls, write: !upToDate, replaces: existingText !== null && !upToDate };
}

function chainLine(chain: IssuerChain, chainPath: string): string {
  const n = chain.issuers.length;
  const root = chain.issuers[n - 1].subject;
  const fetched = chain.source === "fetched" ? ` (fetched from ${chain.urls.join(", ")})` : "";
  return `Issuer chain: ${n} certificate${n === 1 ? "" : "s"} up to the root ${root}${fetched}${chain.write ? `, saved with the CA certificate in ${chainPath}` : `, in ${chainPath}`}.`;
}

interface SaveArgs {
  input: ConfigureCaInput;
  common: ReturnType<typeof validateServerSettings>;
  mode: "new" | "existing";
  fileNameRoot: string;
  directory: string;
  keyAlgorithm: string;
  subject: string;
  caValidityDays: number | null;
  pem: string;
  /** The CA's issuers (PEM, nearest first); null for a self-signed CA. */
  caChainPem?: string | null;
  info: ReturnType<typeof describeCertificate>;
  nextNumber: number;
  /** The last CRL number signed with this key (0: none). */
  crlNumber?: number;
  files: string[];
  actor?: string;
  portalUrl?: string;
}

/** Writes the configuration row and queues the confirmation mail in one transaction. */
async function saveConfiguration(a: SaveArgs): Promise<string | null> {
  const db = await getDb();
  const smtp = a.common.smtp.settings;
  return db.$transaction(async (tx) => {
    if (await tx.caServer.findUnique({ where: { id: 1 }, select: { id: true } })) {
      throw new AppError("conflict", "The Certificate Authority server was configured meanwhile; nothing was changed");
    }
    await tx.caServer.create({
      data: {
        id: 1,
        fileNameRoot: a.fileNameRoot,
        directory: a.directory,
        mode: a.mode,
        keyAlgorithm: a.keyAlgorithm,
        subject: a.subject,
        caValidityDays: a.caValidityDays,
        issuedValidityDays: a.common.issuedValidityDays!,
        smtpHost: smtp?.host ?? null,
        smtpPort: smtp?.port ?? null,
        smtpSecure: smtp?.secure ?? false,
        smtpUsername: smtp?.username ?? null,
        smtpFrom: smtp?.from ?? null,
        smtpPasswordEnc: smtp?.password ? seal(smtp.password, SMTP_PASSWORD_CONTEXT) : null,
        adminEmail: a.common.adminEmail,
        certificatePem: a.pem,
        caChainPem: a.caChainPem ?? null,
        sha1Fingerprint: a.info.sha1Fingerprint,
        sha256Fingerprint: a.info.sha256Fingerprint,
        notBefore: a.info.notBefore,
        notAfter: a.info.notAfter,
        nextNumber: a.nextNumber,
        crlNumber: a.crlNumber ?? 0,
        configuredBy: a.actor ?? null,
      },
    });
    await appendAudit(tx, {
      action: "ca.configure",
      actor: a.actor ?? "system",
      target: "ca",
      details: { mode: a.mode, fileNameRoot: a.fileNameRoot, directory: a.directory, subject: a.subject, keyAlgorithm: a.keyAlgorithm, sha256: a.info.sha256Fingerprint, issuedValidityDays: a.common.issuedValidityDays, chain: a.caChainPem ? "yes" : "no" },
    });
    if (!smtp) return null;
    const mail = caConfiguredEmail({
      adminEmail: a.common.adminEmail,
      mode: a.mode,
      files: a.files,
      directory: a.directory,
      subject: a.subject,
      sha1Fingerprint: a.info.sha1Fingerprint,
      sha256Fingerprint: a.info.sha256Fingerprint,
      notAfter: a.info.notAfter,
      portalUrl: a.portalUrl ?? env().PORTCULLIS_PUBLIC_URL,
    });
    return enqueueMail(tx, { kind: "ca-configured", to: a.common.adminEmail, ...mail, smtp });
  });
}

async function sendConfirmation(mailId: string | null, to: string): Promise<ConfigureCaResult["email"]> {
  if (!mailId) return { status: "disabled", to };
  try {
    const r = await deliverMail(mailId);
    return r.status === "sent" ? { status: "sent", to } : { status: "queued", to, error: r.error };
  } catch (e) {
    return { status: "queued", to, error: e instanceof Error ? e.message : String(e) };
  }
}

async function recordMessage(lines: string[]): Promise<void> {
  const db = await getDb();
  await db.caServer.updateMany({ where: { id: 1 }, data: { resultMessage: lines.join("\n") } });
}

function emailLine(e: ConfigureCaResult["email"]): string {
  if (e.status === "sent") return `Confirmation email sent to: ${e.to}`;
  if (e.status === "disabled") return "No SMTP server configured: no confirmation email was sent.";
  return `Confirmation email to ${e.to} could not be sent yet${e.error ? ` (${e.error})` : ""}; it is queued and will be retried.`;
}

