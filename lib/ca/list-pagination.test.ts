/**
 * Every list walks its keyset pages without missing or repeating a row: rows are seeded with
 * many equal sort keys (so ties straddle page boundaries) and rows the filter must leave out,
 * then the pages are walked through nextCursor and compared with the expected order.
 * Runs on SQLite, and on PostgreSQL with PORTCULLIS_TEST_DATABASE=postgres.
 */
import { randomUUID } from "node:crypto";
import { describe, expect, it } from "vitest";
import { getDb } from "../db/index.ts";
import { useIsolatedDataDir } from "../test-support/data-dir.ts";
import { expectAppError } from "../test-support/app-error.ts";
import { listPendingRequests, TOTAL_CAP } from "./requests.ts";
import { searchCertificates } from "./certificates.ts";
import { listExpiringCertificates } from "./expiring.ts";
import { listAudit } from "../audit/audit-log.ts";
import { listIotCaCertificates } from "../iot/ca-certificates.ts";
import { listMessagingCertificates } from "../iot/messaging-certificates.ts";
import { listOutboxPage } from "../mail/outbox.ts";

useIsolatedDataDir("list-pagination");

const T0 = Date.parse("2026-01-01T00:00:00.000Z");
const DAY = 86_400_000;

/** Walks pages from the first; fails on a page over `take` or a cursor that does not advance. */
async function walk<T>(page: (cursor: string | null) => Promise<{ items: T[]; nextCursor: string | null }>, take: number): Promise<{ items: T[]; pages: number }> {
  const items: T[] = [];
  let cursor: string | null = null;
  let pages = 0;
  for (;;) {
    const p = await page(cursor);
    pages++;
    expect(p.items.length).toBeLessThanOrEqual(take);
    items.push(...p.items);
    if (!p.nextCursor) break;
    expect(p.items.length).toBe(take);
    expect(p.nextCursor).not.toBe(cursor);
    cursor = p.nextCursor;
    if (pages > 10_000) throw new Error("the walk does not end");
  }
  return { items, pages };
}

function byKeys<T>(rows: T[], ...keys: ((r: T) => number | string)[]): T[] {
  return [...rows].sort((a, b) => {
    for (const k of keys) {
      const x = k(a);
      const y = k(b);
      if (x < y) return -1;
      if (x > y) return 1;
    }
    return 0;
  });
}

describe("queue (listPendingRequests)", () => {
  it("walks every pending request once, oldest first, ties broken by id, leaving processed ones out", async () => {
    const db = await getDb();
    const rows = Array.from({ length: 95 }, (_, i) => {
      const id = randomUUID();
      const status = i % 10 === 3 ? "issued" : i % 10 === 7 ? "deleted" : "pending";
      return {
        id,
        status,
        csrPem: "-----BEGIN CERTIFICATE REQUEST-----\n-----END CERTIFICATE REQUEST-----\n",
        subject: `CN=host${i}.example.com`,
        keyLabel: "EC P-256",
        sha1Fingerprint: `sha1-${i}`,
        sha256Fingerprint: `sha256-${i}`,
        contactName: "Tina",
        filename: `file${i}`,
        // Five distinct moments only: most pages end in the middle of a tie.
        receivedAt: new Date(T0 + (i % 5) * 1000),
        pendingKey: status === "pending" ? `pk-${id}` : null,
      };
    });
    await db.certificateRequest.createMany({ data: rows });
    const expected = byKeys(
      rows.filter((r) => r.status === "pending"),
      (r) => r.receivedAt.getTime(),
      (r) => r.id,
    ).map((r) => r.id);

    for (const take of [1, 7, 20, 200]) {
      const { items, pages } = await walk((cursor) => listPendingRequests({ cursor, take }), take);
      expect(items.map((r) => r.id)).toEqual(expected);
      expect(new Set(items.map((r) => r.id)).size).toBe(expected.length);
      expect(pages).toBe(Math.max(1, Math.ceil(expected.length / take)));
    }
    const first = await listPendingRequests({ take: 10 });
    expect(first).toMatchObject({ total: expected.length, totalCapped: false });
    // The list rows are views: no CSR text travels with them.
    expect(JSON.stringify(first.items)).not.toContain("BEGIN CERTIFICATE REQUEST");
    // A limit over 200 is cut to 200.
    expect((await listPendingRequests({ take: 5000 })).items.length).toBe(expected.length);
    await expectAppError(listPendingRequests({ cursor: "not-a-cursor" }), "bad_request");
  });

  it(`counts up to ${TOTAL_CAP} and then says there are more`, async () => {
    const db = await getDb();
    const have = await db.certificateRequest.count({ where: { status: "pending" } });
    const add = TOTAL_CAP + 5 - have;
    for (let done = 0; done < add; done += 2000) {
      const n = Math.min(2000, add - done);
      await db.certificateRequest.createMany({
        data: Array.from({ length: n }, (_, k) => {
          const id = randomUUID();
          return { id, status: "pending", csrPem: "x", subject: "CN=bulk", keyLabel: "EC P-256", sha1Fingerprint: "s1", sha256Fingerprint: `b-${done + k}`, contactName: "Bulk", filename: "bulk", receivedAt: new Date(T0 + DAY), pendingKey: `pk-${id}` };
        }),
      });
    }
    const p = await listPendingRequests({ take: 5 });
    expect(p).toMatchObject({ total: TOTAL_CAP, totalCapped: true });
    expect(p.items).toHaveLength(5);
    // One fewer than the cap plus one is counted exactly.
    await db.certificateRequest.updateMany({ where: { subject: "CN=bulk", sha256Fingerprint: { in: ["b-0", "b-1", "b-2", "b-3", "b-4"] } }, data: { status: "deleted", pendingKey: null } });
    expect(await listPendingRequests({ take: 5 })).toMatchObject({ total: TOTAL_CAP, totalCapped: false });
  }, 120_000);
});

