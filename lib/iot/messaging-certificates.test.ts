import { beforeAll, describe, expect, it } from "vitest";
import { existsSync, readFileSync } from "node:fs";
import { hostname } from "node:os";
import { getDb, sqliteFile } from "../db/index.ts";
import { EMPTY_REQ_CONFIG, GENPKEY_ARGS, openssl, opensslOk } from "../pki/test-support.ts";
import { expectAppError } from "../test-support/app-error.ts";
import { useIsolatedDataDir } from "../test-support/data-dir.ts";
import {
  addMessagingCertificate,
  attachSignedCertificate,
  deleteMessagingCertificate,
  ensureDefaultMessagingCertificate,
  exportDefaultMessagingCertificate,
  generateMessagingCsr,
  getMessagingCertificate,
  listMessagingCertificates,
  setDefaultMessagingCertificate,
} from "./messaging-certificates.ts";

// Reads the SQLite file to prove keys are not stored in plaintext.
const scratch = useIsolatedDataDir("messaging", { PORTCULLIS_PUBLIC_URL: "https://pki.example.com:8443/portal", DATABASE_URL: undefined });
const PASS = "correct horse battery staple";
let n = 0;

/** A CA made with OpenSSL: `<name>.key`, `<name>.cer`. */
function opensslCa(name: string): { key: string; cer: string } {
  const key = scratch.path(`${name}.key`);
  const cer = scratch.path(`${name}.cer`);
  const conf = scratch.file(`${name}.cnf`, EMPTY_REQ_CONFIG);
  opensslOk(["genpkey", ...GENPKEY_ARGS.p256, "-out", key]);
  opensslOk([
    "req", "-x509", "-config", conf, "-key", key, "-subj", `/O=Example/CN=${name}`, "-days", "30",
    "-addext", "basicConstraints=critical,CA:TRUE", "-addext", "keyUsage=critical,keyCertSign,cRLSign",
    "-addext", "subjectKeyIdentifier=hash", "-out", cer,
  ]);
  return { key, cer };
}

/** A server certificate self-signed by OpenSSL for `key` (with -passin when the key is encrypted). */
function serverCertFor(key: string, cn: string, passin?: string): string {
  const conf = scratch.file(`srv-${++n}.cnf`, EMPTY_REQ_CONFIG);
  const out = scratch.path(`srv-${n}.cer`);
  opensslOk([
    "req", "-x509", "-config", conf, "-key", key, ...(passin ? ["-passin", `pass:${passin}`] : []), "-subj", `/CN=${cn}`, "-days", "30",
    "-addext", `subjectAltName=DNS:${cn}`, "-addext", "basicConstraints=critical,CA:FALSE",
    "-addext", "keyUsage=critical,digitalSignature", "-addext", "extendedKeyUsage=serverAuth", "-out", out,
  ]);
  return readFileSync(out, "utf8");
}

/** A P-256 key made by OpenSSL; encrypted (PKCS#8, PBES2 AES-256-CBC) with `pass` when given. */
function opensslKey(pass?: string): { file: string; pem: string } {
  const file = scratch.path(`key-${++n}.pem`);
  opensslOk(["genpkey", ...GENPKEY_ARGS.p256, ...(pass ? ["-aes-256-cbc", "-pass", `pass:${pass}`] : []), "-out", file]);
  return { file, pem: readFileSync(file, "utf8") };
}

function dbBytes(): string {
  const file = sqliteFile();
  return [file, `${file}-wal`, `${file}-journal`].filter(existsSync).map((f) => readFileSync(f).toString("latin1")).join("\n");
}

/** The base64 lines of a PEM body: none of them may appear in the database. */
function pemBodyLines(pem: string): string[] {
  return pem.split("\n").filter((l) => l && !l.startsWith("-----"));
}

