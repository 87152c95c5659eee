/**
 * CRL numbers on a real PostgreSQL server, where re-signs and revocations really run at
 * once on several connections. Runs only with PORTCULLIS_TEST_POSTGRES_URL set, e.g.
 *   bash scripts/postgres-test.sh start
 *   PORTCULLIS_TEST_POSTGRES_URL=$(bash scripts/postgres-test.sh url) npx vitest run lib/ca/crl-signing.postgres.test.ts
 */
import { beforeAll, describe, expect, it } from "vitest";
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { databaseProvider, getDb } from "../db/index.ts";
import { openssl, opensslOk } from "../pki/test-support.ts";
import { useIsolatedDataDir } from "../test-support/data-dir.ts";
import { configureCaServer } from "./configure-server.ts";
import { submitRequest } from "./requests.ts";
import { issueRequest } from "./issue-request.ts";
import { revokeCertificate } from "./revoke-certificate.ts";
import { unlockCa } from "./server-context.ts";
import { usePostgresDatabase } from "../test-support/postgres.ts";
import { signCurrentCrl } from "./crl-signing.ts";

const url = process.env.PORTCULLIS_TEST_POSTGRES_URL;
const scratch = useIsolatedDataDir("crl-pg", { PORTCULLIS_PUBLIC_URL: undefined });
const KEY_PW = "crl postgres test CA password";

// Needs a live PostgreSQL server: the test command starts one and sets PORTCULLIS_TEST_POSTGRES_URL, so it runs there; a bare `vitest run` skips it.
describe.skipIf(!url)("CRL signing on PostgreSQL", () => {
  usePostgresDatabase("crl");

  beforeAll(async () => {
    expect(databaseProvider()).toBe("postgres");
  });

  it("re-signs racing revocations never share a CRL number, and the last CRL lists every revocation", async () => {
    await configureCaServer({ fileNameRoot: "PgCrlCA", directory: "ca", keyPassword: KEY_PW, subject: { CN: "PG CRL CA" }, caValidityDays: 365, issuedValidityDays: 30, adminEmail: "camgr@example.com" });
    const db = await getDb();
    const ca = await db.caServer.findUniqueOrThrow({ where: { id: 1 } });
    expect(ca.crlNumber).toBe(1);
    const issued = [];
    for (let i = 0; i < 4; i++) {
      const base = scratch.path(`leaf-${i}`);
      opensslOk(["req", "-new", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-keyout", `${base}.key`, "-subj", `/CN=leaf${i}.example.com`, "-out", `${base}.csr`]);
      const r = await submitRequest({ csr: readFileSync(`${base}.csr`, "utf8"), contact: { name: "Tina" }, filename: `leaf${i}` });
      issued.push(await issueRequest(r.id, { usage: "tls-client", caKeyPassword: KEY_PW, fingerprintVerified: true }, { actor: "admin" }));
    }
    const { privateKey } = await unlockCa(ca, KEY_PW);

    const resigns = Array.from({ length: 6 }, () => signCurrentCrl(privateKey));
    const revocations = issued.map((c) => revokeCertificate(c.number, { reason: "keyCompromise", caKeyPassword: KEY_PW }, { actor: "admin" }));
    const [resigned, revoked] = await Promise.all([Promise.allSettled(resigns), Promise.allSettled(revocations)]);

    // Every revocation went through (a taken number is retried); a re-sign either won its number or stored nothing.
    expect(revoked.map((r) => (r.status === "rejected" ? String((r.reason as Error).message) : r.status))).toEqual(["fulfilled", "fulfilled", "fulfilled", "fulfilled"]);
    const numbers = resigned.flatMap((r) => (r.status === "fulfilled" ? [r.value.crlNumber] : []));
    for (const r of resigned) if (r.status === "rejected") expect((r.reason as { code?: string }).code).toBe("conflict");
    expect(new Set(numbers).size).toBe(numbers.length);
    const row = await db.caServer.findUniqueOrThrow({ where: { id: 1 } });
    // Each successful signer (4 revocations + the winning re-signs) took exactly one number after 1.
    expect(row.crlNumber).toBe(1 + 4 + numbers.length);

    const file = scratch.path("final.crl.pem");
    writeFileSync(file, row.crlPem!);
    const caFile = join(row.directory, "PgCrlCA.cer");
    const v = openssl(["crl", "-in", file, "-CAfile", caFile, "-noout", "-verify"]);
    expect(v.stdout + v.stderr).toMatch(/verify OK/);
    const text = opensslOk(["crl", "-in", file, "-noout", "-text"]);
    for (const c of issued) expect(text).toContain(`Serial Number: ${c.serial}`);
    expect(opensslOk(["crl", "-in", file, "-noout", "-crlnumber"]).trim()).toBe(`crlNumber=0x${row.crlNumber.toString(16).toUpperCase().padStart(2, "0")}`);
  });
});
