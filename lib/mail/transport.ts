/**
 * The one way Portcullis talks SMTP: a nodemailer transport built from the configured
 * settings. Timeouts are short so a dead or black-holed server fails the attempt quickly
 * and the outbox retries later, instead of holding a request or the worker for minutes.
 */
import nodemailer, { type SMTPTransportOptions } from "nodemailer";
import { env } from "../env.ts";

/** SMTP settings as configured by the administrator (and sealed into each outbox row). */
export interface SmtpSettings {
  host: string;
  port: number;
  /** Implicit TLS (e.g. port 465). When false, STARTTLS is used if the server offers it. */
  secure: boolean;
  username?: string | null;
  password?: string | null;
  /** Sender address; default: see {@link defaultFrom}. */
  from?: string;
  /** Accept a self-signed or otherwise unverifiable server certificate (tests, lab set-ups). */
  allowSelfSigned?: boolean;
}

/** Builds a (non-pooled) nodemailer SMTP transport for `s`. */
export function createTransport(s: SmtpSettings) {
  const options: SMTPTransportOptions = {
    host: s.host,
    port: s.port,
    secure: s.secure,
    connectionTimeout: 10_000,
    greetingTimeout: 10_000,
    socketTimeout: 20_000,
    tls: { rejectUnauthorized: !s.allowSelfSigned },
  };
  // Only offer credentials when some are configured; many relays accept unauthenticated mail from the LAN.
  if (s.username) options.auth = { user: s.username, pass: s.password ?? "" };
  return nodemailer.createTransport(options);
}

/** A nodemailer transport as returned by {@link createTransport}. */
export type MailTransport = ReturnType<typeof createTransport>;

/** The sender: `s.from`, else `Portcullis PKI <portcullis@host of PORTCULLIS_PUBLIC_URL or localhost>`. */
export function defaultFrom(s: Pick<SmtpSettings, "from">): string {
  if (s.from?.trim()) return s.from.trim();
  return `Portcullis PKI <portcullis@${publicHost()}>`;
}

function publicHost(): string {
  const url = env().PORTCULLIS_PUBLIC_URL;
  if (!url) return "localhost";
  try {
    const host = new URL(url).hostname;
    // An IPv6 literal is not a usable mail domain; fall back rather than build a broken address.
    return host && !host.includes(":") && !host.startsWith("[") ? host : "localhost";
  } catch {
    return "localhost";
  }
}
