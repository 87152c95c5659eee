import { beforeAll, describe, expect, it } from "vitest";
import { getDb, type Db } from "../db/index.ts";
import { open } from "../crypto/secret-box.ts";
import { useIsolatedDataDir, useTestSmtpServer } from "../test-support/data-dir.ts";
import { unusedPort } from "../test-support/ports.ts";
import { startTestSmtpServer, type TestSmtpServer } from "./test-smtp-server.ts";
import {
  MAX_ATTEMPTS,
  deliverMail,
  enqueueMail,
  listOutbox,
  pendingMailCount,
  processOutbox,
  retryDelaySeconds,
  retryNow,
  startOutboxWorker,
  updateQueuedTransport,
} from "./outbox.ts";
import { caConfiguredEmail } from "./templates/ca-configured.ts";
import { smtpTestEmail } from "./templates/test-message.ts";
import type { SmtpSettings } from "./transport.ts";

useIsolatedDataDir("mail", { PORTCULLIS_MAIL_RETRY_SECONDS: "5", PORTCULLIS_PUBLIC_URL: "https://pki.example.test" });
const smtp = useTestSmtpServer();
let db: Db;

beforeAll(async () => {
  db = await getDb();
});

function settings(over: Partial<SmtpSettings> = {}): SmtpSettings {
  return { host: "127.0.0.1", port: smtp.port, secure: false, ...over };
}

async function queue(to: string, s: SmtpSettings, kind = "smtp-test"): Promise<string> {
  return enqueueMail(db, { kind, to, smtp: s, ...smtpTestEmail({ to }) });
}

const row = (id: string) => db.outboxMessage.findUniqueOrThrow({ where: { id } });
const received = (s: TestSmtpServer, id: string) => s.messages.filter((m) => (m.headers["message-id"] ?? "").includes(id));
const settle = () => new Promise((r) => setTimeout(r, 150));

