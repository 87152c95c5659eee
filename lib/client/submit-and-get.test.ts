/**
 * The CA client against a real CA server: this process is both (the same-instance
 * case). A loopback HTTP server exposes the CA server's use cases under /api/v1 the way
 * the route handlers do, so the client speaks real HTTP to real issuance code.
 */
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { existsSync, readFileSync, statSync, writeFileSync, unlinkSync } from "node:fs";
import { join } from "node:path";
import { getDb } from "../db/index.ts";
import { openssl, opensslOk } from "../pki/test-support.ts";
import { expectAppError } from "../test-support/app-error.ts";
import { useIsolatedDataDir, useTestSmtpServer } from "../test-support/data-dir.ts";
import { unusedPort } from "../test-support/ports.ts";
import { startCaApiServer, type CaApiServer } from "../test-support/client-instance.ts";
import { configureCaServer } from "../ca/configure-server.ts";
import { issueRequest } from "../ca/issue-request.ts";
import { getPublicCaCertificate } from "../ca/get-server.ts";
import { configureCaClient, findCaClient, CONFIGURED_MESSAGE, type ConfigureClientInput } from "./configure-client.ts";
import { submitCertificateRequest, resubmitCertificateRequest, listClientRequests } from "./submit-request.ts";
import { getCaCertificate, getIssuedCertificate, searchServerCertificates } from "./get-certificates.ts";
import { readClientFile } from "./client-files.ts";

const scratch = useIsolatedDataDir("client-e2e");
const smtp = useTestSmtpServer();
const CA_PW = "ca key password 1";
const KEY_PW = "client key pw";
let api: CaApiServer;
let apiPort: number;
let closedPort: number;

function clientInput(over: Partial<ConfigureClientInput> = {}): ConfigureClientInput {
  return { serverHost: "127.0.0.1", serverPort: String(apiPort), serverPath: "/api/v1", instanceName: "CLIENT1", hostname: "client1.example.com", contactName: "Ann Contact", contactPhone: "+1 617 555 0100", contactEmail: "ann@example.com", ...over };
}

const clientDir = () => join(scratch.dir, "client");

beforeAll(async () => {
  api = await startCaApiServer();
  apiPort = api.port;
  closedPort = await unusedPort();
  await configureCaServer({
    fileNameRoot: "MyCA",
    directory: "ca",
    keyPassword: CA_PW,
    keyPasswordConfirm: CA_PW,
    subject: { C: "US", O: "Example Corporation", CN: "Example Client Test CA" },
    keyAlgorithm: "ecdsa-p256",
    caValidityDays: 3650,
    issuedValidityDays: 365,
    smtp: { host: "127.0.0.1", port: smtp.port, secure: false },
    adminEmail: "camgr@example.com",
  });
});

afterAll(async () => {
  await api.close();
});

beforeEach(async () => {
  smtp.messages.length = 0;
});

describe("configure", () => {
  it("validates every field and answers IRIS's message", async () => {
    const e = await expectAppError(configureCaClient({ serverHost: "bad host!", serverPort: "70000", serverPath: "api", instanceName: "-x", contactName: " ", contactPhone: "call me", contactEmail: "nope", hostname: "under_score" }));
    expect(e.code).toBe("validation_failed");
    expect(Object.keys(e.fields!).sort()).toEqual(["contactEmail", "contactName", "contactPhone", "hostname", "instanceName", "serverHost", "serverPath", "serverPort"]);
    expect(e.fields!.serverPort).toBe("The port number must be between 1 and 65535");
    expect(e.fields!.serverPath).toBe('The path starts with "/", for example /api/v1');
    expect(await findCaClient()).toBeNull();

    const ok = await configureCaClient({ ...clientInput(), serverHost: "[::1]", serverPath: "/pki/api/", contactPhone: "", contactEmail: "" });
    expect(ok.message).toBe(CONFIGURED_MESSAGE);
    expect(ok.client).toMatchObject({ serverHost: "::1", serverPath: "/pki/api", serverUrl: `http://[::1]:${apiPort}/pki/api`, contactPhone: null, contactEmail: null });
    const again = await configureCaClient(clientInput());
    expect(again.client.serverUrl).toBe(`http://127.0.0.1:${apiPort}/api/v1`);
    expect((await findCaClient())?.contactEmail).toBe("ann@example.com");
  });
});

