import { describe, expect, it } from "vitest";
import { getDb } from "../db/index.ts";
import { useIsolatedDataDir } from "../test-support/data-dir.ts";
import { TEST_POSTGRES_URL, usePostgresDatabase } from "../test-support/postgres.ts";
import { appendAudit, exportAudit, GENESIS_HASH, listAudit, recordAudit, verifyAuditChain } from "./audit-log.ts";

function chainSuite() {
  it("links every entry to the one before and verifies", async () => {
    const a = await recordAudit({ action: "ca.configure", actor: "alice", target: "ca", details: { mode: "new" }, ip: "127.0.0.1" });
    const b = await recordAudit({ action: "certificate.issue", actor: "alice", target: "certificate:1", details: { usage: "tls" } });
    expect(a.prevHash).toBe(GENESIS_HASH);
    expect(b.prevHash).toBe(a.hash);
    expect(b.seq).toBe(a.seq + 1);
    expect((await verifyAuditChain()).ok).toBe(true);
  });

  it("gives concurrent appends consecutive numbers and one unbroken chain", async () => {
    const before = (await verifyAuditChain()).entries;
    await Promise.all(Array.from({ length: 25 }, (_, i) => recordAudit({ action: "test.concurrent", actor: `u${i}`, details: { i } })));
    const check = await verifyAuditChain();
    expect(check).toMatchObject({ ok: true, entries: before + 25, headSeq: before + 25 });
  });

  it("rolls the entry back with the act when the transaction fails", async () => {
    const db = await getDb();
    const before = (await verifyAuditChain()).entries;
    await expect(
      db.$transaction(async (tx) => {
        await appendAudit(tx, { action: "test.rolled_back", actor: "bob" });
        throw new Error("the act failed");
      }),
    ).rejects.toThrow("the act failed");
    expect(await verifyAuditChain()).toMatchObject({ ok: true, entries: before });
    expect((await listAudit({ action: "test.rolled_back" })).items).toHaveLength(0);
  });

  it("detects an altered entry, a removed entry and a cut-off tail", async () => {
    const db = await getDb();
    const target = (await listAudit({ action: "certificate.issue" })).items[0]!;
    const original = await db.auditEntry.findUniqueOrThrow({ where: { seq: target.seq } });

    await db.auditEntry.update({ where: { seq: target.seq }, data: { details: JSON.stringify({ usage: "intermediate-ca" }) } });
    expect(await verifyAuditChain()).toMatchObject({ ok: false, problem: { seq: target.seq, reason: expect.stringContaining("altered") } });
    await db.auditEntry.update({ where: { seq: target.seq }, data: { details: original.details } });
    expect((await verifyAuditChain()).ok).toBe(true);

    await db.auditEntry.delete({ where: { seq: target.seq } });
    expect(await verifyAuditChain()).toMatchObject({ ok: false, problem: { seq: target.seq, reason: expect.stringContaining("missing") } });
    await db.auditEntry.create({ data: original });
    expect((await verifyAuditChain()).ok).toBe(true);

    const last = (await listAudit({ take: 1 })).items[0]!;
    const lastRow = await db.auditEntry.findUniqueOrThrow({ where: { seq: last.seq } });
    await db.auditEntry.delete({ where: { seq: last.seq } });
    expect(await verifyAuditChain()).toMatchObject({ ok: false, problem: { reason: expect.stringContaining("chain head") } });
    await db.auditEntry.create({ data: lastRow });
    expect((await verifyAuditChain()).ok).toBe(true);
  });

  it("lists newest first with filters and keyset pages, and exports oldest first", async () => {
    const page1 = await listAudit({ action: "test.concurrent", take: 10 });
    expect(page1.items).toHaveLength(10);
    expect(page1.nextBefore).toBe(page1.items[9]!.seq);
    const page2 = await listAudit({ action: "test.concurrent", take: 10, before: page1.nextBefore });
    expect(page2.items[0]!.seq).toBeLessThan(page1.items[9]!.seq);
    expect((await listAudit({ action: "test.*" })).items.length).toBeGreaterThanOrEqual(25);
    expect((await listAudit({ actor: "alice" })).items.map((e) => e.action).sort()).toEqual(["ca.configure", "certificate.issue"]);

    const lines: string[] = [];
    for await (const line of exportAudit({ batch: 7 })) lines.push(line);
    const parsed = lines.map((l) => JSON.parse(l) as { seq: number; prevHash: string; hash: string });
    expect(parsed.map((p) => p.seq)).toEqual(parsed.map((_, i) => i + 1));
    for (let i = 1; i < parsed.length; i++) expect(parsed[i]!.prevHash).toBe(parsed[i - 1]!.hash);
  });
}

describe("audit log (SQLite)", () => {
  useIsolatedDataDir("audit");
  chainSuite();
});

// Needs a live PostgreSQL server: the test command starts one and sets PORTCULLIS_TEST_POSTGRES_URL, so it runs there; a bare `vitest run` skips it.
describe.skipIf(!TEST_POSTGRES_URL)("audit log (PostgreSQL)", () => {
  useIsolatedDataDir("audit-pg");
  usePostgresDatabase("audit");
  chainSuite();
});
