/**
 * A real SMTP server on loopback for tests anywhere in the project (not a test itself).
 * It accepts everything (or checks one username/password), keeps what it received,
 * and parses just enough MIME (headers, multipart, quoted-printable, base64,
 * RFC 2047 subjects) for tests to assert on subject, text and HTML.
 */
import { EventEmitter } from "node:events";
import { SMTPServer } from "smtp-server";
import type { AddressInfo } from "node:net";

/** One message as the server received it. */
export interface ReceivedMail {
  /** Envelope sender (MAIL FROM). */
  from: string;
  /** Envelope recipients (RCPT TO). */
  to: string[];
  /** The whole message as sent, CRLF line ends. */
  raw: string;
  subject: string;
  text: string;
  html: string;
  /** Top-level headers, names lower-cased, values unfolded (not decoded). */
  headers: Record<string, string>;
  /** Username the client authenticated as, if any. */
  user?: string;
}

export interface TestSmtpServer {
  port: number;
  host: "127.0.0.1";
  messages: ReceivedMail[];
  /** Resolves with the first message (already received or arriving) matching `pred`. */
  waitFor(pred: (m: ReceivedMail) => boolean, timeoutMs?: number): Promise<ReceivedMail>;
  stop(): Promise<void>;
}

/**
 * Starts the server on 127.0.0.1 (`port` 0 or omitted = a free port). With `auth`, AUTH
 * is required (PLAIN/LOGIN, allowed without TLS); without it, AUTH is optional and any
 * credentials are accepted. STARTTLS (with smtp-server's built-in self-signed
 * certificate) is offered only when `starttls` is set.
 */