let certNumber = 1;
function certificateRow(o: { hostname?: string | null; instance?: string | null; filename?: string; notAfter: Date; status?: string }) {
  const number = certNumber++;
  return {
    number,
    serial: number.toString(16).toUpperCase().padStart(4, "0"),
    requestId: randomUUID(),
    subject: `CN=c${number}`,
    issuer: "CN=Test CA",
    usage: "tls",
    hostname: o.hostname ?? null,
    instance: o.instance ?? null,
    filename: o.filename ?? `cert${number}`,
    notBefore: new Date(T0),
    notAfter: o.notAfter,
    sha1Fingerprint: `f1-${number}`,
    sha256Fingerprint: `f256-${number}`,
    pem: "-----BEGIN CERTIFICATE-----\n-----END CERTIFICATE-----\n",
    status: o.status ?? "valid",
    revokedAt: o.status === "revoked" ? new Date(T0) : null,
    contactName: "Tina",
    issuedBy: "admin",
    verifiedBy: "admin",
    verifiedAt: new Date(T0),
    verifiedChannel: "phone",
  };
}

describe("certificates (searchCertificates) and expiring (listExpiringCertificates)", () => {
  const now = new Date(T0 + 10 * DAY);
  let rows: ReturnType<typeof certificateRow>[] = [];

  it("walks every certificate, and every certificate of one host, by number", async () => {
    const db = await getDb();
    rows = Array.from({ length: 83 }, (_, i) =>
      certificateRow({
        hostname: i % 3 === 0 ? "a.example.com" : "b.example.com",
        instance: i % 2 ? "PROD" : "TEST",
        // Four expiry moments: inside the 30-day window (ties), past, and far away.
        notAfter: new Date(now.getTime() + [5 * DAY, 5 * DAY, 20 * DAY, -DAY, 400 * DAY][i % 5]),
        status: i % 11 === 4 ? "revoked" : "valid",
      }),
    );
    await db.certificate.createMany({ data: rows });

    for (const take of [1, 9, 200]) {
      const all = await walk((cursor) => searchCertificates({ cursor, take }), take);
      expect(all.items.map((c) => c.number)).toEqual(rows.map((r) => r.number));
      const host = await walk((cursor) => searchCertificates({ hostname: "a.example.com", cursor, take }), take);
      expect(host.items.map((c) => c.number)).toEqual(rows.filter((r) => r.hostname === "a.example.com").map((r) => r.number));
      const both = await walk((cursor) => searchCertificates({ hostname: "b.example.com", instance: "PROD", cursor, take }), take);
      expect(both.items.map((c) => c.number)).toEqual(rows.filter((r) => r.hostname === "b.example.com" && r.instance === "PROD").map((r) => r.number));
    }
  });

  it("walks the certificates expiring within the window once, soonest first, ties broken by number", async () => {
    const expected = byKeys(
      rows.filter((r) => r.status === "valid" && r.notAfter > now && r.notAfter.getTime() <= now.getTime() + 30 * DAY),
      (r) => r.notAfter.getTime(),
      (r) => r.number,
    ).map((r) => r.number);
    expect(expected.length).toBeGreaterThan(30);
    for (const take of [1, 4, 13, 200]) {
      const { items } = await walk((cursor) => listExpiringCertificates({ withinDays: 30, now, cursor, take }), take);
      expect(items.map((c) => c.number)).toEqual(expected);
    }
    await expectAppError(listExpiringCertificates({ now, cursor: "nope" }), "bad_request");
  });
});

