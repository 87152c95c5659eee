/**
 * The portal's own security, judged from outside: every admin page and server action
 * refused without a live session (found by walking app/(admin) and the build's server
 * action manifest, so a new one cannot slip through), CSRF on server actions, security
 * headers and HSTS, session fixation and sign-out, and XSS probes in every user-supplied
 * field as Chromium renders the pages and the e-mails.
 * Route handlers are covered in process by lib/security/authorization-matrix.test.ts.
 */
import { test, expect, type Browser, type BrowserContext, type Page } from "@playwright/test";
import Database from "better-sqlite3";
import { createHash, randomUUID } from "node:crypto";
import { execFileSync } from "node:child_process";
import { request as httpRequest } from "node:http";
import { createRequire } from "node:module";
import { existsSync, mkdtempSync, readdirSync, readFileSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, relative, sep } from "node:path";
import { MAIL_HTTP_PORT } from "../playwright.config";
import { gotoReady, instancePort, mailsTo, startInstance, SMTP_PORT, type CaughtMail, type Instance } from "./support";

const ADMIN = { username: "secadmin", password: "security admin password" };
const CA_PW = "security CA key password";
const RUN = randomUUID().slice(0, 8);
const ADMIN_EMAIL = `sec-admin-${RUN}@example.com`;
const CONTACT_EMAIL = `sec-contact-${RUN}@example.com`;

/** What an attacker types into every free-text field. */
const XSS = {
  img: `<img src=x onerror=alert(1)>`,
  script: `"><script>alert(2)</script>`,
  js: `javascript:alert(3)`,
  svg: `'><svg/onload=alert(4)>`,
};

let inst: Instance;
let base: string;
let auth: { authorization: string };

/** Rows and ids the tests point their probes at. */
const f = {
  tokenId: "",
  victimTokenId: "",
  pendingId: "",
  issuedRequestId: "",
  certNumber: 0,
  iotCaId: "",
  otherCaPem: "",
  messagingCsrId: "",
  defaultMessagingId: "",
  mailId: "",
  devicePem: "",
};

// ---------------------------------------------------------------------------------------
// Helpers

const work = mkdtempSync(join(tmpdir(), "pc-security-"));
let seq = 0;

function openssl(args: string[]): string {
  return execFileSync("openssl", args, { encoding: "utf8", stdio: ["pipe", "pipe", "pipe"] });
}

