/**
 * The OpenSSL peers, on the same CSRs and the same CA key as Portcullis:
 * (d) `openssl ca -batch`, one process for all the CSRs (the baseline), and
 * (e) `openssl x509 -req`, one process per certificate, as a shell loop would do.
 * Both use a profile like Portcullis's TLS usage (basicConstraints, keyUsage,
 * extendedKeyUsage, SKI/AKI, the CSR's SANs, CRL distribution point, AIA). Every
 * certificate counted is checked by `openssl verify` afterwards (not timed).
 */
import { mkdirSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { performance } from "node:perf_hooks";
import { figure, BASELINE_ID, PER_CERT_ID, type Figure } from "./report.ts";
import { BenchError, countPem, median, pemBlocks, run, secondsSince } from "./util.ts";

export interface CaFiles {
  certificatePath: string;
  keyPath: string;
  /** Password of the encrypted CA key; handed to openssl through the environment, never argv. */
  keyPassword: string;
  /** Base URL the CRL distribution point and AIA point at. */
  portalBase: string;
  fileNameRoot: string;
}

const PASS_ENV = "PORTCULLIS_BENCH_CA_PASS";

function leafSection(ca: CaFiles): string {
  return [
    "basicConstraints = critical, CA:FALSE",
    "keyUsage = critical, digitalSignature",
    "extendedKeyUsage = serverAuth, clientAuth",
    "subjectKeyIdentifier = hash",
    "authorityKeyIdentifier = keyid",
    `crlDistributionPoints = URI:${ca.portalBase}/crl/${ca.fileNameRoot}.crl`,
    `authorityInfoAccess = OCSP;URI:${ca.portalBase}/ocsp, caIssuers;URI:${ca.portalBase}/api/v1/ca/certificate?format=der`,
  ].join("\n");
}

function opensslEnv(ca: CaFiles): NodeJS.ProcessEnv {
  return { ...process.env, [PASS_ENV]: ca.keyPassword };
}

/** Verifies certificates (PEM texts) against the CA with `openssl verify -x509_strict -purpose sslserver`. */
export async function verifyWithOpenssl(dir: string, caCertificatePath: string, pems: string[], what: string): Promise<void> {
  mkdirSync(dir, { recursive: true });
  const files = pems.map((pem, i) => {
    const f = join(dir, `v${i}.pem`);
    writeFileSync(f, pem);
    return f;
  });
  for (let i = 0; i < files.length; i += 200) {
    const chunk = files.slice(i, i + 200);
    const r = await run("openssl", ["verify", "-x509_strict", "-purpose", "sslserver", "-CAfile", caCertificatePath, ...chunk]);
    const ok = r.stdout.split("\n").filter((l) => / OK$/.test(l.trim())).length;
    if (r.code !== 0 || ok !== chunk.length) {
      throw new BenchError(`${what}: openssl verify accepted ${ok} of ${chunk.length} certificates: ${(r.stderr || r.stdout).trim().split("\n").slice(0, 4).join(" / ")}`);
    }
  }
}

/** (d) `openssl ca -batch -infiles …`: one process signs every CSR; median certs/s of `repeats` runs. */
export async function measureOpensslCa(o: { dir: string; ca: CaFiles; csrFiles: string[]; repeats: number; days: number }): Promise<{ figure: Figure; sample: string[] }> {
  const rates: number[] = [];
  let sample: string[] = [];
  for (let run_ = 0; run_ < o.repeats; run_++) {
    const dir = join(o.dir, `ca-run${run_}`);
    mkdirSync(join(dir, "newcerts"), { recursive: true });
    writeFileSync(join(dir, "index.txt"), "");
    writeFileSync(join(dir, "serial"), "1000\n");
    const cnf = join(dir, "openssl.cnf");
    writeFileSync(
      cnf,
      [
        "[ ca ]",
        "default_ca = bench_ca",
        "[ bench_ca ]",
        `dir = ${dir}`,
        "database = $dir/index.txt",
        "new_certs_dir = $dir/newcerts",
        `certificate = ${o.ca.certificatePath}`,
        `private_key = ${o.ca.keyPath}`,
        "serial = $dir/serial",
        "default_md = sha256",
        `default_days = ${o.days}`,
        "policy = policy_any",
        "preserve = yes",
        "email_in_dn = no",
        "unique_subject = no",
        "copy_extensions = copy",
        "x509_extensions = leaf",
        "[ policy_any ]",
        "countryName = optional",
        "stateOrProvinceName = optional",
        "localityName = optional",
        "organizationName = optional",
        "organizationalUnitName = optional",
        "commonName = supplied",
        "[ leaf ]",
        leafSection(o.ca),
        "",
      ].join("\n"),
    );
    const start = performance.now();
    const r = await run("openssl", ["ca", "-batch", "-config", cnf, "-passin", `env:${PASS_ENV}`, "-notext", "-infiles", ...o.csrFiles], { env: opensslEnv(o.ca) });
    const seconds = secondsSince(start);
    if (r.code !== 0) throw new BenchError(`openssl ca failed (exit ${r.code}): ${r.stderr.trim().split("\n").slice(-4).join(" / ")}`);
    // With several -infiles, OpenSSL 3.0 keeps only one certificate in an -out file; every
    // certificate is on stdout and in new_certs_dir.
    const files = readdirSync(join(dir, "newcerts")).filter((f) => f.endsWith(".pem"));
    const n = countPem(r.stdout);
    if (n !== o.csrFiles.length || files.length !== n) throw new BenchError(`openssl ca wrote ${n} certificates (${files.length} files) for ${o.csrFiles.length} CSRs`);
    rates.push(n / seconds);
    if (run_ === 0) sample = pemBlocks(r.stdout);
  }
  return {
    figure: figure({
      id: BASELINE_ID,
      section: "d",
      label: `openssl ca -batch, one process, ${o.csrFiles.length} CSRs`,
      unit: "certs/s",
      value: median(rates),
      detail: { certificates: o.csrFiles.length, runs: rates.map((x) => Math.round(x)).join(" ") },
      note: "the baseline",
    }),
    sample,
  };
}

/** (e) `openssl x509 -req`, one process per certificate, one after another. */
export async function measureOpensslX509(o: { dir: string; ca: CaFiles; csrFiles: string[]; days: number }): Promise<{ figure: Figure; sample: string[] }> {
  const dir = join(o.dir, "x509");
  mkdirSync(dir, { recursive: true });
  const ext = join(dir, "leaf.cnf");
  writeFileSync(ext, `[ leaf ]\n${leafSection(o.ca)}\n`);
  const serial = join(dir, "serial");
  writeFileSync(serial, "2000\n");
  const outs: string[] = [];
  const start = performance.now();
  for (const [i, csr] of o.csrFiles.entries()) {
    const out = join(dir, `c${i}.pem`);
    const r = await run(
      "openssl",
      ["x509", "-req", "-in", csr, "-CA", o.ca.certificatePath, "-CAkey", o.ca.keyPath, "-passin", `env:${PASS_ENV}`, "-CAserial", serial, "-days", String(o.days), "-sha256", "-copy_extensions", "copy", "-extfile", ext, "-extensions", "leaf", "-out", out],
      { env: opensslEnv(o.ca) },
    );
    if (r.code !== 0) throw new BenchError(`openssl x509 -req failed (exit ${r.code}): ${r.stderr.trim().split("\n").slice(-4).join(" / ")}`);
    outs.push(out);
  }
  const seconds = secondsSince(start);
  return {
    figure: figure({
      id: PER_CERT_ID,
      section: "e",
      label: `openssl x509 -req, one process per certificate, ${o.csrFiles.length} CSRs`,
      unit: "certs/s",
      value: o.csrFiles.length / seconds,
      detail: { certificates: o.csrFiles.length, seconds: Math.round(seconds * 1000) / 1000 },
    }),
    sample: outs.map((f) => readFileSync(f, "utf8")),
  };
}
