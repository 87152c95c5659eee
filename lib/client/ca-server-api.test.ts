import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createServer, type IncomingMessage, type ServerResponse, type Server } from "node:http";
import { createServer as createHttpsServer } from "node:https";
import { createServer as createNetServer, type AddressInfo } from "node:net";
import { readFileSync } from "node:fs";
import { opensslOk, scratchDir } from "../pki/test-support.ts";
import { fetchCa, fetchCertificatePem, listCertificates, postCsr, RemoteCaError, serverBaseUrl, type ServerLocation } from "./ca-server-api.ts";

const tmp = scratchDir("client-api");
type Handler = (req: IncomingMessage, res: ServerResponse) => void;
let handler: Handler = (_req, res) => res.end();
let http: Server;
let port: number;
let closedPort: number;
const loc = (over: Partial<ServerLocation> = {}): ServerLocation => ({ host: "127.0.0.1", port, path: "/api/v1", useTls: false, ...over });

function listen(server: Server | ReturnType<typeof createNetServer>): Promise<number> {
  return new Promise((resolve) => server.listen(0, "127.0.0.1", () => resolve((server.address() as AddressInfo).port)));
}

async function failure(p: Promise<unknown>): Promise<RemoteCaError> {
  const e = await p.then(
    () => null,
    (x) => x,
  );
  expect(e, "expected a RemoteCaError").toBeInstanceOf(RemoteCaError);
  return e as RemoteCaError;
}

beforeAll(async () => {
  http = createServer((req, res) => handler(req, res));
  port = await listen(http);
  // A port that was just free: nothing listens there.
  const probe = createNetServer();
  closedPort = await listen(probe);
  await new Promise((r) => probe.close(r));
});

afterAll(async () => {
  http.closeAllConnections();
  await new Promise((r) => http.close(r));
  tmp.remove();
});

describe("failures say what went wrong", () => {
  it("nothing listening: the connection was refused, with the address", async () => {
    const e = await failure(fetchCa(loc({ port: closedPort })));
    expect(e.reason).toBe("unreachable");
    expect(e.status).toBe(502);
    expect(e.message).toBe(`Cannot reach the Certificate Authority server at http://127.0.0.1:${closedPort}/api/v1: the connection was refused (nothing is listening on that port) (ECONNREFUSED). Check that it is running and that the host name and port are right.`);
  });

  it("a host name that does not resolve", async () => {
    const e = await failure(fetchCa(loc({ host: "no-such-host.invalid" }), { timeoutMs: 5000 }));
    expect(["unreachable", "timeout"]).toContain(e.reason);
    if (e.reason === "unreachable") expect(e.message).toContain("the host name no-such-host.invalid cannot be resolved");
  });

  it("a web server that answers HTML is not a Portcullis CA", async () => {
    handler = (_req, res) => {
      res.writeHead(200, { "content-type": "text/html; charset=utf-8" });
      res.end("<!doctype html><title>It works!</title>");
    };
    const e = await failure(fetchCa(loc()));
    expect(e.reason).toBe("not_portcullis");
    expect(e.message).toBe(`The server at 127.0.0.1:${port} did not answer like a Portcullis CA (HTTP 200, text/html). Check the port and the path (/api/v1) in the client configuration.`);
    const post = await failure(postCsr(loc(), { csr: "x", contact: { name: "n" }, filename: "f" }));
    expect(post.message).toContain("did not answer like a Portcullis CA (HTTP 200, text/html)");
  });

  it("a 404 page, odd JSON, and a redirect are not a Portcullis CA either", async () => {
    handler = (_req, res) => {
      res.writeHead(404, { "content-type": "text/plain" });
      res.end("Not Found");
    };
    expect((await failure(listCertificates(loc(), {}))).message).toContain("(HTTP 404, text/plain)");
    handler = (_req, res) => {
      res.writeHead(200, { "content-type": "application/json" });
      res.end(JSON.stringify({ hello: "world" }));
    };
    expect((await failure(fetchCa(loc()))).message).toContain("(HTTP 200, application/json): the answer has no CA certificate");
    handler = (_req, res) => {
      res.writeHead(500, { "content-type": "application/json" });
      res.end("{oops");
    };
    expect((await failure(fetchCa(loc()))).message).toContain("(HTTP 500, application/json): the JSON is invalid");
    handler = (_req, res) => {
      res.writeHead(301, { location: "https://elsewhere.example/api/v1/ca" });
      res.end();
    };
    expect((await failure(fetchCa(loc()))).message).toContain("it redirects to https://elsewhere.example/api/v1/ca");
  });

  it("the server's own error is passed through with its message, code and fields", async () => {
    handler = (req, res) => {
      res.writeHead(422, { "content-type": "application/json" });
      res.end(JSON.stringify({ error: { code: "validation_failed", message: "Enter the technical contact's name", fields: { "contact.name": "Enter the technical contact's name" } } }));
    };
    const e = await failure(postCsr(loc(), { csr: "x", contact: { name: "" }, filename: "f" }));
    expect(e.reason).toBe("refused");
    expect(e.code).toBe("validation_failed");
    expect(e.status).toBe(422);
    expect(e.remoteStatus).toBe(422);
    expect(e.remoteFields).toEqual({ "contact.name": "Enter the technical contact's name" });
    expect(e.message).toBe(`The Certificate Authority server at 127.0.0.1:${port} refused the request: Enter the technical contact's name`);
    handler = (_req, res) => {
      res.writeHead(404, { "content-type": "application/json" });
      res.end(JSON.stringify({ error: { code: "not_configured", message: "The Certificate Authority server is not configured" } }));
    };
    const nc = await failure(fetchCa(loc()));
    expect(nc.code).toBe("not_configured");
    expect(nc.message).toContain("is a Portcullis instance, but it is not configured as a Certificate Authority server yet");
    handler = (_req, res) => {
      res.writeHead(429, { "content-type": "application/json", "retry-after": "120" });
      res.end(JSON.stringify({ error: { code: "too_many_requests", message: "Too many requests" } }));
    };
    const limited = await failure(postCsr(loc(), { csr: "x", contact: { name: "n" }, filename: "f" }));
    expect(limited.code).toBe("too_many_requests");
    expect(limited.retryAfterSeconds).toBe(120);
  });

  it("a server that never answers times out", async () => {
    handler = () => undefined; // holds the request open
    const started = Date.now();
    const e = await failure(fetchCa(loc(), { timeoutMs: 700 }));
    expect(e.reason).toBe("timeout");
    expect(e.message).toContain("No answer from the Certificate Authority server at");
    expect(Date.now() - started).toBeLessThan(5000);
  });

  it("an answer larger than the cap is refused without reading it all", async () => {
    handler = (_req, res) => {
      res.writeHead(200, { "content-type": "application/json" });
      const chunk = Buffer.alloc(64 * 1024, 0x20);
      let sent = 0;
      const more = () => {
        while (sent < 50) {
          sent++;
          if (!res.write(chunk)) return void res.once("drain", more);
        }
        res.end();
      };
      more();
    };
    const e = await failure(fetchCa(loc(), { maxBytes: 256 * 1024 }));
    expect(e.reason).toBe("too_large");
    expect(e.message).toContain("larger than 256 KB");
  });

  it("TLS problems: plain HTTP spoken to with TLS, and an untrusted certificate", async () => {
    handler = (_req, res) => {
      res.writeHead(200, { "content-type": "text/plain" });
      res.end("plain");
    };
    const plain = await failure(fetchCa(loc({ useTls: true })));
    expect(plain.reason).toBe("tls");
    expect(plain.message).toContain("The TLS connection to the Certificate Authority server at https://127.0.0.1:");

    const key = tmp.path("tls.key");
    const cert = tmp.path("tls.cer");
    opensslOk(["req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-keyout", key, "-out", cert, "-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1", "-days", "2"]);
    const https = createHttpsServer({ key: readFileSync(key), cert: readFileSync(cert) }, (_req, res) => {
      res.writeHead(200, { "content-type": "application/json" });
      res.end("{}");
    });
    const tlsPort = await listen(https as unknown as Server);
    try {
      const e = await failure(fetchCa(loc({ port: tlsPort, useTls: true })));
      expect(e.reason).toBe("tls");
      expect(e.message).toContain("its certificate is self-signed and not trusted here (DEPTH_ZERO_SELF_SIGNED_CERT)");
      expect(e.message).toContain("NODE_EXTRA_CA_CERTS");
    } finally {
      https.closeAllConnections();
      await new Promise((r) => https.close(r));
    }
  });
});

