/**
 * The CA server's public API (`/api/v1`) on a loopback HTTP server in front of the CA
 * server's use cases, the way the route handlers serve it: tests of the CA client talk
 * real HTTP to real issuance code in the same process (the same-instance case).
 * Not used by application code.
 */
import { createServer, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { isAppError } from "../errors/app-error.ts";
import { getPublicCaCertificate } from "../ca/get-server.ts";
import { submitRequest } from "../ca/requests.ts";
import { certificateFile, searchCertificates } from "../ca/certificates.ts";

export interface CaApiServer {
  port: number;
  close(): Promise<void>;
}

function send(res: ServerResponse, status: number, body: unknown) {
  res.writeHead(status, { "content-type": "application/json" });
  res.end(JSON.stringify(body));
}

/** Starts the server on a free port of 127.0.0.1. */
export async function startCaApiServer(): Promise<CaApiServer> {
  const api = createServer(async (req, res) => {
    const url = new URL(req.url!, "http://x");
    const p = url.pathname.replace(/^\/api\/v1/, "");
    try {
      if (req.method === "GET" && p === "/ca") {
        const c = await getPublicCaCertificate();
        return send(res, 200, { subject: c.subject, pem: c.pem, sha1Fingerprint: c.sha1Fingerprint, sha256Fingerprint: c.sha256Fingerprint, notBefore: c.notBefore, notAfter: c.notAfter, fileNameRoot: c.fileNameRoot });
      }
      if (req.method === "GET" && p === "/ca/certificate") {
        // A root CA: its chain form is the certificate alone.
        const c = await getPublicCaCertificate();
        res.writeHead(200, { "content-type": "application/x-pem-file", "content-disposition": `attachment; filename="${c.fileNameRoot}.cer"` });
        return res.end(c.pem);
      }
      if (req.method === "POST" && p === "/csrs") {
        let body = "";
        for await (const chunk of req) body += chunk;
        const r = await submitRequest(JSON.parse(body), { ip: "127.0.0.1" });
        return send(res, 201, { id: r.id, status: r.status, sha1Fingerprint: r.sha1Fingerprint, sha256Fingerprint: r.sha256Fingerprint });
      }
      if (req.method === "GET" && p === "/certificates") {
        const q = url.searchParams;
        return send(res, 200, await searchCertificates({ serial: q.get("serial"), number: q.get("number"), hostname: q.get("hostname"), instance: q.get("instance"), filename: q.get("filename"), cursor: q.get("cursor") }));
      }
      const m = /^\/certificates\/(\d+)$/.exec(p);
      if (req.method === "GET" && m) {
        const f = await certificateFile(Number(m[1]), url.searchParams.get("format") ?? "pem");
        res.writeHead(200, { "content-type": f.contentType, "content-disposition": `attachment; filename="${f.filename}"` });
        return res.end(f.body);
      }
      send(res, 404, { error: { code: "not_found", message: `No API route ${req.method} ${url.pathname}` } });
    } catch (e) {
      if (isAppError(e)) return send(res, e.status, { error: { code: e.code, message: e.message, ...(e.fields ? { fields: e.fields } : {}) } });
      send(res, 500, { error: { code: "internal_error", message: String(e) } });
    }
  });
  await new Promise<void>((resolve) => api.listen(0, "127.0.0.1", resolve));
  return {
    port: (api.address() as AddressInfo).port,
    close: async () => {
      api.closeAllConnections();
      await new Promise((r) => api.close(r));
    },
  };
}
