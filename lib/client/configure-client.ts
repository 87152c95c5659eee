/**
 * Configure the local Certificate Authority client, as IRIS does: the CA server's host
 * name, port and path, and the local technical contact (name required; phone and
 * e-mail optional). Saving again replaces the configuration.
 */
import { hostname as osHostname } from "node:os";
import { isIPv6 } from "node:net";
import { getDb } from "../db/index.ts";
import { AppError, type FieldErrors } from "../errors/app-error.ts";
import { emailProblem, HOST_PATTERN, bool, intInRange, str } from "../ca/validation.ts";
import { appendAudit } from "../audit/audit-log.ts";
import { fetchCa, serverBaseUrl, type ServerLocation } from "./ca-server-api.ts";

export const DEFAULT_SERVER_PATH = "/api/v1";
export const CONFIGURED_MESSAGE = "Certificate Authority client successfully configured.";

/** The CA server accepts these (lib/ca/requests.ts): instance names and phone numbers. */
export const INSTANCE_PATTERN = /^[A-Za-z0-9][A-Za-z0-9 ._:-]{0,63}$/;
export const PHONE_PATTERN = /^[0-9+()./ x-]{3,40}$/i;
const CONTROL = /[\u0000-\u001f\u007f-\u009f]/;

export interface ConfigureClientInput {
  serverHost?: unknown;
  serverPort?: unknown;
  serverPath?: unknown;
  useTls?: unknown;
  instanceName?: unknown;
  hostname?: unknown;
  contactName?: unknown;
  contactPhone?: unknown;
  contactEmail?: unknown;
}

export interface CaClientView {
  serverHost: string;
  serverPort: number;
  serverPath: string;
  useTls: boolean;
  /** `http://host:port/api/v1` */
  serverUrl: string;
  instanceName: string;
  /** As configured; null = the operating system's host name. */
  hostname: string | null;
  /** What is sent to the server. */
  effectiveHostname: string | null;
  contactName: string;
  contactPhone: string | null;
  contactEmail: string | null;
  ca: { sha1Fingerprint: string; file: string; savedAt: string } | null;
  configuredBy: string | null;
  updatedAt: string;
}

export interface ConfigureClientResult {
  client: CaClientView;
  message: string;
}

/** The host part as stored: IPv6 addresses without brackets, names as typed. */
function normalizeHost(raw: string): string {
  const h = raw.trim();
  const inner = /^\[(.+)\]$/.exec(h)?.[1];
  return inner && isIPv6(inner) ? inner : h;
}

function hostProblem(h: string, what: string): string | null {
  if (!h) return `Enter the ${what}`;
  if (isIPv6(h)) return null;
  if (h.length > 253 || !HOST_PATTERN.test(h) || h.startsWith("[")) return `Enter the ${what} as a host name such as ca.example.com or an IP address`;
  return null;
}

/** A sensible default instance name: the host's first label, made acceptable to the server. */
export function defaultInstanceName(): string {
  const h = osHostname().split(".")[0].replace(/[^A-Za-z0-9._:-]/g, "-").replace(/^[^A-Za-z0-9]+/, "");
  return (h || "portcullis").slice(0, 64);
}

/** The operating system's host name if the CA server would accept it, else null. */
export function systemHostname(): string | null {
  const h = osHostname();
  return h && h.length <= 253 && HOST_PATTERN.test(h) ? h : null;
}

