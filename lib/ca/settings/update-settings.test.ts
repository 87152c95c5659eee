import { join } from "node:path";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { getDb } from "../../db/index.ts";
import { open } from "../../crypto/secret-box.ts";
import { processOutbox } from "../../mail/outbox.ts";
import { startTestSmtpServer, type TestSmtpServer } from "../../mail/test-smtp-server.ts";
import { opensslOk } from "../../pki/test-support.ts";
import { expectAppError } from "../../test-support/app-error.ts";
import { useIsolatedDataDir } from "../../test-support/data-dir.ts";
import { configureCaServer, SMTP_PASSWORD_CONTEXT, type ConfigureCaInput } from "../configure-server.ts";
import { getCaServerView } from "../get-server.ts";
import { reinitializeCaServer } from "../reinitialize-server.ts";
import { submitRequest } from "../requests.ts";
import { issueRequest } from "../issue-request.ts";
import { findCaSettings, sendCaSettingsTestMail, updateCaSettings } from "./update-settings.ts";

const scratch = useIsolatedDataDir("ca-settings", { PORTCULLIS_MAIL_RETRY_SECONDS: "300" });
const KEY_PW = "settings CA key password";
const USER = "mailer";
const PASS = "smtp pass wörd 42";
let authSmtp: TestSmtpServer;
let deadPort: number;

beforeAll(async () => {
  // A server that accepts mail only with USER/PASS: the stored password is really used.
  authSmtp = await startTestSmtpServer({ auth: { user: USER, pass: PASS } });
  const dead = await startTestSmtpServer();
  deadPort = dead.port;
  await dead.stop();
});
afterAll(async () => {
  await authSmtp?.stop();
});

function configureInput(over: Partial<ConfigureCaInput> = {}): ConfigureCaInput {
  return {
    fileNameRoot: "SettingsCA",
    directory: `ca-${Math.random().toString(36).slice(2, 8)}`,
    keyPassword: KEY_PW,
    subject: { CN: "Settings Test CA" },
    caValidityDays: 400,
    issuedValidityDays: 90,
    smtp: { host: "127.0.0.1", port: deadPort, secure: false, username: USER, password: "old password" },
    adminEmail: "camgr@example.com",
    ...over,
  };
}

async function row() {
  const db = await getDb();
  return db.caServer.findUniqueOrThrow({ where: { id: 1 } });
}

async function auditCount(action: string): Promise<number> {
  const db = await getDb();
  return db.auditEntry.count({ where: { action } });
}

beforeEach(async () => {
  const db = await getDb();
  if (await db.caServer.count()) await reinitializeCaServer();
  await db.outboxMessage.deleteMany();
  authSmtp.messages.length = 0;
  await configureCaServer(configureInput());
});

