import { beforeEach, describe, expect, it } from "vitest";
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { getDb } from "../db/index.ts";
import { opensslOk, openssl } from "../pki/test-support.ts";
import type { AppError } from "../errors/app-error.ts";
import { expectAppError } from "../test-support/app-error.ts";
import { useIsolatedDataDir, useTestSmtpServer } from "../test-support/data-dir.ts";
import { configureCaServer } from "./configure-server.ts";
import { reinitializeCaServer } from "./reinitialize-server.ts";
import { deleteRequest, getRequest, listPendingRequests, submitRequest, type SubmitRequestInput } from "./requests.ts";
import { issueRequest } from "./issue-request.ts";
import { certificateFile, searchCertificates } from "./certificates.ts";

const scratch = useIsolatedDataDir("requests", { PORTCULLIS_PUBLIC_URL: undefined });
const smtp = useTestSmtpServer();
const KEY_PW = "queue test CA password";
let counter = 0;

function csr(cn: string, extra: string[] = []): string {
  const dir = scratch.path(`csr-${++counter}`);
  opensslOk(["req", "-new", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-keyout", `${dir}.key`, "-subj", `/CN=${cn}`, "-out", `${dir}.csr`, ...extra]);
  return readFileSync(`${dir}.csr`, "utf8");
}

function request(over: Partial<SubmitRequestInput> = {}): SubmitRequestInput {
  return { csr: csr("web.example.com", ["-addext", "subjectAltName=DNS:web.example.com"]), contact: { name: "Tina Tech", phone: "+1 555 0100", email: "tina@example.com" }, hostname: "web.example.com", instance: "PROD", filename: "WebServer", ...over };
}

const issueInput = { usage: "tls", caKeyPassword: KEY_PW, fingerprintVerified: true, verificationChannel: "phone" };

beforeEach(async () => {
  const db = await getDb();
  if (await db.caServer.count()) await reinitializeCaServer();
  await configureCaServer({
    fileNameRoot: "QueueCA",
    directory: `ca-${++counter}`,
    keyPassword: KEY_PW,
    subject: { O: "Example", CN: "Queue Test CA" },
    caValidityDays: 3650,
    issuedValidityDays: 365,
    smtp: { host: "127.0.0.1", port: smtp.port },
    adminEmail: "camgr@example.com",
  });
  smtp.messages.length = 0;
});

describe("submitting", () => {
  it("queues a CSR, answers its fingerprints and e-mails the administrator", async () => {
    const input = request();
    const r = await submitRequest(input, { portalUrl: "https://pki.example.com" });
    expect(r.status).toBe("pending");
    const sha1 = opensslSha1Of(writeTmp("sub.csr", input.csr as string));
    expect(r.sha1Fingerprint).toBe(sha1);
    const mail = await smtp.waitFor((m) => m.to.includes("camgr@example.com"));
    expect(mail.subject).toBe('Certificate Signing Request "WebServer" received');
    expect(mail.text).toContain(sha1);
    expect(mail.text).toContain(`https://pki.example.com/ca-server/requests/${r.id}`);
    expect((await getRequest(r.id)).contact).toEqual({ name: "Tina Tech", phone: "+1 555 0100", email: "tina@example.com" });
  });

  it("refuses an identical pending CSR with 409, and accepts it again once deleted", async () => {
    const input = request();
    const first = await submitRequest(input);
    const e = await expectAppError(submitRequest(input), "conflict", "csr");
    expect(e.message).toContain(first.id);
    await deleteRequest(first.id, "admin");
    expect((await submitRequest(input)).status).toBe("pending");
  });

  it.each([
    ["no contact name", { contact: { name: " " } }, "contact.name"],
    ["bad contact e-mail", { contact: { name: "x", email: "nope" } }, "contact.email"],
    ["bad phone", { contact: { name: "x", phone: "call me maybe" } }, "contact.phone"],
    ["file name 'cache'", { filename: "Cache" }, "filename"],
    ["file name with a slash", { filename: "../etc/passwd" }, "filename"],
    ["bad hostname", { hostname: "not a host" }, "hostname"],
    ["no CSR", { csr: undefined }, "csr"],
  ] as const)("refuses %s", async (_n, over, field) => {
    await expectAppError(submitRequest(request(over as Partial<SubmitRequestInput>)), "validation_failed", field);
    expect((await listPendingRequests()).total).toBe(0);
  });

  it("refuses garbage and weak keys", async () => {
    await expectAppError(submitRequest(request({ csr: "-----BEGIN CERTIFICATE REQUEST-----\nAAAA\n-----END CERTIFICATE REQUEST-----\n" })), "bad_request");
    const weak = scratch.path("weak");
    opensslOk(["req", "-new", "-newkey", "rsa:1024", "-nodes", "-keyout", `${weak}.key`, "-subj", "/CN=weak", "-out", `${weak}.csr`]);
    const e = await expectAppError(submitRequest(request({ csr: readFileSync(`${weak}.csr`, "utf8") })), "validation_failed");
    expect(e.message).toMatch(/2048/);
  });

  it("is refused when the CA server is not configured", async () => {
    await reinitializeCaServer();
    await expectAppError(submitRequest(request()), "not_configured");
  });
});

function writeTmp(name: string, content: string): string {
  writeFileSync(scratch.path(name), content);
  return scratch.path(name);
}

function opensslSha1Of(csrPath: string): string {
  const der = scratch.path("fp.der");
  opensslOk(["req", "-in", csrPath, "-outform", "DER", "-out", der]);
  return opensslOk(["sha1", "-c", der]).trim().split("= ")[1].toUpperCase();
}

describe("the queue", () => {
  it("lists pending requests oldest first, keyset-paginated", async () => {
    const base = Date.now();
    for (let i = 0; i < 5; i++) await submitRequest(request({ filename: `R${i}` }), { now: new Date(base + i * 1000) });
    const p1 = await listPendingRequests({ take: 2 });
    expect(p1.total).toBe(5);
    expect(p1.items.map((r) => r.filename)).toEqual(["R0", "R1"]);
    const p2 = await listPendingRequests({ take: 2, cursor: p1.nextCursor });
    expect(p2.items.map((r) => r.filename)).toEqual(["R2", "R3"]);
    const p3 = await listPendingRequests({ take: 2, cursor: p2.nextCursor });
    expect(p3.items.map((r) => r.filename)).toEqual(["R4"]);
    expect(p3.nextCursor).toBeNull();
    await expectAppError(listPendingRequests({ cursor: "garbage" }), "bad_request");
  });

  it("deletes a request once; it stays in the record as deleted", async () => {
    const r = await submitRequest(request());
    expect((await deleteRequest(r.id, "admin")).status).toBe("deleted");
    await expectAppError(deleteRequest(r.id, "admin"), "conflict");
    await expectAppError(deleteRequest("00000000-0000-0000-0000-000000000000", "admin"), "not_found");
    expect((await listPendingRequests()).total).toBe(0);
    await expectAppError(issueRequest(r.id, issueInput, { actor: "admin" }), "conflict");
  });
});

describe("issuing", () => {
  it("issues number 1, 2 … with the usage's profile; OpenSSL accepts them; the contact is told", async () => {
    const db = await getDb();
    const ca = (await db.caServer.findUniqueOrThrow({ where: { id: 1 } }));
    const caFile = join(ca.directory, "QueueCA.cer");
    const a = await submitRequest(request({ filename: "First" }));
    const b = await submitRequest(request({ filename: "Second", csr: csr("client-1", []) }));
    const r1 = await issueRequest(a.id, issueInput, { actor: "admin", portalUrl: "https://pki.example.com" });
    expect(r1.number).toBe(1);
    expect(r1.message).toBe('Certificate number 1 issued for Certificate Signing Request "First"');
    const r2 = await issueRequest(b.id, { ...issueInput, usage: "tls-client" }, { actor: "admin" });
    expect(r2.number).toBe(2);
    expect(readFileSync(join(ca.directory, "QueueCA.srl"), "utf8")).toBe("03\n");
    expect((await db.caServer.findUniqueOrThrow({ where: { id: 1 } })).nextNumber).toBe(3);

    writeFileSync(scratch.path("c1.pem"), r1.pem);
    writeFileSync(scratch.path("c2.pem"), r2.pem);
    expect(opensslOk(["verify", "-x509_strict", "-purpose", "sslserver", "-CAfile", caFile, scratch.path("c1.pem")])).toMatch(/OK/);
    expect(opensslOk(["verify", "-x509_strict", "-purpose", "sslclient", "-CAfile", caFile, scratch.path("c2.pem")])).toMatch(/OK/);
    expect(openssl(["verify", "-x509_strict", "-purpose", "sslserver", "-CAfile", caFile, scratch.path("c2.pem")]).status).not.toBe(0);
    expect(opensslOk(["x509", "-in", scratch.path("c1.pem"), "-noout", "-serial"]).trim()).toBe(`serial=${r1.serial}`);

    const mail = await smtp.waitFor((m) => m.to.includes("tina@example.com") && m.subject.includes("number 1"));
    expect(mail.subject).toBe('Certificate number 1 issued for Certificate Signing Request "First"');
    expect(mail.text).toContain("https://pki.example.com/api/v1/certificates/1?format=pem");

    const status = await getRequest(a.id);
    expect(status).toMatchObject({ status: "issued", certificateNumber: 1 });
    const cert = await db.certificate.findUniqueOrThrow({ where: { number: 1 } });
    expect(cert).toMatchObject({ verifiedBy: "admin", verifiedChannel: "phone", usage: "tls", hostname: "web.example.com", instance: "PROD" });
    await expectAppError(issueRequest(a.id, issueInput, { actor: "admin" }), "conflict");
  });

  it("a wrong password, a missing confirmation or an expired CA change nothing", async () => {
    const r = await submitRequest(request());
    await expectAppError(issueRequest(r.id, { ...issueInput, caKeyPassword: "not it at all" }, { actor: "admin" }), "wrong_password", "caKeyPassword");
    await expectAppError(issueRequest(r.id, { ...issueInput, fingerprintVerified: false }, { actor: "admin" }), "validation_failed", "fingerprintVerified");
    await expectAppError(issueRequest(r.id, { ...issueInput, usage: "email" }, { actor: "admin" }), "validation_failed", "usage");
    const future = new Date(Date.now() + 3700 * 86400_000);
    const e = await expectAppError(issueRequest(r.id, issueInput, { actor: "admin", now: future }), "validation_failed");
    expect(e.message).toMatch(/expired/);
    const db = await getDb();
    expect((await getRequest(r.id)).status).toBe("pending");
    expect(await db.certificate.count()).toBe(0);
    expect((await db.caServer.findUniqueOrThrow({ where: { id: 1 } })).nextNumber).toBe(1);
  });

  it("20 concurrent issue calls on one request give exactly one certificate", async () => {
    const r = await submitRequest(request());
    const results = await Promise.allSettled(Array.from({ length: 20 }, () => issueRequest(r.id, issueInput, { actor: "admin" })));
    const ok = results.filter((x) => x.status === "fulfilled");
    expect(ok).toHaveLength(1);
    for (const x of results) if (x.status === "rejected") expect((x.reason as AppError).code).toBe("conflict");
    const db = await getDb();
    expect(await db.certificate.count({ where: { requestId: r.id } })).toBe(1);
    expect((await db.caServer.findUniqueOrThrow({ where: { id: 1 } })).nextNumber).toBe(2);
  });
});

describe("the SRL mirror", () => {
  it("ends at the database's counter after concurrent issuances of different requests", async () => {
    const db = await getDb();
    const ca = await db.caServer.findUniqueOrThrow({ where: { id: 1 } });
    const ids = [];
    for (let i = 0; i < 12; i++) ids.push((await submitRequest(request({ filename: `M${i}`, csr: csr(`m${i}.example.com`, ["-addext", `subjectAltName=DNS:m${i}.example.com`]) }))).id);
    const issued = await Promise.all(ids.map((id) => issueRequest(id, issueInput, { actor: "admin" })));
    expect(issued.map((r) => r.number).sort((a, b) => a - b)).toEqual(Array.from({ length: 12 }, (_, i) => ca.nextNumber + i));
    const next = (await db.caServer.findUniqueOrThrow({ where: { id: 1 } })).nextNumber;
    expect(next).toBe(ca.nextNumber + 12);
    // Every call returned after a write that read the counter past its own commit: the file says the last count.
    expect(parseInt(readFileSync(join(ca.directory, "QueueCA.srl"), "utf8"), 16)).toBe(next);
  });
});

describe("finding and downloading certificates", () => {
  it("searches by serial (hex, colons, decimal), number, hostname, instance and file name; pages by number", async () => {
    const issued = [];
    for (let i = 0; i < 3; i++) {
      const r = await submitRequest(request({ filename: `F${i}`, hostname: i === 2 ? "other.example.com" : "web.example.com", csr: csr(`h${i}.example.com`, ["-addext", `subjectAltName=DNS:h${i}.example.com`]) }));
      issued.push(await issueRequest(r.id, issueInput, { actor: "admin" }));
    }
    const serial = issued[1].serial;
    const colons = serial.toLowerCase().match(/../g)!.join(":");
    expect((await searchCertificates({ serial })).items.map((c) => c.number)).toEqual([2]);
    expect((await searchCertificates({ serial: colons })).items.map((c) => c.number)).toEqual([2]);
    expect((await searchCertificates({ serial: BigInt(`0x${serial}`).toString(10) })).items.map((c) => c.number)).toEqual([2]);
    expect((await searchCertificates({ number: "3" })).items.map((c) => c.filename)).toEqual(["F2"]);
    expect((await searchCertificates({ hostname: "web.example.com" })).items.map((c) => c.number)).toEqual([1, 2]);
    expect((await searchCertificates({ instance: "PROD", filename: "F0" })).items.map((c) => c.number)).toEqual([1]);
    const p1 = await searchCertificates({ take: 2 });
    expect(p1.items.map((c) => c.number)).toEqual([1, 2]);
    expect((await searchCertificates({ take: 2, cursor: p1.nextCursor })).items.map((c) => c.number)).toEqual([3]);
    await expectAppError(searchCertificates({ serial: "xyz" }), "bad_request");

    const der = await certificateFile(1, "der");
    expect(der.filename).toBe("F0.der");
    writeFileSync(scratch.path("f0.der"), der.body as Uint8Array);
    expect(opensslOk(["x509", "-inform", "DER", "-in", scratch.path("f0.der"), "-noout", "-subject"])).toContain("CN = h0.example.com");
    const chain = await certificateFile(1, "chain");
    expect(chain.filename).toBe("F0-chain.pem");
    expect((chain.body as string).match(/BEGIN CERTIFICATE/g)).toHaveLength(2);
    await expectAppError(certificateFile(1, "p12"), "bad_request");
    await expectAppError(certificateFile(99, "pem"), "not_found");
  });

  it("reinitialize deletes the records but not the files", async () => {
    const r = await submitRequest(request());
    await issueRequest(r.id, issueInput, { actor: "admin" });
    await submitRequest(request({ csr: csr("pending.example.com") }));
    await reinitializeCaServer();
    const db = await getDb();
    expect(await db.certificate.count()).toBe(0);
    expect(await db.certificateRequest.count()).toBe(0);
  });
});

describe("CSR encodings", () => {
  it("accepts base64 DER without PEM armour", async () => {
    const pem = csr("der.example.com", ["-addext", "subjectAltName=DNS:der.example.com"]);
    const b64 = pem.replace(/-----[^-]+-----/g, "").replace(/\s+/g, "");
    const r = await submitRequest(request({ csr: b64 }));
    expect(r.subject).toBe("CN=der.example.com");
  });
});
