/**
 * insertMany writes rows the Prisma client reads back, filters and sorts exactly like rows
 * it wrote itself with createMany: on SQLite, and on PostgreSQL in the test command's
 * second pass (PORTCULLIS_TEST_DATABASE=postgres).
 */
import { describe, expect, it } from "vitest";
import { randomUUID } from "node:crypto";
import { databaseProvider, getDb, sqliteConnection } from "./index.ts";
import { insertMany } from "./insert-many.ts";
import { useIsolatedDataDir } from "../test-support/data-dir.ts";

useIsolatedDataDir("insert-many");

function certificateRow(number: number, at: Date, note: string | null) {
  return {
    number,
    serial: randomUUID(),
    requestId: randomUUID(),
    subject: "CN=device-1,O=Fleet \"quoted\"; DROP TABLE x --",
    issuer: "CN=Test CA",
    usage: "tls",
    hostname: number % 2 ? "a.example.com" : null,
    instance: "fleet",
    filename: `dev${number}`,
    commonName: "device-1",
    notBefore: at,
    notAfter: new Date(at.getTime() + number * 1000),
    sha1Fingerprint: "a".repeat(40),
    sha256Fingerprint: "b".repeat(64),
    pem: "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n",
    status: "valid",
    contactName: "Zoë ☃",
    contactEmail: null,
    issuedAt: at,
    issuedBy: "admin",
    verifiedBy: "admin",
    verifiedAt: new Date(at.getTime() + 7),
    verifiedChannel: "phone",
    verifiedNote: note,
  };
}

describe("insertMany", () => {
  it("stores what createMany stores: same values read back, same date filters and order", async () => {
    const db = await getDb();
    const at = new Date(Date.UTC(2026, 10, 23, 6, 30, 15, 123));
    const viaPrisma = [1, 2, 3].map((n) => certificateRow(n, at, n === 2 ? null : "note"));
    const viaRaw = [4, 5, 6].map((n) => certificateRow(n, at, n === 5 ? null : "note"));
    await db.certificate.createMany({ data: viaPrisma });
    expect(await db.$transaction((tx) => insertMany(tx, "Certificate", viaRaw))).toBe(3);

    const back = await db.certificate.findMany({ orderBy: { number: "asc" } });
    expect(back).toHaveLength(6);
    for (const [i, row] of [...viaPrisma, ...viaRaw].entries()) expect(back[i]).toEqual({ ...row, status: "valid", revokedAt: null, revocationReason: null, revokedBy: null });

    // Dates compare in SQL as the client's own do: a range over notAfter takes rows of both kinds.
    const inRange = await db.certificate.findMany({ where: { notAfter: { gte: new Date(at.getTime() + 2000), lt: new Date(at.getTime() + 6000) } }, orderBy: { notAfter: "asc" }, select: { number: true } });
    expect(inRange.map((r) => r.number)).toEqual([2, 3, 4, 5]);
    const exact = await db.certificate.findMany({ where: { verifiedAt: new Date(at.getTime() + 7) }, select: { number: true } });
    expect(exact).toHaveLength(6);
  });

  it("splits a long list over several statements", async () => {
    const db = await getDb();
    const at = new Date();
    const rows = Array.from({ length: 1400 }, (_, i) => certificateRow(1000 + i, at, null));
    expect(await db.$transaction((tx) => insertMany(tx, "Certificate", rows))).toBe(1400);
    expect(await db.certificate.count({ where: { number: { gte: 1000 } } })).toBe(1400);
  });

  it("reports a unique violation as P2002 and stores none of the rows", async () => {
    const db = await getDb();
    const before = await db.certificate.count();
    const taken = (await db.certificate.findFirstOrThrow()).serial;
    const rows = [certificateRow(5000, new Date(), null), { ...certificateRow(5001, new Date(), null), serial: taken }];
    await expect(db.$transaction((tx) => insertMany(tx, "Certificate", rows))).rejects.toMatchObject({ code: "P2002" });
    expect(await db.certificate.count()).toBe(before);
  });

  it("writes inside the caller's transaction: a rollback takes its rows with the transaction's other writes", async () => {
    const db = await getDb();
    // On SQLite the rows go through the client's own connection, not through Prisma.
    expect(sqliteConnection() !== null).toBe(databaseProvider() === "sqlite");
    const before = await db.certificate.count();
    const heads = await db.auditHead.count();
    await expect(
      db.$transaction(async (tx) => {
        await tx.auditHead.upsert({ where: { id: 1 }, create: { id: 1, seq: 0, hash: "0".repeat(64) }, update: { seq: { increment: 1 } } });
        expect(await insertMany(tx, "Certificate", [certificateRow(7000, new Date(), null), certificateRow(7001, new Date(), null)])).toBe(2);
        // Seen inside the transaction…
        expect(await tx.certificate.count()).toBe(before + 2);
        throw new Error("changed my mind");
      }),
    ).rejects.toThrow("changed my mind");
    // …and gone with it.
    expect(await db.certificate.count()).toBe(before);
    expect(await db.auditHead.count()).toBe(heads);
  });

  it("stores none of the rows on a unique violation outside a transaction too", async () => {
    const db = await getDb();
    const before = await db.certificate.count();
    const taken = (await db.certificate.findFirstOrThrow()).serial;
    await expect(insertMany(db, "Certificate", [certificateRow(7100, new Date(), null), { ...certificateRow(7101, new Date(), null), serial: taken }])).rejects.toMatchObject({ code: "P2002" });
    expect(await db.certificate.count()).toBe(before);
  });

  it("refuses rows of different shapes and odd column names", async () => {
    const db = await getDb();
    const a = certificateRow(6000, new Date(), null);
    const { verifiedNote: _dropped, ...b } = certificateRow(6001, new Date(), null);
    await expect(insertMany(db, "Certificate", [a, b])).rejects.toThrow(/every row of Certificate needs the columns/);
    await expect(insertMany(db, "Certificate", [{ ...a, 'x" ; --': 1 }])).rejects.toThrow(/bad column name/);
    expect(await insertMany(db, "Certificate", [])).toBe(0);
  });
});
