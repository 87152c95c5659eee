/**
 * Helpers for the IoT tests: CAs, device certificates and CRLs made by the OpenSSL CLI
 * (`openssl req`, `openssl ca`), and a small HTTP server on loopback that serves CRLs
 * and misbehaves on purpose. Not used by application code.
 */
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { randomBytes } from "node:crypto";
import { GENPKEY_ARGS, opensslBytes, opensslOk, type ScratchDir } from "../pki/test-support.ts";

export interface TestCa {
  name: string;
  /** OpenSSL's form: /O=…/CN=… */
  subject: string;
  dir: string;
  key: string;
  /** The certificate file (PEM). */
  cer: string;
  pem: string;
  der: Buffer;
  config: string;
}

export interface TestCert {
  key: string;
  cer: string;
  pem: string;
  der: Buffer;
}

function config(dir: string, crlUrl: string | undefined): string {
  return `
[ca]
default_ca = CA_default
[CA_default]
dir = ${dir}
database = ${dir}/index.txt
new_certs_dir = ${dir}/newcerts
serial = ${dir}/serial
crlnumber = ${dir}/crlnumber
default_md = sha256
policy = policy_any
unique_subject = no
preserve = yes
copy_extensions = copy
default_crl_days = 1
default_days = 30
[policy_any]
commonName = optional
organizationName = optional
[req]
distinguished_name = dn
[dn]
[v3_ca]
basicConstraints = critical,CA:TRUE
keyUsage = critical,keyCertSign,cRLSign
subjectKeyIdentifier = hash
${crlUrl ? `crlDistributionPoints = URI:${crlUrl}` : ""}
[v3_inter]
basicConstraints = critical,CA:TRUE,pathlen:0
keyUsage = critical,keyCertSign,cRLSign
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid
[device]
basicConstraints = critical,CA:FALSE
keyUsage = critical,digitalSignature
extendedKeyUsage = clientAuth
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid
[server_only]
basicConstraints = critical,CA:FALSE
keyUsage = critical,digitalSignature
extendedKeyUsage = serverAuth
`;
}

function key(scratch: ScratchDir, name: string): string {
  const file = scratch.path(`${name}.key`);
  opensslOk(["genpkey", ...GENPKEY_ARGS.p256, "-out", file]);
  return file;
}

function readCert(file: string): { pem: string; der: Buffer } {
  return { pem: opensslOk(["x509", "-in", file]), der: opensslBytes(["x509", "-in", file, "-outform", "DER"]) };
}

/** An `openssl ca` directory (index, serial, CRL number) and its configuration. */
function caDir(scratch: ScratchDir, name: string, crlUrl?: string): { dir: string; config: string } {
  const dir = scratch.path(`${name}-ca`);
  mkdirSync(`${dir}/newcerts`, { recursive: true });
  writeFileSync(`${dir}/index.txt`, "");
  writeFileSync(`${dir}/serial`, `${randomBytes(8).toString("hex").replace(/^./, "1")}\n`);
  writeFileSync(`${dir}/crlnumber`, "1000\n");
  const cfg = `${dir}/openssl.cnf`;
  writeFileSync(cfg, config(dir, crlUrl));
  return { dir, config: cfg };
}

/**
 * A self-signed root CA (P-256, `openssl req -x509`, `days` days, 30 by default) with an
 * `openssl ca` directory; with `crlUrl` its certificate names that CRL distribution point.
 * `reuseKey` makes another certificate for an existing CA's key and subject (a variant
 * naming another distribution point; it signs the same CRLs).
 */
export function rootCa(scratch: ScratchDir, name: string, opts: { subject?: string; crlUrl?: string; days?: number; reuse?: TestCa } = {}): TestCa {
  const { dir, config: cfg } = opts.reuse ? { dir: opts.reuse.dir, config: scratch.path(`${name}.cnf`) } : caDir(scratch, name, opts.crlUrl);
  if (opts.reuse) writeFileSync(cfg, config(opts.reuse.dir, opts.crlUrl));
  const k = opts.reuse?.key ?? key(scratch, name);
  const cer = scratch.path(`${name}.cer`);
  const subject = opts.subject ?? opts.reuse?.subject ?? `/O=Portcullis Tests/CN=${name}`;
  opensslOk(["req", "-x509", "-config", cfg, "-extensions", "v3_ca", "-key", k, "-subj", subject, "-days", String(opts.days ?? 30), "-out", cer]);
  return { name, subject, dir, key: k, cer, config: cfg, ...readCert(cer) };
}

