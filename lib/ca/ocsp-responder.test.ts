import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { execFile } from "node:child_process";
import { readFileSync, writeFileSync } from "node:fs";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { join } from "node:path";
import { getDb } from "../db/index.ts";
import { opensslOk, opensslSelfSigned } from "../pki/test-support.ts";
import { useIsolatedDataDir } from "../test-support/data-dir.ts";
import { parseCertificate } from "../pki/certificates.ts";
import { ocspResponseStatus } from "../pki/ocsp.ts";
import { POST } from "../../app/ocsp/route.ts";
import { GET } from "../../app/ocsp/[...b64]/route.ts";
import { configureCaServer } from "./configure-server.ts";
import { reinitializeCaServer } from "./reinitialize-server.ts";
import { submitRequest } from "./requests.ts";
import { issueRequest } from "./issue-request.ts";
import { revokeCertificate } from "./revoke-certificate.ts";
import { answerOcsp, ensureOcspSigner } from "./ocsp-responder.ts";
import { unlockCa } from "./server-context.ts";

const scratch = useIsolatedDataDir("ocsp", { PORTCULLIS_PUBLIC_URL: undefined });
const KEY_PW = "ocsp test CA password";
let counter = 0;
let caFile = "";
let server: Server;
let url = "";

/** openssl asynchronously: the responder runs in this very process. */
function opensslAsync(args: string[]): Promise<{ status: number; out: string }> {
  return new Promise((resolve) => {
    execFile("openssl", args, { encoding: "utf8" }, (err, stdout, stderr) => {
      resolve({ status: err ? ((err as { code?: number }).code ?? 1) : 0, out: `${stdout}${stderr}` });
    });
  });
}