/** A P-256 key and a CSR (PEM) for `subj` (OpenSSL -subj syntax), with optional SANs. */
function csr(subj: string, san?: string): string {
  const n = ++seq;
  const args = ["req", "-new", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-keyout", join(work, `k${n}.pem`), "-subj", subj, "-out", join(work, `r${n}.csr`)];
  if (san) args.push("-addext", `subjectAltName=${san}`);
  openssl(args);
  return readFileSync(join(work, `r${n}.csr`), "utf8");
}

/** A self-signed CA certificate (PEM) for `subj`. */
function selfSignedCa(subj: string): string {
  const n = ++seq;
  openssl(["req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-keyout", join(work, `ca${n}.key`), "-subj", subj, "-days", "30", "-addext", "basicConstraints=critical,CA:TRUE", "-addext", "keyUsage=critical,keyCertSign,cRLSign", "-out", join(work, `ca${n}.pem`)]);
  return readFileSync(join(work, `ca${n}.pem`), "utf8");
}

/** A device certificate for `subj`, signed by the CA `selfSignedCa` made as number `caSeq`. */
function deviceCertificate(caSeq: number, subj: string): string {
  const n = ++seq;
  openssl(["req", "-new", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-keyout", join(work, `d${n}.key`), "-subj", subj, "-out", join(work, `d${n}.csr`)]);
  openssl(["x509", "-req", "-in", join(work, `d${n}.csr`), "-CA", join(work, `ca${caSeq}.pem`), "-CAkey", join(work, `ca${caSeq}.key`), "-set_serial", String(1000 + n), "-days", "10", "-out", join(work, `d${n}.pem`)]);
  return readFileSync(join(work, `d${n}.pem`), "utf8");
}

async function api(method: string, path: string, body?: unknown, expected?: number): Promise<any> {
  const r = await fetch(`${base}${path}`, { method, headers: { ...auth, ...(body === undefined ? {} : { "content-type": "application/json" }) }, body: body === undefined ? undefined : JSON.stringify(body) });
  const text = await r.text();
  if (expected !== undefined) expect(r.status, `${method} ${path}: ${text}`).toBe(expected);
  return text ? JSON.parse(text) : null;
}

function openDb(): Database.Database {
  return new Database(join(inst.dataDir, "portcullis.db"));
}

const iso = (d: Date) => d.toISOString().replace("Z", "+00:00");
const sha256 = (s: string) => createHash("sha256").update(s).digest("hex");

/**
 * A digest of what an administrator's act can change: the business tables (minus columns
 * that move on their own — last use, mail delivery progress) and the files of the data
 * directory other than the database itself.
 */
function stateDigest(): string {
  const volatile: Record<string, string[]> = {
    Admin: ["lastLoginAt"],
    ApiToken: ["lastUsedAt"],
    OutboxMessage: ["status", "attempts", "lastError", "nextAttemptAt", "sentAt"],
  };
  const tables = ["Admin", "ApiToken", "CaServer", "CertificateRequest", "Certificate", "CaClient", "ClientRequest", "IotCaCertificate", "MessagingCertificate", "OutboxMessage", "ExpiryWarning"];
  const db = openDb();
  const out: Record<string, unknown> = {};
  try {
    const present = new Set((db.prepare("SELECT name FROM sqlite_master WHERE type = 'table'").all() as { name: string }[]).map((r) => r.name));
    for (const t of tables.filter((x) => present.has(x))) {
      const rows = (db.prepare(`SELECT * FROM "${t}"`).all() as Record<string, unknown>[]).map((r) => {
        for (const c of volatile[t] ?? []) delete r[c];
        return JSON.stringify(r);
      });
      out[t] = rows.sort();
    }
  } finally {
    db.close();
  }
  const files: string[] = [];
  for (const name of readdirSync(inst.dataDir, { recursive: true }) as string[]) {
    const p = join(inst.dataDir, name);
    if (/^portcullis\.db/.test(name) || !statSync(p).isFile()) continue;
    files.push(`${name}:${sha256(readFileSync(p, "latin1"))}`);
  }
  out.files = files.sort();
  return sha256(JSON.stringify(out));
}

/** Signs in through the real page in a fresh context; answers the session cookie's value. */
async function signInCookie(browser: Browser): Promise<{ context: BrowserContext; page: Page; value: string }> {
  const context = await browser.newContext({ baseURL: base });
  const page = await context.newPage();
  await gotoReady(page, "/login");
  await page.getByLabel("User name").fill(ADMIN.username);
  await page.getByLabel("Password").fill(ADMIN.password);
  await page.getByRole("button", { name: "Sign in" }).click();
  await expect(page.getByText(`Signed in as ${ADMIN.username}`)).toBeVisible();
  const value = (await context.cookies()).find((c) => c.name === "portcullis_session")!.value;
  return { context, page, value };
}

/** Session cookies that must all be refused, made the way they occur in life. */
const deadSessions: Record<string, string> = {};
let liveSession = "";

// ---------------------------------------------------------------------------------------
// One instance of our own: its database is read to prove "nothing changed".

test.beforeAll(async ({ browser }, info) => {
  info.setTimeout(180_000);
  inst = await startInstance(instancePort(3), { PORTCULLIS_ADMIN_USER: ADMIN.username, PORTCULLIS_ADMIN_PASSWORD: ADMIN.password, PORTCULLIS_MAIL_RETRY_SECONDS: "2", PORTCULLIS_CSR_RATE_LIMIT: "10000" }, { dataDirPrefix: "portcullis-security-" });
  base = inst.base;
  const t = await fetch(`${base}/api/v1/auth/token`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ ...ADMIN, name: XSS.img }) });
  expect(t.status).toBe(201);
  const tok = await t.json();
  auth = { authorization: `Bearer ${tok.token}` };
  f.tokenId = tok.id;
  const victim = await fetch(`${base}/api/v1/auth/token`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ ...ADMIN, name: "victim" }) });
  f.victimTokenId = (await victim.json()).id;

  // A CA whose own subject carries a payload.
  await api("POST", "/api/v1/admin/ca", {
    fileNameRoot: "SecurityCA",
    directory: "security-ca",
    keyPassword: CA_PW,
    subject: { C: "US", O: XSS.script, OU: XSS.svg, CN: "Security Test CA" },
    keyAlgorithm: "ecdsa-p256",
    caValidityDays: 365,
    issuedValidityDays: 30,
    smtp: { host: "127.0.0.1", port: SMTP_PORT, secure: false, username: "", password: "" },
    adminEmail: ADMIN_EMAIL,
  }, 201);

  // Requests whose subject, SANs and contact carry payloads: one stays pending, one is issued.
  const subj = `/CN=${XSS.img}/O=${XSS.script.replace(/\//g, "\\/")}/OU=${XSS.svg.replace(/\//g, "\\/")}`;
  const san = `DNS:xss.example.com,URI:${XSS.js},URI:https://e.example/?q=<b>x</b>`;
  const contact = { name: XSS.script, email: CONTACT_EMAIL, phone: "+1 555 0100" };
  f.pendingId = (await api("POST", "/api/v1/csrs", { csr: csr(subj, san), contact, hostname: "xss.example.com", instance: "XSS", filename: "xss-pending" }, 201)).id;
  f.issuedRequestId = (await api("POST", "/api/v1/csrs", { csr: csr(subj, san), contact, hostname: "xss.example.com", instance: "XSS", filename: "xss-issued" }, 201)).id;
  const issued = await api("POST", `/api/v1/admin/csrs/${f.issuedRequestId}/issue`, { usage: "tls-client", caKeyPassword: CA_PW, fingerprintVerified: true, verificationChannel: "phone", verificationNote: XSS.svg }, 201);
  f.certNumber = issued.number;

  // A device CA with payloads in its subject and description.
  const iot = await api("POST", "/api/v1/admin/iot/ca-certificates", { certificate: selfSignedCa(`/CN=${XSS.img} IoT CA/O=${XSS.script.replace(/\//g, "\\/")}`), description: `${XSS.script} ${XSS.img}` }, 201);
  f.iotCaId = iot.id;
  f.devicePem = deviceCertificate(seq, `/CN=${XSS.svg.replace(/\//g, "\\/")}`);
  f.otherCaPem = selfSignedCa("/CN=Another CA");

  // A messaging server CSR with a payload description; and the default certificate.
  f.messagingCsrId = (await api("POST", "/api/v1/admin/iot/messaging-certificates/csr", { subject: { CN: "mqtt.example.com", O: XSS.script }, sans: "mqtt.example.com", keyAlgorithm: "ecdsa-p256", description: XSS.img }, 201)).id;
  const messaging = await api("GET", "/api/v1/admin/iot/messaging-certificates", undefined, 200);
  f.defaultMessagingId = messaging.items.find((m: { default: boolean; id: string }) => m.default)?.id ?? "";

  // A mail in the outbox (the admin's "request received").
  await expect.poll(() => mailsTo(ADMIN_EMAIL).then((m) => m.length), { timeout: 20_000 }).toBeGreaterThan(0);
  const db = openDb();
  try {
    f.mailId = (db.prepare(`SELECT id FROM "OutboxMessage" ORDER BY "createdAt" LIMIT 1`).get() as { id: string }).id;
  } finally {
    db.close();
  }

  // Dead sessions, each the way it happens: past the absolute lifetime, idle for over an
  // hour, signed out, and one never issued. Rows are aged in the database, the only way
  // to make a real session old without waiting for it.
  const expired = await signInCookie(browser);
  const idle = await signInCookie(browser);
  const signedOut = await signInCookie(browser);
  await signedOut.page.getByRole("button", { name: "Sign out" }).click();
  await expect(signedOut.page.getByText("You have signed out.")).toBeVisible();
  const live = await signInCookie(browser);
  const aged = openDb();
  try {
    aged.prepare(`UPDATE "Session" SET "expiresAt" = ? WHERE id = ?`).run(iso(new Date(Date.now() - 60_000)), sha256(expired.value));
    aged.prepare(`UPDATE "Session" SET "lastSeenAt" = ? WHERE id = ?`).run(iso(new Date(Date.now() - 2 * 3600_000)), sha256(idle.value));
  } finally {
    aged.close();
  }
  deadSessions.expired = expired.value;
  deadSessions.idle = idle.value;
  deadSessions["signed out"] = signedOut.value;
  deadSessions["made up"] = "bm90LWEtcmVhbC1zZXNzaW9uLXRva2VuLWF0LWFsbC0xMjM";
  liveSession = live.value;
  for (const c of [expired, idle, signedOut, live]) await c.context.close();
});

