/**
 * The HTTP API with hostile requests, called in-process through the route handlers:
 * every route file under app/ (the table below must name each one, and each method it
 * exports) gets random JSON values, wrong types, huge strings, wrong content types,
 * invalid UTF-8, hostile path parameters, query strings and credentials. The status is
 * always below 500 and every error is the JSON envelope {error: {code, message}} (OCSP
 * answers OCSPResponses). Bodies over the limit are refused with 413 before they are read
 * whole — with Content-Length, without it, or chunked — proved by a stream that counts
 * the bytes pulled from it; admin routes read nothing at all from an anonymous caller.
 */
import { readdirSync, readFileSync } from "node:fs";
import { join, relative } from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import fc from "fast-check";
import { createApiToken } from "../auth/api-tokens.ts";
import { insertAdmin } from "../auth/test-support.ts";
import { createSession, SESSION_COOKIE } from "../auth/sessions.ts";
import { configureCaServer } from "../ca/configure-server.ts";
import { issueRequest } from "../ca/issue-request.ts";
import { submitRequest } from "../ca/requests.ts";
import { getDb } from "../db/index.ts";
import { registerLocalCa } from "../iot/ca-certificates.ts";
import { ensureDefaultMessagingCertificate } from "../iot/messaging-certificates.ts";
import { ocspResponseStatus } from "../pki/ocsp.ts";
import { opensslOk } from "../pki/test-support.ts";
import { useIsolatedDataDir } from "../test-support/data-dir.ts";
import { fuzzParameters, hostileText, runs, testTimeout } from "./support.ts";

const scratch = useIsolatedDataDir("http-fuzz", { PORTCULLIS_PUBLIC_URL: undefined, PORTCULLIS_CA_KEEP_UNLOCKED: undefined });
const ROOT = join(import.meta.dirname, "..", "..");
const ORIGIN = "http://portcullis.test";
const KEY_PW = "http fuzz CA key password";

type Method = "GET" | "POST" | "PUT" | "PATCH" | "DELETE";
type Handler = (req: Request, ctx: { params: Promise<Record<string, string | string[]>> }) => Promise<Response>;

interface MethodSpec {
  /** Who may call it: admin routes are also called with no or bad credentials. */
  auth: "public" | "admin";
  /** What the handler reads from the body. */
  body: "json" | "ocsp" | "none";
  /** Body limit in bytes (64 KB for JSON unless said). */
  limit?: number;
  /** Plausible values of the body's fields; each run mixes them with wrong types and hostile text. */
  fields?: Record<string, fc.Arbitrary<unknown>>;
  /** Query parameters the handler reads. */
  query?: string[];
  /** Changes state so that other routes would stop being reached: called a few times, last. */
  destructive?: boolean;
  /** Share of the runs (expensive handlers: key decryption, key generation). */
  share?: number;
}

interface RouteSpec {
  /** The URL path; [name] segments are path parameters. */
  path: string;
  load: () => Promise<Record<string, unknown>>;
  methods: Partial<Record<Method, MethodSpec>>;
}

// Filled in beforeAll: real ids and texts, so that runs get past the first checks.
const real = { csrId: "", csrPem: "", caPem: "", keyPem: "", iotId: "", messagingId: "", certNumber: "1", cookie: "", token: "" };
const pick = (k: keyof typeof real) => fc.constant(null).map(() => real[k]);

const text = fc.oneof(hostileText(40), fc.string({ maxLength: 30 }));
const bigText = fc.integer({ min: 1_000, max: 60_000 }).map((n) => "A".repeat(n));
const anyJson = fc.jsonValue({ maxDepth: 3 });

const S = {
  csr: fc.oneof(pick("csrPem"), pick("caPem"), text),
  certificate: fc.oneof(pick("caPem"), pick("csrPem"), text),
  privateKey: fc.oneof(pick("keyPem"), text),
  password: fc.oneof(fc.constant(KEY_PW), fc.constant("wrong password 123"), text),
  contact: fc.oneof(fc.record({ name: fc.oneof(fc.constant("Tina Tech"), text), phone: text, email: fc.oneof(fc.constant("t@example.com"), text) }, { requiredKeys: [] }), anyJson),
  hostname: fc.oneof(fc.constant("host.example.com"), text),
  usage: fc.oneof(fc.constantFrom("tls", "intermediate-ca", "code-signing", "tls-client", "iot-device", "TLS"), text),
  subject: fc.oneof(fc.record({ C: fc.constantFrom("DE", "XX"), O: text, CN: fc.oneof(fc.constant("mqtt.example.com"), text) }, { requiredKeys: [] }), anyJson),
  bool: fc.oneof(fc.boolean(), anyJson),
  number: fc.oneof(fc.integer({ min: -5, max: 40 }), fc.double(), text),
};

