/**
 * GET/POST /api/v1/certificates/{number}/bundle, called as Next.js calls the route
 * handler, on an instance that is CA server and CA client at once: the client generates
 * keys and submits CSRs over real HTTP (a loopback server in front of the CA server's use
 * cases), the CA issues them, and the bundles are judged by OpenSSL and tar.
 */
import { spawnSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it, vi } from "vitest";
import { GET, POST } from "../../app/api/v1/certificates/[number]/bundle/route.ts";
import { getDb } from "../db/index.ts";
import { insertAdmin } from "../auth/test-support.ts";
import { createApiToken } from "../auth/api-tokens.ts";
import { createSession, SESSION_COOKIE } from "../auth/sessions.ts";
import { configureCaServer } from "../ca/configure-server.ts";
import { submitRequest } from "../ca/requests.ts";
import { issueRequest } from "../ca/issue-request.ts";
import { revokeCertificate } from "../ca/revoke-certificate.ts";
import { getCertificate } from "../ca/certificates.ts";
import { configureCaClient } from "../client/configure-client.ts";
import { submitCertificateRequest } from "../client/submit-request.ts";
import { getCaCertificate } from "../client/get-certificates.ts";
import { openssl, opensslOk } from "../pki/test-support.ts";
import { useIsolatedDataDir } from "../test-support/data-dir.ts";
import { startCaApiServer, type CaApiServer } from "../test-support/client-instance.ts";
import type { Usage } from "../pki/profiles.ts";
import { listAudit } from "../audit/audit-log.ts";

const scratch = useIsolatedDataDir("bundle-route", { PORTCULLIS_PUBLIC_URL: undefined });
const CA_PW = "bundle route CA password";
const KEY_PW = "client key password";
const P12_PW = "p12 export password";
let api: CaApiServer | undefined;
let auth: Record<string, string>;
const numbers: Record<string, number> = {};
let n = 0;
const logged: string[] = [];

/** Generates the key here (CA client), submits, issues with `usage`; the certificate number. */
async function clientCertificate(root: string, usage: Usage, subject: Record<string, string>, sans: string, keyPassword?: string): Promise<number> {
  const r = await submitCertificateRequest({ fileNameRoot: root, subject, sans, keyAlgorithm: "ecdsa-p256", ...(keyPassword ? { keyPassword, keyPasswordConfirm: keyPassword } : {}) });
  return (await issueRequest(r.serverRequestId, { usage, caKeyPassword: CA_PW, fingerprintVerified: true }, { actor: "admin" })).number;
}

const url = (number: number | string, query = "") => `http://127.0.0.1/api/v1/certificates/${number}/bundle${query}`;
const ctx = (number: number | string) => ({ params: Promise.resolve({ number: String(number) }) });

function get(number: number | string, query: string, headers: Record<string, string> = auth) {
  return GET(new Request(url(number, query), { headers }), ctx(number));
}
function post(number: number | string, body: unknown, headers: Record<string, string> = auth) {
  return POST(new Request(url(number), { method: "POST", headers: { "content-type": "application/json", ...headers }, body: typeof body === "string" ? body : JSON.stringify(body) }), ctx(number));
}

async function errorOf(res: Response): Promise<{ status: number; code: string; message: string; fields?: Record<string, string> }> {
  const body = await res.json();
  return { status: res.status, ...body.error };
}

function save(res: Response, name: string): Promise<string> {
  return res.arrayBuffer().then((b) => scratch.file(`${++n}-${name}`, Buffer.from(b)));
}

const caFile = () => scratch.path("client/BundleCA.cer");

