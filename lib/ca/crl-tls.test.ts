/**
 * The CRL in a real TLS handshake: `openssl s_server` requiring a client certificate and
 * checking it against the CRL Portcullis signed (-CRL, -crl_check), `openssl s_client` presenting
 * a tls-client certificate Portcullis issued. Accepted while it is good, refused once it is
 * revoked.
 */
import { afterEach, beforeAll, describe, expect, it } from "vitest";
import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { getDb } from "../db/index.ts";
import { opensslOk } from "../pki/test-support.ts";
import { useIsolatedDataDir } from "../test-support/data-dir.ts";
import { unusedPort } from "../test-support/ports.ts";
import { configureCaServer } from "./configure-server.ts";
import { submitRequest } from "./requests.ts";
import { issueRequest } from "./issue-request.ts";
import { currentCrl, revokeCertificate } from "./revoke-certificate.ts";

const scratch = useIsolatedDataDir("crl-tls", { PORTCULLIS_PUBLIC_URL: "http://pki.example.com" });
const KEY_PW = "crl tls test CA password";
const HOST = "host.example.com";
let caFile = "";
let counter = 0;
const running: ChildProcess[] = [];

/** A key and CSR made by OpenSSL, issued by Portcullis with `usage`; the certificate and key files. */
async function issued(cn: string, usage: "tls" | "tls-client", san?: string) {
  const base = scratch.path(`${cn}-${++counter}`);
  const args = ["req", "-new", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-keyout", `${base}.key`, "-subj", `/O=Acme/CN=${cn}`, "-out", `${base}.csr`];
  if (san) args.push("-addext", `subjectAltName=${san}`);
  opensslOk(args);
  const r = await submitRequest({ csr: readFileSync(`${base}.csr`, "utf8"), contact: { name: "Tina Tech" }, hostname: HOST, filename: `${cn.replace(/\W/g, "_")}${counter}` });
  const c = await issueRequest(r.id, { usage, caKeyPassword: KEY_PW, fingerprintVerified: true }, { actor: "admin" });
  writeFileSync(`${base}.pem`, c.pem);
  return { number: c.number, cert: `${base}.pem`, key: `${base}.key` };
}

async function crlFile(): Promise<string> {
  const file = scratch.path(`crl-${++counter}.pem`);
  writeFileSync(file, (await currentCrl()).pem);
  return file;
}

/** s_server with the server certificate, requiring a client certificate verified against the CA and (when given) the CRL. */
async function startServer(server: { cert: string; key: string }, crl: string | null): Promise<{ port: number; output: () => string }> {
  const port = await unusedPort();
  const child = spawn("openssl", [
    "s_server", "-cert", server.cert, "-key", server.key, "-CAfile", caFile,
    ...(crl ? ["-CRL", crl] : []), "-crl_check",
    "-Verify", "1", "-verify_return_error", "-www", "-accept", String(port),
  ]);
  running.push(child);
  let out = "";
  child.stdout.on("data", (d) => (out += d));
  child.stderr.on("data", (d) => (out += d));
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`s_server did not start: ${out}`)), 10_000);
    child.stdout.on("data", () => {
      if (out.includes("ACCEPT")) {
        clearTimeout(timer);
        resolve();
      }
    });
    child.on("exit", (code) => {
      clearTimeout(timer);
      reject(new Error(`s_server exited ${code}: ${out}`));
    });
  });
  return { port, output: () => out };
}

function connect(port: number, client: { cert: string; key: string }) {
  const r = spawnSync(
    "openssl",
    ["s_client", "-connect", `127.0.0.1:${port}`, "-CAfile", caFile, "-cert", client.cert, "-key", client.key, "-verify_return_error", "-servername", HOST, "-verify_hostname", HOST, "-ign_eof"],
    { input: "GET / HTTP/1.0\r\n\r\n", encoding: "utf8", timeout: 15_000 },
  );
  return { stdout: r.stdout, all: `${r.stdout}${r.stderr}` };
}

beforeAll(async () => {
  await configureCaServer({ fileNameRoot: "TlsCA", directory: "ca", keyPassword: KEY_PW, subject: { O: "Example", CN: "TLS CRL Test CA" }, caValidityDays: 3650, issuedValidityDays: 365, adminEmail: "camgr@example.com" });
  const row = await (await getDb()).caServer.findUniqueOrThrow({ where: { id: 1 } });
  caFile = join(row.directory, "TlsCA.cer");
});

afterEach(() => {
  for (const c of running.splice(0)) c.kill();
});

describe("a TLS server checking Portcullis's CRL", () => {
  it("accepts a good client certificate with the CRL from day one, and refuses it after revocation", async () => {
    const server = await issued(HOST, "tls", `DNS:${HOST}`);
    const client = await issued("alice", "tls-client");
    const clientText = opensslOk(["x509", "-in", client.cert, "-noout", "-text"]);
    expect(clientText).toContain("URI:http://pki.example.com/crl/TlsCA.crl");

    // Without any CRL, -crl_check cannot vouch for the client: why a CRL must exist from the start.
    const noCrl = await startServer(server, null);
    const refusedForLack = connect(noCrl.port, client);
    expect(refusedForLack.stdout).not.toMatch(/HTTP\/1.0 200 ok/);
    await expect.poll(() => noCrl.output(), { timeout: 5000 }).toMatch(/unable to get certificate CRL/);
    for (const c of running.splice(0)) c.kill();

    // The empty CRL signed at configuration: the handshake succeeds and the server shows the client it verified.
    const first = await crlFile();
    expect(opensslOk(["crl", "-in", first, "-noout", "-text"])).toContain("No Revoked Certificates");
    const good = await startServer(server, first);
    const ok = connect(good.port, client);
    expect(ok.stdout, ok.all).toMatch(/Verify return code: 0 \(ok\)/);
    expect(ok.stdout).toMatch(/HTTP\/1.0 200 ok/);
    expect(ok.stdout).toMatch(/Client certificate[\s\S]*CN=alice/);
    for (const c of running.splice(0)) c.kill();

    // Revoked: the CRL Portcullis signs for the revocation turns the same client away.
    await revokeCertificate(client.number, { reason: "keyCompromise", caKeyPassword: KEY_PW }, { actor: "admin" });
    const second = await crlFile();
    const revokedServer = await startServer(server, second);
    const refused = connect(revokedServer.port, client);
    expect(refused.stdout).not.toMatch(/HTTP\/1.0 200 ok/);
    expect(refused.all).toMatch(/certificate revoked/);
    await expect.poll(() => revokedServer.output(), { timeout: 5000 }).toMatch(/certificate revoked/);

    // Another client of the same CA, not revoked, is still accepted by that server.
    const bob = await issued("bob", "tls-client");
    const stillOk = connect(revokedServer.port, bob);
    expect(stillOk.stdout, stillOk.all).toMatch(/HTTP\/1.0 200 ok/);
  });
});