describe("submit, issue, get", () => {
  it("saves key and CSR, submits them, and the server queues the request and mails its administrator", async () => {
    await configureCaClient(clientInput());
    const r = await submitCertificateRequest({ fileNameRoot: "CAClient060412", keyPassword: KEY_PW, keyPasswordConfirm: KEY_PW, subject: { CN: "client.example.com", O: "Example Corporation" }, keyAlgorithm: "ecdsa-p256", sans: "DNS:client.example.com" });
    expect(r.message).toBe(`SHA-1 Fingerprint: ${r.sha1Fingerprint}, Certificate Signing Request "CAClient060412" successfully submitted to the Certificate Authority at instance MyCA on node 127.0.0.1`);

    const keyFile = join(clientDir(), "CAClient060412.key");
    const csrFile = join(clientDir(), "CAClient060412.csr");
    expect(r.keyFile).toBe(keyFile);
    expect(statSync(keyFile).mode & 0o777).toBe(0o600);
    expect(readFileSync(keyFile, "utf8")).toContain("-----BEGIN ENCRYPTED PRIVATE KEY-----");
    // OpenSSL reads the key with the password, and not without it.
    expect(openssl(["pkey", "-in", keyFile, "-passin", `pass:${KEY_PW}`, "-noout"]).status).toBe(0);
    expect(openssl(["pkey", "-in", keyFile, "-passin", "pass:wrong password", "-noout"]).status).not.toBe(0);
    const verify = openssl(["req", "-in", csrFile, "-verify", "-noout"]);
    expect(`${verify.stdout}${verify.stderr}`).toMatch(/verify OK/);
    expect(`${verify.stdout}${verify.stderr}`).not.toMatch(/verify failure/);
    // The fingerprint shown is the one OpenSSL computes over the CSR's DER.
    const der = scratch.path("req.der");
    opensslOk(["req", "-in", csrFile, "-outform", "DER", "-out", der]);
    expect(opensslOk(["sha1", "-r", der]).split(" ")[0].toUpperCase().match(/../g)!.join(":")).toBe(r.sha1Fingerprint);

    const db = await getDb();
    const queued = await db.certificateRequest.findUniqueOrThrow({ where: { id: r.serverRequestId } });
    expect(queued).toMatchObject({ status: "pending", filename: "CAClient060412", instance: "CLIENT1", hostname: "client1.example.com", contactName: "Ann Contact", contactEmail: "ann@example.com", sha1Fingerprint: r.sha1Fingerprint });
    const mail = await smtp.waitFor((m) => m.to.includes("camgr@example.com"));
    expect(mail.text).toContain(r.sha1Fingerprint);
    const mine = await listClientRequests();
    expect(mine[0]).toMatchObject({ fileNameRoot: "CAClient060412", status: "submitted", serverRequestId: r.serverRequestId, keyEncrypted: true, sans: ["DNS:client.example.com"] });

    // The administrator issues it; the client gets the CA certificate and its own.
    const issued = await issueRequest(r.serverRequestId, { usage: "tls", caKeyPassword: CA_PW, fingerprintVerified: true }, { actor: "admin" });
    const ca = await getCaCertificate();
    const caFile = join(clientDir(), "MyCA.cer");
    expect(ca.file).toBe(caFile);
    expect(ca.message).toBe(`Certificate Authority Certificate (SHA-1 Fingerprint: ${ca.sha1Fingerprint}) saved in file "${caFile}"`);
    expect(ca.sha1Fingerprint).toBe((await getPublicCaCertificate()).sha1Fingerprint);
    expect(opensslOk(["x509", "-in", caFile, "-noout", "-fingerprint", "-sha1"]).trim().split("=")[1]).toBe(ca.sha1Fingerprint);
    expect((await findCaClient())?.ca?.sha1Fingerprint).toBe(ca.sha1Fingerprint);

    const found = await searchServerCertificates({ filename: "CAClient060412" });
    expect(found.items.map((c) => c.number)).toEqual([issued.number]);
    expect((await searchServerCertificates({ thisInstance: true })).items.map((c) => c.filename)).toContain("CAClient060412");
    expect((await searchServerCertificates({ instance: "OTHER" })).items).toEqual([]);

    const got = await getIssuedCertificate(String(issued.number));
    const cerFile = join(clientDir(), "CAClient060412.cer");
    expect(got.message).toBe(`Certificate number ${issued.number} (SHA-1 Fingerprint: ${issued.sha1Fingerprint}) saved in file "${cerFile}"`);
    expect(got.notes).toEqual([]);
    const v = openssl(["verify", "-x509_strict", "-CAfile", caFile, "-purpose", "sslserver", cerFile]);
    expect(v.status, v.stderr).toBe(0);
    expect(v.stdout).toContain(": OK");
    // The certificate carries the key saved in CAClient060412.key.
    const certPub = opensslOk(["x509", "-in", cerFile, "-noout", "-pubkey"]);
    expect(opensslOk(["pkey", "-in", keyFile, "-passin", `pass:${KEY_PW}`, "-pubout"])).toBe(certPub);
    // Offered to the browser: certificates and CSRs, never keys.
    expect((await readClientFile("CAClient060412.cer")).body.toString()).toContain("BEGIN CERTIFICATE");
    await expectAppError(readClientFile("CAClient060412.key"), "not_found");
    await expectAppError(readClientFile("../secret.key"), "not_found");
  });

  it("without a password the key is unencrypted PKCS#8; RSA works too", async () => {
    await configureCaClient(clientInput());
    const r = await submitCertificateRequest({ fileNameRoot: "plain-key", subject: { CN: "Documentation Test Client" }, keyAlgorithm: "rsa-2048" });
    expect(r.keyEncrypted).toBe(false);
    expect(readFileSync(r.keyFile, "utf8")).toContain("-----BEGIN PRIVATE KEY-----");
    expect(opensslOk(["pkey", "-in", r.keyFile, "-noout", "-text"])).toContain("Private-Key: (2048 bit");
  });

  it("refuses bad fields before writing anything, and never overwrites files", async () => {
    await configureCaClient(clientInput());
    const e = await expectAppError(submitCertificateRequest({ fileNameRoot: "cache", keyPassword: "short", keyPasswordConfirm: "other", subject: {}, sans: "IP:1.2.3" }));
    expect(Object.keys(e.fields!).sort()).toEqual(["fileNameRoot", "keyPassword", "keyPasswordConfirm", "sans", "subject.CN"]);
    expect(existsSync(join(clientDir(), "cache.key"))).toBe(false);

    const dup = await expectAppError(submitCertificateRequest({ fileNameRoot: "CAClient060412", subject: { CN: "again" } }));
    expect(dup.code).toBe("conflict");
    expect(dup.fields?.fileNameRoot).toContain("already exists");
  });

  it("an unreachable server: the files are kept, the failure recorded, and the request can be sent again", async () => {
    await configureCaClient(clientInput({ serverPort: String(closedPort) }));
    const e = await expectAppError(submitCertificateRequest({ fileNameRoot: "offline", keyPassword: KEY_PW, keyPasswordConfirm: KEY_PW, subject: { CN: "offline.example.com" }, sans: "offline.example.com" }));
    const keyFile = join(clientDir(), "offline.key");
    const csrFile = join(clientDir(), "offline.csr");
    expect(e.message).toBe(
      `Cannot reach the Certificate Authority server at http://127.0.0.1:${closedPort}/api/v1: the connection was refused (nothing is listening on that port) (ECONNREFUSED). Check that it is running and that the host name and port are right. The private key and the Certificate Signing Request were kept: ${keyFile} and ${csrFile}. Correct the problem and submit them again from the list of this instance's requests.`,
    );
    expect(existsSync(keyFile) && existsSync(csrFile)).toBe(true);
    expect(openssl(["pkey", "-in", keyFile, "-passin", `pass:${KEY_PW}`, "-noout"]).status).toBe(0);
    const row = (await listClientRequests()).find((x) => x.fileNameRoot === "offline")!;
    expect(row).toMatchObject({ status: "failed", serverRequestId: null });
    expect(row.error).toContain("ECONNREFUSED");

    await configureCaClient(clientInput());
    const again = await resubmitCertificateRequest(row.id);
    expect(again.sha1Fingerprint).toBe(row.sha1Fingerprint);
    expect(again.message).toContain('Certificate Signing Request "offline" successfully submitted');
    expect((await listClientRequests()).find((x) => x.id === row.id)).toMatchObject({ status: "submitted", serverRequestId: again.serverRequestId, error: null });
    await expectAppError(resubmitCertificateRequest(row.id), "conflict");
  });

  it("the server's refusal is passed through with its message (a duplicate CSR answers 409)", async () => {
    await configureCaClient(clientInput());
    const db = await getDb();
    const r = await submitCertificateRequest({ fileNameRoot: "dup-a", subject: { CN: "dup.example.com" } });
    // Resending the same pending CSR: mark the local record failed to allow it, as after a lost answer.
    await db.clientRequest.update({ where: { id: r.id }, data: { status: "failed" } });
    const e = await expectAppError(resubmitCertificateRequest(r.id));
    expect(e.code).toBe("conflict");
    expect(e.message).toMatch(new RegExp(`^The Certificate Authority server at 127\\.0\\.0\\.1:${apiPort} refused the request: This Certificate Signing Request is already waiting in the queue`));
    expect(e.message).toContain("were kept");
  });

  it("Get refuses a certificate the saved CA did not sign, and a number that does not exist", async () => {
    await configureCaClient(clientInput());
    await expectAppError(getIssuedCertificate("99999"), "not_found");
    expect((await expectAppError(getIssuedCertificate("abc"))).fields).toEqual({ number: "Choose a certificate by its number" });
    const db = await getDb();
    const someone = await db.certificate.findFirstOrThrow();
    // Pretend another CA certificate was saved earlier.
    const other = scratch.path("other.pem");
    opensslOk(["req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-keyout", scratch.path("other.key"), "-out", other, "-subj", "/CN=Other CA", "-days", "2"]);
    await db.caClient.update({ where: { id: 1 }, data: { caCertificatePem: readFileSync(other, "utf8"), caSha1Fingerprint: "00" } });
    const e = await expectAppError(getIssuedCertificate(someone.number));
    expect(e.message).toContain("was not issued by the Certificate Authority certificate saved on this instance");
    await getCaCertificate();
    expect((await getIssuedCertificate(someone.number)).number).toBe(someone.number);
  });

  it("a downloaded certificate whose key is not the local CSR's is flagged", async () => {
    await configureCaClient(clientInput());
    const db = await getDb();
    const cert = await db.certificate.findFirstOrThrow({ where: { filename: "CAClient060412" } });
    const csrFile = join(clientDir(), "CAClient060412.csr");
    const saved = readFileSync(csrFile);
    const other = scratch.path("o.csr");
    opensslOk(["req", "-new", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-keyout", scratch.path("o.key"), "-out", other, "-subj", "/CN=o"]);
    unlinkSync(csrFile);
    writeFileSync(csrFile, readFileSync(other));
    try {
      const got = await getIssuedCertificate(cert.number);
      expect(got.notes.join(" ")).toContain("does not belong to the private key");
    } finally {
      writeFileSync(csrFile, saved);
    }
  });
});