test.afterAll(async () => {
  inst?.stop();
});

// ---------------------------------------------------------------------------------------
// Admin pages

const ADMIN_DIR = join(process.cwd(), "app", "(admin)");

/** Every page under app/(admin), as a URL with sample values for its dynamic segments. */
function adminPages(): string[] {
  return (readdirSync(ADMIN_DIR, { recursive: true }) as string[])
    .filter((p) => p === "page.tsx" || p.endsWith(`${sep}page.tsx`))
    .map((p) => relative(ADMIN_DIR, join(ADMIN_DIR, p)).split(sep).slice(0, -1))
    .map((segments) => `/${segments.filter((s) => !/^\(.*\)$/.test(s)).map((s) => (s === "[number]" ? String(f.certNumber || 1) : s === "[id]" ? f.pendingId || randomUUID() : s)).join("/")}`)
    .sort();
}

test.describe("admin pages", () => {
  test("are found in app/(admin)", () => {
    const pages = adminPages();
    expect(pages).toContain("/ca-server");
    expect(pages).toContain("/ca-server/requests/" + f.pendingId);
    expect(pages.length).toBeGreaterThanOrEqual(12);
  });

  test("render for a live session", async ({ browser }) => {
    test.setTimeout(120_000);
    const context = await browser.newContext({ baseURL: base });
    await context.addCookies([{ name: "portcullis_session", value: liveSession, url: base }]);
    const page = await context.newPage();
    for (const path of adminPages()) {
      const res = await page.goto(path);
      expect(new URL(page.url()).pathname, path).toBe(path);
      expect(res!.status(), path).toBeLessThan(500);
      await expect(page.getByText(`Signed in as ${ADMIN.username}`), path).toBeVisible();
    }
    await context.close();
  });

  for (const variant of ["no cookie", "expired", "idle", "signed out", "made up"]) {
    test(`send a caller with ${variant === "no cookie" ? "no session cookie" : `a session cookie that is ${variant}`} to the sign-in page, showing nothing`, async ({ browser }) => {
      test.setTimeout(120_000);
      const context = await browser.newContext({ baseURL: base });
      if (variant !== "no cookie") await context.addCookies([{ name: "portcullis_session", value: deadSessions[variant], url: base }]);
      const page = await context.newPage();
      for (const path of adminPages()) {
        await page.goto(path);
        const url = new URL(page.url());
        expect(url.pathname, path).toBe("/login");
        expect(url.searchParams.get("next"), path).toBe(path);
        await expect(page.getByText("Signed in as")).toHaveCount(0);
        // Nothing of the page leaked into the sign-in page's HTML either.
        const html = await page.content();
        expect(html, path).not.toContain("xss.example.com");
        expect(html, path).not.toContain(XSS.img.slice(1, 8));
      }
      await context.close();
    });
  }
});

// ---------------------------------------------------------------------------------------
// Server actions, replayed as a browser sends them (React's own encoder, the build's ids)

// The encoder the browser bundle uses, from the Next.js build in node_modules: the wire
// format follows the React version, so hand-made bodies would go stale.
const require = createRequire(import.meta.url);
const { encodeReply } = require("next/dist/compiled/react-server-dom-turbopack/client.node.js") as { encodeReply: (value: unknown) => Promise<string | FormData> };

interface ManifestAction {
  id: string;
  key: string;
  /** A page that serves the action (the first the manifest lists, dynamic segments filled). */
  path: string;
}

/** The server actions of the build under test, from its server reference manifest. */
function manifestActions(): ManifestAction[] {
  const file = join(process.cwd(), process.env.PORTCULLIS_NEXT_DIST_DIR || ".next", "server", "server-reference-manifest.json");
  expect(existsSync(file), `${file} (run next build first)`).toBe(true);
  const manifest = JSON.parse(readFileSync(file, "utf8")) as { node: Record<string, { filename: string; exportedName: string; workers: Record<string, unknown> }> };
  return Object.entries(manifest.node).map(([id, a]) => {
    const worker = Object.keys(a.workers).sort((x, y) => Number(x.includes("[")) - Number(y.includes("[")))[0];
    const path = `/${worker.replace(/^app\//, "").replace(/\/?page$/, "").split("/").filter((s) => !/^\(.*\)$/.test(s)).map((s) => (s === "[number]" ? String(f.certNumber) : s === "[id]" ? f.pendingId : s)).join("/")}`;
    return { id, key: `${a.filename}#${a.exportedName}`, path: path.replace(/\/+$/, "") || "/" };
  });
}

function form(fields: Record<string, string>): FormData {
  const fd = new FormData();
  for (const [k, v] of Object.entries(fields)) fd.append(k, v);
  return fd;
}

/**
 * How an admin action answers a caller without a live session: the form's message
 * ("message"), the sign-in page ("login"), or an error page ("error", for one-click
 * actions that do not handle it yet).
 */
type Refusal = "message" | "login" | "error";

/**
 * Every admin server action, with arguments that would change something if the action
 * ran for the caller (real ids, the right CA key password): so "nothing changed" means
 * the guard stopped it. A new action without a row here fails the suite.
 */
