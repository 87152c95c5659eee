import { beforeEach, describe, expect, it } from "vitest";
import { existsSync, readFileSync, readdirSync, statSync, writeFileSync, mkdirSync, rmSync } from "node:fs";
import { join } from "node:path";
import { monitorEventLoopDelay } from "node:perf_hooks";
import { getDb } from "../db/index.ts";
import { startTestSmtpServer } from "../mail/test-smtp-server.ts";
import { openssl, opensslOk } from "../pki/test-support.ts";
import { expectAppError } from "../test-support/app-error.ts";
import { useIsolatedDataDir, useTestSmtpServer } from "../test-support/data-dir.ts";
import { configureCaServer, inspectCaServerLocation, type ConfigureCaInput } from "./configure-server.ts";
import { reinitializeCaServer } from "./reinitialize-server.ts";
import { findCaServerView, getPublicCaCertificate } from "./get-server.ts";

const scratch = useIsolatedDataDir("ca-config");
const smtp = useTestSmtpServer();
const KEY_PW = "ca key password 1";

function input(over: Partial<ConfigureCaInput> = {}): ConfigureCaInput {
  return {
    fileNameRoot: "TestCA",
    directory: "ca",
    keyPassword: KEY_PW,
    keyPasswordConfirm: KEY_PW,
    subject: { C: "us", O: "Example Corporation", CN: "Example Test CA" },
    keyAlgorithm: "ecdsa-p256",
    caValidityDays: 3650,
    issuedValidityDays: 365,
    smtp: { host: "127.0.0.1", port: smtp.port, secure: false, username: "mailer", password: "smtp-secret-42", passwordConfirm: "smtp-secret-42" },
    adminEmail: "camgr@example.com",
    ...over,
  };
}

async function dbIsEmpty(): Promise<boolean> {
  const db = await getDb();
  return (await db.caServer.count()) === 0;
}

beforeEach(async () => {
  const db = await getDb();
  await db.caServer.deleteMany();
  smtp.messages.length = 0;
});

