/**
 * A worker thread of the fast issuance engine (fast-pool.ts). It imports the CA key
 * once from the PKCS#8 DER it is started with (then wipes that copy), and issues
 * batches: { id, jobs } → { id, results: [{ der, serial, notBefore, notAfter } | { error }] }.
 * Plain JavaScript so it runs under plain Node, Next's build and vitest alike.
 */
import { createPrivateKey } from "node:crypto";
import { parentPort, workerData } from "node:worker_threads";
import { buildTbs, finalSans, leanParseCsr, randomSerialHex, signTbs, validityFor } from "./der.mjs";

const buf = (u8) => (u8 ? Buffer.from(u8.buffer, u8.byteOffset, u8.byteLength) : undefined);

const { pkcs8, parts, digest, caNotBefore, caNotAfter, usages } = workerData;
const privateKey = createPrivateKey({ key: buf(pkcs8), format: "der", type: "pkcs8" });
pkcs8.fill(0);
const issuer = {
  issuerNameDer: buf(parts.issuerNameDer),
  signatureAlgorithmDer: buf(parts.signatureAlgorithmDer),
  akiDer: buf(parts.akiDer),
  cdpDer: buf(parts.cdpDer),
  aiaDer: buf(parts.aiaDer),
};
const patterns = Object.fromEntries(
  Object.entries(usages).map(([usage, u]) => [usage, { commonName: u.commonNamePattern ? new RegExp(u.commonNamePattern) : null, device: u.devicePattern ? new RegExp(u.devicePattern) : null }]),
);

function issueOne(job, now) {
  const u = usages[job.usage];
  if (!u) throw new Error(`Unknown certificate usage "${job.usage}"`);
  let subjectDer, spkiDer, sans, keyType;
  if (job.csrDer) {
    const csr = leanParseCsr(buf(job.csrDer));
    sans = finalSans(u.rules, csr.commonName, csr.sans);
    const p = patterns[job.usage];
    if (p.commonName && (csr.commonName === null || !p.commonName.test(csr.commonName))) throw new Error(`The request's common name does not fit a ${u.label} certificate`);
    if (p.device && !(csr.commonName !== null && p.device.test(csr.commonName)) && !sans.some((s) => s.type === "email" && p.device.test(s.value))) {
      throw new Error("An IoT device certificate needs the device identity CN=d:<type>:<id> or the SAN email:d:<type>:<id>");
    }
    ({ subjectDer, spkiDer, keyType } = csr);
  } else {
    subjectDer = buf(job.subjectDer);
    spkiDer = buf(job.spkiDer);
    sans = job.sans;
    keyType = job.keyType;
  }
  const validity = job.notBefore !== undefined ? { notBefore: new Date(job.notBefore), notAfter: new Date(job.notAfter) } : validityFor(now, job.validityDays, caNotBefore, caNotAfter);
  const serialHex = job.serialHex ?? randomSerialHex();
  const tbs = buildTbs(issuer, { serialHex, notBefore: validity.notBefore, notAfter: validity.notAfter, subjectDer, spkiDer, sans, spec: keyType === "rsa" ? u.specRsa : u.specOther });
  const der = signTbs(tbs, issuer.signatureAlgorithmDer, digest, privateKey);
  return { der, serial: serialHex, notBefore: validity.notBefore.getTime(), notAfter: validity.notAfter.getTime() };
}

parentPort.on("message", ({ id, jobs }) => {
  const now = Date.now();
  const results = jobs.map((job) => {
    try {
      return issueOne(job, now);
    } catch (e) {
      return { error: e instanceof Error ? e.message : String(e) };
    }
  });
  parentPort.postMessage({ id, results });
});