beforeAll(async () => {
  for (const level of ["log", "info", "warn", "error", "debug"] as const) {
    vi.spyOn(console, level).mockImplementation((...args: unknown[]) => {
      logged.push(args.map((a) => (a instanceof Error ? `${a.message} ${a.stack}` : typeof a === "string" ? a : JSON.stringify(a))).join(" "));
    });
  }
  api = await startCaApiServer();
  const port = api.port;
  await configureCaServer({
    fileNameRoot: "BundleCA",
    directory: "ca",
    keyPassword: CA_PW,
    keyPasswordConfirm: CA_PW,
    subject: { O: "Example", CN: "Bundle Test CA" },
    keyAlgorithm: "ecdsa-p256",
    caValidityDays: 3650,
    issuedValidityDays: 90,
    smtp: { host: "", port: 25, secure: false },
    adminEmail: "ca@example.com",
  });
  await configureCaClient({ serverHost: "127.0.0.1", serverPort: String(port), serverPath: "/api/v1", instanceName: "BUNDLES", contactName: "Ann Contact", contactEmail: "ann@example.com" });
  await getCaCertificate();
  numbers.web = await clientCertificate("web01", "tls", { CN: "web01.example.com" }, "DNS:web01.example.com", KEY_PW);
  numbers.node = await clientCertificate("crdb-node", "cockroach-node", { O: "Cockroach", CN: "node" }, "DNS:db1.example.com, IP:127.0.0.1");
  numbers.client = await clientCertificate("crdb-maxroach", "cockroach-client", { CN: "maxroach" }, "", KEY_PW);

  // A request whose key this instance never saw.
  const csr = scratch.path("foreign.csr");
  opensslOk(["req", "-new", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-keyout", scratch.path("foreign.key"), "-subj", "/CN=foreign.example.com", "-out", csr]);
  const queued = await submitRequest({ csr: readFileSync(csr, "utf8"), contact: { name: "Someone" }, filename: "foreign" }, { ip: "127.0.0.1" });
  numbers.foreign = (await issueRequest(queued.id, { usage: "tls", caKeyPassword: CA_PW, fingerprintVerified: true }, { actor: "admin" })).number;

  const admin = await insertAdmin("bundle-admin");
  auth = { authorization: `Bearer ${(await createApiToken(admin.id, { name: "bundles" })).token}` };
});

afterAll(async () => {
  await api?.close();
  vi.restoreAllMocks();
});

let loggedBefore = 0;
beforeEach(() => {
  loggedBefore = logged.length;
});
afterEach(() => {
  // Passwords never reach a log line, whatever the outcome.
  for (const line of logged.slice(loggedBefore)) for (const pw of [KEY_PW, P12_PW, CA_PW]) expect(line).not.toContain(pw);
});

describe("access", () => {
  it("admin only: 401 without credentials, 403 for a cross-site cookie POST", async () => {
    expect((await errorOf(await get(numbers.web, "?format=trust", {}))).status).toBe(401);
    expect((await errorOf(await post(numbers.web, { format: "trust" }, {}))).status).toBe(401);
    const db = await getDb();
    const admin = await db.admin.findUniqueOrThrow({ where: { username: "bundle-admin" } });
    const { token } = await createSession(db, admin.id);
    const cookie = { cookie: `${SESSION_COOKIE}=${token}` };
    const crossSite = await errorOf(await post(numbers.node, { format: "cockroach" }, { ...cookie, origin: "https://evil.example" }));
    expect(crossSite).toMatchObject({ status: 403, code: "forbidden" });
    const sameSite = await post(numbers.node, { format: "cockroach" }, { ...cookie, origin: "http://127.0.0.1" });
    expect(sameSite.status).toBe(200);
    // A GET that exports a key: not when another site makes the browser follow a link; the trust bundle is fine.
    expect((await errorOf(await get(numbers.node, "?format=cockroach", { ...cookie, "sec-fetch-site": "cross-site" }))).status).toBe(403);
    expect((await get(numbers.node, "?format=cockroach", { ...cookie, "sec-fetch-site": "same-origin" })).status).toBe(200);
    expect((await get(numbers.node, "?format=trust", { ...cookie, "sec-fetch-site": "cross-site" })).status).toBe(200);
  });
});

describe("requests refused with their reason", () => {
  it("passwords only in a POST body: GET of pkcs12/pem-with-key and any password in the URL answer 400", async () => {
    const p12 = await errorOf(await get(numbers.web, "?format=pkcs12"));
    expect(p12).toMatchObject({ status: 400, code: "bad_request" });
    expect(p12.message).toMatch(/^A PKCS#12 file needs a password: send it with POST as JSON/);
    expect((await errorOf(await get(numbers.web, "?format=pem-with-key"))).message).toMatch(/send it with POST/);
    const inUrl = await errorOf(await get(numbers.node, `?format=cockroach&keyPassword=${encodeURIComponent(KEY_PW)}`));
    expect(inUrl).toMatchObject({ status: 400, message: "Passwords are never accepted in a URL: send them with POST as JSON" });
    // A GET for an encrypted key file: the key password must come by POST.
    const encrypted = await errorOf(await get(numbers.client, "?format=cockroach"));
    expect(encrypted).toMatchObject({ status: 400, fields: { keyPassword: expect.stringMatching(/^The private key file crdb-maxroach\.key is encrypted: send its password with POST/) } });
  });

  it("bad fields: 400 for the wrong types and formats, 422 on the field for weak or missing passwords", async () => {
    expect(await errorOf(await post(numbers.web, { format: "zip" }))).toMatchObject({ status: 400, fields: { format: "format must be one of pkcs12, pem-with-key, cockroach, trust" } });
    expect((await errorOf(await post(numbers.web, {}))).status).toBe(400);
    expect((await errorOf(await post(numbers.web, "{not json"))).status).toBe(400);
    expect(await errorOf(await post(numbers.web, { format: "pem-with-key", unencrypted: "yes" }))).toMatchObject({ status: 400, fields: { unencrypted: "unencrypted must be true or false" } });
    expect(await errorOf(await post(numbers.web, { format: "pem-with-key", unencrypted: true, password: P12_PW }))).toMatchObject({ status: 400, fields: { password: expect.stringMatching(/either a password/) } });
    expect(await errorOf(await post(numbers.web, { format: "pkcs12", password: 12345678 }))).toMatchObject({ status: 400, fields: { password: "password must be a string" } });

    expect(await errorOf(await post(numbers.web, { format: "pkcs12" }))).toMatchObject({ status: 422, code: "validation_failed", fields: { password: "Enter a password for the PKCS#12 file" } });
    expect(await errorOf(await post(numbers.web, { format: "pkcs12", password: "short" }))).toMatchObject({ status: 422, fields: { password: "The password is too short: use at least 8 characters" } });
    expect(await errorOf(await post(numbers.web, { format: "pkcs12", password: "xxxxxxxxxxxx" }))).toMatchObject({ status: 422, fields: { password: expect.stringMatching(/one character repeated/) } });
    expect(await errorOf(await post(numbers.web, { format: "pkcs12", password: P12_PW, passwordConfirm: "something else" }))).toMatchObject({ status: 422, fields: { passwordConfirm: "The passwords do not match" } });
    expect(await errorOf(await post(numbers.web, { format: "pem-with-key" }))).toMatchObject({ status: 422, fields: { password: expect.stringMatching(/unencrypted: true/) } });
  });

  it("the key password: missing or wrong → 422 on keyPassword", async () => {
    const missing = await errorOf(await post(numbers.web, { format: "pkcs12", password: P12_PW }));
    expect(missing).toMatchObject({ status: 422, code: "validation_failed", fields: { keyPassword: "The private key file web01.key was saved encrypted: enter its password" } });
    const wrong = await errorOf(await post(numbers.web, { format: "pkcs12", password: P12_PW, keyPassword: "not the key password" }));
    expect(wrong).toMatchObject({ status: 422, code: "wrong_password", fields: { keyPassword: "The password does not decrypt the private key" } });
  });

  it("no key generated here → 404 not_found saying so; the trust bundle still works", async () => {
    const e = await errorOf(await post(numbers.foreign, { format: "pkcs12", password: P12_PW }));
    expect(e).toMatchObject({ status: 404, code: "not_found" });
    expect(e.message).toBe(`No private key for certificate number ${numbers.foreign} on this instance: bundles with a private key exist only for keys this instance generated (CA client: Submit Certificate Signing Request); the trust bundle (format=trust) is available for any certificate`);
    const trust = await get(numbers.foreign, "?format=trust");
    expect(trust.status).toBe(200);
    expect(trust.headers.get("content-disposition")).toBe('attachment; filename="trust_ca_cert.pem"');
    const leaf = scratch.file("foreign.cer", (await getCertificate(numbers.foreign)).pem);
    const v = openssl(["verify", "-x509_strict", "-purpose", "sslserver", "-CAfile", await save(trust, "trust.pem"), leaf]);
    expect(v.status, v.stdout + v.stderr).toBe(0);
  });

  it("unknown numbers → 404; a CockroachDB archive for another usage → 422 naming both usages", async () => {
    expect(await errorOf(await post(99999, { format: "trust" }))).toMatchObject({ status: 404, code: "not_found" });
    expect((await errorOf(await get("abc", "?format=trust"))).status).toBe(404);
    const other = await errorOf(await post(numbers.web, { format: "cockroach", keyPassword: KEY_PW }));
    expect(other).toMatchObject({ status: 422, fields: { format: expect.stringContaining('"CockroachDB node" (cockroach-node) or "CockroachDB client" (cockroach-client)') } });
  });
});

describe("downloads, judged by OpenSSL and tar", () => {
  it("pkcs12 with the key password: <root>.p12, no-store, a key matching the certificate", async () => {
    const res = await post(numbers.web, { format: "pkcs12", password: P12_PW, passwordConfirm: P12_PW, keyPassword: KEY_PW });
    expect(res.status).toBe(200);
    expect(res.headers.get("content-type")).toBe("application/x-pkcs12");
    expect(res.headers.get("content-disposition")).toBe('attachment; filename="web01.p12"');
    expect(res.headers.get("cache-control")).toBe("no-store");
    const p12 = await save(res, "web01.p12");
    const cert = scratch.file("web01-from-p12.pem", opensslOk(["pkcs12", "-in", p12, "-passin", `pass:${P12_PW}`, "-clcerts", "-nokeys"]));
    const key = opensslOk(["pkcs12", "-in", p12, "-passin", `pass:${P12_PW}`, "-nocerts", "-nodes"]);
    expect(opensslOk(["pkey", "-pubout"], key)).toBe(opensslOk(["x509", "-in", cert, "-noout", "-pubkey"]));
    expect(opensslOk(["x509", "-in", cert, "-noout", "-subject"])).toBe("subject=CN = web01.example.com\n");
    expect(openssl(["verify", "-x509_strict", "-purpose", "sslserver", "-CAfile", caFile(), cert]).status).toBe(0);
    // The key on disk is the one generated at Submit: the same public key.
    expect(opensslOk(["pkey", "-in", scratch.path("client/web01.key"), "-passin", `pass:${KEY_PW}`, "-pubout"])).toBe(opensslOk(["pkey", "-pubout"], key));

    const legacy = await save(await post(numbers.web, { format: "pkcs12", password: P12_PW, keyPassword: KEY_PW, legacy: true }), "legacy.p12");
    expect(openssl(["pkcs12", "-info", "-noout", "-in", legacy, "-passin", `pass:${P12_PW}`]).stderr).toContain("MAC: sha1");

    // Each export of the key is in the audit log: who, which certificate, which form; no password.
    const exports = (await listAudit({})).items.filter((e) => e.action === "certificate.bundle_export" && e.target === `certificate:${numbers.web}`);
    expect(exports.map((e) => e.details)).toEqual([
      { format: "pkcs12", source: "server", keyFile: "web01.key", keyEncrypted: true, legacy: true, file: "web01.p12" },
      { format: "pkcs12", source: "server", keyFile: "web01.key", keyEncrypted: true, legacy: false, file: "web01.p12" },
    ]);
    expect(exports.every((e) => e.actor === "bundle-admin")).toBe(true);
    expect(JSON.stringify(exports)).not.toContain(P12_PW);
  });

  it("pem-with-key: encrypted with the password, or unencrypted on request", async () => {
    const enc = await post(numbers.web, { format: "pem-with-key", password: P12_PW, keyPassword: KEY_PW });
    expect(enc.headers.get("content-disposition")).toBe('attachment; filename="web01.pem"');
    const encFile = await save(enc, "web01.pem");
    expect(readFileSync(encFile, "utf8")).toContain("BEGIN ENCRYPTED PRIVATE KEY");
    expect(opensslOk(["pkey", "-in", encFile, "-passin", `pass:${P12_PW}`, "-pubout"])).toBe(opensslOk(["x509", "-in", encFile, "-noout", "-pubkey"]));
    const plain = await save(await post(numbers.web, { format: "pem-with-key", unencrypted: true, keyPassword: KEY_PW }), "plain.pem");
    expect(readFileSync(plain, "utf8")).toMatch(/-----BEGIN PRIVATE KEY-----/);
    expect(openssl(["verify", "-x509_strict", "-purpose", "sslserver", "-CAfile", caFile(), plain]).status).toBe(0);
  });

  it("cockroach: a node archive by GET (unencrypted key file) and a client archive by POST with the key password", async () => {
    for (const [res, crt, key] of [
      [await get(numbers.node, "?format=cockroach"), "node.crt", "node.key"],
      [await post(numbers.client, { format: "cockroach", keyPassword: KEY_PW }), "client.maxroach.crt", "client.maxroach.key"],
    ] as const) {
      expect(res.status).toBe(200);
      expect(res.headers.get("content-disposition")).toBe('attachment; filename="certs.tar.gz"');
      const archive = await save(res, "certs.tar.gz");
      const listing = spawnSync("tar", ["-tvzf", archive], { encoding: "utf8" }).stdout;
      expect(listing).toMatch(new RegExp(`-rw-r--r-- .* certs/${crt.replace(/\./g, "\\.")}\\n`));
      expect(listing).toMatch(new RegExp(`-rw------- .* certs/${key.replace(/\./g, "\\.")}\\n`));
      expect(listing).toMatch(/-rw-r--r-- .* certs\/ca\.crt\n/);
      const dir = scratch.path(`x-${++n}`);
      spawnSync("mkdir", [dir]);
      expect(spawnSync("tar", ["-xzf", archive, "-C", dir]).status).toBe(0);
      const purpose = crt === "node.crt" ? "sslserver" : "sslclient";
      const v = openssl(["verify", "-x509_strict", "-purpose", purpose, "-CAfile", `${dir}/certs/ca.crt`, `${dir}/certs/${crt}`]);
      expect(v.status, v.stdout + v.stderr).toBe(0);
      expect(opensslOk(["pkey", "-in", `${dir}/certs/${key}`, "-pubout"])).toBe(opensslOk(["x509", "-in", `${dir}/certs/${crt}`, "-noout", "-pubkey"]));
    }
  });

  it("source=client fetches the certificate and chain from the CA client's server over HTTP", async () => {
    const local = Buffer.from(await (await get(numbers.node, "?format=trust&source=server")).arrayBuffer());
    const remote = await get(numbers.node, "?format=trust&source=client");
    expect(remote.status).toBe(200);
    expect(Buffer.from(await remote.arrayBuffer()).equals(local)).toBe(true);
    const viaClient = await save(await post(numbers.node, { format: "pem-with-key", unencrypted: true, source: "client" }), "node.pem");
    expect(openssl(["verify", "-x509_strict", "-purpose", "sslserver", "-CAfile", caFile(), viaClient]).status).toBe(0);
    expect(await errorOf(await get(numbers.node, "?format=trust&source=elsewhere"))).toMatchObject({ status: 400, fields: { source: 'source must be "server" or "client"' } });
  });

  it("rows recorded before spkiSha256 existed find their key through the CSR file, and get it filled in", async () => {
    const db = await getDb();
    const row = await db.clientRequest.findFirstOrThrow({ where: { fileNameRoot: "crdb-node" } });
    expect(row.spkiSha256).toMatch(/^[0-9a-f]{64}$/);
    // The SHA-256 of the certificate's SubjectPublicKeyInfo, as OpenSSL computes it.
    const spki = spawnSync("openssl", ["pkey", "-pubin", "-outform", "DER"], { input: opensslOk(["pkey", "-in", row.keyFile, "-pubout"]) }).stdout;
    expect(row.spkiSha256).toBe(opensslOk(["dgst", "-sha256", "-r"], spki).split(" ")[0]);
    await db.clientRequest.update({ where: { id: row.id }, data: { spkiSha256: null } });
    expect((await get(numbers.node, "?format=cockroach")).status).toBe(200);
    expect((await db.clientRequest.findUniqueOrThrow({ where: { id: row.id } })).spkiSha256).toBe(row.spkiSha256);
  });

  it("a revoked certificate gets no bundle with a key (409), but its trust bundle", async () => {
    await revokeCertificate(numbers.web, { reason: "superseded", caKeyPassword: CA_PW }, { actor: "admin" });
    const e = await errorOf(await post(numbers.web, { format: "pkcs12", password: P12_PW, keyPassword: KEY_PW }));
    expect(e).toMatchObject({ status: 409, code: "conflict", message: `Certificate number ${numbers.web} is revoked: relying parties refuse it, so no bundle is made for it` });
    expect((await get(numbers.web, "?format=trust")).status).toBe(200);
  });
});