describe("the default certificate", () => {
  it("exists after ensure, once, even when asked again and in parallel", async () => {
    const first = await ensureDefaultMessagingCertificate();
    const again = await ensureDefaultMessagingCertificate();
    expect(again.id).toBe(first.id);
    expect(first).toMatchObject({ kind: "certificate", source: "default", default: true, keyAlgorithm: "ecdsa-p256", selfSigned: true });
    const db = await getDb();
    expect(await db.messagingCertificate.count()).toBe(1);

    // Several processes starting at once on an empty table: exactly one default.
    await db.messagingCertificate.deleteMany();
    const racers = await Promise.all(Array.from({ length: 5 }, () => ensureDefaultMessagingCertificate()));
    expect(new Set(racers.map((r) => r.id)).size).toBe(1);
    expect(await db.messagingCertificate.count()).toBe(1);
    expect((await listMessagingCertificates()).items.filter((c) => c.default)).toHaveLength(1);
  });

  it("is what OpenSSL calls a TLS server certificate for this host, localhost and loopback", async () => {
    const def = await ensureDefaultMessagingCertificate();
    const file = scratch.file("default.cer", def.certificate!);
    const text = opensslOk(["x509", "-in", file, "-noout", "-text"]);
    const host = hostname().toLowerCase();
    expect(text).toContain(`Subject: CN = ${host}`);
    expect(text).toMatch(/X509v3 Subject Alternative Name:\s*\n\s*DNS:/);
    for (const san of [`DNS:${host}`, "DNS:localhost", "IP Address:127.0.0.1", "IP Address:0:0:0:0:0:0:0:1", "DNS:pki.example.com"]) expect(text).toContain(san);
    expect(text).toMatch(/X509v3 Extended Key Usage:\s*\n\s*TLS Web Server Authentication\n/);
    expect(text).toMatch(/X509v3 Key Usage: critical\s*\n\s*Digital Signature\n/);
    expect(text).toMatch(/X509v3 Basic Constraints: critical\s*\n\s*CA:FALSE/);
    expect(text).toContain("ASN1 OID: prime256v1");
    const days = (Date.parse(def.notAfter!) - Date.parse(def.notBefore!)) / 86_400_000;
    expect(Math.round(days)).toBe(825);
    expect(def.sans).toEqual(expect.arrayContaining([`DNS:${host}`, "DNS:localhost", "IP:127.0.0.1", "IP:::1", "DNS:pki.example.com"]));
    // Trusted as itself, it passes as an SSL server certificate for 127.0.0.1.
    const v = openssl(["verify", "-CAfile", file, "-purpose", "sslserver", "-verify_ip", "127.0.0.1", file]);
    expect(v.stdout + v.stderr).toContain(": OK");
  });

  it("never stores its key in plaintext, and exports it as unencrypted PKCS#8 matching the certificate", async () => {
    const def = await ensureDefaultMessagingCertificate();
    const exported = await exportDefaultMessagingCertificate();
    expect(exported.id).toBe(def.id);
    expect(exported.certificate).toBe(def.certificate);
    expect(exported.privateKey).toMatch(/^-----BEGIN PRIVATE KEY-----\n/);
    const keyFile = scratch.file("default.key", exported.privateKey);
    const certFile = scratch.file("default-export.cer", exported.certificate);
    // Readable without a passphrase (the wrong one given is ignored for an unencrypted key).
    const keyPub = opensslOk(["pkey", "-in", keyFile, "-passin", "pass:not-needed", "-pubout"]);
    expect(keyPub).toBe(opensslOk(["x509", "-in", certFile, "-noout", "-pubkey"]));
    const stored = dbBytes();
    // The right file: the certificate is there, in the clear.
    expect(stored).toContain(pemBodyLines(exported.certificate)[1]);
    expect(stored).not.toContain("PRIVATE KEY");
    for (const line of pemBodyLines(exported.privateKey)) expect(stored).not.toContain(line);
    // The list never carries a key.
    expect(JSON.stringify((await listMessagingCertificates()).items)).not.toMatch(/PRIVATE KEY|privateKey/);
  });
});

