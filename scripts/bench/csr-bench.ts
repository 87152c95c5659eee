/**
 * The CSRs every issuing figure uses (made once, up front, by the CA client's own code) and
 * (g): key pair + CSR generation per second on the CA-client path (createCsr).
 */
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { performance } from "node:perf_hooks";
import { createCsr } from "../../lib/client/create-csr.ts";
import type { KeyAlgorithm } from "../../lib/pki/key-algorithms.ts";
import { figure, type Figure } from "./report.ts";
import { median, pool, secondsSince } from "./util.ts";

export interface CsrItem {
  index: number;
  hostname: string;
  pem: string;
  /** The CSR in a file of its own, for openssl. */
  file: string;
}

function subjectFor(i: number) {
  const hostname = `device-${String(i).padStart(6, "0")}.bench.example.com`;
  return { hostname, subject: { C: "US", O: "Portcullis Bench", OU: "Fleet", CN: hostname } };
}

/** `count` P-256 CSRs for distinct host names (CN and a DNS SAN), written to `dir`. */
export async function makeCsrCorpus(dir: string, count: number, concurrency: number): Promise<CsrItem[]> {
  mkdirSync(dir, { recursive: true });
  return pool(
    Array.from({ length: count }, (_, i) => i),
    concurrency,
    async (i) => {
      const { hostname, subject } = subjectFor(i);
      const c = await createCsr({ subject, keyAlgorithm: "ecdsa-p256", sans: [`DNS:${hostname}`] });
      const file = join(dir, `${String(i).padStart(6, "0")}.csr`);
      writeFileSync(file, c.csrPem);
      return { index: i, hostname, pem: c.csrPem, file };
    },
  );
}

async function csrRate(alg: KeyAlgorithm, count: number): Promise<number> {
  const start = performance.now();
  for (let i = 0; i < count; i++) {
    const { hostname, subject } = subjectFor(i);
    await createCsr({ subject, keyAlgorithm: alg, sans: [`DNS:${hostname}`] });
  }
  return count / secondsSince(start);
}

/** (g) createCsr one after another: median of `repeats` batches for P-256, one small batch for RSA-2048. */
export async function measureCsrGeneration(o: { p256Count: number; rsaCount: number; repeats: number }): Promise<Figure[]> {
  const p256: number[] = [];
  for (let r = 0; r < o.repeats; r++) p256.push(await csrRate("ecdsa-p256", o.p256Count));
  const rsa = await csrRate("rsa-2048", o.rsaCount);
  return [
    figure({
      id: "g.p256",
      section: "g",
      label: `key pair + CSR, P-256 (createCsr), ${o.p256Count} per run`,
      unit: "CSRs/s",
      value: median(p256),
      detail: { runs: p256.map((x) => Math.round(x)).join(" ") },
      note: "CA-client path, one at a time",
    }),
    figure({
      id: "g.rsa2048",
      section: "g",
      label: `key pair + CSR, RSA-2048 (createCsr), ${o.rsaCount} CSRs`,
      unit: "CSRs/s",
      value: rsa,
      detail: { csrs: o.rsaCount },
      note: "RSA key generation dominates",
    }),
  ];
}