export function validateClientInput(input: ConfigureClientInput): { serverHost: string; serverPort: number; serverPath: string; useTls: boolean; instanceName: string; hostname: string | null; contactName: string; contactPhone: string | null; contactEmail: string | null } {
  const errors: FieldErrors = {};
  const serverHost = normalizeHost(str(input.serverHost));
  const hp = hostProblem(serverHost, "Certificate Authority server hostname");
  if (hp) errors.serverHost = hp;

  const port = intInRange(input.serverPort, 1, 65535, "port number");
  if (port.problem) errors.serverPort = port.problem;

  let serverPath = str(input.serverPath).trim() || DEFAULT_SERVER_PATH;
  if (!serverPath.startsWith("/")) errors.serverPath = 'The path starts with "/", for example /api/v1';
  else if (serverPath.length > 200 || /[\s?#\\]/.test(serverPath) || CONTROL.test(serverPath)) errors.serverPath = "Enter a path of at most 200 characters without spaces, ? or #";
  else if (serverPath.length > 1) serverPath = serverPath.replace(/\/+$/, "") || "/";

  const instanceName = str(input.instanceName).trim();
  if (!instanceName) errors.instanceName = "Enter the name of this instance";
  else if (!INSTANCE_PATTERN.test(instanceName)) errors.instanceName = "Use up to 64 letters, digits, spaces and . _ : - (starting with a letter or digit)";

  const hostnameRaw = str(input.hostname).trim();
  let hostname: string | null = null;
  if (hostnameRaw) {
    if (hostnameRaw.length > 253 || !HOST_PATTERN.test(hostnameRaw)) errors.hostname = "Enter this instance's host name such as server1.example.com, or leave it empty";
    else hostname = hostnameRaw;
  }

  const contactName = str(input.contactName).trim();
  if (!contactName) errors.contactName = "Enter the name of the local technical contact";
  else if (contactName.length > 128 || CONTROL.test(contactName)) errors.contactName = "Use at most 128 characters, without control characters";

  const contactPhone = str(input.contactPhone).trim() || null;
  if (contactPhone && !PHONE_PATTERN.test(contactPhone)) errors.contactPhone = "Enter a phone number of digits, spaces and + ( ) . - x";

  const contactEmail = str(input.contactEmail).trim() || null;
  const ep = emailProblem(contactEmail, false);
  if (ep) errors.contactEmail = ep;

  if (Object.keys(errors).length) throw AppError.validation(errors);
  return { serverHost, serverPort: port.value!, serverPath, useTls: bool(input.useTls), instanceName, hostname, contactName, contactPhone, contactEmail };
}

type Row = NonNullable<Awaited<ReturnType<Awaited<ReturnType<typeof getDb>>["caClient"]["findUnique"]>>>;

export function locationOf(c: { serverHost: string; serverPort: number; serverPath: string; useTls: boolean }): ServerLocation {
  return { host: c.serverHost, port: c.serverPort, path: c.serverPath, useTls: c.useTls };
}

function toView(c: Row): CaClientView {
  return {
    serverHost: c.serverHost,
    serverPort: c.serverPort,
    serverPath: c.serverPath,
    useTls: c.useTls,
    serverUrl: serverBaseUrl(locationOf(c)),
    instanceName: c.instanceName,
    hostname: c.hostname,
    effectiveHostname: c.hostname ?? systemHostname(),
    contactName: c.contactName,
    contactPhone: c.contactPhone,
    contactEmail: c.contactEmail,
    ca: c.caSha1Fingerprint && c.caFile && c.caSavedAt ? { sha1Fingerprint: c.caSha1Fingerprint, file: c.caFile, savedAt: c.caSavedAt.toISOString() } : null,
    configuredBy: c.configuredBy,
    updatedAt: c.updatedAt.toISOString(),
  };
}

/** The configuration, or null when the client is not configured. */
export async function findCaClient(): Promise<CaClientView | null> {
  const db = await getDb();
  const c = await db.caClient.findUnique({ where: { id: 1 } });
  return c ? toView(c) : null;
}

/** The configuration, or not_configured with a message that says what to do. */
export async function requireCaClient(): Promise<CaClientView> {
  const c = await findCaClient();
  if (!c) throw new AppError("not_configured", "The Certificate Authority client is not configured. Configure the local Certificate Authority client first.");
  return c;
}

/** Saves the configuration (Save on IRIS's page). Throws AppError with field messages on bad input. */
export async function configureCaClient(input: ConfigureClientInput, opts: { actor?: string } = {}): Promise<ConfigureClientResult> {
  const v = validateClientInput(input);
  const db = await getDb();
  const previous = await db.caClient.findUnique({ where: { id: 1 }, select: { serverHost: true, serverPort: true, serverPath: true, useTls: true } });
  // Another server means another CA: the CA certificate saved from the old one no longer applies.
  const sameServer = previous && serverBaseUrl(locationOf(previous)) === serverBaseUrl(locationOf(v));
  const data = { ...v, configuredBy: opts.actor ?? null, ...(sameServer ? {} : { caCertificatePem: null, caSha1Fingerprint: null, caFile: null, caSavedAt: null }) };
  const row = await db.$transaction(async (tx) => {
    const saved = await tx.caClient.upsert({ where: { id: 1 }, create: { id: 1, ...data }, update: data });
    await appendAudit(tx, { action: "client.configure", actor: opts.actor ?? "system", target: "ca-client", details: { server: serverBaseUrl(locationOf(v)), instance: v.instanceName, contact: v.contactName } });
    return saved;
  });
  return { client: toView(row), message: CONFIGURED_MESSAGE };
}

export interface ServerCheck {
  serverUrl: string;
  subject: string;
  sha1Fingerprint: string;
  /** "Reached the Certificate Authority server at …: …" */
  message: string;
}

/** Check connection: validates the form and asks the server for its CA certificate, without saving anything. */
export async function checkCaServer(input: ConfigureClientInput, opts: { timeoutMs?: number } = {}): Promise<ServerCheck> {
  const v = validateClientInput(input);
  const loc = locationOf(v);
  const ca = await fetchCa(loc, opts);
  const serverUrl = serverBaseUrl(loc);
  return { serverUrl, subject: ca.subject, sha1Fingerprint: ca.sha1Fingerprint, message: `Reached the Certificate Authority server at ${serverUrl}: ${ca.subject} (SHA-1 Fingerprint: ${ca.sha1Fingerprint}). Nothing was saved yet.` };
}