const ADMIN_ACTIONS: Record<string, { refusal: Refusal; args: () => unknown[] }> = {
  "app/(admin)/ca-client/actions.ts#configureClientAction": { refusal: "message", args: () => [{}, form({ serverHost: "evil.example", serverPort: "443", serverPath: "/api/v1", instanceName: "EVIL", contactName: "Mallory" })] },
  "app/(admin)/ca-client/certificates/actions.ts#getCaCertificateAction": { refusal: "message", args: () => [{}, form({})] },
  "app/(admin)/ca-client/certificates/actions.ts#getCertificateAction": { refusal: "message", args: () => [{}, form({ number: String(f.certNumber) })] },
  "app/(admin)/ca-client/submit/actions.ts#submitCsrAction": { refusal: "message", args: () => [{}, form({ fileNameRoot: "evil", "subject.CN": "evil.example", keyAlgorithm: "ecdsa-p256" })] },
  "app/(admin)/ca-client/submit/actions.ts#resubmitAction": { refusal: "message", args: () => [{}, form({ id: randomUUID() })] },
  "app/(admin)/ca-server/actions.ts#caServerWizardAction": { refusal: "message", args: () => [{}, form({ intent: "location", fileNameRoot: "Evil", directory: "evil" })] },
  "app/(admin)/ca-server/actions.ts#reinitializeAction": { refusal: "login", args: () => [] },
  "app/(admin)/ca-server/settings/actions.ts#caSettingsAction": { refusal: "message", args: () => [{}, form({ intent: "save", issuedValidityDays: "1", "smtp.host": "evil.example", "smtp.port": "25", adminEmail: "mallory@evil.example" })] },
  "app/(admin)/ca-server/certificates/[number]/actions.ts#revokeCertificateAction": { refusal: "message", args: () => [f.certNumber, {}, form({ reason: "keyCompromise", caKeyPassword: CA_PW })] },
  "app/(admin)/ca-server/expiring/actions.ts#sendDueWarningsAction": { refusal: "login", args: () => [form({ days: "60" })] },
  "app/(admin)/ca-server/crl/actions.ts#resignCrlAction": { refusal: "message", args: () => [{}, form({ caKeyPassword: CA_PW })] },
  "app/(admin)/ca-server/crl/actions.ts#setCrlPeriodAction": { refusal: "message", args: () => [{}, form({ crlNextUpdateDays: "2" })] },
  "app/(admin)/ca-server/crl/actions.ts#unlockCaAction": { refusal: "message", args: () => [{}, form({ caKeyPassword: CA_PW })] },
  "app/(admin)/ca-server/crl/actions.ts#lockCaAction": { refusal: "login", args: () => [] },
  "app/(admin)/ca-server/requests/actions.ts#issueRequestAction": { refusal: "message", args: () => [f.pendingId, {}, form({ usage: "tls-client", caKeyPassword: CA_PW, fingerprintVerified: "on", verificationChannel: "phone" })] },
  "app/(admin)/ca-server/requests/actions.ts#deleteRequestAction": { refusal: "login", args: () => [form({ id: f.pendingId })] },
  "app/(admin)/ca-server/requests/actions.ts#bulkIssueAction": { refusal: "message", args: () => [{}, form({ id: f.pendingId, usage: "tls-client", caKeyPassword: CA_PW, fingerprintVerified: "on", verificationChannel: "phone" })] },
  "app/(admin)/iot/ca-certificates/actions.ts#addCaCertificateAction": { refusal: "message", args: () => [{}, form({ intent: "save", certificate: f.otherCaPem, description: "added by nobody" })] },
  "app/(admin)/iot/ca-certificates/actions.ts#registerLocalCaAction": { refusal: "login", args: () => [] },
  "app/(admin)/iot/ca-certificates/actions.ts#setActiveAction": { refusal: "login", args: () => [form({ id: f.iotCaId, active: "false" })] },
  "app/(admin)/iot/ca-certificates/actions.ts#deleteCaCertificateAction": { refusal: "login", args: () => [form({ id: f.iotCaId })] },
  "app/(admin)/iot/ca-certificates/actions.ts#refreshCrlAction": { refusal: "login", args: () => [form({ id: f.iotCaId })] },
  "app/(admin)/iot/messaging/actions.ts#addMessagingCertificateAction": { refusal: "message", args: () => [{}, form({ certificate: "x", privateKey: "y", description: "z" })] },
  "app/(admin)/iot/messaging/actions.ts#generateCsrAction": { refusal: "message", args: () => [{}, form({ "subject.CN": "evil.example", sans: "evil.example", keyAlgorithm: "ecdsa-p256", description: "evil" })] },
  "app/(admin)/iot/messaging/actions.ts#attachCertificateAction": { refusal: "message", args: () => [f.messagingCsrId, {}, form({ certificate: f.otherCaPem })] },
  "app/(admin)/iot/messaging/actions.ts#setDefaultAction": { refusal: "message", args: () => [{}, form({ id: f.messagingCsrId })] },
  "app/(admin)/iot/messaging/actions.ts#deleteMessagingAction": { refusal: "login", args: () => [form({ id: f.messagingCsrId })] },
  "app/(admin)/iot/messaging/actions.ts#exportDefaultAction": { refusal: "message", args: () => [] },
  "app/(admin)/mail/actions.ts#retryMailAction": { refusal: "login", args: () => [form({ id: f.mailId })] },
  "app/(admin)/tokens/actions.ts#createTokenAction": { refusal: "message", args: () => [{}, form({ name: "minted by nobody" })] },
  "app/(admin)/tokens/actions.ts#revokeTokenAction": { refusal: "login", args: () => [form({ id: f.victimTokenId })] },
};

/** Actions anyone may call (sign-in, set-up, the public request and device-check pages). */
const PUBLIC_ACTIONS = new Set([
  "app/login/actions.ts#signInAction",
  "app/login/actions.ts#setupAction",
  "app/login/actions.ts#signOutAction",
  "app/(public)/request/actions.ts#submitPublicRequestAction",
  "app/(public)/request/actions.ts#renewPublicRequestAction",
  "app/(public)/iot/device-check/actions.ts#deviceCheckAction",
]);

interface ActionAnswer {
  status: number;
  body: string;
  redirect: string | null;
}

async function callAction(a: ManifestAction, args: unknown[], headers: Record<string, string>): Promise<ActionAnswer> {
  const body = await encodeReply(args);
  const res = await fetch(`${base}${a.path}`, {
    method: "POST",
    headers: { accept: "text/x-component", "next-action": a.id, ...(typeof body === "string" ? { "content-type": "text/plain;charset=UTF-8" } : {}), ...headers },
    body,
    redirect: "manual",
  });
  return { status: res.status, body: await res.text(), redirect: res.headers.get("x-action-redirect") };
}

const SESSION_ENDED = "Your session has ended. Sign in again.";

function expectRefused(a: ManifestAction, answer: ActionAnswer, refusal: Refusal, what: string): void {
  const label = `${a.key} ${what}: ${answer.status} ${answer.redirect ?? ""} ${answer.body.slice(-300)}`;
  expect(answer.body, label).not.toContain("PRIVATE KEY");
  if (refusal === "message") {
    expect(answer.status, label).toBe(200);
    expect(answer.body, label).toContain(SESSION_ENDED);
  } else if (refusal === "login") {
    expect(answer.redirect ?? "", label).toMatch(/^\/login\?next=/);
  } else {
    expect(answer.status, label).toBe(500);
  }
}

