/**
 * Helpers for the pki tests: the OpenSSL CLI as the independent judge of what the
 * library writes, and the keys and certificates several tests start from. Not used by
 * application code.
 */
import { spawn, spawnSync } from "node:child_process";
import type { KeyAlgorithm } from "./key-algorithms.ts";
import { generateKeyPair, type KeyPair } from "./keys.ts";
import type { ScratchDir } from "../test-support/scratch-dir.ts";

export { scratchDir, type ScratchDir } from "../test-support/scratch-dir.ts";

export interface OpensslResult {
  status: number | null;
  stdout: string;
  stderr: string;
}

/** Runs `openssl args…`; never throws, so tests can assert on failures too. */
export function openssl(args: string[], input?: string | Buffer): OpensslResult {
  const r = spawnSync("openssl", args, { input, encoding: "utf8", maxBuffer: 16 * 1024 * 1024 });
  if (r.error) throw r.error;
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

/** Runs `openssl args…` and returns stdout; throws with stderr when it exits non-zero. */
export function opensslOk(args: string[], input?: string | Buffer): string {
  const r = openssl(args, input);
  if (r.status !== 0) throw new Error(`openssl ${args.join(" ")} exited ${r.status}: ${r.stderr}`);
  return r.stdout;
}

/** Same as opensslOk but stdout as raw bytes (DER output). */
export function opensslBytes(args: string[]): Buffer {
  const r = spawnSync("openssl", args, { maxBuffer: 16 * 1024 * 1024 });
  if (r.error) throw r.error;
  if (r.status !== 0) throw new Error(`openssl ${args.join(" ")} exited ${r.status}: ${r.stderr.toString()}`);
  return r.stdout;
}

/** `openssl genpkey` arguments for the key types the tests have OpenSSL make. */
export const GENPKEY_ARGS = {
  rsa2048: ["-algorithm", "RSA", "-pkeyopt", "rsa_keygen_bits:2048"],
  rsa1024: ["-algorithm", "RSA", "-pkeyopt", "rsa_keygen_bits:1024"],
  rsaE3: ["-algorithm", "RSA", "-pkeyopt", "rsa_keygen_bits:2048", "-pkeyopt", "rsa_keygen_pubexp:3"],
  p256: ["-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-256"],
  p384: ["-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-384"],
  p521: ["-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-521"],
  k1: ["-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:secp256k1"],
  ed25519: ["-algorithm", "ED25519"],
} as const;

/** An `openssl req -config` with no default extensions and no prompts. */
export const EMPTY_REQ_CONFIG = "[req]\ndistinguished_name=dn\n[dn]\n";

/** Has OpenSSL make one key file `<name>.key` in `scratch` per entry of `keys` (name → genpkey arguments), all at once; answers name → file. */
export async function opensslKeyFiles<K extends string>(scratch: ScratchDir, keys: Record<K, readonly string[]>): Promise<Record<K, string>> {
  const files = {} as Record<K, string>;
  await Promise.all(
    (Object.keys(keys) as K[]).map(async (k) => {
      files[k] = scratch.path(`${k}.key`);
      await new Promise<void>((resolve, reject) =>
        spawn("openssl", ["genpkey", ...keys[k], "-out", files[k]]).on("exit", (code) => (code === 0 ? resolve() : reject(new Error(`genpkey ${k}: ${code}`)))),
      );
    }),
  );
  return files;
}

/**
 * A P-256 key `<name>.key` and a certificate `<name>.cer` for it, self-signed by
 * `openssl req -x509` for one day, in `scratch`. `subject` defaults to /CN=<name>;
 * `args` adds options such as -config or -addext.
 */
export function opensslSelfSigned(scratch: ScratchDir, name: string, opts: { subject?: string; args?: string[] } = {}): { key: string; file: string; pem: string } {
  const key = scratch.path(`${name}.key`);
  opensslOk(["genpkey", ...GENPKEY_ARGS.p256, "-out", key]);
  const file = scratch.path(`${name}.cer`);
  opensslOk(["req", "-x509", "-key", key, "-subj", opts.subject ?? `/CN=${name}`, "-days", "1", ...(opts.args ?? []), "-out", file]);
  return { key, file, pem: opensslOk(["x509", "-in", file]) };
}

/** Every key algorithm a CA or a request can use, in the order the pages list them. */
export const KEY_ALGORITHM_IDS: KeyAlgorithm[] = ["ecdsa-p256", "ecdsa-p384", "rsa-2048", "rsa-3072", "rsa-4096"];

/** A key pair of each algorithm of `algorithms`, generated in parallel by the library. */
export async function generateKeyPairs(algorithms: KeyAlgorithm[]): Promise<Record<KeyAlgorithm, KeyPair>> {
  const generated = await Promise.all(algorithms.map((a) => generateKeyPair(a)));
  const pairs = {} as Record<KeyAlgorithm, KeyPair>;
  algorithms.forEach((a, i) => (pairs[a] = generated[i]));
  return pairs;
}
