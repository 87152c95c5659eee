/**
 * The PKI worker thread (bundled by scripts/build-workers.mjs after `next build`; see
 * pool.ts). It answers jobs one message at a time; the CA key it is handed lives only as
 * long as the job.
 */
import { createHash } from "node:crypto";
import { parentPort } from "node:worker_threads";
import { x509 } from "../setup.ts";
import { checkSubmittedCsr, signItem, toJobError, warmUp, withoutCertificate, type JobResult, type SignItem, type SignSettings } from "./jobs.ts";
import type { WorkerRequest, WorkerReply } from "./pool.ts";

/** Parsed CA certificates by the SHA-256 of their DER: what is prepared per CA is kept per object. */
const certificates = new Map<string, x509.X509Certificate>();

function caCertificate(der: Uint8Array): x509.X509Certificate {
  const id = createHash("sha256").update(der).digest("hex");
  let c = certificates.get(id);
  if (!c) {
    if (certificates.size >= 4) certificates.delete(certificates.keys().next().value!);
    certificates.set(id, (c = new x509.X509Certificate(new Uint8Array(der))));
  }
  return c;
}

async function each<T, R>(items: T[], run: (item: T, index: number) => Promise<R>): Promise<JobResult<R>[]> {
  const out: JobResult<R>[] = [];
  for (const [i, item] of items.entries()) {
    try {
      out.push({ ok: await run(item, i) });
    } catch (e) {
      out.push({ error: toJobError(e) });
    }
  }
  return out;
}

async function answer(m: WorkerRequest): Promise<WorkerReply> {
  if (m.op === "warm-up") {
    await warmUp(m.rounds);
    return { id: m.id, results: [] };
  }
  if (m.op === "check-csrs") return { id: m.id, results: await each(m.csrs, checkSubmittedCsr) };
  const ca = { certificate: caCertificate(m.caCertificateDer), privateKey: m.caKey };
  const settings: SignSettings = m.settings;
  return { id: m.id, results: await each(m.items, async (item: SignItem, i) => withoutCertificate(await signItem(item, settings, ca, i === 0))) };
}

parentPort!.on("message", (m: WorkerRequest) => {
  answer(m).then(
    (reply) => parentPort!.postMessage(reply),
    (e) => parentPort!.postMessage({ id: m.id, failure: (e as Error)?.message ?? String(e) } satisfies WorkerReply),
  );
});