describe("new key and certificate", () => {
  it("writes key, certificate and SRL that OpenSSL accepts, and e-mails the administrator", async () => {
    const dir = join(scratch.dir, "new1");
    const r = await configureCaServer(input({ directory: "new1" }));
    expect(r.mode).toBe("new");
    const key = join(dir, "TestCA.key");
    const cer = join(dir, "TestCA.cer");
    const srl = join(dir, "TestCA.srl");
    expect(r.files.sort()).toEqual([cer, key, srl].sort());
    for (const f of [key, cer, srl]) expect(statSync(f).mode & 0o777).toBe(0o600);

    // The key is encrypted PKCS#8 that only the password opens.
    expect(readFileSync(key, "utf8")).toMatch(/^-----BEGIN ENCRYPTED PRIVATE KEY-----/);
    expect(openssl(["pkey", "-in", key, "-passin", `pass:${KEY_PW}`, "-noout"]).status).toBe(0);
    expect(openssl(["pkey", "-in", key, "-passin", "pass:wrong password", "-noout"]).status).not.toBe(0);
    expect(opensslOk(["asn1parse", "-in", key])).toMatch(/PBES2/);

    // The certificate is a CA that verifies against itself and matches the key.
    const text = opensslOk(["x509", "-in", cer, "-noout", "-text"]);
    expect(text).toMatch(/CA:TRUE/);
    expect(text).toMatch(/Certificate Sign, CRL Sign/);
    expect(text).toMatch(/Subject: C = US, O = Example Corporation, CN = Example Test CA/);
    expect(opensslOk(["verify", "-x509_strict", "-CAfile", cer, cer])).toMatch(/OK/);
    const certPub = opensslOk(["x509", "-in", cer, "-noout", "-pubkey"]);
    const keyPub = opensslOk(["pkey", "-in", key, "-passin", `pass:${KEY_PW}`, "-pubout"]);
    expect(keyPub).toBe(certPub);

    // The fingerprint is OpenSSL's, and the SRL holds the next number as OpenSSL writes it.
    const fp = opensslOk(["x509", "-in", cer, "-noout", "-fingerprint", "-sha1"]).trim().split("=")[1];
    expect(r.sha1Fingerprint).toBe(fp);
    expect(readFileSync(srl, "utf8")).toBe("01\n");

    expect(r.message[0]).toBe("Certificate Authority server successfully configured.");
    expect(r.message).toContain(`Created new files: ${dir}/TestCA.cer .key, and .srl.`);
    expect(r.message).toContain(fp);
    expect(r.message.at(-1)).toBe("Confirmation email sent to: camgr@example.com");
    expect(r.emailSentTo).toBe("camgr@example.com");

    const mail = await smtp.waitFor((m) => m.to.includes("camgr@example.com"));
    expect(mail.user).toBe("mailer");
    expect(mail.text).toContain(fp);

    const view = await findCaServerView();
    expect(view?.smtp).toEqual({ host: "127.0.0.1", port: smtp.port, secure: false, username: "mailer", passwordSet: true });
    expect(JSON.stringify(view)).not.toContain("smtp-secret-42");
    const db = await getDb();
    const row = await db.caServer.findUnique({ where: { id: 1 } });
    expect(row?.smtpPasswordEnc).toBeTruthy();
    expect(row?.smtpPasswordEnc).not.toContain("smtp-secret-42");
    expect(Buffer.from(row!.smtpPasswordEnc!.split(".")[3], "base64").toString("latin1")).not.toContain("smtp-secret-42");

    const pub = await getPublicCaCertificate();
    expect(pub.pem).toBe(readFileSync(cer, "utf8"));
  });

  it.each(["ecdsa-p384", "rsa-2048"] as const)("creates a %s CA", async (alg) => {
    const r = await configureCaServer(input({ directory: `alg-${alg}`, keyAlgorithm: alg }));
    const text = opensslOk(["pkey", "-in", join(scratch.dir, `alg-${alg}`, "TestCA.key"), "-passin", `pass:${KEY_PW}`, "-noout", "-text"]);
    expect(text).toMatch(alg === "rsa-2048" ? /2048 bit/ : /NIST CURVE: P-384/);
    expect(r.mode).toBe("new");
  });

  it("refuses a second configuration until reinitialized", async () => {
    await configureCaServer(input({ directory: "twice" }));
    await expectAppError(configureCaServer(input({ directory: "twice-b" })), "conflict");
    expect(existsSync(join(scratch.dir, "twice-b", "TestCA.key"))).toBe(false);
  });

  it("renames a lone certificate with .old and creates a new pair", async () => {
    const dir = join(scratch.dir, "lone");
    mkdirSync(dir, { recursive: true });
    writeFileSync(join(dir, "TestCA.cer"), "old certificate");
    const insp = await inspectCaServerLocation({ fileNameRoot: "TestCA", directory: "lone" });
    expect(insp).toMatchObject({ mode: "new", willRename: [join(dir, "TestCA.cer")] });
    const r = await configureCaServer(input({ directory: "lone" }));
    expect(r.renamed).toEqual([{ from: join(dir, "TestCA.cer"), to: join(dir, "TestCA.cer.old") }]);
    expect(readFileSync(join(dir, "TestCA.cer.old"), "utf8")).toBe("old certificate");
    expect(readFileSync(join(dir, "TestCA.cer"), "utf8")).toMatch(/BEGIN CERTIFICATE/);
  });

  it("keeps the configuration when SMTP is down, and queues the mail", async () => {
    const closed = await startTestSmtpServer();
    const port = closed.port;
    await closed.stop();
    const r = await configureCaServer(input({ directory: "nosmtp", smtp: { host: "127.0.0.1", port } }));
    expect(r.email.status).toBe("queued");
    expect(r.emailSentTo).toBeNull();
    expect(r.message.at(-1)).toMatch(/could not be sent yet .*queued and will be retried/);
    const db = await getDb();
    expect(await db.caServer.count()).toBe(1);
    const queued = await db.outboxMessage.findFirst({ where: { kind: "ca-configured", status: "pending" }, orderBy: { createdAt: "desc" } });
    expect(queued?.toAddress).toBe("camgr@example.com");
    expect(queued?.lastError).toMatch(/refused/i);
  });

  it("does not block the event loop while generating an RSA 4096 key", async () => {
    const h = monitorEventLoopDelay({ resolution: 10 });
    h.enable();
    await configureCaServer(input({ directory: "rsa4096", keyAlgorithm: "rsa-4096", smtp: {} }));
    h.disable();
    // Generation takes seconds; the loop must stay responsive throughout (scrypt and signing are short).
    expect(h.max / 1e6).toBeLessThan(250);
    expect(opensslOk(["pkey", "-in", join(scratch.dir, "rsa4096", "TestCA.key"), "-passin", `pass:${KEY_PW}`, "-noout", "-text"])).toMatch(/4096 bit/);
  });
});