describe("adding a certificate with its key", () => {
  it("accepts an encrypted key with the right passphrase and stores the key sealed", async () => {
    const key = opensslKey(PASS);
    expect(key.pem).toContain("-----BEGIN ENCRYPTED PRIVATE KEY-----");
    const cert = serverCertFor(key.file, "mqtt.example.com", PASS);
    const added = await addMessagingCertificate({ certificate: cert, privateKey: key.pem, passphrase: PASS, description: "Broker, 2025" }, { actor: "admin" });
    const fp = opensslOk(["x509", "-noout", "-fingerprint", "-sha256"], cert).trim().split("=")[1];
    expect(added).toMatchObject({
      kind: "certificate",
      source: "uploaded",
      subject: "CN=mqtt.example.com",
      sha256Fingerprint: fp,
      default: false,
      description: "Broker, 2025",
      sans: ["DNS:mqtt.example.com"],
      createdBy: "admin",
    });
    expect(added.sha1Fingerprint).toBe(opensslOk(["x509", "-noout", "-fingerprint", "-sha1"], cert).trim().split("=")[1]);
    expect(typeof added.notBefore).toBe("string");
    const plain = opensslOk(["pkey", "-in", key.file, "-passin", `pass:${PASS}`]);
    const stored = dbBytes();
    for (const line of pemBodyLines(plain)) expect(stored).not.toContain(line);
    // The same certificate twice is refused.
    await expectAppError(addMessagingCertificate({ certificate: cert, privateKey: key.pem, passphrase: PASS }), "conflict", "certificate");
  });

  it("accepts unencrypted PKCS#8, SEC1 and PKCS#1 keys without a passphrase, and DER as base64", async () => {
    const key = opensslKey();
    const cert = serverCertFor(key.file, "a.example.com");
    expect((await addMessagingCertificate({ certificate: cert, privateKey: key.pem, description: "" })).kind).toBe("certificate");

    const sec1 = opensslOk(["ec", "-in", opensslKey().file]);
    const sec1File = scratch.file("sec1.pem", sec1);
    expect(sec1).toContain("BEGIN EC PRIVATE KEY");
    expect((await addMessagingCertificate({ certificate: serverCertFor(sec1File, "b.example.com"), privateKey: sec1 })).keyAlgorithm).toBe("ecdsa-p256");

    const rsaFile = scratch.path("rsa.pem");
    opensslOk(["genpkey", ...GENPKEY_ARGS.rsa2048, "-out", rsaFile]);
    const pkcs1 = opensslOk(["rsa", "-in", rsaFile, "-traditional"]);
    expect(pkcs1).toContain("BEGIN RSA PRIVATE KEY");
    const rsaCert = serverCertFor(rsaFile, "c.example.com");
    const certB64 = readDerOf(rsaCert).toString("base64");
    const r = await addMessagingCertificate({ certificate: certB64, privateKey: pkcs1 });
    expect(r).toMatchObject({ keyAlgorithm: "rsa-2048", subject: "CN=c.example.com" });
  });

  it("refuses a wrong passphrase, a missing passphrase, a passphrase for an unencrypted key, and a mismatched key", async () => {
    const enc = opensslKey(PASS);
    const cert = serverCertFor(enc.file, "d.example.com", PASS);
    const wrong = await expectAppError(addMessagingCertificate({ certificate: cert, privateKey: enc.pem, passphrase: "not it" }), "wrong_password", "passphrase");
    expect(wrong.status).toBe(422);
    const missing = await expectAppError(addMessagingCertificate({ certificate: cert, privateKey: enc.pem }), "validation_failed", "passphrase");
    expect(missing.message).toMatch(/encrypted: enter its passphrase/);

    const plain = opensslKey();
    const plainCert = serverCertFor(plain.file, "e.example.com");
    const extra = await expectAppError(addMessagingCertificate({ certificate: plainCert, privateKey: plain.pem, passphrase: "secret" }), "validation_failed", "passphrase");
    expect(extra.message).toMatch(/not encrypted, but a passphrase was given/);

    const other = opensslKey();
    const mismatch = await expectAppError(addMessagingCertificate({ certificate: plainCert, privateKey: other.pem }), "key_mismatch", "privateKey");
    expect(mismatch.message).toMatch(/does not match the certificate/);
    expect(mismatch.status).toBe(422);
  });

  it("refuses two certificates in one file, a CA certificate, an expired one, and files in the wrong fields", async () => {
    const key = opensslKey();
    const a = serverCertFor(key.file, "f.example.com");
    const b = serverCertFor(key.file, "g.example.com");
    const two = await expectAppError(addMessagingCertificate({ certificate: a + b, privateKey: key.pem }), "bad_request", "certificate");
    expect(two.message).toMatch(/2 certificates; exactly one is expected/);

    const ca = opensslCa("Some CA");
    const caErr = await expectAppError(addMessagingCertificate({ certificate: readFileSync(ca.cer, "utf8"), privateKey: readFileSync(ca.key, "utf8") }), "validation_failed", "certificate");
    expect(caErr.message).toMatch(/CA certificate/);

    const later = new Date(Date.now() + 60 * 86_400_000);
    const expired = await expectAppError(addMessagingCertificate({ certificate: a, privateKey: key.pem }, { now: later }), "validation_failed", "certificate");
    expect(expired.message).toMatch(/expired on/);

    await expectAppError(addMessagingCertificate({ certificate: key.pem, privateKey: key.pem }), "bad_request", "certificate");
    await expectAppError(addMessagingCertificate({ certificate: a, privateKey: a }), "bad_request", "privateKey");
    await expectAppError(addMessagingCertificate({ certificate: a, privateKey: key.pem + key.pem }), "bad_request", "privateKey");
    await expectAppError(addMessagingCertificate({ certificate: "", privateKey: key.pem }), "validation_failed", "certificate");
    await expectAppError(addMessagingCertificate({ certificate: a }), "validation_failed", "privateKey");
    await expectAppError(addMessagingCertificate({ certificate: "not a certificate at all", privateKey: key.pem }), "bad_request", "certificate");
  });
});

