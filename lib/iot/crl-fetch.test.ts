import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { appError } from "../test-support/app-error.ts";
import { unusedPort } from "../test-support/ports.ts";
import { scratchDir } from "../test-support/scratch-dir.ts";
import { parseCertificate } from "../pki/certificates.ts";
import { fetchCrlBytes, fetchVerifiedCrl, parseCrl } from "./crl-fetch.ts";
import { gencrl, issue, revoke, rootCa, serve, startCrlServer, type CrlServer, type TestCa } from "./test-support.ts";

const scratch = scratchDir("iot-crl");
let server: CrlServer;
let ca: TestCa;
let good: { der: Buffer; pem: string };
const DAY = 24 * 60 * 60 * 1000;

beforeAll(async () => {
  server = await startCrlServer();
  ca = rootCa(scratch, "CRL Fetch CA", { crlUrl: server.url("/ca.crl") });
  const device = issue(scratch, ca, "revoked-device", { subject: "/CN=d:meter:gone-1" });
  revoke(ca, device);
  good = gencrl(scratch, ca, "good");
  const other = rootCa(scratch, "Other CA");
  const forger = rootCa(scratch, "Forger", { subject: ca.subject });
  const routes = server.routes;
  routes.set("/ca.crl", serve.bytes(good.der));
  routes.set("/ca.pem", serve.bytes(good.pem, "application/x-pem-file"));
  routes.set("/other.crl", serve.bytes(gencrl(scratch, other, "other").der));
  routes.set("/forged.crl", serve.bytes(gencrl(scratch, forger, "forged").der));
  routes.set("/moved", serve.redirect("/ca.crl", 301));
  routes.set("/r1", serve.redirect("/r2"));
  routes.set("/r2", serve.redirect("/r3", 307));
  routes.set("/r3", serve.redirect(server.url("/ca.crl"), 308));
  routes.set("/loop", serve.redirect("/loop"));
  routes.set("/to-file", serve.redirect("file:///etc/passwd"));
  routes.set("/to-ftp", serve.redirect("ftp://127.0.0.1/ca.crl"));
  routes.set("/big", serve.chunked(2 * 1024 * 1024));
  routes.set("/big-declared", serve.bytes(Buffer.alloc(2 * 1024 * 1024, 0x30)));
  routes.set("/garbage", serve.bytes("this is not a CRL"));
  routes.set("/stall", serve.stall());
  routes.set("/hang", () => undefined);
});

afterAll(async () => {
  await server?.close();
  scratch.remove();
});

const caCert = () => parseCertificate(ca.pem);

async function refusal(path: string, opts: Parameters<typeof fetchVerifiedCrl>[2] = {}): Promise<string> {
  const e = await appError(() => fetchVerifiedCrl(path.startsWith("/") ? server.url(path) : path, caCert(), opts));
  expect(e.code).toBe("validation_failed");
  expect(e.field).toBe("certificate");
  return e.message;
}