export async function startTestSmtpServer(
  opts: { port?: number; auth?: { user: string; pass: string }; starttls?: boolean } = {},
): Promise<TestSmtpServer> {
  const messages: ReceivedMail[] = [];
  const events = new EventEmitter();
  events.setMaxListeners(0);
  const server = new SMTPServer({
    authOptional: !opts.auth,
    allowInsecureAuth: true,
    disabledCommands: opts.starttls ? [] : ["STARTTLS"],
    logger: false,
    // Tests stop servers on purpose; do not wait 30 s for lingering client sockets.
    closeTimeout: 200,
    onAuth(auth, _session, callback) {
      if (opts.auth && (auth.username !== opts.auth.user || auth.password !== opts.auth.pass)) {
        callback(new Error("Invalid username or password"));
        return;
      }
      callback(null, { user: auth.username });
    },
    onData(stream, session, callback) {
      const chunks: Buffer[] = [];
      stream.on("data", (c: Buffer) => chunks.push(c));
      stream.on("error", callback);
      stream.on("end", () => {
        const raw = Buffer.concat(chunks).toString("utf8");
        const envelope = session.envelope;
        const mail: ReceivedMail = {
          from: envelope.mailFrom ? envelope.mailFrom.address : "",
          to: envelope.rcptTo.map((r) => r.address),
          user: typeof session.user === "string" ? session.user : undefined,
          ...parseMessage(raw),
          raw,
        };
        messages.push(mail);
        events.emit("mail", mail);
        callback();
      });
    },
  });

  await new Promise<void>((resolve, reject) => {
    const onError = (e: Error) => reject(e);
    server.once("error", onError);
    server.listen(opts.port ?? 0, "127.0.0.1", () => {
      server.off("error", onError);
      // Client errors (resets, timeouts) must not crash the test process.
      server.on("error", () => {});
      resolve();
    });
  });
  const port = (server.server.address() as AddressInfo).port;

  return {
    port,
    host: "127.0.0.1",
    messages,
    waitFor(pred, timeoutMs = 5000) {
      const found = messages.find(pred);
      if (found) return Promise.resolve(found);
      return new Promise<ReceivedMail>((resolve, reject) => {
        const onMail = (m: ReceivedMail) => {
          if (!pred(m)) return;
          clearTimeout(timer);
          events.off("mail", onMail);
          resolve(m);
        };
        const timer = setTimeout(() => {
          events.off("mail", onMail);
          reject(new Error(`No matching e-mail within ${timeoutMs} ms (received ${messages.length})`));
        }, timeoutMs);
        events.on("mail", onMail);
      });
    },
    stop: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

interface Part {
  headers: Record<string, string>;
  body: string;
}

function parseMessage(raw: string): Pick<ReceivedMail, "subject" | "text" | "html" | "headers"> {
  const top = splitPart(raw);
  const found: { text?: string; html?: string } = {};
  collect(top, found);
  return {
    headers: top.headers,
    subject: decodeWords(top.headers["subject"] ?? ""),
    text: found.text ?? "",
    html: found.html ?? "",
  };
}

function splitPart(raw: string): Part {
  const m = /\r?\n\r?\n/.exec(raw);
  const head = m ? raw.slice(0, m.index) : raw;
  const body = m ? raw.slice(m.index + m[0].length) : "";
  const headers: Record<string, string> = {};
  // Unfold: a line starting with white space continues the previous header.
  for (const line of head.replace(/\r?\n[ \t]+/g, " ").split(/\r?\n/)) {
    const i = line.indexOf(":");
    if (i <= 0) continue;
    const name = line.slice(0, i).trim().toLowerCase();
    if (!(name in headers)) headers[name] = line.slice(i + 1).trim();
  }
  return { headers, body };
}

function param(header: string, name: string): string | undefined {
  const m = new RegExp(`;\\s*${name}\\s*=\\s*(?:"([^"]*)"|([^;\\s]+))`, "i").exec(header);
  return m ? (m[1] ?? m[2]) : undefined;
}

function collect(part: Part, found: { text?: string; html?: string }): void {
  const type = part.headers["content-type"] ?? "text/plain";
  const mime = type.split(";")[0].trim().toLowerCase();
  if (mime.startsWith("multipart/")) {
    const boundary = param(type, "boundary");
    if (!boundary) return;
    const pieces = part.body.split(`--${boundary}`);
    // pieces[0] is the preamble; the piece after the closing "--boundary--" starts with "--".
    for (const piece of pieces.slice(1)) {
      if (piece.startsWith("--")) break;
      collect(splitPart(piece.replace(/^\r?\n/, "")), found);
    }
    return;
  }
  const disposition = (part.headers["content-disposition"] ?? "").toLowerCase();
  if (disposition.startsWith("attachment")) return;
  if (mime === "text/plain" && found.text === undefined) found.text = decodeBody(part);
  else if (mime === "text/html" && found.html === undefined) found.html = decodeBody(part);
}

function decodeBody(part: Part): string {
  const encoding = (part.headers["content-transfer-encoding"] ?? "7bit").toLowerCase();
  const charset = param(part.headers["content-type"] ?? "", "charset") ?? "utf-8";
  let bytes: Buffer;
  if (encoding === "quoted-printable") bytes = decodeQuotedPrintable(part.body);
  else if (encoding === "base64") bytes = Buffer.from(part.body.replace(/\s+/g, ""), "base64");
  else bytes = Buffer.from(part.body, "utf8");
  const text = new TextDecoder(normaliseCharset(charset)).decode(bytes);
  // Bodies end with the CRLF before the next boundary; tests want the content only.
  return text.replace(/\r\n/g, "\n").replace(/\n$/, "");
}

function normaliseCharset(c: string): string {
  try {
    new TextDecoder(c);
    return c;
  } catch {
    return "utf-8";
  }
}

/** Quoted-printable (RFC 2045 §6.7) to bytes: soft line breaks removed, =XX decoded. */
export function decodeQuotedPrintable(s: string): Buffer {
  const unfolded = s.replace(/=\r?\n/g, "");
  const out: number[] = [];
  for (let i = 0; i < unfolded.length; i++) {
    const c = unfolded[i];
    if (c === "=" && /^[0-9A-Fa-f]{2}$/.test(unfolded.slice(i + 1, i + 3))) {
      out.push(parseInt(unfolded.slice(i + 1, i + 3), 16));
      i += 2;
    } else {
      for (const b of Buffer.from(c, "utf8")) out.push(b);
    }
  }
  return Buffer.from(out);
}

/** RFC 2047 encoded words (=?charset?Q|B?…?=) to text; adjacent words join without the space between. */
function decodeWords(s: string): string {
  return s
    .replace(/(=\?[^?]+\?[QqBb]\?[^?]*\?=)\s+(?==\?)/g, "$1")
    .replace(/=\?([^?]+)\?([QqBb])\?([^?]*)\?=/g, (_m, charset: string, enc: string, data: string) => {
      const bytes =
        enc.toUpperCase() === "B" ? Buffer.from(data, "base64") : decodeQuotedPrintable(data.replace(/_/g, " "));
      return new TextDecoder(normaliseCharset(charset)).decode(bytes);
    });
}