function readDerOf(pem: string): Buffer {
  const file = scratch.file(`der-${++n}.pem`, pem);
  const out = scratch.path(`der-${n}.der`);
  opensslOk(["x509", "-in", file, "-outform", "DER", "-out", out]);
  return readFileSync(out);
}

describe("the CSR round-trip", () => {
  let ca: { key: string; cer: string };
  beforeAll(() => {
    ca = opensslCa("Messaging Test CA");
  });

  /** Signs a CSR with the OpenSSL CA as a TLS server certificate, copying its SANs. */
  function signWithOpenssl(csrPem: string, days = 30): string {
    const csrFile = scratch.file(`req-${++n}.csr`, csrPem);
    const ext = scratch.file(`req-${n}.ext`, "basicConstraints=critical,CA:FALSE\nkeyUsage=critical,digitalSignature\nextendedKeyUsage=serverAuth\n");
    const out = scratch.path(`req-${n}.cer`);
    opensslOk(["x509", "-req", "-in", csrFile, "-CA", ca.cer, "-CAkey", ca.key, "-set_serial", `0x${(Date.now() * 1000 + n).toString(16)}`, "-days", String(days), "-extfile", ext, "-copy_extensions", "copy", "-out", out]);
    return readFileSync(out, "utf8");
  }

  it("generates a CSR OpenSSL verifies, lists it, and turns it into a certificate when the signed certificate is attached", async () => {
    const { id, csr } = await generateMessagingCsr(
      { subject: { C: "DE", ST: "Bavaria", L: "Munich", O: "Example", OU: "IoT", CN: "broker.example.com" }, sans: ["DNS:broker.example.com", "IP:192.0.2.10"], keyAlgorithm: "ecdsa-p384" },
      { actor: "admin" },
    );
    expect(csr).toMatch(/^-----BEGIN CERTIFICATE REQUEST-----\n/);
    const csrFile = scratch.file("gen.csr", csr);
    // `openssl req -verify` exits 0 either way; what it prints is the verdict.
    const verify = openssl(["req", "-in", csrFile, "-verify", "-noout", "-text"]);
    expect(verify.stdout + verify.stderr).toMatch(/verify OK/i);
    expect(verify.stdout + verify.stderr).not.toMatch(/verify failure/i);
    expect(verify.stdout).toContain("DNS:broker.example.com, IP Address:192.0.2.10");
    expect(verify.stdout).toContain("NIST CURVE: P-384");
    expect(verify.stdout).toMatch(/Subject: C = DE, ST = Bavaria, L = Munich, O = Example, OU = IoT, CN = broker.example.com/);

    const row = await getMessagingCertificate(id);
    expect(row).toMatchObject({ kind: "csr", source: "csr", default: false, certificate: null, csr, keyAlgorithm: "ecdsa-p384", sans: ["DNS:broker.example.com", "IP:192.0.2.10"] });
    expect((await listMessagingCertificates()).items.some((c) => c.id === id && c.kind === "csr")).toBe(true);
    // Its key is sealed too.
    const db = await getDb();
    expect((await db.messagingCertificate.findUniqueOrThrow({ where: { id } })).privateKeyEnc).toMatch(/^v1\./);

    const signed = signWithOpenssl(csr);
    const attached = await attachSignedCertificate(id, { certificate: signed });
    expect(attached).toMatchObject({ id, kind: "certificate", source: "csr", default: false, subject: "C=DE, ST=Bavaria, L=Munich, O=Example, OU=IoT, CN=broker.example.com" });
    expect(attached.issuer).toBe("O=Example, CN=Messaging Test CA");
    expect(attached.sans).toEqual(["DNS:broker.example.com", "IP:192.0.2.10"]);
    expect(opensslOk(["verify", "-CAfile", ca.cer, "-purpose", "sslserver"], signed)).toContain("OK");
    // Attached once; the row is no longer a CSR.
    await expectAppError(attachSignedCertificate(id, { certificate: signed }), "conflict", "certificate");
  });

  it("refuses a signed certificate uploaded onto the wrong CSR row, naming the right one", async () => {
    const a = await generateMessagingCsr({ subject: { CN: "a.broker.example.com" }, sans: [], keyAlgorithm: "ecdsa-p256" });
    const b = await generateMessagingCsr({ subject: { CN: "b.broker.example.com" }, sans: ["DNS:b.broker.example.com"] });
    // With no SANs given, the CN (a host name) was asked for as one.
    expect((await getMessagingCertificate(a.id)).sans).toEqual(["DNS:a.broker.example.com"]);
    const signedA = signWithOpenssl(a.csr);
    const e = await expectAppError(attachSignedCertificate(b.id, { certificate: signedA }), "key_mismatch", "certificate");
    expect(e.message).toContain("This certificate does not belong to this CSR");
    expect(e.message).toContain(a.id);
    expect((await getMessagingCertificate(b.id)).kind).toBe("csr");
    // A certificate row is never a target; an unknown id is 404.
    const def = await ensureDefaultMessagingCertificate();
    await expectAppError(attachSignedCertificate(def.id, { certificate: signedA }), "conflict");
    await expectAppError(attachSignedCertificate("nope", { certificate: signedA }), "not_found");
    // Onto its own row it is accepted.
    expect((await attachSignedCertificate(a.id, { certificate: signedA })).kind).toBe("certificate");
  });

  it("refuses bad CSR input with field errors", async () => {
    await expectAppError(generateMessagingCsr({ subject: { O: "No host" } }), "validation_failed", "sans");
    await expectAppError(generateMessagingCsr({ subject: { CN: "x.example.com" }, sans: ["email:a@example.com"] }), "validation_failed", "sans");
    await expectAppError(generateMessagingCsr({ subject: { CN: "x.example.com" }, sans: ["DNS:not a host"] }), "validation_failed", "sans");
    await expectAppError(generateMessagingCsr({ subject: { C: "Germany", CN: "x.example.com" } }), "validation_failed", "subject.C");
    await expectAppError(generateMessagingCsr({ subject: { CN: "x.example.com" }, keyAlgorithm: "dsa-1024" }), "validation_failed", "keyAlgorithm");
  });
});