describe("outbox delivery to a real SMTP server", () => {
  it("delivers the CA-configured mail with the right subject, fingerprints and escaped HTML", async () => {
    const content = caConfiguredEmail({
      adminEmail: "admin@example.test",
      mode: "new",
      files: ["ca.crt", "ca.key"],
      directory: "/srv/ca",
      subject: "CN=Evil <script>alert(1)</script> Root CA",
      sha1Fingerprint: "AB:CD:EF:01",
      sha256Fingerprint: "12:34:56:78:9A:BC:DE:F0",
      notAfter: new Date("2036-01-01T00:00:00Z"),
      portalUrl: "https://pki.example.test/ca",
    });
    const id = await db.$transaction((tx) =>
      enqueueMail(tx, { kind: "ca-configured", to: "admin@example.test", smtp: settings(), ...content }),
    );
    expect(await deliverMail(id)).toEqual({ status: "sent" });

    const m = await smtp.waitFor((x) => x.subject.startsWith("Certificate Authority server configured"));
    expect(m.subject).toBe("Certificate Authority server configured: CN=Evil <script>alert(1)</script> Root CA");
    expect(m.to).toEqual(["admin@example.test"]);
    expect(m.from).toBe("portcullis@pki.example.test");
    expect(m.headers["from"]).toContain("Portcullis PKI");
    expect(m.headers["message-id"]).toContain(id);
    expect(m.text).toContain("12:34:56:78:9A:BC:DE:F0");
    expect(m.text).toContain("AB:CD:EF:01");
    expect(m.text).toContain("2036-01-01T00:00:00Z");
    expect(m.html).toContain("12:34:56:78:9A:BC:DE:F0");
    expect(m.html).toContain("&lt;script&gt;");
    expect(m.html).not.toContain("<script>");

    const r = await row(id);
    expect(r.status).toBe("sent");
    expect(r.sentAt).toBeInstanceOf(Date);
    expect(r.attempts).toBe(1);
    expect(r.lastError).toBeNull();
  });

  it("seals the SMTP settings: the password is not in the database in clear", async () => {
    const password = "Pl4intext-Should-Not-Appear";
    const id = await queue("seal@example.test", settings({ username: "u", password, port: await unusedPort() }));
    const r = await row(id);
    expect(r.transportEnc).toBeTruthy();
    expect(r.transportEnc).not.toContain(password);
    expect(r.transportEnc).not.toContain(Buffer.from(password).toString("base64"));
    expect(JSON.parse(open(r.transportEnc!, "outbox-transport")).password).toBe(password);
    const listed = (await listOutbox()).find((x) => x.id === id)!;
    expect(listed).toBeDefined();
    expect("transportEnc" in listed).toBe(false);
  });

  it("authenticates with username and password; a wrong password stays pending with a clear, password-free error", async () => {
    const secure = await startTestSmtpServer({ auth: { user: "mailer", pass: "c0rrect-Horse" } });
    try {
      const good = await queue("auth-ok@example.test", settings({ port: secure.port, username: "mailer", password: "c0rrect-Horse" }));
      expect(await deliverMail(good)).toEqual({ status: "sent" });
      const m = await secure.waitFor((x) => x.to.includes("auth-ok@example.test"));
      expect(m.user).toBe("mailer");
      expect(m.subject).toBe("Portcullis SMTP test");

      const wrongPassword = "wr0ng-Battery-Staple";
      const bad = await queue("auth-bad@example.test", settings({ port: secure.port, username: "mailer", password: wrongPassword }));
      const res = await deliverMail(bad);
      expect(res.status).toBe("pending");
      expect(res.error).toMatch(/authentication/i);
      expect(res.error).toMatch(/rejected/i);
      expect(res.error).toContain("mailer");
      expect(res.error).not.toContain(wrongPassword);
      expect(res.error).not.toContain(Buffer.from(wrongPassword).toString("base64"));
      const r = await row(bad);
      expect(r.status).toBe("pending");
      expect(r.attempts).toBe(1);
      expect(r.lastError).toBe(res.error);
      expect(secure.messages.filter((x) => x.to.includes("auth-bad@example.test"))).toHaveLength(0);

      // The admin fixes the password: queued mail goes out with the new settings.
      await updateQueuedTransport(db, settings({ port: secure.port, username: "mailer", password: "c0rrect-Horse" }));
      expect(await retryNow(bad)).toEqual({ status: "sent" });
      await secure.waitFor((x) => x.to.includes("auth-bad@example.test"));
      expect((await row(bad)).lastError).toBeNull();
    } finally {
      await secure.stop();
    }
  });

  it("uses STARTTLS when offered, verifying the certificate unless allowSelfSigned", async () => {
    const tlsServer = await startTestSmtpServer({ starttls: true });
    try {
      const strict = await queue("tls-strict@example.test", settings({ port: tlsServer.port }));
      const res = await deliverMail(strict);
      expect(res.status).toBe("pending");
      expect(res.error).toMatch(/TLS/);
      expect(res.error).toMatch(/certificate/i);

      const lax = await queue("tls-lax@example.test", settings({ port: tlsServer.port, allowSelfSigned: true }));
      expect(await deliverMail(lax)).toEqual({ status: "sent" });
      const m = await tlsServer.waitFor((x) => x.to.includes("tls-lax@example.test"));
      expect(m.text).toContain("tls-lax@example.test");
      expect(tlsServer.messages.some((x) => x.to.includes("tls-strict@example.test"))).toBe(false);
    } finally {
      await tlsServer.stop();
    }
  });

  it("keeps the message when the server is down and delivers it exactly once when it is back", async () => {
    const port = await unusedPort();
    const id = await queue("later@example.test", settings({ port }));
    const t0 = new Date();
    const res = await deliverMail(id, { now: t0 });
    expect(res.status).toBe("pending");
    expect(res.error).toBe(`Connection refused by 127.0.0.1:${port}`);
    const r1 = await row(id);
    expect(r1.status).toBe("pending");
    expect(r1.nextAttemptAt.getTime()).toBe(t0.getTime() + 5000);
    expect(await pendingMailCount()).toBeGreaterThanOrEqual(1);

    // Not due yet: the worker leaves it alone.
    const early = await processOutbox({ now: new Date(t0.getTime() + 1000) });
    expect(early.sent).toBe(0);
    expect((await row(id)).attempts).toBe(1);

    const back = await startTestSmtpServer({ port });
    try {
      const due = new Date(t0.getTime() + 5000);
      const [a, b] = await Promise.all([processOutbox({ now: due }), processOutbox({ now: due })]);
      expect(a.sent + b.sent).toBeGreaterThanOrEqual(1);
      await back.waitFor((m) => m.to.includes("later@example.test"));
      expect(await processOutbox({ now: new Date(due.getTime() + 3_600_000) })).toMatchObject({ sent: 0 });
      await settle();
      expect(received(back, id)).toHaveLength(1);
      const r2 = await row(id);
      expect(r2.status).toBe("sent");
      expect(r2.attempts).toBe(2);
    } finally {
      await back.stop();
    }
  });

  it("sends a message once when several deliveries race for it, and each caller learns it was sent", async () => {
    const id = await queue("race@example.test", settings());
    const results = await Promise.all([deliverMail(id), deliverMail(id), deliverMail(id), processOutbox(), deliverMail(id)]);
    const statuses = results.slice(0, 3).concat(results[4]).map((r) => (r as { status: string }).status);
    // A caller that finds another sender at work waits for its outcome instead of answering "not sent yet".
    expect(statuses).toEqual(["sent", "sent", "sent", "sent"]);
    await smtp.waitFor((m) => m.to.includes("race@example.test"));
    await settle();
    expect(received(smtp, id)).toHaveLength(1);
    expect((await row(id)).status).toBe("sent");
    // Already sent: a late call does not send again.
    expect(await deliverMail(id)).toEqual({ status: "sent" });
    await settle();
    expect(received(smtp, id)).toHaveLength(1);
  });

  it("backs off exponentially, capped at an hour, and gives up after MAX_ATTEMPTS", async () => {
    expect([1, 2, 3, 4].map(retryDelaySeconds)).toEqual([5, 10, 20, 40]);
    expect(retryDelaySeconds(15)).toBe(3600);
    expect(retryDelaySeconds(MAX_ATTEMPTS)).toBe(3600);

    const id = await queue("backoff@example.test", settings({ port: await unusedPort() }));
    let now = new Date();
    const delays: number[] = [];
    for (let i = 0; i < 4; i++) {
      expect((await deliverMail(id, { now })).status).toBe("pending");
      const r = await row(id);
      delays.push((r.nextAttemptAt.getTime() - now.getTime()) / 1000);
      now = r.nextAttemptAt;
    }
    expect(delays).toEqual([5, 10, 20, 40]);
    expect((await row(id)).attempts).toBe(4);

    await db.outboxMessage.update({ where: { id }, data: { attempts: MAX_ATTEMPTS - 1 } });
    const last = await deliverMail(id, { now });
    expect(last.status).toBe("failed");
    expect(last.error).toMatch(/connection refused/i);
    expect((await row(id)).status).toBe("failed");
    // Failed rows are no longer retried automatically.
    await processOutbox({ now: new Date(now.getTime() + 86_400_000) });
    expect((await row(id)).attempts).toBe(MAX_ATTEMPTS);
    expect((await listOutbox({ status: "failed" })).map((x) => x.id)).toContain(id);
  });

  it("retryNow restarts a failed message", async () => {
    const id = await queue("revive@example.test", settings());
    await db.outboxMessage.update({ where: { id }, data: { status: "failed", attempts: MAX_ATTEMPTS, lastError: "old" } });
    expect(await retryNow(id)).toEqual({ status: "sent" });
    await smtp.waitFor((m) => m.to.includes("revive@example.test"));
    expect((await row(id)).attempts).toBe(1);
  });

  it("reclaims a message stuck in 'sending' by a crashed process, but not one still leased", async () => {
    const now = new Date();
    const leased = await queue("leased@example.test", settings());
    await db.outboxMessage.update({ where: { id: leased }, data: { status: "sending", nextAttemptAt: new Date(now.getTime() + 5 * 60_000) } });
    const orphan = await queue("orphan@example.test", settings());
    await db.outboxMessage.update({ where: { id: orphan }, data: { status: "sending", nextAttemptAt: new Date(now.getTime() - 1000) } });

    await processOutbox({ now });
    expect((await row(orphan)).status).toBe("sent");
    await smtp.waitFor((m) => m.to.includes("orphan@example.test"));
    expect(await deliverMail(leased, { now })).toEqual({ status: "pending" });
    expect((await row(leased)).status).toBe("sending");
    expect(smtp.messages.some((m) => m.to.includes("leased@example.test"))).toBe(false);
    await db.outboxMessage.update({ where: { id: leased }, data: { status: "sent" } });
  });

  it("rejects an address with a line break and an unknown id", async () => {
    await expect(queue("a@example.test\r\nBcc: x@example.test", settings())).rejects.toMatchObject({ code: "validation_failed" });
    await expect(deliverMail("no-such-id")).rejects.toMatchObject({ code: "not_found" });
  });

  it("runs a background worker that delivers due mail; starting it twice returns the same stop", async () => {
    const stop = startOutboxWorker();
    try {
      expect(startOutboxWorker()).toBe(stop);
      const id = await queue("worker@example.test", settings());
      // The first run starts at once, but may already have passed; the next one is 5 s later at most.
      await smtp.waitFor((m) => m.to.includes("worker@example.test"), 8000);
      await settle();
      expect(received(smtp, id)).toHaveLength(1);
    } finally {
      stop();
    }
    const again = startOutboxWorker();
    expect(again).not.toBe(stop);
    again();
  });
});