test.describe("server actions", () => {
  test("every action of the build is classified, and every admin action has a row", () => {
    const actions = manifestActions();
    expect(actions.length).toBeGreaterThan(20);
    const unknown = actions.filter((a) => !ADMIN_ACTIONS[a.key] && !PUBLIC_ACTIONS.has(a.key)).map((a) => a.key);
    expect(unknown, "add these to ADMIN_ACTIONS or PUBLIC_ACTIONS in e2e/security.spec.ts").toEqual([]);
    const adminOnes = actions.filter((a) => a.key.startsWith("app/(admin)/")).map((a) => a.key);
    expect(adminOnes.filter((k) => !ADMIN_ACTIONS[k])).toEqual([]);
    expect(actions.filter((a) => PUBLIC_ACTIONS.has(a.key) && a.key.startsWith("app/(admin)/"))).toEqual([]);
  });

  for (const variant of ["no cookie", "expired", "idle", "signed out", "made up"]) {
    test(`refuse every admin action with ${variant === "no cookie" ? "no session cookie" : `a session cookie that is ${variant}`}, changing nothing`, async () => {
      test.setTimeout(120_000);
      const before = stateDigest();
      for (const a of manifestActions().filter((x) => ADMIN_ACTIONS[x.key])) {
        const c = ADMIN_ACTIONS[a.key];
        const cookie: Record<string, string> = variant === "no cookie" ? {} : { cookie: `portcullis_session=${deadSessions[variant]}` };
        expectRefused(a, await callAction(a, c.args(), { origin: base, ...cookie }), c.refusal, variant);
      }
      expect(stateDigest()).toBe(before);
    });
  }

  test("CSRF: a live session cookie sent from another origin, a null origin or no origin changes nothing", async () => {
    test.setTimeout(120_000);
    const before = stateDigest();
    const cookie = { cookie: `portcullis_session=${liveSession}` };
    for (const a of manifestActions().filter((x) => ADMIN_ACTIONS[x.key])) {
      const args = ADMIN_ACTIONS[a.key].args;
      for (const [what, headers] of [
        ["foreign Origin", { origin: "https://evil.example" }],
        ["Origin: null", { origin: "null" }],
        ["a look-alike Origin (other port)", { origin: base.replace(/:\d+$/, ":1") }],
      ] as const) {
        // Next.js refuses these before any action runs.
        const answer = await callAction(a, args(), { ...cookie, ...headers });
        expect(answer.status, `${a.key} ${what}`).toBe(500);
        expect(answer.body, `${a.key} ${what}`).not.toContain("PRIVATE KEY");
      }
      for (const [what, headers] of [
        ["no Origin", {}],
        ["no Origin, Sec-Fetch-Site: cross-site", { "sec-fetch-site": "cross-site" }],
        ["no Origin, Sec-Fetch-Site: same-site", { "sec-fetch-site": "same-site" }],
      ] as const) {
        // Without an Origin, the action's own guard refuses (requireAdminAction).
        const answer = await callAction(a, args(), { ...cookie, ...headers });
        const label = `${a.key} ${what}: ${answer.status} ${answer.body.slice(-200)}`;
        expect(answer.body, label).not.toContain("PRIVATE KEY");
        const refused = answer.status === 500 || answer.body.includes("Cross-site request refused") || /[?&](problem|checkFailed)=forbidden\b/.test(answer.redirect ?? "");
        expect(refused, label).toBe(true);
      }
    }
    expect(stateDigest()).toBe(before);
  });

  test("the same calls with a live session from this origin do take effect (the probes above are real calls)", async () => {
    const byKey = new Map(manifestActions().map((a) => [a.key, a]));
    const live = { cookie: `portcullis_session=${liveSession}`, origin: base };
    const call = (key: string) => callAction(byKey.get(key)!, ADMIN_ACTIONS[key].args(), live);

    const exported = await call("app/(admin)/iot/messaging/actions.ts#exportDefaultAction");
    expect(exported.body).toContain("PRIVATE KEY");

    const created = await call("app/(admin)/tokens/actions.ts#createTokenAction");
    expect(created.body).toContain("pcl_");

    let before = stateDigest();
    await call("app/(admin)/tokens/actions.ts#revokeTokenAction");
    expect(stateDigest()).not.toBe(before);
    const db = openDb();
    try {
      expect((db.prepare(`SELECT "revokedAt" FROM "ApiToken" WHERE id = ?`).get(f.victimTokenId) as { revokedAt: string | null }).revokedAt).not.toBeNull();
    } finally {
      db.close();
    }

    before = stateDigest();
    const deactivated = await call("app/(admin)/iot/ca-certificates/actions.ts#setActiveAction");
    expect(deactivated.redirect).toMatch(/^\/iot\/ca-certificates\?deactivated=/);
    expect(stateDigest()).not.toBe(before);
    await api("PATCH", `/api/v1/admin/iot/ca-certificates/${f.iotCaId}`, { active: true }, 200);

    // Without a session, the same encoder's call is refused by the guard, not by a decoding error.
    const refused = await callAction(byKey.get("app/(admin)/tokens/actions.ts#createTokenAction")!, [{}, form({ name: "x" })], { origin: base });
    expect(refused.body).toContain(SESSION_ENDED);
  });
});

// ---------------------------------------------------------------------------------------
// Headers

function directives(csp: string | null): Map<string, string[]> {
  const m = new Map<string, string[]>();
  for (const part of (csp ?? "").split(";")) {
    const [name, ...values] = part.trim().split(/\s+/);
    if (name) m.set(name.toLowerCase(), values);
  }
  return m;
}

