import { beforeEach, describe, expect, it } from "vitest";
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { getDb } from "../db/index.ts";
import { opensslOk } from "../pki/test-support.ts";
import { expectAppError } from "../test-support/app-error.ts";
import { useIsolatedDataDir } from "../test-support/data-dir.ts";
import { insertAdmin } from "../auth/test-support.ts";
import { createApiToken } from "../auth/api-tokens.ts";
import { GET as previewApi } from "../../app/api/v1/admin/csrs/[id]/preview/route.ts";
import { POST as issueApi } from "../../app/api/v1/admin/csrs/[id]/issue/route.ts";
import { configureCaServer } from "./configure-server.ts";
import { reinitializeCaServer } from "./reinitialize-server.ts";
import { getRequest, submitRequest } from "./requests.ts";
import { issueRequest } from "./issue-request.ts";
import { previewRequest } from "./preview-request.ts";

const scratch = useIsolatedDataDir("preview", { PORTCULLIS_PUBLIC_URL: undefined });
const KEY_PW = "preview test CA password";
const PORTAL = "http://127.0.0.1:3999";
let counter = 0;
let caDir = "";

function csr(subject: string, san?: string): string {
  const base = scratch.path(`csr-${++counter}`);
  opensslOk(["req", "-new", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-keyout", `${base}.key`, "-subj", subject, ...(san ? ["-addext", `subjectAltName=${san}`] : []), "-out", `${base}.csr`]);
  return readFileSync(`${base}.csr`, "utf8");
}

async function pending(subject: string, san?: string): Promise<string> {
  return (await submitRequest({ csr: csr(subject, san), contact: { name: "Tina Tech" }, filename: `F${++counter}` })).id;
}

const issueInput = { usage: "tls", caKeyPassword: KEY_PW, fingerprintVerified: true };

async function configure(issuedValidityDays = 365) {
  const db = await getDb();
  if (await db.caServer.count()) await reinitializeCaServer();
  caDir = `ca-${++counter}`;
  await configureCaServer({
    fileNameRoot: "PreviewCA",
    directory: caDir,
    keyPassword: KEY_PW,
    subject: { C: "DE", O: "Example", CN: "Preview Test CA" },
    caValidityDays: 3650,
    issuedValidityDays,
    adminEmail: "camgr@example.com",
  });
}

beforeEach(() => configure());

describe("previewRequest", () => {
  it("shows what issuing will produce — and issuing then produces exactly that, as OpenSSL reads it", async () => {
    const id = await pending("/O=Example/CN=web.example.com", "DNS:web.example.com,IP:10.0.0.7");
    const now = new Date();
    const p = await previewRequest(id, "tls", { portalUrl: PORTAL, now });
    expect(p.lint).toEqual({ errors: [], warnings: [] });
    expect(p.requested).toMatchObject({ subject: "O=Example, CN=web.example.com", publicKey: "ECDSA P-256", subjectAltNames: ["DNS:web.example.com", "IP:10.0.0.7"] });
    expect(p.issued).toMatchObject({
      subject: "O=Example, CN=web.example.com",
      issuer: "C=DE, O=Example, CN=Preview Test CA",
      basicConstraints: { value: "CA:FALSE", critical: true },
      keyUsage: { value: ["digitalSignature"], critical: true },
      extendedKeyUsage: { value: ["serverAuth", "clientAuth"], critical: false },
      subjectAltNames: ["DNS:web.example.com", "IP:10.0.0.7"],
      crlDistributionPoints: [`${PORTAL}/crl/PreviewCA.crl`],
      ocsp: [`${PORTAL}/ocsp`],
      caIssuers: [`${PORTAL}/api/v1/ca/certificate?format=der`],
      signatureAlgorithm: "ecdsa-with-SHA256",
    });

    const issued = await issueRequest(id, issueInput, { actor: "admin", portalUrl: PORTAL, now });
    expect(issued.lintWarnings).toEqual([]);
    const file = scratch.file("issued.pem", issued.pem);
    const text = opensslOk(["x509", "-in", file, "-noout", "-text"]);
    expect(text).toMatch(/X509v3 Basic Constraints: critical\s*\n\s*CA:FALSE/);
    expect(text).toMatch(/X509v3 Key Usage: critical\s*\n\s*Digital Signature\n/);
    expect(text).toMatch(/X509v3 Extended Key Usage:\s*\n\s*TLS Web Server Authentication, TLS Web Client Authentication/);
    expect(text).toMatch(/X509v3 Subject Alternative Name:\s*\n\s*DNS:web.example.com, IP Address:10.0.0.7/);
    // The same validity and key identifiers as previewed (only the serial and signature differ).
    expect(issued.notBefore).toBe(p.issued!.notBefore);
    expect(issued.notAfter).toBe(p.issued!.notAfter);
    const ski = /X509v3 Subject Key Identifier:\s*\n\s*(.+)\n/.exec(text)![1].trim();
    expect(ski).toBe(p.issued!.subjectKeyIdentifier);
    const caSki = /X509v3 Subject Key Identifier:\s*\n\s*(.+)\n/.exec(opensslOk(["x509", "-in", join(scratch.dir, caDir, "PreviewCA.cer"), "-noout", "-text"]))![1].trim();
    expect(p.issued!.authorityKeyIdentifier).toBe(caSki);
  });

  it("updates with the usage: an intermediate CA, code signing", async () => {
    const id = await pending("/O=Example/CN=Example Issuing CA");
    const ca = await previewRequest(id, "intermediate-ca");
    expect(ca.issued).toMatchObject({ basicConstraints: { value: "CA:TRUE, pathlen:0", critical: true }, keyUsage: { value: ["keyCertSign", "cRLSign"], critical: true }, extendedKeyUsage: null });
    expect(ca.lint.errors).toEqual([]);
    const code = await previewRequest(id, "code-signing");
    expect(code.issued).toMatchObject({ basicConstraints: { value: "CA:FALSE" }, extendedKeyUsage: { value: ["codeSigning"] } });
  });

  it("turns a usage's refusal into an error finding (a TLS server certificate needs a host name)", async () => {
    const id = await pending("/O=Example/CN=My Laptop");
    const p = await previewRequest(id, "tls");
    expect(p.issued).toBeNull();
    expect(p.lint.errors).toHaveLength(1);
    expect(p.lint.errors[0].code).toBe("usage_refused");
    expect(p.lint.errors[0].message).toMatch(/no host name/);
    // The same request is fine as a client certificate.
    expect((await previewRequest(id, "tls-client")).lint.errors).toEqual([]);
  });

  it("refuses bad input: an unknown usage (422), an unknown request (404), one already processed (409)", async () => {
    const id = await pending("/CN=a.example.com", "DNS:a.example.com");
    await expectAppError(previewRequest(id, "server"), "validation_failed", "usage");
    await expectAppError(previewRequest("00000000-0000-0000-0000-000000000000", "tls"), "not_found");
    await expectAppError(previewRequest("../etc/passwd", "tls"), "not_found");
    await issueRequest(id, issueInput, { actor: "admin" });
    await expectAppError(previewRequest(id, "tls"), "conflict");
  });
});

describe("lint before issuance", () => {
  it("refuses a TLS certificate whose common name is not among its SANs: 422 with the finding, nothing stored, no number used", async () => {
    const db = await getDb();
    const bad = await pending("/O=Example/CN=www.example.com", "DNS:api.example.com");
    const preview = await previewRequest(bad, "tls");
    expect(preview.lint.errors.map((f) => f.code)).toEqual(["cn_not_in_san"]);
    const before = await db.caServer.findUniqueOrThrow({ where: { id: 1 } });
    const srl = join(scratch.dir, caDir, "PreviewCA.srl");
    const srlBefore = readFileSync(srl, "utf8");

    const e = await expectAppError(issueRequest(bad, issueInput, { actor: "admin" }), "validation_failed");
    expect(e.status).toBe(422);
    expect(e.message).toContain('The common name "www.example.com" is not among the subjectAltName DNS names and IP addresses');
    expect(e.message).toContain("[cn_not_in_san]");
    expect((await getRequest(bad)).status).toBe("pending");
    expect(await db.certificate.count()).toBe(0);
    expect((await db.caServer.findUniqueOrThrow({ where: { id: 1 } })).nextNumber).toBe(before.nextNumber);
    expect(readFileSync(srl, "utf8")).toBe(srlBefore);

    // The next good request gets the number the refused one did not use.
    const good = await pending("/O=Example/CN=api.example.com", "DNS:api.example.com");
    expect((await issueRequest(good, issueInput, { actor: "admin" })).number).toBe(before.nextNumber);
    // The refused request can still be issued for a usage where the CN is no host name.
    const client = await issueRequest(bad, { ...issueInput, usage: "tls-client" }, { actor: "admin" });
    expect(client.number).toBe(before.nextNumber + 1);
  });

  it("issues with warnings and returns them: a TLS certificate valid for more than 398 days", async () => {
    await configure(500);
    const id = await pending("/CN=long.example.com", "DNS:long.example.com");
    const r = await issueRequest(id, issueInput, { actor: "admin" });
    expect(r.lintWarnings.map((f) => f.code)).toEqual(["validity_over_398_days"]);
    expect(r.lintWarnings[0].message).toMatch(/valid for 501 days/);
  });
});

describe("the HTTP API", () => {
  async function bearer(): Promise<Record<string, string>> {
    const admin = await insertAdmin(`preview-admin-${++counter}`);
    const { token } = await createApiToken(admin.id, { name: "preview test" });
    return { authorization: `Bearer ${token}` };
  }
  const get = (id: string, usage: string | null, headers: Record<string, string>) =>
    previewApi(new Request(`http://127.0.0.1/api/v1/admin/csrs/${id}/preview${usage === null ? "" : `?usage=${encodeURIComponent(usage)}`}`, { headers }), { params: Promise.resolve({ id }) });

  it("GET …/preview answers the preview as JSON to an administrator, 401 otherwise, 4xx for bad input", async () => {
    const h = await bearer();
    const id = await pending("/CN=api.example.com", "DNS:api.example.com");
    const ok = await get(id, "tls-client", h);
    expect(ok.status).toBe(200);
    const body = await ok.json();
    expect(body).toMatchObject({ requestId: id, usage: "tls-client", usageLabel: "TLS client only", issued: { extendedKeyUsage: { value: ["clientAuth"] } }, lint: { errors: [], warnings: [] } });
    expect((await get(id, null, h)).status).toBe(200);

    expect((await get(id, "tls", {})).status).toBe(401);
    const bad = await get(id, "<script>", h);
    expect(bad.status).toBe(422);
    expect((await bad.json()).error.code).toBe("validation_failed");
    expect((await get("00000000-0000-0000-0000-000000000000", "tls", h)).status).toBe(404);
  });

  it("POST …/issue answers 422 with the lint findings and the request stays pending; a good one answers lintWarnings", async () => {
    const h = { ...(await bearer()), "content-type": "application/json" };
    const post = (id: string) =>
      issueApi(new Request(`http://127.0.0.1/api/v1/admin/csrs/${id}/issue`, { method: "POST", headers: h, body: JSON.stringify(issueInput) }), { params: Promise.resolve({ id }) });
    const bad = await pending("/CN=www.example.com", "DNS:api.example.com");
    const refused = await post(bad);
    expect(refused.status).toBe(422);
    const err = (await refused.json()).error;
    expect(err.code).toBe("validation_failed");
    expect(err.message).toContain("cn_not_in_san");
    expect((await getRequest(bad)).status).toBe("pending");

    const good = await pending("/CN=api.example.com", "DNS:api.example.com");
    const created = await post(good);
    expect(created.status).toBe(201);
    const body = await created.json();
    expect(body.lintWarnings).toEqual([]);
    writeFileSync(scratch.path("api.pem"), body.pem);
    expect(opensslOk(["x509", "-in", scratch.path("api.pem"), "-noout", "-subject"])).toMatch(/CN\s*=\s*api.example.com/);
  });
});