describe("bad input gets a specific message and leaves nothing behind", () => {
  const cases: [string, Partial<ConfigureCaInput>, string][] = [
    ["root 'cache'", { fileNameRoot: "cache" }, "fileNameRoot"],
    ["root 'CaChE'", { fileNameRoot: "CaChE" }, "fileNameRoot"],
    ["root with a slash", { fileNameRoot: "a/b" }, "fileNameRoot"],
    ["root with a space", { fileNameRoot: "my ca" }, "fileNameRoot"],
    ["empty root", { fileNameRoot: "" }, "fileNameRoot"],
    ["empty directory", { directory: "  " }, "directory"],
    ["three-letter country", { subject: { C: "USA", CN: "x" } }, "subject.C"],
    ["unknown country", { subject: { C: "XX", CN: "x" } }, "subject.C"],
    ["empty subject", { subject: {} }, "subject.CN"],
    ["passwords that differ", { keyPasswordConfirm: "something else" }, "keyPasswordConfirm"],
    ["short key password", { keyPassword: "short", keyPasswordConfirm: "short" }, "keyPassword"],
    ["validity 0", { caValidityDays: 0 }, "caValidityDays"],
    ["absurd validity", { caValidityDays: 999999 }, "caValidityDays"],
    ["issued validity not a number", { issuedValidityDays: "ten" }, "issuedValidityDays"],
    ["issued longer than the CA", { caValidityDays: 30, issuedValidityDays: 365 }, "issuedValidityDays"],
    ["unknown key algorithm", { keyAlgorithm: "dsa-1024" }, "keyAlgorithm"],
    ["SMTP passwords that differ", { smtp: { host: "smtp.example.com", username: "u", password: "a", passwordConfirm: "b" } }, "smtp.passwordConfirm"],
    ["bad SMTP port", { smtp: { host: "smtp.example.com", port: 70000 } }, "smtp.port"],
    ["bad SMTP host", { smtp: { host: "smtp example.com" } }, "smtp.host"],
    ["bad admin e-mail", { adminEmail: "not an address" }, "adminEmail"],
  ];
  it.each(cases)("%s", async (_name, over, field) => {
    const dir = `bad-${field.replace(/\W/g, "")}-${Math.random().toString(36).slice(2, 8)}`;
    await expectAppError(configureCaServer(input({ directory: dir, ...over })), "validation_failed", field);
    expect(await dbIsEmpty()).toBe(true);
    expect(existsSync(join(scratch.dir, dir))).toBe(false);
  });

  it("an unwritable directory", async () => {
    writeFileSync(join(scratch.dir, "a-file"), "x");
    const e = await expectAppError(configureCaServer(input({ directory: "a-file/ca" })), "directory_unwritable", "directory");
    expect(e.message).toMatch(/cannot be created or written/);
    expect(await dbIsEmpty()).toBe(true);
  });
});