describe("editing the settings after configuration", () => {
  it("saves SMTP, administrator and validity; the password is sealed, never shown, and used to send", async () => {
    const r = await updateCaSettings(
      { issuedValidityDays: "30", adminEmail: "new-admin@example.com", smtp: { host: "127.0.0.1", port: String(authSmtp.port), secure: false, username: USER, password: PASS, passwordConfirm: PASS } },
      { actor: "alice" },
    );
    expect(r.changed.sort()).toEqual(["adminEmail", "issuedValidityDays", "smtp.password", "smtp.port"].sort());
    expect(r.settings).toEqual({
      issuedValidityDays: 30,
      issuedValidityMaxDays: expect.any(Number),
      smtp: { host: "127.0.0.1", port: authSmtp.port, secure: false, username: USER, passwordSet: true, from: null },
      adminEmail: "new-admin@example.com",
    });
    expect(JSON.stringify(r)).not.toContain(PASS);

    const c = await row();
    expect(c.smtpPasswordEnc).toBeTruthy();
    expect(c.smtpPasswordEnc).not.toContain(PASS);
    expect(c.smtpPasswordEnc).not.toContain(Buffer.from(PASS).toString("base64"));
    expect(open(c.smtpPasswordEnc!, SMTP_PASSWORD_CONTEXT)).toBe(PASS);
    const view = await getCaServerView();
    expect(JSON.stringify(view)).not.toContain(PASS);
    expect(view.smtp.passwordSet).toBe(true);

    // The confirmation mail queued for the dead server goes out with the new settings.
    expect(r.requeuedMails).toBe(1);
    // …and at once: not after the backoff its failures with the old settings earned.
    expect((await processOutbox()).sent).toBe(1);
    const confirmation = await authSmtp.waitFor((m) => m.subject.startsWith("Certificate Authority server configured"));
    expect(confirmation.user).toBe(USER);
    expect(confirmation.to).toEqual(["camgr@example.com"]);

    // The audit entry says what changed, never the password.
    const db = await getDb();
    const audit = await db.auditEntry.findFirstOrThrow({ where: { action: "ca.settings" }, orderBy: { seq: "desc" } });
    expect(audit.actor).toBe("alice");
    expect(audit.details).not.toContain(PASS);
    expect(JSON.parse(audit.details).changed).toContain("smtp.password");
    expect(JSON.parse(audit.details).smtp.password).toBe("replaced");
  });

  it("an empty password keeps the stored one; 'clear' removes it; both at once is refused", async () => {
    await updateCaSettings({ smtp: { port: authSmtp.port, password: PASS } });
    const sealed = (await row()).smtpPasswordEnc;

    // Left empty (the form) or left out (the API): kept, and still what the server accepts.
    const kept = await updateCaSettings({ smtp: { host: "127.0.0.1", port: String(authSmtp.port), username: USER, password: "" }, adminEmail: "camgr@example.com" });
    expect(kept.changed).toEqual([]);
    expect((await row()).smtpPasswordEnc).toBe(sealed);
    const sent = await sendCaSettingsTestMail({});
    expect(sent).toMatchObject({ status: "sent", to: "camgr@example.com" });
    expect((await authSmtp.waitFor((m) => m.subject === "Portcullis SMTP test")).user).toBe(USER);

    const both = await expectAppError(updateCaSettings({ smtp: { password: "new one", clearPassword: true } }), "validation_failed", "smtp.password");
    expect(both.fields?.["smtp.password"]).toBe("Enter a new SMTP password or remove the stored one, not both");
    expect((await row()).smtpPasswordEnc).toBe(sealed);

    const cleared = await updateCaSettings({ smtp: { clearPassword: "on" } });
    expect(cleared.changed).toEqual(["smtp.password"]);
    expect(cleared.settings.smtp.passwordSet).toBe(false);
    expect((await row()).smtpPasswordEnc).toBeNull();
    // Without the password the server refuses: the test mail says so, in one line, without any secret.
    const refused = await sendCaSettingsTestMail({});
    expect(refused.status).toBe("failed");
    expect(refused.message).toMatch(/requires a username and password|authentication|rejected/i);
  });

  it("a stored password kept without a user name is refused on the user name", async () => {
    const e = await expectAppError(updateCaSettings({ smtp: { username: "" } }), "validation_failed", "smtp.username");
    expect(e.fields?.["smtp.username"]).toMatch(/user name that goes with the stored SMTP password/);
  });

  it("re-enters the SMTP password dropped by a restore under another secret", async () => {
    const db = await getDb();
    // What a restore does when the secret in force cannot open the backup's sealed password.
    await db.caServer.update({ where: { id: 1 }, data: { smtpPasswordEnc: null, smtpPort: authSmtp.port } });
    expect((await findCaSettings())!.smtp.passwordSet).toBe(false);
    expect((await sendCaSettingsTestMail({})).status).toBe("failed");
    await updateCaSettings({ smtp: { password: PASS, passwordConfirm: PASS } });
    expect((await findCaSettings())!.smtp.passwordSet).toBe(true);
    const r = await sendCaSettingsTestMail({});
    expect(r.status, r.message).toBe("sent");
  });

  it("removing the SMTP server stops e-mail and drops the credentials", async () => {
    const r = await updateCaSettings({ smtp: { host: "", username: "", password: "" } });
    expect(r.settings.smtp).toEqual({ host: null, port: null, secure: false, username: null, passwordSet: false, from: null });
    expect((await row()).smtpPasswordEnc).toBeNull();
    await expectAppError(sendCaSettingsTestMail({}), "validation_failed", "smtp.host");
  });

  it("certificates issued after the change get the new validity", async () => {
    await updateCaSettings({ issuedValidityDays: 7 });
    expect((await getCaServerView()).issuedValidityDays).toBe(7);
    const csr = opensslOk(["req", "-new", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-keyout", join(scratch.dir, "leaf.key"), "-subj", "/CN=leaf.example.com"]);
    const request = await submitRequest({ csr, contact: { name: "Tina Tech" }, filename: "leaf" });
    const issued = await issueRequest(request.id, { usage: "tls", caKeyPassword: KEY_PW, fingerprintVerified: true }, { actor: "alice" });
    const dates = opensslOk(["x509", "-noout", "-startdate", "-enddate"], issued.pem);
    const [start, end] = [/notBefore=(.*)/, /notAfter=(.*)/].map((re) => new Date(dates.match(re)![1]).getTime());
    // notBefore is backdated a few minutes for clock skew.
    expect(Math.round((end - start) / 86_400_000)).toBe(7);
  });
});

describe("bad input gets the configure form's messages and changes nothing", () => {
  const cases: { name: string; input: Parameters<typeof updateCaSettings>[0]; field: string; message: string | RegExp }[] = [
    { name: "port out of range", input: { smtp: { port: "70000" } }, field: "smtp.port", message: "The port must be between 1 and 65535" },
    { name: "port not a number", input: { smtp: { port: "25a" } }, field: "smtp.port", message: "Enter the port as a whole number" },
    { name: "host", input: { smtp: { host: "smtp example com" } }, field: "smtp.host", message: "Enter a host name such as smtp.example.com or an IP address" },
    { name: "password confirmation", input: { smtp: { password: "abc", passwordConfirm: "abd" } }, field: "smtp.passwordConfirm", message: "The SMTP passwords do not match" },
    { name: "credentials without a server", input: { smtp: { host: "", username: "u" } }, field: "smtp.host", message: "Enter the SMTP server for these credentials" },
    { name: "administrator e-mail", input: { adminEmail: "not an address" }, field: "adminEmail", message: "Enter an e-mail address such as camgr@example.com" },
    { name: "validity zero", input: { issuedValidityDays: "0" }, field: "issuedValidityDays", message: "The validity period must be between 1 and 3650" },
    { name: "validity beyond the CA", input: { issuedValidityDays: 3000 }, field: "issuedValidityDays", message: /^Issued certificates cannot outlive the CA certificate \(valid 399 more days\): use at most 399 days$/ },
    { name: "smtp not an object", input: { smtp: "x" as never }, field: "smtp", message: "smtp must be an object" },
    { name: "From not an address", input: { smtp: { from: "PKI Team" } }, field: "smtp.from", message: "Enter an address such as pki@example.com or PKI Team <pki@example.com>" },
    { name: "From with a second address", input: { smtp: { from: "PKI, Evil <pki@example.com>" } }, field: "smtp.from", message: "Enter an address such as pki@example.com or PKI Team <pki@example.com>" },
    { name: "From with a line break", input: { smtp: { from: "pki@example.com\r\nBcc: x@example.com" } }, field: "smtp.from", message: "Enter an address such as pki@example.com or PKI Team <pki@example.com>" },
  ];
  for (const c of cases) {
    it(c.name, async () => {
      const before = await row();
      const audits = await auditCount("ca.settings");
      const e = await expectAppError(updateCaSettings(c.input), "validation_failed", c.field);
      if (typeof c.message === "string") expect(e.fields?.[c.field]).toBe(c.message);
      else expect(e.fields?.[c.field]).toMatch(c.message);
      expect(await row()).toEqual(before);
      expect(await auditCount("ca.settings")).toBe(audits);
    });
  }

  it("the messages are the configure form's own", async () => {
    await reinitializeCaServer();
    const e = await expectAppError(configureCaServer(configureInput({ smtp: { host: "127.0.0.1", port: "70000" }, adminEmail: "not an address" })), "validation_failed");
    expect(e.fields?.["smtp.port"]).toBe("The port must be between 1 and 65535");
    expect(e.fields?.adminEmail).toBe("Enter an e-mail address such as camgr@example.com");
  });

  it("nothing configured: not_configured", async () => {
    await reinitializeCaServer();
    await expectAppError(updateCaSettings({ adminEmail: "a@example.com" }), "not_configured");
    await expectAppError(sendCaSettingsTestMail({}), "not_configured");
    expect(await findCaSettings()).toBeNull();
  });
});

describe("the From address", () => {
  it("is saved, shown, used for the CA server's mail (header and envelope), and emptied back to the default", async () => {
    const r = await updateCaSettings({ smtp: { port: authSmtp.port, password: PASS, from: "PKI Team <pki@example.com>" } }, { actor: "alice" });
    expect(r.changed).toContain("smtp.from");
    expect(r.settings.smtp.from).toBe("PKI Team <pki@example.com>");
    const t = await sendCaSettingsTestMail({}, { actor: "alice" });
    expect(t.status, t.message).toBe("sent");
    const m = await authSmtp.waitFor((x) => x.subject === "Portcullis SMTP test" && x.headers.from?.includes("pki@example.com"));
    expect(m.headers.from).toBe("PKI Team <pki@example.com>");
    expect(m.from).toBe("pki@example.com");

    const back = await updateCaSettings({ smtp: { from: "" } }, { actor: "alice" });
    expect(back.settings.smtp.from).toBeNull();
    expect((await row()).smtpFrom).toBeNull();
  });
});

describe("test mail", () => {
  it("reports a refused connection without saving anything", async () => {
    const before = await row();
    const r = await sendCaSettingsTestMail({ smtp: { port: deadPort } }, { actor: "alice" });
    expect(r).toEqual({ status: "failed", to: "camgr@example.com", message: `Connection refused by 127.0.0.1:${deadPort}` });
    expect(await row()).toEqual(before);
    const db = await getDb();
    const audit = await db.auditEntry.findFirstOrThrow({ where: { action: "ca.settings.test-mail" }, orderBy: { seq: "desc" } });
    expect(JSON.parse(audit.details)).toMatchObject({ status: "failed", port: deadPort });
  });

  it("a wrong password is rejected by the server, and the message does not repeat it", async () => {
    const r = await sendCaSettingsTestMail({ smtp: { port: authSmtp.port, password: "wrong secret pw" } });
    expect(r.status).toBe("failed");
    expect(r.message).toMatch(/authentication as "mailer" was rejected/);
    expect(r.message).not.toContain("wrong secret pw");
  });

  it("sends the form's settings to the form's administrator address", async () => {
    const r = await sendCaSettingsTestMail({ adminEmail: "other@example.com", smtp: { port: authSmtp.port, password: PASS } });
    expect(r.status, r.message).toBe("sent");
    const m = await authSmtp.waitFor((x) => x.to.includes("other@example.com"));
    expect(m.subject).toBe("Portcullis SMTP test");
    // Not saved.
    expect((await row()).adminEmail).toBe("camgr@example.com");
    // The CA certificate is untouched by all of this.
    expect(opensslOk(["x509", "-noout", "-subject"], (await row()).certificatePem)).toMatch(/Settings Test CA/);
  });
});
