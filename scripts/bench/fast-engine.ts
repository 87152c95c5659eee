/**
 * (b) THE FAST ISSUANCE ENGINE SLOT.
 *
 * The bench looks for lib/pki/fast-issue.ts at run time (another module may be named with
 * --fast-issue-module). Until that file exists, or while it does not export
 * `createFastIssuer`, both (b) figures are reported as "not available" and the run goes on.
 *
 * The contract the bench calls (adapt this file, not the measurement, if the engine's API
 * differs):
 *
 *   createFastIssuer({ caCertificatePem, caPrivateKey, usage: "tls", validityDays,
 *                      workers, portalUrl, fileNameRoot }) → Promise<FastIssuer>
 *   FastIssuer.issue(csrPem) → Promise<string>   the certificate, PEM
 *   FastIssuer.close() → Promise<void>           ends its worker threads
 *
 * `workers: 0` issues in this thread; `workers: n` spreads the work over n worker threads.
 * Every certificate it returns is checked with `openssl verify -x509_strict` against the CA
 * (not timed): an engine whose output OpenSSL refuses gets no figure.
 */
import { existsSync } from "node:fs";
import type { KeyObject } from "node:crypto";
import { isAbsolute, join, resolve } from "node:path";
import { pathToFileURL } from "node:url";
import { performance } from "node:perf_hooks";
import type { CsrItem } from "./csr-bench.ts";
import { atLeastBaseline, figure, skippedFigure, type Figure } from "./report.ts";
import { BenchError, pool, secondsSince } from "./util.ts";

export const DEFAULT_FAST_ISSUE_MODULE = "lib/pki/fast-issue.ts";

export interface FastIssuer {
  issue(csrPem: string): Promise<string>;
  close(): Promise<void>;
}

export interface FastIssuerOptions {
  caCertificatePem: string;
  caPrivateKey: KeyObject;
  usage: "tls";
  validityDays: number;
  workers: number;
  portalUrl: string;
  fileNameRoot: string;
}

type CreateFastIssuer = (o: FastIssuerOptions) => Promise<FastIssuer>;

const SINGLE = { id: "b.single-thread", section: "b" as const, label: "fast engine, in-process, one thread", unit: "certs/s" as const };
const WORKERS = { id: "b.workers", section: "b" as const, label: "fast engine, worker threads", unit: "certs/s" as const, target: atLeastBaseline(3) };

/** The engine's factory, or why there is none. */
export async function loadFastEngine(root: string, modulePath = DEFAULT_FAST_ISSUE_MODULE): Promise<{ create: CreateFastIssuer } | { missing: string }> {
  const file = isAbsolute(modulePath) ? modulePath : resolve(join(root, modulePath));
  if (!existsSync(file)) return { missing: `not available: ${modulePath} does not exist yet` };
  const mod = (await import(pathToFileURL(file).href)) as { createFastIssuer?: unknown };
  if (typeof mod.createFastIssuer !== "function") return { missing: `not available: ${modulePath} exports no createFastIssuer()` };
  return { create: mod.createFastIssuer as CreateFastIssuer };
}

export interface FastEngineRun {
  figures: Figure[];
  /** Certificates issued (both runs), PEM, for openssl verify. */
  issued: string[];
}

async function issueAll(create: CreateFastIssuer, opts: Omit<FastIssuerOptions, "workers">, workers: number, csrs: CsrItem[], inFlight: number): Promise<{ rate: number; pems: string[] }> {
  const issuer = await create({ ...opts, workers });
  try {
    // One warm-up certificate: worker start-up and key import are not per-certificate costs.
    await issuer.issue(csrs[0].pem);
    const start = performance.now();
    const pems = await pool(csrs, inFlight, (c) => issuer.issue(c.pem));
    const rate = csrs.length / secondsSince(start);
    if (pems.some((p) => typeof p !== "string" || !p.includes("-----BEGIN CERTIFICATE-----"))) throw new BenchError("the fast engine's issue() answered something that is not a PEM certificate");
    return { rate, pems };
  } finally {
    await issuer.close();
  }
}

/** (b) single thread and with `workers` worker threads; "not available" figures while the engine is missing. */
export async function measureFastEngine(o: { root: string; modulePath?: string; options: Omit<FastIssuerOptions, "workers">; csrs: CsrItem[]; workers: number; inFlight: number }): Promise<FastEngineRun> {
  const engine = await loadFastEngine(o.root, o.modulePath);
  if ("missing" in engine) return { figures: [skippedFigure(SINGLE, engine.missing), skippedFigure(WORKERS, engine.missing)], issued: [] };
  const single = await issueAll(engine.create, o.options, 0, o.csrs, o.inFlight);
  const multi = await issueAll(engine.create, o.options, o.workers, o.csrs, o.inFlight);
  return {
    figures: [
      figure({ ...SINGLE, value: single.rate, detail: { certificates: o.csrs.length, inFlight: o.inFlight }, note: "P-256 CA, P-256 CSRs" }),
      figure({ ...WORKERS, label: `fast engine, ${o.workers} worker threads`, value: multi.rate, detail: { certificates: o.csrs.length, inFlight: o.inFlight, workers: o.workers }, note: "P-256 CA, P-256 CSRs" }),
    ],
    issued: [...single.pems, ...multi.pems],
  };
}
