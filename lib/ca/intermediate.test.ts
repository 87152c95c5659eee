import { afterAll, beforeEach, describe, expect, it } from "vitest";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { existsSync, mkdirSync, readFileSync, readdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { getDb } from "../db/index.ts";
import { createCsr } from "../client/create-csr.ts";
import { encryptPrivateKey, decryptPrivateKey } from "../pki/pkcs8.ts";
import { parseCertificate } from "../pki/certificates.ts";
import { createCrl } from "../pki/crl.ts";
import { openssl, opensslOk } from "../pki/test-support.ts";
import { expectAppError } from "../test-support/app-error.ts";
import { useIsolatedDataDir } from "../test-support/data-dir.ts";
import { configureCaServer, inspectCaServerLocation } from "./configure-server.ts";
import { reinitializeCaServer } from "./reinitialize-server.ts";
import { findCaServerView, getPublicCaCertificate } from "./get-server.ts";
import { submitRequest } from "./requests.ts";
import { issueRequest } from "./issue-request.ts";
import { revokeCertificate, currentCrl } from "./revoke-certificate.ts";
import { certificateFile } from "./certificates.ts";
import { GET as getCaCertificateRoute } from "@/app/api/v1/ca/certificate/route.ts";
import { GET as getCaRoute } from "@/app/api/v1/ca/route.ts";
import { configureCaClient } from "../client/configure-client.ts";
import { getCaCertificate } from "../client/get-certificates.ts";

const scratch = useIsolatedDataDir("intermediate", { PORTCULLIS_PUBLIC_URL: undefined });
const ROOT_PW = "root CA key password";
const INTER_PW = "intermediate key password";
const CERT_BLOCK = /-----BEGIN CERTIFICATE-----[\s\S]*?-----END CERTIFICATE-----\n?/g;
let counter = 0;

function blocks(pem: string): string[] {
  return pem.match(CERT_BLOCK) ?? [];
}

function file(name: string, content: string): string {
  const p = scratch.path(name);
  writeFileSync(p, content);
  return p;
}

async function configured(): Promise<boolean> {
  return (await (await getDb()).caServer.count()) > 0;
}

beforeEach(async () => {
  if (await configured()) await reinitializeCaServer();
});

async function issue(csr: string, usage: string, filename: string, password: string, portalUrl?: string): Promise<{ number: number; pem: string }> {
  const r = await submitRequest({ csr, contact: { name: "Tina Tech", email: "tina@example.com" }, filename });
  return issueRequest(r.id, { usage, caKeyPassword: password, fingerprintVerified: true, verificationChannel: "phone" }, { actor: "admin", portalUrl });
}

function leafCsr(cn: string): string {
  const base = scratch.path(`leaf-${++counter}`);
  opensslOk(["req", "-new", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-keyout", `${base}.key`, "-subj", `/O=Example/CN=${cn}`, "-addext", `subjectAltName=DNS:${cn}`, "-out", `${base}.csr`]);
  return readFileSync(`${base}.csr`, "utf8");
}

/** This instance's public CA routes over loopback HTTP, for the CA client: the real route handlers. */
let api: Server | undefined;
async function startApi(): Promise<number> {
  const routes: Record<string, (req: Request, ctx: undefined) => Promise<Response>> = { "/api/v1/ca": getCaRoute, "/api/v1/ca/certificate": getCaCertificateRoute };
  api = createServer(async (req, res) => {
    const url = new URL(req.url!, "http://127.0.0.1");
    const handler = req.method === "GET" ? routes[url.pathname] : undefined;
    const answer = handler ? await handler(new Request(url), undefined) : Response.json({ error: { code: "not_found", message: "No such route" } }, { status: 404 });
    res.writeHead(answer.status, Object.fromEntries(answer.headers));
    res.end(Buffer.from(await answer.arrayBuffer()));
  });
  return new Promise((resolve) => api!.listen(0, "127.0.0.1", () => resolve((api!.address() as AddressInfo).port)));
}
afterAll(() => new Promise<void>((resolve) => (api ? api.close(() => resolve()) : resolve())));

const existing = (directory: string, over: Record<string, unknown> = {}) => ({ fileNameRoot: "IssuingCA", directory, keyPassword: INTER_PW, issuedValidityDays: 10, adminEmail: "camgr@example.com", ...over });

describe("an intermediate CA issued by another Portcullis CA", () => {
  it("is configured in existing mode with its chain, and issues leaves whose chains OpenSSL verifies (with both CRLs)", async () => {
    // The root: a new CA on this instance.
    await configureCaServer({ fileNameRoot: "RootCA", directory: "root", keyPassword: ROOT_PW, subject: { C: "US", O: "Example", CN: "Example Root CA" }, keyAlgorithm: "ecdsa-p256", caValidityDays: 3650, issuedValidityDays: 1825, adminEmail: "camgr@example.com" });
    const rootPem = readFileSync(join(scratch.dir, "root", "RootCA.cer"), "utf8");
    const rootFile = file("root.pem", rootPem);
    const rootSubject = parseCertificate(rootPem).subject;

    // The intermediate's key pair and CSR, made as the CA client makes them; the root issues it.
    const req = await createCsr({ subject: { O: "Example", CN: "Example Issuing CA" }, keyAlgorithm: "ecdsa-p384" });
    const inter = await issue(req.csrPem, "intermediate-ca", "IssuingCA", ROOT_PW, "http://root.example.test");
    const interFile = file("intermediate.pem", inter.pem);
    expect(opensslOk(["verify", "-x509_strict", "-CAfile", rootFile, interFile])).toContain(": OK");
    const rootKey = decryptPrivateKey(readFileSync(join(scratch.dir, "root", "RootCA.key"), "utf8"), ROOT_PW);

    // The second configuration, on the same data directory after the first is set aside.
    await reinitializeCaServer();
    const dir = join(scratch.dir, "issuing");
    mkdirSync(dir, { recursive: true });
    writeFileSync(join(dir, "IssuingCA.key"), await encryptPrivateKey(req.privateKey, INTER_PW), { mode: 0o600 });
    writeFileSync(join(dir, "IssuingCA.cer"), inter.pem);

    const insp = await inspectCaServerLocation({ fileNameRoot: "IssuingCA", directory: "issuing" });
    expect(insp).toMatchObject({ mode: "existing", certificate: { issuer: rootSubject, selfSigned: false }, chainFound: null });

    // Without its chain it is refused, saying whose certificate is missing; nothing is written.
    const missing = await expectAppError(configureCaServer(existing("issuing")), "validation_failed", "chainPem");
    expect(missing.fields?.chainPem).toContain(`the certificate of ${rootSubject} is missing`);
    expect(readdirSync(dir).sort()).toEqual(["IssuingCA.cer", "IssuingCA.key"]);
    expect(await configured()).toBe(false);

    const r = await configureCaServer(existing("issuing", { chainPem: rootPem }));
    expect(r.mode).toBe("existing");
    const chainPath = join(dir, "IssuingCA_chain.pem");
    expect(r.files).toContain(chainPath);
    expect(r.message).toContain(`Issuer chain: 1 certificate up to the root ${rootSubject}, saved with the CA certificate in ${chainPath}.`);
    expect(r.chain.map((l) => l.subject)).toEqual([parseCertificate(inter.pem).subject, rootSubject]);
    // The chain file is the CA certificate then the root, and OpenSSL builds the path from it.
    const chainText = readFileSync(chainPath, "utf8");
    expect(blocks(chainText)).toEqual([inter.pem, rootPem]);
    expect(opensslOk(["verify", "-x509_strict", "-CAfile", rootFile, "-untrusted", chainPath, interFile])).toContain(": OK");
    const fpRoot = opensslOk(["x509", "-in", rootFile, "-noout", "-fingerprint", "-sha1"]).trim().split("=")[1];
    const view = await findCaServerView();
    expect(view?.files.chain).toBe(chainPath);
    expect(view?.chain.map((l) => [l.subject, l.issuer, l.sha1Fingerprint, l.selfSigned])).toEqual([
      [parseCertificate(inter.pem).subject, rootSubject, r.sha1Fingerprint, false],
      [rootSubject, rootSubject, fpRoot, true],
    ]);
    expect((await getPublicCaCertificate()).chainPem).toBe(rootPem);

    // A TLS leaf from the intermediate: AKI is the intermediate's SKI, caIssuers points here.
    const leaf = await issue(leafCsr("web.example.com"), "tls", "web", INTER_PW, "http://issuing.example.test");
    const leafFile = file("leaf.pem", leaf.pem);
    expect(opensslOk(["verify", "-x509_strict", "-purpose", "sslserver", "-CAfile", rootFile, "-untrusted", interFile, leafFile]).trim()).toBe(`${leafFile}: OK`);
    // Without the intermediate, OpenSSL cannot build the path: the chain is needed.
    expect(openssl(["verify", "-x509_strict", "-CAfile", rootFile, leafFile]).status).not.toBe(0);
    const leafText = opensslOk(["x509", "-in", leafFile, "-noout", "-text"]);
    const interText = opensslOk(["x509", "-in", interFile, "-noout", "-text"]);
    const ski = /Subject Key Identifier:\s*\n\s*([0-9A-F:]+)/.exec(interText)![1];
    expect(leafText).toMatch(new RegExp(`Authority Key Identifier:\\s*\\n\\s*(keyid:)?${ski}`));
    expect(leafText).toContain("CA Issuers - URI:http://issuing.example.test/api/v1/ca/certificate?format=der");
    expect(leafText).toContain("URI:http://issuing.example.test/crl/IssuingCA.crl");

    // The chain download: leaf, intermediate, root — split, and verified the same way.
    const download = await certificateFile(leaf.number, "chain");
    const parts = blocks(String(download.body));
    expect(parts).toEqual([leaf.pem, inter.pem, rootPem]);
    const [leafPart, interPart, rootPart] = parts.map((p, i) => file(`download-${i}.pem`, p));
    expect(opensslOk(["verify", "-x509_strict", "-purpose", "sslserver", "-CAfile", rootPart, "-untrusted", interPart, leafPart]).trim()).toBe(`${leafPart}: OK`);
    // The whole download as the untrusted bundle works too.
    const whole = file("download-all.pem", String(download.body));
    expect(opensslOk(["verify", "-x509_strict", "-purpose", "sslserver", "-CAfile", rootFile, "-untrusted", whole, leafFile])).toContain(": OK");

    // The CA certificate endpoints: the chain form, and the issuers in GET /api/v1/ca.
    const caChain = await getCaCertificateRoute(new Request("http://localhost/api/v1/ca/certificate?format=chain"), undefined);
    expect(caChain.status).toBe(200);
    expect(caChain.headers.get("content-disposition")).toBe('attachment; filename="IssuingCA_chain.pem"');
    expect(blocks(await caChain.text())).toEqual([inter.pem, rootPem]);
    const caJson = await (await getCaRoute(new Request("http://localhost/api/v1/ca"), undefined)).json();
    expect(caJson.chainPem).toBe(rootPem);
    expect((await getCaCertificateRoute(new Request("http://localhost/api/v1/ca/certificate?format=p7b"), undefined)).status).toBe(400);

    // Revocation: the intermediate's own CRL lists its revoked leaf; the root's CRL is empty.
    const other = await issue(leafCsr("old.example.com"), "tls", "old", INTER_PW, "http://issuing.example.test");
    await revokeCertificate(other.number, { reason: "keyCompromise", caKeyPassword: INTER_PW }, { actor: "admin" });
    const interCrl = file("intermediate.crl.pem", (await currentCrl()).pem);
    expect(openssl(["crl", "-in", interCrl, "-CAfile", chainPath, "-noout", "-verify"]).stderr).toContain("verify OK");
    const now = new Date();
    const rootCrl = await createCrl({ ca: { certificate: parseCertificate(rootPem), privateKey: rootKey }, crlNumber: 1, thisUpdate: now, nextUpdate: new Date(now.getTime() + 86400_000), revoked: [] });
    const rootCrlFile = file("root.crl.pem", rootCrl.pem);
    const otherFile = file("revoked.pem", other.pem);
    const crlArgs = ["verify", "-x509_strict", "-crl_check_all", "-CAfile", rootFile, "-untrusted", interFile, "-CRLfile", rootCrlFile, "-CRLfile", interCrl];
    expect(opensslOk([...crlArgs, leafFile]).trim()).toBe(`${leafFile}: OK`);
    const revoked = openssl([...crlArgs, otherFile]);
    expect(revoked.status).not.toBe(0);
    expect(revoked.stdout + revoked.stderr).toContain("certificate revoked");
    // -crl_check_all needs the root's CRL too: without it the path is refused.
    const noRootCrl = openssl(["verify", "-crl_check_all", "-CAfile", rootFile, "-untrusted", interFile, "-CRLfile", interCrl, leafFile]);
    expect(noRootCrl.status).not.toBe(0);
    expect(noRootCrl.stdout + noRootCrl.stderr).toContain("unable to get certificate CRL");

    // A CA client of this instance saves the CA certificate and, beside it, the chain.
    const port = await startApi();
    await configureCaClient({ serverHost: "127.0.0.1", serverPort: String(port), serverPath: "/api/v1", instanceName: "CLIENT1", contactName: "Ann Contact" });
    const saved = await getCaCertificate();
    const clientChain = join(scratch.dir, "client", "IssuingCA_chain.pem");
    expect(saved.file).toBe(join(scratch.dir, "client", "IssuingCA.cer"));
    expect(saved.message).toBe(`Certificate Authority Certificate (SHA-1 Fingerprint: ${r.sha1Fingerprint}) saved in file "${saved.file}"`);
    expect(saved.chainFile).toBe(clientChain);
    expect(saved.chainMessage).toBe(`Certificate Authority chain (2 certificates, up to the root ${rootSubject}) saved in file "${clientChain}"`);
    expect(blocks(readFileSync(clientChain, "utf8"))).toEqual([inter.pem, rootPem]);
    expect(opensslOk(["verify", "-x509_strict", "-purpose", "sslserver", "-CAfile", rootFile, "-untrusted", clientChain, leafFile])).toContain(": OK");

    // Reinitialize and configure again: the chain is read back from IssuingCA_chain.pem.
    await reinitializeCaServer();
    const again = await configureCaServer(existing("issuing"));
    expect(again.message).toContain(`Issuer chain: 1 certificate up to the root ${rootSubject}, in ${chainPath}.`);
    expect(readFileSync(chainPath, "utf8")).toBe(chainText);
    expect(readdirSync(dir).filter((f) => f.includes(".old"))).toEqual([]);
  });
});

describe("an intermediate CA configured without its chain", () => {
  it("fetches its issuer from the caIssuers URL it names; an unreachable one is refused with the reason", async () => {
    let served: Buffer | null = null;
    const server = createServer((req, res) => {
      if (served && req.url === "/api/v1/ca/certificate?format=der") {
        res.writeHead(200, { "content-type": "application/pkix-cert" });
        return res.end(served);
      }
      res.writeHead(404).end();
    });
    const port = await new Promise<number>((resolve) => server.listen(0, "127.0.0.1", () => resolve((server.address() as AddressInfo).port)));
    try {
      await configureCaServer({ fileNameRoot: "AiaRoot", directory: "aia-root", keyPassword: ROOT_PW, subject: { O: "Example", CN: "AIA Root CA" }, caValidityDays: 3650, issuedValidityDays: 1825, adminEmail: "camgr@example.com" });
      const rootPem = readFileSync(join(scratch.dir, "aia-root", "AiaRoot.cer"), "utf8");
      const req = await createCsr({ subject: { CN: "AIA Issuing CA" }, keyAlgorithm: "ecdsa-p256" });
      const base = `http://127.0.0.1:${port}`;
      const inter = await issue(req.csrPem, "intermediate-ca", "AiaIssuing", ROOT_PW, base);
      await reinitializeCaServer();
      const dir = join(scratch.dir, "aia-issuing");
      mkdirSync(dir, { recursive: true });
      writeFileSync(join(dir, "IssuingCA.key"), await encryptPrivateKey(req.privateKey, INTER_PW));
      writeFileSync(join(dir, "IssuingCA.cer"), inter.pem);
      const url = `${base}/api/v1/ca/certificate?format=der`;
      expect((await inspectCaServerLocation({ fileNameRoot: "IssuingCA", directory: "aia-issuing" })).caIssuersUrl).toBe(url);

      const e = await expectAppError(configureCaServer(existing("aia-issuing")), "validation_failed", "chainPem");
      expect(e.fields?.chainPem).toContain("the certificate of O=Example, CN=AIA Root CA is missing");
      expect(e.fields?.chainPem).toContain(`Fetching it from ${url} (named in CN=AIA Issuing CA) failed: it answered HTTP 404.`);
      expect(readdirSync(dir).sort()).toEqual(["IssuingCA.cer", "IssuingCA.key"]);

      served = Buffer.from(parseCertificate(rootPem).rawData);
      const r = await configureCaServer(existing("aia-issuing"));
      const chainPath = join(dir, "IssuingCA_chain.pem");
      expect(r.message).toContain(`Issuer chain: 1 certificate up to the root O=Example, CN=AIA Root CA (fetched from ${url}), saved with the CA certificate in ${chainPath}.`);
      expect(blocks(readFileSync(chainPath, "utf8"))).toEqual([inter.pem, rootPem]);
      expect(opensslOk(["verify", "-x509_strict", "-CAfile", file("aia-root.pem", rootPem), chainPath])).toContain(": OK");
    } finally {
      await new Promise((resolve) => server.close(resolve));
    }
  });
});

// ---------------------------------------------------------------------------------
// A hierarchy made by OpenSSL, so the refusals are about certificates Portcullis did not write.

interface Made {
  key: string;
  cer: string;
  pem: string;
}

function extFile(lines: string[]): string {
  return file(`ext-${++counter}.cnf`, `[ext]\n${lines.join("\n")}\n`);
}

/** A key (encrypted with INTER_PW) and a certificate for `subject` signed by `issuer`. */
function make(name: string, opts: { subject: string; issuer: Made; ca?: boolean; pathlen?: number; days?: number; ski?: string; keyUsage?: string }): Made {
  const key = scratch.path(`${name}.key`);
  const cer = scratch.path(`${name}.cer`);
  opensslOk(["genpkey", "-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-256", "-aes-256-cbc", "-pass", `pass:${INTER_PW}`, "-out", key]);
  const ca = opts.ca ?? true;
  const ext = extFile([
    `basicConstraints=critical,CA:${ca ? "TRUE" : "FALSE"}${ca && opts.pathlen !== undefined ? `,pathlen:${opts.pathlen}` : ""}`,
    `keyUsage=critical,${opts.keyUsage ?? (ca ? "keyCertSign,cRLSign" : "digitalSignature")}`,
    `subjectKeyIdentifier=${opts.ski ?? "hash"}`,
    "authorityKeyIdentifier=keyid:always",
  ]);
  const csr = scratch.path(`${name}.csr`);
  opensslOk(["req", "-new", "-key", key, "-passin", `pass:${INTER_PW}`, "-subj", opts.subject, "-out", csr]);
  opensslOk(["x509", "-req", "-in", csr, "-CA", opts.issuer.cer, "-CAkey", opts.issuer.key, "-passin", `pass:${INTER_PW}`, "-CAcreateserial", "-days", String(opts.days ?? 30), "-extfile", ext, "-extensions", "ext", "-out", cer]);
  return { key, cer, pem: opensslOk(["x509", "-in", cer]) };
}

/** A self-signed root: its extensions go through an -config that also holds the req section. */
function makeRoot(name: string, subject: string, pathlen?: number): Made {
  const key = scratch.path(`${name}.key`);
  const cer = scratch.path(`${name}.cer`);
  opensslOk(["genpkey", "-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-256", "-aes-256-cbc", "-pass", `pass:${INTER_PW}`, "-out", key]);
  const cnf = file(`root-${++counter}.cnf`, `[req]\ndistinguished_name=dn\n[dn]\n[ext]\nbasicConstraints=critical,CA:TRUE${pathlen !== undefined ? `,pathlen:${pathlen}` : ""}\nkeyUsage=critical,keyCertSign,cRLSign\nsubjectKeyIdentifier=hash\nauthorityKeyIdentifier=keyid:always\n`);
  opensslOk(["req", "-new", "-x509", "-key", key, "-passin", `pass:${INTER_PW}`, "-subj", subject, "-days", "3650", "-config", cnf, "-extensions", "ext", "-out", cer]);
  return { key, cer, pem: opensslOk(["x509", "-in", cer]) };
}

/** A CA directory holding `IssuingCA.cer` (+ `extra` certificates after it) and `IssuingCA.key`. */
function caDir(ca: Made, extra: Made[] = []): string {
  const name = `dir-${++counter}`;
  const dir = join(scratch.dir, name);
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, "IssuingCA.key"), readFileSync(ca.key));
  writeFileSync(join(dir, "IssuingCA.cer"), ca.pem + extra.map((c) => c.pem).join(""));
  return name;
}

describe("issuer chains that are refused, each with its reason, leaving nothing behind", () => {
  const root = () => makeRoot("root", "/O=Example/CN=OpenSSL Root");
  let R: Made, A: Made, B: Made;
  let setUp = false;
  function hierarchy() {
    if (!setUp) {
      R = root();
      A = make("A", { subject: "/O=Example/CN=Policy CA", issuer: R, days: 365 });
      B = make("B", { subject: "/O=Example/CN=Issuing CA B", issuer: A });
      setUp = true;
    }
  }

  async function refused(directory: string, chainPem: string | undefined, code: "validation_failed" | "not_a_ca" | "bad_request", pattern: RegExp, now?: Date): Promise<void> {
    const dir = join(scratch.dir, directory);
    const before = readdirSync(dir).sort();
    const e = await expectAppError(configureCaServer(existing(directory, chainPem === undefined ? {} : { chainPem }), now ? { now } : {}), code, "chainPem");
    expect(e.fields?.chainPem).toMatch(pattern);
    expect(readdirSync(dir).sort()).toEqual(before);
    expect(existsSync(join(dir, "IssuingCA_chain.pem"))).toBe(false);
    expect(await configured()).toBe(false);
  }

  it("accepts the right chain, given in the form or after the CA certificate in its file", async () => {
    hierarchy();
    const r = await configureCaServer(existing(caDir(B), { chainPem: A.pem + R.pem }));
    expect(r.chain.map((l) => l.subject)).toEqual(["O=Example, CN=Issuing CA B", "O=Example, CN=Policy CA", "O=Example, CN=OpenSSL Root"]);
    await reinitializeCaServer();
    // A "full chain" form field (starting with the CA certificate itself) is the same chain.
    const full = await configureCaServer(existing(caDir(B), { chainPem: B.pem + A.pem + R.pem }));
    expect(full.chain).toHaveLength(3);
    await reinitializeCaServer();
    const dir = caDir(B, [A, R]);
    const insp = await inspectCaServerLocation({ fileNameRoot: "IssuingCA", directory: dir });
    expect(insp.chainFound).toEqual({ file: join(scratch.dir, dir, "IssuingCA.cer"), certificates: 2 });
    const fromFile = await configureCaServer(existing(dir));
    expect(fromFile.chain).toHaveLength(3);
    const chainFile = join(scratch.dir, dir, "IssuingCA_chain.pem");
    expect(blocks(readFileSync(chainFile, "utf8"))).toEqual([B.pem, A.pem, R.pem]);
    expect(opensslOk(["verify", "-x509_strict", "-CAfile", R.cer, "-untrusted", chainFile, B.cer])).toContain(": OK");
  });

  it("in the wrong order", async () => {
    hierarchy();
    await refused(caDir(B), R.pem + A.pem, "validation_failed", /wrong order: the certificate of O=Example, CN=Policy CA \(certificate 2 of the chain\) must come right after the CA certificate/);
  });

  it("without the root", async () => {
    hierarchy();
    await refused(caDir(B), A.pem, "validation_failed", /stops before a self-signed root: the certificate of O=Example, CN=OpenSSL Root, which issued certificate 1 of the chain \(O=Example, CN=Policy CA\), is missing/);
  });

  it("without the nearest issuer", async () => {
    hierarchy();
    await refused(caDir(B), R.pem, "validation_failed", /the certificate of O=Example, CN=Policy CA is missing/);
  });

  it("with an issuer that is not a CA", async () => {
    hierarchy();
    const notCa = make("notca", { subject: "/O=Example/CN=Not A CA", issuer: R, ca: false, keyUsage: "digitalSignature" });
    const below = make("below-notca", { subject: "/O=Example/CN=Issuing CA C", issuer: notCa });
    await refused(caDir(below), notCa.pem + R.pem, "not_a_ca", /The certificate of O=Example, CN=Not A CA \(certificate 1 of the chain, SHA-1 [0-9A-F:]+\) is not a CA certificate/);
  });

  it("with an issuer whose key usage does not allow signing certificates", async () => {
    hierarchy();
    const crlOnly = make("crlonly", { subject: "/O=Example/CN=CRL Only CA", issuer: R, keyUsage: "cRLSign" });
    const below = make("below-crlonly", { subject: "/O=Example/CN=Issuing CA D", issuer: crlOnly });
    await refused(caDir(below), crlOnly.pem + R.pem, "not_a_ca", /may not sign certificates: its key usage lacks keyCertSign/);
  });

  it("with a certificate of the right name but another key (authority key identifier)", async () => {
    hierarchy();
    const impostor = make("impostor", { subject: "/O=Example/CN=Policy CA", issuer: R });
    await refused(caDir(B), impostor.pem + R.pem, "validation_failed", /did not issue the CA certificate: the authority key identifier .* is not its subject key identifier/);
  });

  it("with a certificate that claims the right key identifier but did not sign it", async () => {
    hierarchy();
    const ski = /Subject Key Identifier:\s*\n\s*([0-9A-F:]+)/.exec(opensslOk(["x509", "-in", A.cer, "-noout", "-text"]))![1].replace(/:/g, "");
    const forged = make("forged", { subject: "/O=Example/CN=Policy CA", issuer: R, ski });
    await refused(caDir(B), forged.pem + R.pem, "validation_failed", /The CA certificate is not signed by the certificate given for O=Example, CN=Policy CA \(certificate 1 of the chain, SHA-1 [0-9A-F:]+\): its signature does not verify with that key/);
  });

  it("with an expired issuer", async () => {
    hierarchy();
    const shortLived = make("short", { subject: "/O=Example/CN=Short Lived CA", issuer: R, days: 1 });
    const below = make("below-short", { subject: "/O=Example/CN=Issuing CA E", issuer: shortLived, days: 30 });
    const later = new Date(Date.now() + 3 * 86400_000);
    await refused(caDir(below), shortLived.pem + R.pem, "validation_failed", /The certificate of O=Example, CN=Short Lived CA .* expired on /, later);
  });

  it("through an issuer whose path length constraint is too short", async () => {
    hierarchy();
    const r0 = makeRoot("root-pathlen0", "/O=Example/CN=Pathlen Zero Root", 0);
    const a0 = make("a0", { subject: "/O=Example/CN=Under Pathlen Zero", issuer: r0 });
    const b0 = make("b0", { subject: "/O=Example/CN=Issuing CA F", issuer: a0 });
    await refused(caDir(b0), a0.pem + r0.pem, "validation_failed", /O=Example, CN=Pathlen Zero Root .* has a path length constraint of 0: it allows no CA certificates below it, and this chain has 2/);
  });

  it("with certificates after the root", async () => {
    hierarchy();
    await refused(caDir(B), A.pem + R.pem + A.pem, "validation_failed", /goes on after the self-signed root O=Example, CN=OpenSSL Root \(certificate 2\): remove the 1 certificate after it/);
  });

  it("with a private key in it, or text that is not PEM", async () => {
    hierarchy();
    const dir = caDir(B);
    await refused(dir, A.pem + R.pem + readFileSync(A.key, "utf8"), "bad_request", /holds a private key/);
    await refused(dir, "not a certificate", "bad_request", /No certificate was found/);
    await refused(dir, A.pem.slice(0, 200), "bad_request", /incomplete/);
    // From the API, a chain that is not text.
    await expectAppError(configureCaServer(existing(dir, { chainPem: [A.pem, R.pem] })), "validation_failed", "chainPem");
    expect(await configured()).toBe(false);
  });

  it("a chain in the certificate file that is wrong is refused naming the file", async () => {
    hierarchy();
    const dir = caDir(B, [R, A]);
    await refused(dir, undefined, "validation_failed", new RegExp(`^${join(scratch.dir, dir, "IssuingCA.cer").replace(/[.*+?^${}()|[\]\\/]/g, "\\$&")}: The issuer chain is in the wrong order`));
    // …and a different chain in the form as well is ambiguous.
    await refused(dir, R.pem, "validation_failed", /already holds an issuer chain .* give the chain in one place only/);
  });

  it("a self-signed CA needs no chain, and given one it says so", async () => {
    hierarchy();
    const name = `dir-${++counter}`;
    const dir = join(scratch.dir, name);
    mkdirSync(dir, { recursive: true });
    writeFileSync(join(dir, "IssuingCA.key"), readFileSync(R.key));
    writeFileSync(join(dir, "IssuingCA.cer"), R.pem);
    await refused(name, A.pem, "validation_failed", /is self-signed \(a root\): it has no issuers\. Leave the issuer chain empty/);
    const r = await configureCaServer(existing(name));
    expect(r.chain).toHaveLength(1);
    expect(r.files).not.toContain(join(dir, "IssuingCA_chain.pem"));
    expect(existsSync(join(dir, "IssuingCA_chain.pem"))).toBe(false);
    expect((await getPublicCaCertificate()).chainPem).toBe("");
  });

  it("a different chain file already in the directory is kept as .old when a new chain is given", async () => {
    hierarchy();
    const dir = caDir(B);
    const chainFile = join(scratch.dir, dir, "IssuingCA_chain.pem");
    writeFileSync(chainFile, "stale chain\n");
    // The stale file is what would be used: it is refused, naming it.
    await expectAppError(configureCaServer(existing(dir)), "bad_request", "chainPem");
    const r = await configureCaServer(existing(dir, { chainPem: A.pem + R.pem }));
    expect(r.renamed).toEqual([{ from: chainFile, to: `${chainFile}.old` }]);
    expect(readFileSync(`${chainFile}.old`, "utf8")).toBe("stale chain\n");
    expect(blocks(readFileSync(chainFile, "utf8"))).toEqual([B.pem, A.pem, R.pem]);
  });
});