function csr(cn: string): string {
  const base = scratch.path(`csr-${++counter}`);
  opensslOk(["req", "-new", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-keyout", `${base}.key`, "-subj", `/CN=${cn}`, "-addext", `subjectAltName=DNS:${cn}`, "-out", `${base}.csr`]);
  return readFileSync(`${base}.csr`, "utf8");
}

async function issue(cn: string) {
  const r = await submitRequest({ csr: csr(cn), contact: { name: "Tina Tech" }, hostname: cn, instance: "PROD", filename: cn.split(".")[0] });
  const issued = await issueRequest(r.id, { usage: "tls", caKeyPassword: KEY_PW, fingerprintVerified: true }, { actor: "admin" });
  const file = scratch.path(`cert-${issued.number}-${++counter}.pem`);
  writeFileSync(file, issued.pem);
  return { ...issued, file };
}

const caRow = async () => (await getDb()).caServer.findUniqueOrThrow({ where: { id: 1 } });

function ocspQuery(...args: string[]) {
  return opensslAsync(["ocsp", "-url", url, "-CAfile", caFile, "-resp_text", ...args]);
}

beforeAll(async () => {
  server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () => {
      const headers = new Headers();
      for (const [k, v] of Object.entries(req.headers)) if (typeof v === "string") headers.set(k, v);
      const full = `http://127.0.0.1${req.url ?? "/"}`;
      const handled =
        req.method === "POST"
          ? POST(new Request(full, { method: "POST", headers, body: Buffer.concat(chunks) }))
          : GET(new Request(full, { method: "GET", headers }));
      handled
        .then(async (r) => {
          res.writeHead(r.status, Object.fromEntries(r.headers));
          res.end(Buffer.from(await r.arrayBuffer()));
        })
        .catch((e: unknown) => {
          res.writeHead(500);
          res.end(String(e));
        });
    });
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/ocsp`;
});

afterAll(async () => {
  await new Promise<void>((r) => server.close(() => r()));
});

beforeEach(async () => {
  const db = await getDb();
  if (await db.caServer.count()) await reinitializeCaServer();
  await configureCaServer({
    fileNameRoot: "OcspCA",
    directory: `ca-${++counter}`,
    keyPassword: KEY_PW,
    subject: { O: "Example", CN: "OCSP Test CA" },
    caValidityDays: 3650,
    issuedValidityDays: 365,
    adminEmail: "camgr@example.com",
  });
  caFile = join((await caRow()).directory, "OcspCA.cer");
});

describe("the OCSP responder", () => {
  it("answers good, then revoked with time and reason, signed by a delegated responder; nonce echoed", async () => {
    const leaf = await issue("good.example.com");
    const ca = await caRow();
    expect(ca.ocspCertificatePem).toBeTruthy();
    expect(ca.ocspKeyEnc).toBeTruthy();
    expect(ca.ocspKeyEnc).not.toContain("PRIVATE KEY");

    // The responder certificate as the brief asks.
    const responderFile = scratch.path("responder.pem");
    writeFileSync(responderFile, ca.ocspCertificatePem!);
    const text = opensslOk(["x509", "-in", responderFile, "-noout", "-text"]);
    expect(text).toMatch(/Subject: CN\s*=\s*OCSP Test CA OCSP Responder/);
    expect(text).toMatch(/X509v3 Extended Key Usage:\s*\n\s*OCSP Signing\n/);
    expect(text).toMatch(/X509v3 Key Usage: critical\s*\n\s*Digital Signature\n/);
    expect(text).toMatch(/OCSP No Check/);
    const rc = parseCertificate(ca.ocspCertificatePem!);
    const days = (rc.notAfter.getTime() - rc.notBefore.getTime()) / 86_400_000;
    expect(days).toBeGreaterThan(29.9);
    expect(days).toBeLessThanOrEqual(30.01);
    expect(opensslOk(["verify", "-CAfile", caFile, "-purpose", "ocsphelper", responderFile])).toMatch(/OK/);

    const good = await ocspQuery("-issuer", caFile, "-cert", leaf.file, "-nonce");
    expect(good.out).toContain("Response verify OK");
    expect(good.out).toContain(`${leaf.file}: good`);
    expect(good.out).not.toMatch(/WARNING/i);
    expect(good.out).toMatch(/OCSP Nonce/);
    expect(good.out).toMatch(/Responder Id: [0-9A-F]{40}\n/);
    expect(good.out).toMatch(/Next Update/);
    expect(good.status).toBe(0);

    await revokeCertificate(leaf.number, { reason: "keyCompromise", caKeyPassword: KEY_PW }, { actor: "admin" });
    const revokedAt = (await (await getDb()).certificate.findUniqueOrThrow({ where: { number: leaf.number } })).revokedAt!;
    const revoked = await ocspQuery("-issuer", caFile, "-cert", leaf.file);
    expect(revoked.out).toContain("Response verify OK");
    expect(revoked.out).toContain(`${leaf.file}: revoked`);
    expect(revoked.out).toMatch(/Reason: keyCompromise/);
    const month = revokedAt.toUTCString().split(" ")[2];
    expect(revoked.out).toMatch(new RegExp(`Revocation Time: ${month} +${revokedAt.getUTCDate()} `));
  });

  it("answers unknown for a serial this CA never issued, several CertIDs at once, and by GET", async () => {
    const leaf = await issue("one.example.com");
    const r = await ocspQuery("-issuer", caFile, "-serial", "0x123456789A", "-cert", leaf.file);
    expect(r.out).toContain("Response verify OK");
    expect(r.out).toMatch(/0x123456789A: unknown/);
    expect(r.out).toContain(`${leaf.file}: good`);

    // GET /ocsp/{url-encoded base64}
    const reqFile = scratch.path("req.der");
    opensslOk(["ocsp", "-issuer", caFile, "-sha256", "-cert", leaf.file, "-no_nonce", "-reqout", reqFile]);
    const b64 = readFileSync(reqFile).toString("base64");
    const res = await fetch(`${url}/${encodeURIComponent(b64)}`);
    expect(res.status).toBe(200);
    expect(res.headers.get("content-type")).toBe("application/ocsp-response");
    const respFile = scratch.path("resp.der");
    writeFileSync(respFile, Buffer.from(await res.arrayBuffer()));
    const parsed = await opensslAsync(["ocsp", "-respin", respFile, "-issuer", caFile, "-sha256", "-cert", leaf.file, "-CAfile", caFile, "-no_nonce"]);
    expect(parsed.out).toContain("Response verify OK");
    expect(parsed.out).toContain(`${leaf.file}: good`);
  });

  it("answers malformedRequest for garbage and unauthorized for another CA's certificates, never a 500", async () => {
    await issue("x.example.com");
    const garbage = await fetch(url, { method: "POST", headers: { "Content-Type": "application/ocsp-request" }, body: Buffer.from("this is not DER") });
    expect(garbage.status).toBe(200);
    expect(ocspResponseStatus(new Uint8Array(await garbage.arrayBuffer()))).toBe(1);
    expect(ocspResponseStatus(await answerOcsp(new Uint8Array(0)))).toBe(1);
    expect(ocspResponseStatus(await answerOcsp(Buffer.from("300a0201", "hex")))).toBe(1);
    const badGet = await fetch(`${url}/${encodeURIComponent("!!not base64!!")}`);
    expect(ocspResponseStatus(new Uint8Array(await badGet.arrayBuffer()))).toBe(1);
    const tooBig = await fetch(url, { method: "POST", headers: { "Content-Type": "application/ocsp-request" }, body: Buffer.alloc(17 * 1024) });
    expect(tooBig.status).toBe(413);
    expect(ocspResponseStatus(new Uint8Array(await tooBig.arrayBuffer()))).toBe(1);

    const other = opensslSelfSigned(scratch, `other-${++counter}`, { subject: "/CN=Some Other CA" });
    const r = await ocspQuery("-issuer", other.file, "-serial", "0x01");
    expect(r.out).toMatch(/Responder Error: unauthorized \(6\)/);
  });

  it("answers tryLater until the CA key is first unlocked, and renews the responder when it nears its end", async () => {
    const r = await ocspQuery("-issuer", caFile, "-serial", "0x01");
    expect(r.out).toMatch(/Responder Error: trylater \(3\)/i);

    const unlocked = await unlockCa(await caRow(), KEY_PW);
    expect(await ensureOcspSigner(unlocked)).toBe(true);
    const first = await caRow();
    const ok = await ocspQuery("-issuer", caFile, "-serial", "0x01");
    expect(ok.out).toContain("Response verify OK");
    expect(ok.out).toMatch(/0x01: unknown/);
    expect(await ensureOcspSigner(unlocked)).toBe(false);
    const later = new Date(first.ocspNotAfter!.getTime() - 86_400_000);
    expect(await ensureOcspSigner(unlocked, { now: later })).toBe(true);
    const second = await caRow();
    expect(second.ocspCertificatePem).not.toBe(first.ocspCertificatePem);
    expect(second.ocspNotAfter!.getTime()).toBeGreaterThan(first.ocspNotAfter!.getTime());
  });
});