describe("fetching a CA's CRL", () => {
  it("reads a DER CRL signed by the CA, with its dates and revoked entries", async () => {
    const crl = await fetchVerifiedCrl(server.url("/ca.crl"), caCert());
    expect(crl.revokedCount).toBe(1);
    expect(crl.issuer).toBe(caCert().subject);
    expect(crl.nextUpdate!.getTime() - crl.thisUpdate.getTime()).toBe(DAY);
    expect(crl.der.equals(good.der)).toBe(true);
    expect(crl.pem).toContain("-----BEGIN X509 CRL-----");
    expect(crl.finalUrl).toBe(server.url("/ca.crl"));
  });

  it("reads a PEM CRL", async () => {
    expect((await fetchVerifiedCrl(server.url("/ca.pem"), caCert())).der.equals(good.der)).toBe(true);
  });

  it("follows up to three redirects (relative or absolute, 301/302/307/308)", async () => {
    expect((await fetchVerifiedCrl(server.url("/moved"), caCert())).finalUrl).toBe(server.url("/ca.crl"));
    expect((await fetchVerifiedCrl(server.url("/r1"), caCert())).finalUrl).toBe(server.url("/ca.crl"));
    expect(await refusal("/loop")).toBe(`The CRL at ${server.url("/loop")} could not be fetched: more than 3 redirects`);
  });

  it("refuses a redirect to another scheme without following it", async () => {
    const before = server.requests.length;
    expect(await refusal("/to-file")).toBe(`The CRL at ${server.url("/to-file")} could not be fetched: it redirects to file:///etc/passwd, which is not an http or https URL`);
    expect(await refusal("/to-ftp")).toMatch(/redirects to ftp:\/\/127\.0\.0\.1\/ca\.crl, which is not an http or https URL/);
    expect(server.requests.slice(before)).toEqual(["/to-file", "/to-ftp"]);
  });

  it("refuses URLs that are not http or https", async () => {
    expect(await refusal("ldap://ldap.example.com/cn=CA?certificateRevocationList")).toMatch(/is not an http or https URL/);
    expect(await refusal("file:///etc/passwd")).toMatch(/is not an http or https URL/);
  });

  it("says the connection was refused", async () => {
    const url = `http://127.0.0.1:${await unusedPort()}/ca.crl`;
    expect(await refusal(url)).toBe(`The CRL at ${url} could not be fetched: connection refused`);
  });

  it("gives up after the time limit, whether the headers or the body do not come", async () => {
    const t0 = Date.now();
    expect(await refusal("/hang", { timeoutMs: 300 })).toMatch(/could not be fetched: no answer within 300 ms$/);
    expect(await refusal("/stall", { timeoutMs: 300 })).toMatch(/could not be fetched: no answer within 300 ms$/);
    expect(Date.now() - t0).toBeLessThan(3000);
  });

  it("refuses more than 1 MB, streamed or declared", async () => {
    expect(await refusal("/big")).toMatch(/could not be fetched: it is larger than 1 MB$/);
    expect(await refusal("/big-declared")).toMatch(/could not be fetched: it is larger than 1 MB$/);
    await expect(fetchCrlBytes(server.url("/ca.crl"), { maxBytes: 100 })).rejects.toThrow(/larger than 100 bytes/);
  });

  it("reports HTTP errors and bodies that are not CRLs", async () => {
    expect(await refusal("/nothing-here")).toMatch(/could not be fetched: the server answered HTTP 404 Not Found$/);
    expect(await refusal("/garbage")).toBe(`The CRL at ${server.url("/garbage")} is not a certificate revocation list (DER or PEM)`);
  });

  it("refuses a CRL signed by another CA, and one forged under this CA's name", async () => {
    expect(await refusal("/other.crl")).toMatch(/^The CRL at \S+ is not signed by this certificate: it was issued by "O=Portcullis Tests, CN=Other CA"/);
    expect(await refusal("/forged.crl")).toMatch(/^The CRL at \S+ is not signed by this certificate: its signature does not verify/);
  });

  it("refuses a stale CRL and one not yet valid", async () => {
    const crl = parseCrl(new Uint8Array(good.der));
    const later = new Date(Date.now() + 2 * DAY);
    expect(await refusal("/ca.crl", { now: later })).toBe(`The CRL at ${server.url("/ca.crl")} is stale: its nextUpdate was ${crl.nextUpdate!.toISOString()}`);
    expect(await refusal("/ca.crl", { now: new Date(Date.now() - DAY) })).toMatch(/is not yet valid: its thisUpdate is/);
  });

  it("uses the fetch it is given", async () => {
    const seen: string[] = [];
    const fake = async (url: string | URL) => {
      seen.push(String(url));
      return new Response(new Uint8Array(good.der), { status: 200 });
    };
    await fetchVerifiedCrl("https://crl.example.com/ca.crl", caCert(), { fetch: fake });
    expect(seen).toEqual(["https://crl.example.com/ca.crl"]);
  });
});