test.describe("security headers", () => {
  test("pages: a fresh nonce per request, no 'unsafe-inline' or 'unsafe-eval' script, no framing, nosniff, referrer policy, no HSTS on http", async () => {
    for (const [path, session] of [
      ["/", ""],
      ["/login", ""],
      ["/certificates", ""],
      ["/request", ""],
      ["/iot/device-check", ""],
      ["/ca-server", liveSession],
      [`/ca-server/requests/${f.pendingId}`, liveSession],
      ["/tokens", liveSession],
    ] as const) {
      const get = () => fetch(`${base}${path}`, { headers: session ? { cookie: `portcullis_session=${session}` } : {}, redirect: "manual" });
      const [r1, r2] = [await get(), await get()];
      expect(r1.status, path).toBe(200);
      const csp = directives(r1.headers.get("content-security-policy"));
      const script = csp.get("script-src") ?? csp.get("default-src") ?? [];
      const nonce = script.find((v) => v.startsWith("'nonce-"))?.slice(7, -1);
      expect(nonce, `${path}: script-src ${script.join(" ")}`).toBeTruthy();
      expect(nonce!.length).toBeGreaterThanOrEqual(16);
      expect(script, path).not.toContain("'unsafe-inline'");
      expect(script, path).not.toContain("'unsafe-eval'");
      expect(script.some((v) => v === "*" || v.endsWith(":") || v === "data:"), path).toBe(false);
      expect(csp.get("object-src"), path).toEqual(["'none'"]);
      expect(csp.get("base-uri"), path).toEqual(["'self'"]);
      expect(csp.get("frame-ancestors"), path).toEqual(["'none'"]);
      expect(csp.get("form-action"), path).toEqual(["'self'"]);
      expect(r1.headers.get("x-frame-options"), path).toBe("DENY");
      expect(r1.headers.get("x-content-type-options"), path).toBe("nosniff");
      expect(r1.headers.get("referrer-policy"), path).toMatch(/^(same-origin|no-referrer|strict-origin(-when-cross-origin)?)$/);
      expect(r1.headers.get("strict-transport-security"), path).toBeNull();
      expect(r1.headers.get("x-powered-by"), path).toBeNull();
      // Every script element in the document carries this response's nonce.
      const html = await r1.text();
      const scripts = html.match(/<script\b[^>]*>/g) ?? [];
      expect(scripts.length, path).toBeGreaterThan(0);
      for (const tag of scripts) expect(tag, path).toContain(`nonce="${nonce}"`);
      const nonce2 = directives(r2.headers.get("content-security-policy")).get("script-src")!.find((v) => v.startsWith("'nonce-"));
      expect(nonce2, path).not.toBe(`'nonce-${nonce}'`);
      await r2.arrayBuffer();
    }
  });

  test("API answers and files: nosniff, a CSP that allows nothing, no framing", async () => {
    for (const [method, path, status] of [
      ["GET", "/api/v1/health", 200],
      ["GET", "/api/v1/ca", 200],
      ["GET", "/api/v1/ca/certificate", 200],
      ["GET", "/api/v1/admin/ca", 401],
      ["GET", "/api/v1/no-such-route", 404],
      ["GET", `/api/v1/certificates/${f.certNumber}?format=pem`, 200],
      ["POST", "/api/v1/csrs", 415],
    ] as const) {
      const r = await fetch(`${base}${path}`, { method, body: method === "POST" ? "x" : undefined, headers: method === "POST" ? { "content-type": "text/plain" } : {} });
      expect(r.status, path).toBe(status);
      const csp = directives(r.headers.get("content-security-policy"));
      expect(csp.get("default-src"), path).toEqual(["'none'"]);
      expect(csp.get("frame-ancestors"), path).toEqual(["'none'"]);
      expect(r.headers.get("x-content-type-options"), path).toBe("nosniff");
      expect(r.headers.get("x-frame-options"), path).toBe("DENY");
      expect(r.headers.get("strict-transport-security"), path).toBeNull();
      await r.arrayBuffer();
    }
  });

  test("HSTS only when the request came over TLS (X-Forwarded-Proto from the TLS-terminating proxy)", async () => {
    const html = await (await fetch(`${base}/login`)).text();
    const asset = /<script[^>]+src="(\/_next\/static\/[^"]+)"/.exec(html)![1];
    for (const path of ["/", "/login", "/api/v1/health", "/api/v1/admin/ca", asset]) {
      const sts = async (proto?: string) => {
        const r = await fetch(`${base}${path}`, { headers: proto ? { "x-forwarded-proto": proto } : {}, redirect: "manual" });
        await r.arrayBuffer();
        return r.headers.get("strict-transport-security");
      };
      const hsts = await sts("https");
      expect(hsts, path).toMatch(/^max-age=(\d+)/);
      expect(Number(/max-age=(\d+)/.exec(hsts!)![1]), path).toBeGreaterThanOrEqual(31536000);
      expect(await sts("https, http"), path).toBe(hsts);
      expect(await sts(), path).toBeNull();
      expect(await sts("http"), path).toBeNull();
      expect(await sts("http, https"), path).toBeNull();
    }
  });

  test("in Chromium: pages run without a single CSP violation, and no page can be framed", async ({ browser }) => {
    const context = await browser.newContext({ baseURL: base });
    await context.addCookies([{ name: "portcullis_session", value: liveSession, url: base }]);
    await context.addInitScript(() => {
      (window as unknown as { __csp: string[] }).__csp = [];
      document.addEventListener("securitypolicyviolation", (e) => (window as unknown as { __csp: string[] }).__csp.push(`${e.violatedDirective} ${e.blockedURI}`));
    });
    const page = await context.newPage();
    for (const path of ["/", "/certificates", "/request", "/ca-server", "/ca-server/requests", `/ca-server/requests/${f.pendingId}`, "/iot/ca-certificates", "/tokens"]) {
      await gotoReady(page, path);
      expect(await page.evaluate(() => (window as unknown as { __csp: string[] }).__csp), path).toEqual([]);
    }
    // Framed by another page: the portal refuses; the mail catcher (no such header) is the control.
    const framer = await context.newPage();
    const mailCatcher = `http://127.0.0.1:${MAIL_HTTP_PORT}/messages`;
    await framer.setContent(`<iframe id="portal" src="${base}/login"></iframe><iframe id="control" src="${mailCatcher}"></iframe>`);
    await expect(framer.frameLocator("#control").locator("body")).toContainText("[");
    await framer.waitForTimeout(500);
    await expect(framer.frameLocator("#portal").getByLabel("User name")).toHaveCount(0);
    await context.close();
  });
});

// ---------------------------------------------------------------------------------------
// Sessions (sign-in backoff: e2e/setup.spec.ts; CSR rate limit: e2e/setup.spec.ts,
// e2e/public.spec.ts and lib/security/csr-rate-limit.test.ts)

async function signInOn(page: Page, path = "/login"): Promise<void> {
  await gotoReady(page, path);
  await page.getByLabel("User name").fill(ADMIN.username);
  await page.getByLabel("Password").fill(ADMIN.password);
  await page.getByRole("button", { name: "Sign in" }).click();
  await expect(page.getByText(`Signed in as ${ADMIN.username}`)).toBeVisible();
}