describe("audit log (listAudit)", () => {
  it("walks every entry once, newest first, with and without a target filter", async () => {
    const db = await getDb();
    const entries = Array.from({ length: 77 }, (_, i) => ({
      seq: 1001 + i,
      at: new Date(T0 + Math.floor(i / 10) * 1000),
      actor: i % 2 ? "admin" : "system",
      action: i % 3 ? "certificate.issue" : "request.delete",
      target: i % 4 === 0 ? "request:one" : `certificate:${i}`,
      details: "{}",
      prevHash: "0".repeat(64),
      hash: String(i).padStart(64, "0"),
    }));
    await db.auditEntry.createMany({ data: entries });
    const newestFirst = [...entries].reverse();
    for (const take of [1, 8, 200]) {
      const page = (filter: { target?: string; action?: string }) => (cursor: string | null) =>
        listAudit({ ...filter, before: cursor ? Number(cursor) : null, take }).then((p) => ({ items: p.items, nextCursor: p.nextBefore === null ? null : String(p.nextBefore) }));
      expect((await walk(page({}), take)).items.map((e) => e.seq)).toEqual(newestFirst.map((e) => e.seq));
      expect((await walk(page({ target: "request:one" }), take)).items.map((e) => e.seq)).toEqual(newestFirst.filter((e) => e.target === "request:one").map((e) => e.seq));
      expect((await walk(page({ action: "request." }), take)).items.map((e) => e.seq)).toEqual(newestFirst.filter((e) => e.action.startsWith("request.")).map((e) => e.seq));
    }
    expect((await listAudit({ take: 100_000 })).items).toHaveLength(Math.min(200, entries.length));
  });
});

describe("IoT tables", () => {
  it("walks the registered CA certificates once, oldest first, all of them or only the active ones", async () => {
    const db = await getDb();
    const rows = Array.from({ length: 41 }, (_, i) => ({
      id: randomUUID(),
      description: `CA ${i}`,
      subject: `CN=Device CA ${i}`,
      issuer: `CN=Device CA ${i}`,
      serial: String(i + 1),
      pem: "-----BEGIN CERTIFICATE-----\n-----END CERTIFICATE-----\n",
      sha1Fingerprint: `i1-${i}`,
      sha256Fingerprint: `i256-${i}`,
      notBefore: new Date(T0),
      notAfter: new Date(T0 + 3650 * DAY),
      active: i % 3 !== 1,
      createdAt: new Date(T0 + (i % 4) * 1000),
    }));
    await db.iotCaCertificate.createMany({ data: rows });
    const order = byKeys(
      rows,
      (r) => r.createdAt.getTime(),
      (r) => r.id,
    );
    for (const take of [1, 6, 200]) {
      expect((await walk((cursor) => listIotCaCertificates({ cursor, take }), take)).items.map((r) => r.id)).toEqual(order.map((r) => r.id));
      expect((await walk((cursor) => listIotCaCertificates({ active: true, cursor, take }), take)).items.map((r) => r.id)).toEqual(order.filter((r) => r.active).map((r) => r.id));
    }
  });

  it("walks the messaging certificates and CSRs once, oldest first", async () => {
    const db = await getDb();
    const first = await listMessagingCertificates({ take: 1 });
    expect(first.items).toHaveLength(1);
    const rows = Array.from({ length: 23 }, (_, i) => ({
      id: randomUUID(),
      kind: "csr",
      source: "csr",
      description: `broker ${i}`,
      subject: `CN=broker${i}.example.com`,
      keyAlgorithm: "EC P-256",
      csrPem: "-----BEGIN CERTIFICATE REQUEST-----\n-----END CERTIFICATE REQUEST-----\n",
      privateKeyEnc: "sealed",
      createdAt: new Date(Date.now() + 60_000 + (i % 3) * 1000),
    }));
    await db.messagingCertificate.createMany({ data: rows });
    const all = await db.messagingCertificate.findMany({ select: { id: true, createdAt: true } });
    const order = byKeys(
      all,
      (r) => r.createdAt.getTime(),
      (r) => r.id,
    ).map((r) => r.id);
    for (const take of [1, 5, 200]) {
      const { items } = await walk((cursor) => listMessagingCertificates({ cursor, take }), take);
      expect(items.map((r) => r.id)).toEqual(order);
    }
    expect(JSON.stringify((await listMessagingCertificates({ take: 200 })).items)).not.toContain("sealed");
    await expectAppError(listMessagingCertificates({ cursor: "bad" }), "bad_request");
  });
});

describe("mail outbox (listOutboxPage)", () => {
  it("walks every message once, newest first, ties broken by id", async () => {
    const db = await getDb();
    const rows = Array.from({ length: 57 }, (_, i) => ({
      id: randomUUID(),
      kind: "test",
      toAddress: `to${i}@example.com`,
      subject: `Message ${i}`,
      textBody: "text",
      htmlBody: "<p>html</p>",
      transportEnc: "sealed transport",
      status: i % 3 ? "sent" : "failed",
      createdAt: new Date(T0 + (i % 6) * 1000),
    }));
    await db.outboxMessage.createMany({ data: rows });
    const all = await db.outboxMessage.findMany({ select: { id: true, createdAt: true } });
    // Newest first; among equal times, the larger id first: (createdAt, id) descending.
    const expected = byKeys(
      all,
      (r) => r.createdAt.getTime(),
      (r) => r.id,
    )
      .reverse()
      .map((r) => r.id);
    for (const take of [1, 10, 200]) {
      const { items } = await walk((cursor) => listOutboxPage({ cursor, take }), take);
      expect(items.map((m) => m.id)).toEqual(expected);
    }
    expect(JSON.stringify((await listOutboxPage({ take: 200 })).items)).not.toContain("sealed transport");
    await expectAppError(listOutboxPage({ cursor: "bad" }), "bad_request");
  });
});