const CSR_BODY = { csr: S.csr, contact: S.contact, hostname: S.hostname, instance: text, filename: fc.oneof(fc.constant("host"), text) };

/** Every route file of the app, and how to call it. */
const ROUTES: Record<string, RouteSpec> = {
  "app/api/v1/[...path]/route.ts": {
    path: "/api/v1/[...path]",
    load: () => import("@/app/api/v1/[...path]/route.ts"),
    methods: { GET: { auth: "public", body: "none" }, POST: { auth: "public", body: "none" }, PUT: { auth: "public", body: "none" }, PATCH: { auth: "public", body: "none" }, DELETE: { auth: "public", body: "none" } },
  },
  "app/api/v1/admin/audit/export/route.ts": { path: "/api/v1/admin/audit/export", load: () => import("@/app/api/v1/admin/audit/export/route.ts"), methods: { GET: { auth: "admin", body: "none", share: 0.2 } } },
  "app/api/v1/admin/audit/route.ts": {
    path: "/api/v1/admin/audit",
    load: () => import("@/app/api/v1/admin/audit/route.ts"),
    methods: { GET: { auth: "admin", body: "none", query: ["action", "actor", "target", "from", "to", "before", "limit"] } },
  },
  "app/api/v1/admin/audit/verify/route.ts": { path: "/api/v1/admin/audit/verify", load: () => import("@/app/api/v1/admin/audit/verify/route.ts"), methods: { POST: { auth: "admin", body: "none", share: 0.2 } } },
  "app/api/v1/admin/ca/route.ts": {
    path: "/api/v1/admin/ca",
    load: () => import("@/app/api/v1/admin/ca/route.ts"),
    methods: {
      GET: { auth: "admin", body: "none" },
      POST: {
        auth: "admin",
        body: "json",
        fields: {
          fileNameRoot: fc.oneof(fc.constant("HttpCA"), text),
          directory: fc.oneof(fc.constant("ca"), text),
          keyPassword: S.password,
          subject: S.subject,
          keyAlgorithm: fc.oneof(fc.constantFrom("ecdsa-p256", "ecdsa-p384"), text),
          caValidityDays: S.number,
          issuedValidityDays: S.number,
          smtp: fc.oneof(fc.record({ host: text, port: S.number, secure: S.bool }, { requiredKeys: [] }), anyJson),
          adminEmail: fc.oneof(fc.constant("camgr@example.com"), text),
        },
      },
      PATCH: {
        auth: "admin",
        body: "json",
        fields: {
          issuedValidityDays: S.number,
          smtp: fc.oneof(fc.record({ host: text, port: S.number, secure: S.bool, username: text, password: text, passwordConfirm: text, clearPassword: S.bool }, { requiredKeys: [] }), anyJson),
          adminEmail: fc.oneof(fc.constant("camgr@example.com"), text),
        },
      },
      DELETE: { auth: "admin", body: "none", destructive: true },
    },
  },
  "app/api/v1/admin/ca/unlock/route.ts": {
    path: "/api/v1/admin/ca/unlock",
    load: () => import("@/app/api/v1/admin/ca/unlock/route.ts"),
    methods: { POST: { auth: "admin", body: "json", fields: { caKeyPassword: S.password }, share: 0.5 }, DELETE: { auth: "admin", body: "none" } },
  },
  "app/api/v1/admin/certificates/[number]/revoke/route.ts": {
    path: "/api/v1/admin/certificates/[number]/revoke",
    load: () => import("@/app/api/v1/admin/certificates/[number]/revoke/route.ts"),
    methods: { POST: { auth: "admin", body: "json", fields: { reason: fc.oneof(fc.constantFrom("keyCompromise", "removeFromCRL", "certificateHold"), text), caKeyPassword: fc.oneof(fc.constant("wrong password 123"), text) }, share: 0.5 } },
  },
  "app/api/v1/admin/certificates/expiring.ics/route.ts": { path: "/api/v1/admin/certificates/expiring.ics", load: () => import("@/app/api/v1/admin/certificates/expiring.ics/route.ts"), methods: { GET: { auth: "admin", body: "none" } } },
  "app/api/v1/admin/certificates/route.ts": {
    path: "/api/v1/admin/certificates",
    load: () => import("@/app/api/v1/admin/certificates/route.ts"),
    methods: { GET: { auth: "admin", body: "none", query: ["expiringWithinDays", "serial", "number", "hostname", "instance", "filename", "cursor", "limit"] } },
  },
  "app/api/v1/admin/crl/route.ts": {
    path: "/api/v1/admin/crl",
    load: () => import("@/app/api/v1/admin/crl/route.ts"),
    methods: {
      GET: { auth: "admin", body: "none" },
      POST: { auth: "admin", body: "json", fields: { caKeyPassword: fc.oneof(fc.constant("wrong password 123"), text) }, share: 0.5 },
      PATCH: { auth: "admin", body: "json", fields: { crlNextUpdateDays: S.number } },
    },
  },
  "app/api/v1/admin/csrs/[id]/issue/route.ts": {
    path: "/api/v1/admin/csrs/[id]/issue",
    load: () => import("@/app/api/v1/admin/csrs/[id]/issue/route.ts"),
    methods: {
      POST: {
        auth: "admin",
        body: "json",
        fields: { usage: S.usage, caKeyPassword: fc.oneof(fc.constant("wrong password 123"), text), fingerprintVerified: S.bool, verificationChannel: fc.oneof(fc.constantFrom("phone", "in-person"), text), verificationNote: text },
        share: 0.5,
      },
    },
  },
  "app/api/v1/admin/csrs/batch/route.ts": {
    path: "/api/v1/admin/csrs/batch",
    load: () => import("@/app/api/v1/admin/csrs/batch/route.ts"),
    methods: {
      POST: {
        auth: "admin",
        body: "json",
        limit: 4 * 1024 * 1024,
        fields: { requests: fc.oneof(fc.array(fc.record(CSR_BODY, { requiredKeys: [] }), { maxLength: 3 }), fc.array(anyJson, { maxLength: 3 }), anyJson), contact: S.contact, hostname: S.hostname, instance: text },
      },
    },
  },
  "app/api/v1/admin/csrs/bulk-issue/route.ts": {
    path: "/api/v1/admin/csrs/bulk-issue",
    load: () => import("@/app/api/v1/admin/csrs/bulk-issue/route.ts"),
    methods: {
      POST: {
        auth: "admin",
        body: "json",
        fields: {
          ids: fc.oneof(fc.array(fc.oneof(pick("csrId"), text), { maxLength: 5 }), fc.array(text, { minLength: 1001, maxLength: 1010 }), anyJson),
          all: S.bool,
          batchId: text,
          instance: text,
          hostname: S.hostname,
          contactEmail: text,
          usage: S.usage,
          caKeyPassword: fc.oneof(fc.constant("wrong password 123"), text),
          fingerprintVerified: S.bool,
          verificationChannel: fc.oneof(fc.constantFrom("phone", "in-person"), text),
          verificationNote: text,
        },
        share: 0.5,
      },
    },
  },
  "app/api/v1/admin/csrs/[id]/preview/route.ts": { path: "/api/v1/admin/csrs/[id]/preview", load: () => import("@/app/api/v1/admin/csrs/[id]/preview/route.ts"), methods: { GET: { auth: "admin", body: "none", query: ["usage"] } } },
  "app/api/v1/admin/csrs/[id]/route.ts": { path: "/api/v1/admin/csrs/[id]", load: () => import("@/app/api/v1/admin/csrs/[id]/route.ts"), methods: { DELETE: { auth: "admin", body: "none", destructive: true } } },
  "app/api/v1/admin/csrs/route.ts": { path: "/api/v1/admin/csrs", load: () => import("@/app/api/v1/admin/csrs/route.ts"), methods: { GET: { auth: "admin", body: "none", query: ["cursor", "limit", "batch"] } } },
  "app/api/v1/admin/iot/ca-certificates/[id]/route.ts": {
    path: "/api/v1/admin/iot/ca-certificates/[id]",
    load: () => import("@/app/api/v1/admin/iot/ca-certificates/[id]/route.ts"),
    methods: { GET: { auth: "admin", body: "none" }, PATCH: { auth: "admin", body: "json", fields: { active: S.bool } }, DELETE: { auth: "admin", body: "none", destructive: true } },
  },
  "app/api/v1/admin/iot/ca-certificates/[id]/crl/route.ts": {
    path: "/api/v1/admin/iot/ca-certificates/[id]/crl",
    load: () => import("@/app/api/v1/admin/iot/ca-certificates/[id]/crl/route.ts"),
    methods: { POST: { auth: "admin", body: "none" } },
  },
  "app/api/v1/admin/iot/ca-certificates/local/route.ts": { path: "/api/v1/admin/iot/ca-certificates/local", load: () => import("@/app/api/v1/admin/iot/ca-certificates/local/route.ts"), methods: { POST: { auth: "admin", body: "json", fields: { description: text } } } },
  "app/api/v1/admin/iot/ca-certificates/preview/route.ts": {
    path: "/api/v1/admin/iot/ca-certificates/preview",
    load: () => import("@/app/api/v1/admin/iot/ca-certificates/preview/route.ts"),
    methods: { POST: { auth: "admin", body: "json", fields: { certificate: S.certificate, checkCrl: S.bool } } },
  },
  "app/api/v1/admin/iot/ca-certificates/route.ts": {
    path: "/api/v1/admin/iot/ca-certificates",
    load: () => import("@/app/api/v1/admin/iot/ca-certificates/route.ts"),
    methods: { GET: { auth: "admin", body: "none", query: ["active", "cursor", "limit"] }, POST: { auth: "admin", body: "json", fields: { certificate: S.certificate, description: text } } },
  },
  "app/api/v1/admin/iot/messaging-certificates/[id]/certificate/route.ts": {
    path: "/api/v1/admin/iot/messaging-certificates/[id]/certificate",
    load: () => import("@/app/api/v1/admin/iot/messaging-certificates/[id]/certificate/route.ts"),
    methods: { POST: { auth: "admin", body: "json", fields: { certificate: S.certificate } } },
  },
  "app/api/v1/admin/iot/messaging-certificates/[id]/route.ts": {
    path: "/api/v1/admin/iot/messaging-certificates/[id]",
    load: () => import("@/app/api/v1/admin/iot/messaging-certificates/[id]/route.ts"),
    methods: { GET: { auth: "admin", body: "none" }, DELETE: { auth: "admin", body: "none", destructive: true } },
  },
  "app/api/v1/admin/iot/messaging-certificates/csr/route.ts": {
    path: "/api/v1/admin/iot/messaging-certificates/csr",
    load: () => import("@/app/api/v1/admin/iot/messaging-certificates/csr/route.ts"),
    methods: { POST: { auth: "admin", body: "json", fields: { subject: S.subject, sans: fc.oneof(fc.constant("DNS:mqtt.example.com"), text, anyJson), keyAlgorithm: fc.oneof(fc.constantFrom("ecdsa-p256", "ecdsa-p384"), text), description: text }, share: 0.5 } },
  },
  "app/api/v1/admin/iot/messaging-certificates/default/export/route.ts": {
    path: "/api/v1/admin/iot/messaging-certificates/default/export",
    load: () => import("@/app/api/v1/admin/iot/messaging-certificates/default/export/route.ts"),
    methods: { GET: { auth: "admin", body: "none" } },
  },
  "app/api/v1/admin/iot/messaging-certificates/default/route.ts": {
    path: "/api/v1/admin/iot/messaging-certificates/default",
    load: () => import("@/app/api/v1/admin/iot/messaging-certificates/default/route.ts"),
    methods: { PUT: { auth: "admin", body: "json", fields: { id: fc.oneof(pick("messagingId"), text) } } },
  },
  "app/api/v1/admin/iot/messaging-certificates/route.ts": {
    path: "/api/v1/admin/iot/messaging-certificates",
    load: () => import("@/app/api/v1/admin/iot/messaging-certificates/route.ts"),
    methods: { GET: { auth: "admin", body: "none" }, POST: { auth: "admin", body: "json", fields: { certificate: S.certificate, privateKey: S.privateKey, passphrase: text, description: text } } },
  },
  "app/api/v1/auth/token/route.ts": {
    path: "/api/v1/auth/token",
    load: () => import("@/app/api/v1/auth/token/route.ts"),
    methods: { POST: { auth: "public", body: "json", fields: { username: fc.oneof(fc.constant("admin"), text), password: text, name: text, expiresInDays: S.number }, share: 0.5 } },
  },
  "app/api/v1/ca/certificate/route.ts": { path: "/api/v1/ca/certificate", load: () => import("@/app/api/v1/ca/certificate/route.ts"), methods: { GET: { auth: "public", body: "none", query: ["format"] } } },
  "app/api/v1/ca/route.ts": { path: "/api/v1/ca", load: () => import("@/app/api/v1/ca/route.ts"), methods: { GET: { auth: "public", body: "none" } } },
  "app/api/v1/certificates/[number]/bundle/route.ts": {
    path: "/api/v1/certificates/[number]/bundle",
    load: () => import("@/app/api/v1/certificates/[number]/bundle/route.ts"),
    methods: {
      GET: { auth: "admin", body: "none", query: ["format", "source", "password"] },
      POST: {
        auth: "admin",
        body: "json",
        fields: { format: fc.oneof(fc.constantFrom("trust", "cockroach", "pem", "pkcs12", "pfx", "pem-bundle"), text), password: text, passwordConfirm: text, keyPassword: text, unencrypted: S.bool, legacy: S.bool, source: fc.oneof(fc.constantFrom("server", "client"), text) },
        share: 0.5,
      },
    },
  },
  "app/api/v1/certificates/[number]/renewal/route.ts": { path: "/api/v1/certificates/[number]/renewal", load: () => import("@/app/api/v1/certificates/[number]/renewal/route.ts"), methods: { POST: { auth: "public", body: "json", fields: CSR_BODY } } },
  "app/api/v1/certificates/[number]/route.ts": { path: "/api/v1/certificates/[number]", load: () => import("@/app/api/v1/certificates/[number]/route.ts"), methods: { GET: { auth: "public", body: "none", query: ["format"] } } },
  "app/api/v1/certificates/route.ts": {
    path: "/api/v1/certificates",
    load: () => import("@/app/api/v1/certificates/route.ts"),
    methods: { GET: { auth: "public", body: "none", query: ["serial", "number", "hostname", "instance", "filename", "cursor", "limit"] } },
  },
  "app/api/v1/client/files/[name]/route.ts": { path: "/api/v1/client/files/[name]", load: () => import("@/app/api/v1/client/files/[name]/route.ts"), methods: { GET: { auth: "admin", body: "none" } } },
  "app/api/v1/csrs/[id]/route.ts": { path: "/api/v1/csrs/[id]", load: () => import("@/app/api/v1/csrs/[id]/route.ts"), methods: { GET: { auth: "public", body: "none" } } },
  "app/api/v1/csrs/route.ts": { path: "/api/v1/csrs", load: () => import("@/app/api/v1/csrs/route.ts"), methods: { POST: { auth: "public", body: "json", fields: CSR_BODY } } },
  "app/api/v1/health/route.ts": { path: "/api/v1/health", load: () => import("@/app/api/v1/health/route.ts"), methods: { GET: { auth: "public", body: "none" } } },
  "app/api/v1/iot/device-check/route.ts": {
    path: "/api/v1/iot/device-check",
    load: () => import("@/app/api/v1/iot/device-check/route.ts"),
    methods: { POST: { auth: "public", body: "json", limit: 256 * 1024, fields: { certificate: S.certificate, chain: fc.oneof(S.certificate, fc.array(S.certificate, { maxLength: 20 }), anyJson) } } },
  },
  "app/api/v1/iot/trust-bundle/route.ts": { path: "/api/v1/iot/trust-bundle", load: () => import("@/app/api/v1/iot/trust-bundle/route.ts"), methods: { GET: { auth: "public", body: "none" } } },
  "app/crl/[file]/route.ts": { path: "/crl/[file]", load: () => import("@/app/crl/[file]/route.ts"), methods: { GET: { auth: "public", body: "none" } } },
  "app/ocsp/[...b64]/route.ts": { path: "/ocsp/[...b64]", load: () => import("@/app/ocsp/[...b64]/route.ts"), methods: { GET: { auth: "public", body: "none" } } },
  "app/ocsp/route.ts": { path: "/ocsp", load: () => import("@/app/ocsp/route.ts"), methods: { POST: { auth: "public", body: "ocsp", limit: 16 * 1024 } } },
};