const sessionOf = async (context: BrowserContext) => (await context.cookies()).find((c) => c.name === "portcullis_session");
const adminApiWith = async (value: string) => (await fetch(`${base}/api/v1/admin/csrs`, { headers: { cookie: `portcullis_session=${value}` } })).status;

test.describe("sessions", () => {
  test("fixation: a cookie planted before sign-in is replaced by a new one, and the planted one opens nothing", async ({ browser }) => {
    const planted = "cGxhbnRlZC1ieS1hbi1hdHRhY2tlci0wMTIzNDU2Nzg5YWJjZGVm";
    const context = await browser.newContext({ baseURL: base });
    await context.addCookies([{ name: "portcullis_session", value: planted, url: base }]);
    const page = await context.newPage();
    await signInOn(page);
    const after = (await sessionOf(context))!;
    expect(after.value).not.toBe(planted);
    expect(after.httpOnly).toBe(true);
    expect(after.sameSite).toBe("Lax");
    expect(await adminApiWith(planted)).toBe(401);
    expect(await adminApiWith(after.value)).toBe(200);
    await context.close();

    // An attacker's own live session, planted in the victim's browser, is replaced at sign-in too.
    const attacker = await signInCookie(browser);
    const victim = await browser.newContext({ baseURL: base });
    await victim.addCookies([{ name: "portcullis_session", value: attacker.value, url: base }]);
    const victimPage = await victim.newPage();
    await gotoReady(victimPage, "/login?next=%2Ftokens");
    // Already signed in (as the attacker's session): sign-in still issues a fresh cookie.
    if (await victimPage.getByLabel("User name").count()) await signInOn(victimPage, "/login");
    else {
      await victimPage.getByRole("button", { name: "Sign out" }).click();
      await signInOn(victimPage);
    }
    expect((await sessionOf(victim))!.value).not.toBe(attacker.value);
    await victim.close();
    await attacker.context.close();
  });

  test("sign-out ends the session on the server: the old cookie opens no page, no API and no action", async ({ browser }) => {
    const s = await signInCookie(browser);
    await s.page.getByRole("button", { name: "Sign out" }).click();
    await expect(s.page.getByText("You have signed out.")).toBeVisible();
    expect(await sessionOf(s.context)).toBeUndefined();
    expect(await adminApiWith(s.value)).toBe(401);
    const replay = await browser.newContext({ baseURL: base });
    await replay.addCookies([{ name: "portcullis_session", value: s.value, url: base }]);
    const page = await replay.newPage();
    await page.goto("/tokens");
    expect(new URL(page.url()).pathname).toBe("/login");
    const create = manifestActions().find((a) => a.key === "app/(admin)/tokens/actions.ts#createTokenAction")!;
    const answer = await callAction(create, [{}, form({ name: "after sign-out" })], { origin: base, cookie: `portcullis_session=${s.value}` });
    expect(answer.body).toContain(SESSION_ENDED);
    await replay.close();
    await s.context.close();
  });

  test("the sign-in page's next parameter only leads within this site", async ({ browser }) => {
    for (const next of ["//evil.example/", "https://evil.example/", "javascript:alert(1)", "/\\evil.example", "%2F%2Fevil.example"]) {
      const context = await browser.newContext({ baseURL: base });
      const page = await context.newPage();
      const dialogs: string[] = [];
      page.on("dialog", (d) => {
        dialogs.push(d.message());
        void d.dismiss();
      });
      await signInOn(page, `/login?next=${encodeURIComponent(next)}`);
      const url = new URL(page.url());
      expect(url.origin, next).toBe(base);
      expect(dialogs, next).toEqual([]);
      await context.close();
    }
  });
});

// ---------------------------------------------------------------------------------------
// XSS probes: every page that shows a user-supplied field, and every mail