/** A certificate issued by `ca` through `openssl ca` with the extension section `extensions`. */
export function issue(
  scratch: ScratchDir,
  ca: TestCa,
  name: string,
  opts: { subject: string; extensions?: "device" | "v3_inter" | "v3_ca" | "server_only"; san?: string; days?: number },
): TestCert {
  const k = key(scratch, name);
  const csr = scratch.path(`${name}.csr`);
  opensslOk(["req", "-new", "-config", ca.config, "-key", k, "-subj", opts.subject, ...(opts.san ? ["-addext", `subjectAltName=${opts.san}`] : []), "-out", csr]);
  const cer = scratch.path(`${name}.cer`);
  opensslOk([
    "ca", "-batch", "-preserveDN", "-config", ca.config, "-cert", ca.cer, "-keyfile", ca.key, "-extensions", opts.extensions ?? "device",
    "-days", String(opts.days ?? 10), "-notext", "-in", csr, "-out", cer,
  ]);
  return { key: k, cer, ...readCert(cer) };
}

/** An intermediate CA (pathlen 0) issued by `ca`, with its own `openssl ca` directory. */
export function intermediateCa(scratch: ScratchDir, issuer: TestCa, name: string, subject = `/O=Portcullis Tests/CN=${name}`): TestCa {
  const c = issue(scratch, issuer, name, { subject, extensions: "v3_inter", days: 20 });
  const { dir, config: cfg } = caDir(scratch, name);
  return { name, subject, dir, key: c.key, cer: c.cer, pem: c.pem, der: c.der, config: cfg };
}

/** Revokes a certificate `ca` issued. */
export function revoke(ca: TestCa, cert: TestCert, reason = "keyCompromise"): void {
  opensslOk(["ca", "-config", ca.config, "-cert", ca.cer, "-keyfile", ca.key, "-revoke", cert.cer, "-crl_reason", reason]);
}

/** A CRL of `ca` (`openssl ca -gencrl`, valid `crlDays` days), DER and PEM. */
export function gencrl(scratch: ScratchDir, ca: TestCa, name: string, crlDays = 1): { der: Buffer; pem: string } {
  const file = scratch.path(`${name}.crl.pem`);
  opensslOk(["ca", "-config", ca.config, "-cert", ca.cer, "-keyfile", ca.key, "-gencrl", "-crldays", String(crlDays), "-out", file]);
  return { pem: readFileSync(file, "utf8"), der: opensslBytes(["crl", "-in", file, "-outform", "DER"]) };
}

export interface CrlServer {
  port: number;
  url(path: string): string;
  /** path → handler; set before use. */
  routes: Map<string, (res: import("node:http").ServerResponse) => void>;
  /** Every path requested, in order. */
  requests: string[];
  close(): Promise<void>;
}

/** An HTTP server on 127.0.0.1 answering the paths of `routes` (404 for others). */
export async function startCrlServer(): Promise<CrlServer> {
  const routes = new Map<string, (res: import("node:http").ServerResponse) => void>();
  const requests: string[] = [];
  const server: Server = createServer((req, res) => {
    const path = (req.url ?? "/").split("?")[0];
    requests.push(path);
    const handler = routes.get(path);
    if (!handler) {
      res.writeHead(404, { "Content-Type": "text/plain" }).end("not found");
      return;
    }
    handler(res);
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  const port = (server.address() as AddressInfo).port;
  return {
    port,
    url: (path: string) => `http://127.0.0.1:${port}${path}`,
    routes,
    requests,
    close: () =>
      new Promise<void>((r) => {
        server.closeAllConnections();
        server.close(() => r());
      }),
  };
}

/** Route handlers for the CRL server. */
export const serve = {
  bytes: (body: Buffer | string, type = "application/pkix-crl") => (res: import("node:http").ServerResponse) => {
    res.writeHead(200, { "Content-Type": type, "Content-Length": Buffer.byteLength(body) }).end(body);
  },
  redirect: (location: string, status = 302) => (res: import("node:http").ServerResponse) => {
    res.writeHead(status, { Location: location }).end();
  },
  /** `size` bytes streamed in 64 KB chunks without a Content-Length (chunked). */
  chunked: (size: number) => (res: import("node:http").ServerResponse) => {
    res.writeHead(200, { "Content-Type": "application/pkix-crl" });
    const chunk = Buffer.alloc(64 * 1024, 0x30);
    let sent = 0;
    const pump = () => {
      while (sent < size) {
        sent += chunk.length;
        if (!res.write(chunk)) {
          res.once("drain", pump);
          return;
        }
      }
      res.end();
    };
    res.on("error", () => undefined);
    pump();
  },
  /** Headers, then nothing: the body never arrives. */
  stall: () => (res: import("node:http").ServerResponse) => {
    res.writeHead(200, { "Content-Type": "application/pkix-crl" });
    res.write("0");
  },
};