const METHODS: Method[] = ["GET", "POST", "PUT", "PATCH", "DELETE"];

function routeFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const p = join(dir, e.name);
    if (e.isDirectory()) return routeFiles(p);
    return e.name === "route.ts" || e.name === "route.tsx" ? [relative(ROOT, p)] : [];
  });
}

// ---------------------------------------------------------------------------------
// Requests.

/** What a URL can carry: no lone surrogates (percent-decoding never yields one). */
const urlText = (a: fc.Arbitrary<string>) => a.map((s) => s.replace(/[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/g, "\uFFFD"));

const paramValue: Record<string, fc.Arbitrary<string>> = {
  id: fc.oneof(pick("csrId"), pick("iotId"), pick("messagingId"), text, fc.constantFrom("..", "%2e%2e", "0", "-1", "x".repeat(300), "\u0000")),
  number: fc.oneof(pick("certNumber"), fc.constantFrom("0", "2", "999999999", "9999999999", "-1", "1e3", "0x1", " 1", "1.0", "NaN"), text),
  name: fc.oneof(fc.constantFrom("host.cer", "host.csr", "host.key", "../secret.key", "..%2fsecret.key", ".cer", "a".repeat(300) + ".cer"), text),
  file: fc.oneof(fc.constantFrom("HttpCA.crl", "HttpCA.pem", "HttpCA", "other.crl", "../x.crl"), text),
};

/** Path segments for a route path, with its [param]s filled in; the params object handlers get. */
function fillPath(path: string, values: Record<string, string>, rest: string[]): { url: string; params: Record<string, string | string[]> } {
  const params: Record<string, string | string[]> = {};
  const segments = path.split("/").map((seg) => {
    const catchAll = /^\[\.\.\.(\w+)\]$/.exec(seg);
    if (catchAll) {
      params[catchAll[1]] = rest;
      return rest.map(encodeURIComponent).join("/");
    }
    const m = /^\[(\w+)\]$/.exec(seg);
    if (!m) return seg;
    params[m[1]] = values[m[1]];
    return encodeURIComponent(values[m[1]]);
  });
  return { url: segments.join("/"), params };
}

const contentType = fc.oneof(
  { weight: 6, arbitrary: fc.constant("application/json") },
  { weight: 1, arbitrary: fc.constantFrom("application/json; charset=utf-8", "application/merge-patch+json", "APPLICATION/JSON", "text/plain", "application/x-www-form-urlencoded", "multipart/form-data; boundary=x", "application/ocsp-request", "", "application/jsonx", "json") },
  { weight: 1, arbitrary: fc.string({ maxLength: 30 }).filter((s) => /^[\x20-\x7e]*$/.test(s)) },
);

type Auth = "admin" | "none" | "bad-token" | "cookie-same-origin" | "cookie-cross-site" | "cookie-no-origin";
const authKind = fc.oneof(
  { weight: 6, arbitrary: fc.constant<Auth>("admin") },
  { weight: 1, arbitrary: fc.constantFrom<Auth>("none", "bad-token", "cookie-same-origin", "cookie-cross-site", "cookie-no-origin") },
);

/** A JSON body: the route's fields with plausible or wrong values, random JSON, or bytes that are no JSON. */
function bodyFor(spec: MethodSpec): fc.Arbitrary<Uint8Array | null> {
  const fields = spec.fields ?? {};
  const entries = Object.entries(fields).map(([k, plausible]) => [k, fc.oneof({ weight: 8, arbitrary: plausible }, { weight: 1, arbitrary: anyJson }, { weight: 1, arbitrary: bigText })] as const);
  const structured = fc
    .tuple(fc.record(Object.fromEntries(entries), { requiredKeys: [] }), fc.dictionary(fc.string({ maxLength: 10 }), anyJson, { maxKeys: 3 }))
    .map(([known, extra]) => ({ ...extra, ...known }));
  const encode = (v: unknown) => new TextEncoder().encode(JSON.stringify(v));
  return fc.oneof(
    { weight: 6, arbitrary: structured.map(encode) },
    { weight: 1, arbitrary: anyJson.map(encode) },
    { weight: 1, arbitrary: fc.constantFrom("", "{", "{\"a\":", "null", "[]", "\"str\"", "{\"__proto__\": {\"x\": 1}}", "{\"constructor\": {\"prototype\": 1}}", "{\"a\": \"\\ud800\"}", "\ufeff{}", "{}garbage", "[".repeat(5000)).map((s) => new TextEncoder().encode(s)) },
    { weight: 1, arbitrary: fc.uint8Array({ maxLength: 200 }) }, // invalid UTF-8 and other bytes
    { weight: 1, arbitrary: fc.constant(null) },
  );
}

interface Built {
  req: Request;
  params: Record<string, string | string[]>;
}

const build = (route: RouteSpec, method: Method, spec: MethodSpec) =>
  fc
    .record({
      params: fc.record(Object.fromEntries(Object.entries(paramValue).map(([k, a]) => [k, urlText(a)]))),
      rest: fc.array(urlText(text), { maxLength: 4 }),
      query: fc.dictionary(fc.oneof(fc.constantFrom(...(spec.query?.length ? spec.query : ["x"])), fc.string({ maxLength: 8 })), fc.oneof(text, fc.constantFrom("pem", "der", "chain", "true", "false", "1", "-1", "99999999999", "2024-01-01", "1:2:3", "%ZZ")), { maxKeys: 4 }),
      auth: authKind,
      type: spec.body === "ocsp" ? fc.oneof({ weight: 6, arbitrary: fc.constant("application/ocsp-request") }, { weight: 1, arbitrary: contentType }) : contentType,
      body: spec.body === "json" ? bodyFor(spec) : spec.body === "ocsp" ? fc.oneof(fc.uint8Array({ maxLength: 300 }), fc.constant(null)) : fc.constant(null),
      ip: fc.oneof(fc.ipV4(), fc.ipV6(), fc.constantFrom("", "unknown", "1.1.1.1, 2.2.2.2", "x".repeat(100))),
    })
    .map(({ params, rest, query, auth, type, body, ip }): Built => {
      const { url, params: ctxParams } = fillPath(route.path, params, rest);
      const qs = new URLSearchParams(query).toString();
      const headers = new Headers({ "x-forwarded-for": ip });
      if (type) headers.set("content-type", type);
      if (auth === "admin") headers.set("authorization", `Bearer ${real.token}`);
      if (auth === "bad-token") headers.set("authorization", "Bearer pcl_0000000000000000000000000000000000000000");
      if (auth.startsWith("cookie")) headers.set("cookie", `${SESSION_COOKIE}=${real.cookie}`);
      if (auth === "cookie-same-origin") headers.set("origin", ORIGIN);
      if (auth === "cookie-cross-site") headers.set("origin", "https://evil.example");
      const withBody = method !== "GET" && body !== null;
      const req = new Request(`${ORIGIN}${url}${qs ? `?${qs}` : ""}`, { method, headers, body: withBody ? new Uint8Array(body) : undefined });
      return { req, params: ctxParams };
    });

async function call(route: RouteSpec, method: Method, b: Built): Promise<Response> {
  const mod = (await route.load()) as Record<string, Handler>;
  return mod[method](b.req, { params: Promise.resolve(b.params) });
}

/** Below 500; an error is the JSON envelope (an OCSPResponse for the OCSP routes). */
async function checkResponse(route: RouteSpec, res: Response): Promise<void> {
  expect(res.status).toBeLessThan(500);
  const body = Buffer.from(await res.arrayBuffer());
  const type = res.headers.get("content-type") ?? "";
  if (route.path.startsWith("/ocsp")) {
    expect(type).toBe("application/ocsp-response");
    expect(() => ocspResponseStatus(body)).not.toThrow();
    return;
  }
  if (res.status < 400) return;
  expect(type).toMatch(/^application\/json/);
  const parsed = JSON.parse(body.toString("utf8")) as { error?: { code?: unknown; message?: unknown } };
  expect(typeof parsed.error?.code).toBe("string");
  expect(typeof parsed.error?.message).toBe("string");
}

// ---------------------------------------------------------------------------------

beforeAll(async () => {
  const admin = await insertAdmin("admin");
  real.token = (await createApiToken(admin.id, { name: "fuzz" })).token;
  real.cookie = (await createSession(await getDb(), admin.id, {})).token;
  await configureCaServer({ fileNameRoot: "HttpCA", directory: "ca", keyPassword: KEY_PW, subject: { CN: "HTTP Fuzz CA" }, caValidityDays: 3650, issuedValidityDays: 365, adminEmail: "camgr@example.com" });
  real.caPem = (await getDb().then((db) => db.caServer.findUniqueOrThrow({ where: { id: 1 } }))).certificatePem;
  const key = scratch.path("host.key");
  opensslOk(["genpkey", "-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-256", "-out", key]);
  real.keyPem = readFileSync(key, "utf8");
  const csr = (cn: string) => opensslOk(["req", "-new", "-key", key, "-subj", `/CN=${cn}`, "-addext", `subjectAltName=DNS:${cn}`]);
  const first = await submitRequest({ csr: csr("one.example.com"), contact: { name: "Tina Tech" }, hostname: "one.example.com", instance: "FUZZ", filename: "one" });
  const issued = await issueRequest(first.id, { usage: "tls", caKeyPassword: KEY_PW, fingerprintVerified: true }, { actor: "admin" });
  real.certNumber = String(issued.number);
  real.csrPem = csr("two.example.com");
  real.csrId = (await submitRequest({ csr: real.csrPem, contact: { name: "Tina Tech" }, hostname: "two.example.com", instance: "FUZZ", filename: "two" })).id;
  real.iotId = (await registerLocalCa({ actor: "admin" })).id;
  real.messagingId = (await ensureDefaultMessagingCertificate()).id;
}, 120_000);

describe("the HTTP API with hostile requests", () => {
  it("has a way to call every route file and every method it exports", async () => {
    const files = routeFiles(join(ROOT, "app"));
    expect(files.filter((f) => !ROUTES[f]), "route files missing from the table of lib/fuzz/http-api.fuzz.test.ts").toEqual([]);
    expect(Object.keys(ROUTES).filter((f) => !files.includes(f)), "table entries without a route file").toEqual([]);
    for (const [file, route] of Object.entries(ROUTES)) {
      const mod = await route.load();
      const exported = METHODS.filter((m) => typeof mod[m] === "function");
      expect(exported, `${file}: exported methods`).toEqual(METHODS.filter((m) => route.methods[m]));
    }
  });

  const cases = Object.entries(ROUTES).flatMap(([file, route]) =>
    (Object.entries(route.methods) as [Method, MethodSpec][]).filter(([, spec]) => !spec.destructive).map(([method, spec]) => ({ file, route, method, spec })),
  );
  const perRoute = (spec: MethodSpec) => runs(0.04 * (spec.share ?? 1));
  const total = cases.reduce((a, c) => a + perRoute(c.spec), 0);

  it(
    "answers every hostile request below 500, errors as the JSON envelope",
    async () => {
      // FUZZ_STATS=1 prints the statuses each route answered: how deep the runs got.
      const stats = new Map<string, Map<number, number>>();
      for (const { route, method, spec, file } of cases) {
        const seen = new Map<number, number>();
        const started = Date.now();
        stats.set(`${method} ${route.path}`, seen);
        await fc.assert(
          fc.asyncProperty(build(route, method, spec), async (b) => {
            const res = await call(route, method, b);
            seen.set(res.status, (seen.get(res.status) ?? 0) + 1);
            await checkResponse(route, res).catch((e: unknown) => {
              throw new Error(`${method} ${b.req.url} (${file}) answered ${res.status}: ${(e as Error).message}`);
            });
          }),
          fuzzParameters(perRoute(spec), { budgetMs: 2_000 }),
        );
        seen.set(-1, Date.now() - started);
      }
      if (process.env.FUZZ_STATS) {
        for (const [k, seen] of stats) console.log(k.padEnd(60), [...seen].sort(([a], [b]) => a - b).map(([status, n]) => (status < 0 ? `${n} ms:` : `${status}×${n}`)).join(" "));
      }
    },
    testTimeout(total, 30),
  );

  const bodyCases = cases.filter((c) => c.spec.body !== "none");
  it("refuses bodies over the limit with 413 before reading them whole (Content-Length, none, chunked)", async () => {
    for (const { route, method, spec } of bodyCases) {
      const limit = spec.limit ?? 64 * 1024;
      const chunk = 4096;
      for (const framing of ["declared", "undeclared", "chunked"] as const) {
        let pulled = 0;
        const stream = new ReadableStream<Uint8Array>(
          {
            pull(c) {
              pulled += chunk;
              c.enqueue(new Uint8Array(chunk).fill(0x20));
            },
          },
          { highWaterMark: 0 },
        );
        const headers = new Headers({ "content-type": spec.body === "ocsp" ? "application/ocsp-request" : "application/json", authorization: `Bearer ${real.token}`, "x-forwarded-for": "198.51.100.7" });
        if (framing === "declared") headers.set("content-length", String(limit * 4));
        if (framing === "chunked") headers.set("transfer-encoding", "chunked");
        const { url, params } = fillPath(route.path, { id: real.csrId, number: real.certNumber, name: "x.cer", file: "x.crl" }, []);
        const req = new Request(`${ORIGIN}${url}`, { method, headers, body: stream, duplex: "half" } as RequestInit);
        const res = await call(route, method, { req, params });
        expect(res.status, `${method} ${url} ${framing}`).toBe(413);
        if (framing === "declared") expect(pulled, `${method} ${url}: read a body declared too large`).toBe(0);
        else expect(pulled, `${method} ${url}: read ${pulled} bytes of a body over ${limit}`).toBeLessThanOrEqual(limit + chunk);
        await checkResponse(route, res);
      }
    }
  });

  it("reads nothing of an anonymous caller's body on an admin route", async () => {
    for (const { route, method } of bodyCases.filter((c) => c.spec.auth === "admin")) {
      let pulled = 0;
      const stream = new ReadableStream<Uint8Array>({ pull: (c) => void ((pulled += 1024), c.enqueue(new Uint8Array(1024).fill(0x7b))) }, { highWaterMark: 0 });
      const { url, params } = fillPath(route.path, { id: real.csrId, number: real.certNumber, name: "x.cer", file: "x.crl" }, []);
      const req = new Request(`${ORIGIN}${url}`, { method, headers: { "content-type": "application/json" }, body: stream, duplex: "half" } as RequestInit);
      const res = await call(route, method, { req, params });
      expect(res.status, `${method} ${url}`).toBe(401);
      expect(pulled, `${method} ${url}`).toBe(0);
    }
  });

  it(
    "answers hostile calls of the routes that delete or reinitialize below 500 too (last)",
    async () => {
      const destructive = Object.values(ROUTES).flatMap((route) => (Object.entries(route.methods) as [Method, MethodSpec][]).filter(([, s]) => s.destructive).map(([method, spec]) => ({ route, method, spec })));
      for (const { route, method, spec } of destructive) {
        await fc.assert(
          fc.asyncProperty(build(route, method, spec), async (b) => {
            const res = await call(route, method, b);
            await checkResponse(route, res);
          }),
          fuzzParameters(runs(0.02)),
        );
      }
    },
    testTimeout(runs(0.1), 30),
  );
});