/** What an injected payload would leave in the DOM, as found by the browser. */
function injectedMarkup(): string[] {
  const bad: string[] = [];
  for (const el of Array.from(document.querySelectorAll("*"))) {
    for (const a of Array.from(el.attributes)) if (/^on/i.test(a.name)) bad.push(`<${el.tagName.toLowerCase()} ${a.name}>`);
    if (el.tagName === "IMG" && el.getAttribute("src") === "x") bad.push("<img src=x>");
    if (el.tagName === "SCRIPT" && !(el as HTMLScriptElement).nonce && /alert\(/.test(el.textContent ?? "")) bad.push("<script> without nonce");
    for (const attr of ["href", "src", "action", "formaction"]) if (/^\s*javascript:/i.test(el.getAttribute(attr) ?? "")) bad.push(`${attr}=javascript:`);
  }
  return bad;
}

/** Fragments of the payloads that survive any escaping a page applies (e.g. RFC 4514's "\<"). */
const FRAGMENTS = { img: "onerror=alert(1)", script: "<script>alert(2)</script>", scriptInDn: "alert(2)", js: "javascript:alert(3)", svg: "onload=alert(4)" };

test.describe("XSS probes", () => {
  const pages = (): { path: string; shows: string[]; admin: boolean }[] => [
    { path: "/ca-server/requests", shows: [FRAGMENTS.img, FRAGMENTS.script], admin: true },
    { path: `/ca-server/requests/${f.pendingId}`, shows: [FRAGMENTS.img, FRAGMENTS.scriptInDn, FRAGMENTS.svg, FRAGMENTS.js, FRAGMENTS.script], admin: true },
    { path: `/ca-server/requests/${f.issuedRequestId}`, shows: [FRAGMENTS.img], admin: true },
    { path: `/ca-server/certificates/${f.certNumber}`, shows: [FRAGMENTS.img, FRAGMENTS.svg], admin: true },
    { path: "/ca-server/expiring?days=60", shows: [FRAGMENTS.img], admin: true },
    { path: "/ca-server", shows: [FRAGMENTS.scriptInDn], admin: true },
    { path: "/ca-server/crl", shows: [], admin: true },
    { path: "/ca-client/certificates", shows: [], admin: true },
    { path: "/iot/ca-certificates", shows: [FRAGMENTS.img, FRAGMENTS.script], admin: true },
    { path: "/iot/messaging", shows: [FRAGMENTS.img], admin: true },
    { path: "/mail", shows: [], admin: true },
    { path: "/tokens", shows: [XSS.img], admin: true },
    { path: "/audit", shows: [], admin: true },
    { path: "/", shows: [], admin: false },
    { path: `/request/${f.pendingId}`, shows: [FRAGMENTS.img], admin: false },
    { path: `/request/${f.issuedRequestId}`, shows: [FRAGMENTS.img], admin: false },
    { path: `/certificates?number=${f.certNumber}`, shows: [FRAGMENTS.img], admin: false },
    { path: `/certificates/${f.certNumber}/renew`, shows: [FRAGMENTS.img], admin: false },
  ];

  test("every page showing the payloads shows them as text: no dialog, no injected element or handler, no CSP violation", async ({ browser }) => {
    test.setTimeout(120_000);
    const existing = new Set(adminPages().map((p) => p.replace(/\/[0-9a-f-]{36}$|\/\d+$/, "")));
    const context = await browser.newContext({ baseURL: base });
    await context.addCookies([{ name: "portcullis_session", value: liveSession, url: base }]);
    await context.addInitScript(() => {
      (window as unknown as { __csp: string[] }).__csp = [];
      document.addEventListener("securitypolicyviolation", (e) => (window as unknown as { __csp: string[] }).__csp.push(`${e.violatedDirective} ${e.blockedURI}`));
    });
    const page = await context.newPage();
    const dialogs: string[] = [];
    page.on("dialog", (d) => {
      dialogs.push(`${page.url()}: ${d.message()}`);
      void d.dismiss();
    });
    let checked = 0;
    for (const p of pages()) {
      const pathname = p.path.split("?")[0];
      if (p.admin && !existing.has(pathname.replace(/\/[0-9a-f-]{36}$|\/\d+$/, ""))) continue;
      const res = await page.goto(p.path);
      await page.locator("html[data-hydrated=true]").waitFor({ state: "attached" });
      expect(res!.status(), p.path).toBe(200);
      expect(new URL(page.url()).pathname, p.path).toBe(pathname);
      expect(await page.evaluate(injectedMarkup), p.path).toEqual([]);
      expect(await page.evaluate(() => (window as unknown as { __csp: string[] }).__csp), p.path).toEqual([]);
      const text = await page.evaluate(() => document.body.innerText);
      for (const fragment of p.shows) expect(text, `${p.path} shows ${fragment}`).toContain(fragment);
      checked++;
    }
    expect(checked).toBeGreaterThanOrEqual(15);
    expect(dialogs).toEqual([]);
    await context.close();
  });

  test("the device check shows the payloads of a device's registered CA as text", async ({ page }) => {
    const dialogs: string[] = [];
    page.on("dialog", (d) => {
      dialogs.push(d.message());
      void d.dismiss();
    });
    await gotoReady(page, `${base}/iot/device-check`);
    await page.getByRole("textbox", { name: /^Device certificate/ }).fill(f.devicePem);
    await page.getByRole("button", { name: "Check certificate" }).click();
    await expect(page.getByTestId("verdict-issuer")).toContainText(FRAGMENTS.img);
    await expect(page.getByTestId("verdict-reasons")).toBeVisible();
    expect(await page.evaluate(injectedMarkup)).toEqual([]);
    expect(dialogs).toEqual([]);
  });

  test("an anonymous submission cannot point the link in the administrator's e-mail at another host", async () => {
    const action = manifestActions().find((a) => a.key === "app/(public)/request/actions.ts#submitPublicRequestAction")!;
    const encoded = new Response((await encodeReply([{}, form({ csr: csr("/CN=hosthdr.example.com"), "contact.name": "Eve", filename: "host-header" })])) as FormData);
    const body = Buffer.from(await encoded.arrayBuffer());
    // fetch() cannot send a Host of its own; a raw request can, as any attacker's script.
    const answer = await new Promise<string>((resolve, reject) => {
      const req = httpRequest(`${base}/request`, { method: "POST", headers: { host: "evil.example", origin: "http://evil.example", "next-action": action.id, accept: "text/x-component", "content-type": encoded.headers.get("content-type")!, "content-length": body.length } }, (res) => {
        let text = "";
        res.on("data", (c) => (text += c));
        res.on("end", () => resolve(text));
      });
      req.on("error", reject);
      req.end(body);
    });
    expect(answer).toContain("sha1Fingerprint");
    let mail: CaughtMail | undefined;
    await expect.poll(async () => (mail = (await mailsTo(ADMIN_EMAIL)).find((m) => m.subject.includes("host-header"))) !== undefined, { timeout: 20_000 }).toBe(true);
    expect(mail!.html).not.toContain("evil.example");
    expect(mail!.text).not.toContain("evil.example");
  });

  test("the mails carry the payloads escaped, and render inert in a browser with no CSP to help", async ({ page }) => {
    const dialogs: string[] = [];
    page.on("dialog", (d) => {
      dialogs.push(d.message());
      void d.dismiss();
    });
    await expect.poll(async () => (await mailsTo(CONTACT_EMAIL)).length, { timeout: 20_000 }).toBeGreaterThan(0);
    const mails: CaughtMail[] = [...(await mailsTo(ADMIN_EMAIL)), ...(await mailsTo(CONTACT_EMAIL))];
    const received = mails.filter((m) => m.text.includes(FRAGMENTS.img));
    // The admin's "request received" (subject and contact) and the contact's "issued" (subject).
    expect(received.length).toBeGreaterThanOrEqual(3);
    expect(mails.some((m) => m.text.includes(XSS.script))).toBe(true);
    for (const m of mails) {
      expect(m.html, m.subject).not.toContain("<img src=x");
      expect(m.html, m.subject).not.toContain("<script>");
      expect(m.html, m.subject).not.toContain("<svg");
      if (m.text.includes(FRAGMENTS.img)) expect(m.html, m.subject).toContain("&lt;img src=x onerror=alert(1)");
      if (m.text.includes(XSS.script)) expect(m.html, m.subject).toContain("&quot;&gt;&lt;script&gt;alert(2)&lt;/script&gt;");
      await page.setContent(m.html);
      expect(await page.evaluate(injectedMarkup), m.subject).toEqual([]);
      const text = await page.evaluate(() => document.body.innerText);
      if (m.text.includes(FRAGMENTS.img)) expect(text, m.subject).toContain(FRAGMENTS.img);
    }
    expect(dialogs).toEqual([]);
  });
});