describe("the default, export and delete", () => {
  it("switches the default in one step, exports the new one, and protects the default from deletion", async () => {
    const oldDefault = await ensureDefaultMessagingCertificate();
    const key = opensslKey(PASS);
    const cert = serverCertFor(key.file, "new-default.example.com", PASS);
    const added = await addMessagingCertificate({ certificate: cert, privateKey: key.pem, passphrase: PASS, description: "new default" });

    const csrRow = await generateMessagingCsr({ subject: { CN: "pending.example.com" } });
    await expectAppError(setDefaultMessagingCertificate(csrRow.id), "validation_failed", "id");
    await expectAppError(setDefaultMessagingCertificate("missing"), "not_found");

    const now = await setDefaultMessagingCertificate(added.id);
    expect(now).toMatchObject({ id: added.id, default: true });
    const list = (await listMessagingCertificates()).items;
    expect(list.filter((c) => c.default).map((c) => c.id)).toEqual([added.id]);
    expect(list.find((c) => c.id === oldDefault.id)?.default).toBe(false);
    // Setting it again changes nothing.
    expect((await setDefaultMessagingCertificate(added.id)).default).toBe(true);

    const exported = await exportDefaultMessagingCertificate();
    expect(exported.certificate).toBe(opensslOk(["x509"], cert));
    expect(exported.privateKey).toMatch(/^-----BEGIN PRIVATE KEY-----\n[\s\S]*-----END PRIVATE KEY-----\n$/);
    const keyFile = scratch.file("export2.key", exported.privateKey);
    expect(opensslOk(["pkey", "-in", keyFile, "-pubout"])).toBe(opensslOk(["x509", "-noout", "-pubkey"], cert));
    expect(opensslOk(["pkey", "-in", keyFile, "-pubout"])).toBe(opensslOk(["pkey", "-in", key.file, "-passin", `pass:${PASS}`, "-pubout"]));

    const refused = await expectAppError(deleteMessagingCertificate(added.id), "conflict");
    expect(refused.message).toMatch(/cannot be deleted/);
    expect(await deleteMessagingCertificate(oldDefault.id)).toEqual({ id: oldDefault.id, deleted: true });
    expect(await deleteMessagingCertificate(csrRow.id)).toEqual({ id: csrRow.id, deleted: true });
    await expectAppError(deleteMessagingCertificate(csrRow.id), "not_found");
    // A default still exists, so no new self-signed one appears.
    expect((await ensureDefaultMessagingCertificate()).id).toBe(added.id);

    // Switching back and forth under concurrency leaves exactly one default.
    const k2 = opensslKey();
    const c2 = await addMessagingCertificate({ certificate: serverCertFor(k2.file, "y.example.com"), privateKey: k2.pem });
    await Promise.all([setDefaultMessagingCertificate(c2.id), setDefaultMessagingCertificate(added.id), setDefaultMessagingCertificate(c2.id)]);
    expect((await listMessagingCertificates()).items.filter((c) => c.default)).toHaveLength(1);
  });
});