describe("existing key and certificate", () => {
  it("reinitialize keeps the files, and configuring the same root uses them", async () => {
    const first = await configureCaServer(input({ directory: "reuse" }));
    const dir = join(scratch.dir, "reuse");
    // Pretend some certificates were issued: the counter must continue.
    writeFileSync(join(dir, "TestCA.srl"), "1A\n");
    const re = await reinitializeCaServer();
    expect(re.keptFiles).toContain(join(dir, "TestCA.key"));
    expect(await dbIsEmpty()).toBe(true);
    // The CRL number signed at configuration stays beside the files, for the next configuration.
    expect(readdirSync(dir).sort()).toEqual(["TestCA.cer", "TestCA.crlnumber", "TestCA.key", "TestCA.srl"]);
    expect(readFileSync(join(dir, "TestCA.crlnumber"), "utf8")).toBe("02\n");

    expect((await inspectCaServerLocation({ fileNameRoot: "TestCA", directory: "reuse" })).mode).toBe("existing");
    await expectAppError(configureCaServer(input({ directory: "reuse", keyPassword: "not the password" })), "wrong_password", "keyPassword");
    expect(await dbIsEmpty()).toBe(true);

    const r = await configureCaServer({ fileNameRoot: "TestCA", directory: "reuse", keyPassword: KEY_PW, issuedValidityDays: 90, adminEmail: "camgr@example.com", smtp: { host: "127.0.0.1", port: smtp.port } });
    expect(r.mode).toBe("existing");
    expect(r.sha1Fingerprint).toBe(first.sha1Fingerprint);
    expect(r.message[1]).toBe(`Using existing files: ${dir}/TestCA.cer and .key`);
    expect((await findCaServerView())?.nextCertificateNumber).toBe(26);
    expect(readFileSync(join(dir, "TestCA.srl"), "utf8")).toBe("1A\n");
  });

  function opensslPair(dir: string, ca: boolean, keyPass = "existing pass 1") {
    mkdirSync(dir, { recursive: true });
    opensslOk(["genpkey", "-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-256", "-aes-256-cbc", "-pass", `pass:${keyPass}`, "-out", join(dir, "Ext.key")]);
    opensslOk(["req", "-new", "-x509", "-key", join(dir, "Ext.key"), "-passin", `pass:${keyPass}`, "-subj", "/CN=External", "-days", "30", "-out", join(dir, "Ext.cer"), ...(ca ? ["-addext", "basicConstraints=critical,CA:TRUE"] : ["-addext", "basicConstraints=critical,CA:FALSE"])]);
  }

  it("uses an OpenSSL-made CA and creates the missing SRL", async () => {
    const dir = join(scratch.dir, "ext-ok");
    opensslPair(dir, true);
    const r = await configureCaServer({ fileNameRoot: "Ext", directory: dir, keyPassword: "existing pass 1", issuedValidityDays: 10, adminEmail: "camgr@example.com" });
    expect(r.mode).toBe("existing");
    expect(readFileSync(join(dir, "Ext.srl"), "utf8")).toBe("01\n");
    expect(statSync(join(dir, "Ext.srl")).mode & 0o777).toBe(0o600);
    expect(r.message[1]).toMatch(/\(created \.srl\)$/);
  });

  it("refuses issued validity beyond the CA's remaining life", async () => {
    const dir = join(scratch.dir, "ext-short");
    opensslPair(dir, true);
    await expectAppError(configureCaServer({ fileNameRoot: "Ext", directory: dir, keyPassword: "existing pass 1", issuedValidityDays: 365, adminEmail: "camgr@example.com" }), "validation_failed", "issuedValidityDays");
    expect(existsSync(join(dir, "Ext.srl"))).toBe(false);
  });

  it("refuses a certificate that is not a CA", async () => {
    const dir = join(scratch.dir, "ext-leaf");
    opensslPair(dir, false);
    await expectAppError(configureCaServer({ fileNameRoot: "Ext", directory: dir, keyPassword: "existing pass 1", issuedValidityDays: 10, adminEmail: "camgr@example.com" }), "not_a_ca");
    expect(existsSync(join(dir, "Ext.srl"))).toBe(false);
    expect(await dbIsEmpty()).toBe(true);
  });

  it("refuses a key that does not match the certificate", async () => {
    const dir = join(scratch.dir, "ext-mismatch");
    opensslPair(dir, true);
    rmSync(join(dir, "Ext.key"));
    opensslOk(["genpkey", "-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-256", "-aes-256-cbc", "-pass", "pass:existing pass 1", "-out", join(dir, "Ext.key")]);
    await expectAppError(configureCaServer({ fileNameRoot: "Ext", directory: dir, keyPassword: "existing pass 1", issuedValidityDays: 10, adminEmail: "camgr@example.com" }), "key_mismatch");
    expect(existsSync(join(dir, "Ext.srl"))).toBe(false);
  });

  it("refuses an unencrypted existing key", async () => {
    const dir = join(scratch.dir, "ext-plain");
    mkdirSync(dir, { recursive: true });
    opensslOk(["req", "-new", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-keyout", join(dir, "Ext.key"), "-subj", "/CN=Plain", "-days", "30", "-out", join(dir, "Ext.cer"), "-addext", "basicConstraints=critical,CA:TRUE"]);
    const e = await expectAppError(configureCaServer({ fileNameRoot: "Ext", directory: dir, keyPassword: "whatever 123", issuedValidityDays: 10, adminEmail: "camgr@example.com" }), "bad_request", "keyPassword");
    expect(e.message).toMatch(/not encrypted/);
  });
});
