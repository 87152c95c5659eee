/**
 * Fault: the SMTP server is down while a certificate is issued. The certificate is issued
 * all the same; the e-mail to the technical contact waits in the outbox with the reason,
 * and goes out when a real SMTP server comes back on the same port.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createServer } from "node:net";
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { getDb } from "../db/index.ts";
import { opensslOk } from "../pki/test-support.ts";
import { useIsolatedDataDir } from "../test-support/data-dir.ts";
import { processOutbox } from "../mail/outbox.ts";
import { startTestSmtpServer, type TestSmtpServer } from "../mail/test-smtp-server.ts";
import { configureCaServer } from "./configure-server.ts";
import { submitRequest } from "./requests.ts";
import { issueRequest } from "./issue-request.ts";

const scratch = useIsolatedDataDir("faults-smtp", { PORTCULLIS_PUBLIC_URL: undefined });
const KEY_PW = "smtp down test CA password";
let port = 0;
let smtp: TestSmtpServer | undefined;

/** A loopback port nothing listens on (taken from the system, then freed). */
function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.on("error", reject);
    s.listen(0, "127.0.0.1", () => {
      const p = (s.address() as { port: number }).port;
      s.close(() => resolve(p));
    });
  });
}

beforeAll(async () => {
  port = await freePort();
  const r = await configureCaServer({
    fileNameRoot: "MailCA",
    directory: "ca",
    keyPassword: KEY_PW,
    subject: { CN: "SMTP Down Test CA" },
    caValidityDays: 3650,
    issuedValidityDays: 365,
    smtp: { host: "127.0.0.1", port, secure: false },
    adminEmail: "camgr@example.com",
  });
  expect(r.email.status).toBe("queued");
});

afterAll(async () => {
  await smtp?.stop();
});

describe("SMTP down during issuance", () => {
  it("issues the certificate, queues the mail with the reason, and delivers it when SMTP is back", async () => {
    const base = scratch.path("leaf");
    opensslOk(["req", "-new", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-keyout", `${base}.key`, "-subj", "/CN=mail.example.com", "-addext", "subjectAltName=DNS:mail.example.com", "-out", `${base}.csr`]);
    const req = await submitRequest({ csr: readFileSync(`${base}.csr`, "utf8"), contact: { name: "Tina Tech", email: "tina@example.com" }, filename: "Mail" });
    const issued = await issueRequest(req.id, { usage: "tls", caKeyPassword: KEY_PW, fingerprintVerified: true }, { actor: "admin" });

    // Issued, whatever the mail did.
    expect(issued.number).toBe(1);
    expect(issued.emailSentTo).toBeNull();
    writeFileSync(`${base}.pem`, issued.pem);
    expect(opensslOk(["verify", "-x509_strict", "-purpose", "sslserver", "-CAfile", join(scratch.dir, "ca", "MailCA.cer"), `${base}.pem`])).toMatch(/OK/);
    const db = await getDb();
    expect((await db.certificateRequest.findUniqueOrThrow({ where: { id: req.id } })).status).toBe("issued");
    expect(readFileSync(join(scratch.dir, "ca", "MailCA.srl"), "utf8")).toBe("02\n");

    // The mail waits, with the reason.
    const mail = await db.outboxMessage.findFirstOrThrow({ where: { kind: "certificate-issued" } });
    expect(mail).toMatchObject({ status: "pending", toAddress: "tina@example.com", attempts: 1 });
    expect(mail.lastError).toMatch(/Connection refused by 127\.0\.0\.1:\d+/);
    expect(mail.nextAttemptAt.getTime()).toBeGreaterThan(Date.now());

    // SMTP comes back on the same port; the next outbox run delivers everything that waited.
    smtp = await startTestSmtpServer({ port });
    const run = await processOutbox({ now: new Date(Date.now() + 3600_000) });
    expect(run).toMatchObject({ failed: 0, pending: 0 });
    expect(run.sent).toBeGreaterThanOrEqual(2);
    const received = await smtp.waitFor((m) => m.to.includes("tina@example.com"));
    expect(received.subject).toBe('Certificate number 1 issued for Certificate Signing Request "Mail"');
    expect(received.text).toContain(issued.serial);
    expect(smtp.messages.some((m) => m.to.includes("camgr@example.com"))).toBe(true);
    expect(await db.outboxMessage.count({ where: { status: { not: "sent" } } })).toBe(0);
  });
});