describe("answers", () => {
  it("builds URLs with the path, query and IPv6 brackets", async () => {
    expect(serverBaseUrl({ host: "::1", port: 8443, path: "/pki/api/v1/", useTls: true })).toBe("https://[::1]:8443/pki/api/v1");
    expect(serverBaseUrl({ host: "ca.example.com", port: 80, path: "/", useTls: false })).toBe("http://ca.example.com:80");
    const seen: string[] = [];
    handler = (req, res) => {
      seen.push(req.url!);
      res.writeHead(200, { "content-type": "application/json; charset=utf-8" });
      res.end(JSON.stringify({ items: [{ number: 7, serial: "0A1B", filename: "web", hostname: null, instance: "i1", sha1Fingerprint: "AA" }], nextCursor: "7" }));
    };
    const page = await listCertificates(loc(), { instance: "i1", filename: "web", serial: "", cursor: null });
    expect(seen).toEqual(["/api/v1/certificates?instance=i1&filename=web"]);
    expect(page).toEqual({ items: [expect.objectContaining({ number: 7, serial: "0A1B", filename: "web", instance: "i1", hostname: null })], nextCursor: "7" });
  });

  it("posts the CSR as JSON and reads the request id back", async () => {
    let body = "";
    handler = (req, res) => {
      req.on("data", (c) => (body += c));
      req.on("end", () => {
        res.writeHead(201, { "content-type": "application/json" });
        res.end(JSON.stringify({ id: "r-1", status: "pending", sha1Fingerprint: "AB:CD", sha256Fingerprint: "EF" }));
      });
    };
    const r = await postCsr(loc(), { csr: "PEM", contact: { name: "Ann", phone: null, email: "ann@example.com" }, hostname: "h.example.com", instance: "i1", filename: "web" });
    expect(r).toEqual({ id: "r-1", status: "pending", sha1Fingerprint: "AB:CD", sha256Fingerprint: "EF" });
    expect(JSON.parse(body)).toEqual({ csr: "PEM", contact: { name: "Ann", phone: null, email: "ann@example.com" }, hostname: "h.example.com", instance: "i1", filename: "web" });
  });

  it("downloads a certificate file; an HTML answer is refused", async () => {
    handler = (req, res) => {
      res.writeHead(200, { "content-type": "application/x-pem-file", "content-disposition": 'attachment; filename="web.cer"' });
      res.end("-----BEGIN CERTIFICATE-----\n...");
    };
    expect(await fetchCertificatePem(loc(), 3)).toContain("BEGIN CERTIFICATE");
    handler = (_req, res) => {
      res.writeHead(200, { "content-type": "text/html" });
      res.end("<html>");
    };
    expect((await failure(fetchCertificatePem(loc(), 3))).reason).toBe("not_portcullis");
  });
});
