/**
 * What the figures were measured on, and the tools the bench cannot run without.
 */
import { readFileSync } from "node:fs";
import os from "node:os";
import { BenchError, run } from "./util.ts";

export interface MachineInfo {
  cpuModel: string;
  cores: number;
  memoryMB: number;
  os: string;
  node: string;
  /** The OpenSSL inside Node (what crypto.sign and WebCrypto use). */
  nodeOpenssl: string;
  /** `openssl version` of the command-line tool (baselines d and e). */
  opensslCli: string;
  loadAverageAtStart: number[];
  loadAverageAtEnd?: number[];
}

function cpuModel(): string {
  const fromNode = os.cpus()[0]?.model?.trim();
  if (fromNode) return fromNode;
  try {
    const m = /^model name\s*:\s*(.+)$/m.exec(readFileSync("/proc/cpuinfo", "utf8"));
    return m?.[1]?.trim() ?? "unknown";
  } catch {
    return "unknown";
  }
}

/** `openssl version`, or a BenchError saying how to get it. */
export async function requireOpenssl(): Promise<string> {
  const missing =
    "OpenSSL's command-line tool `openssl` was not found on PATH. The baselines (d) `openssl ca -batch` and (e) `openssl x509 -req`, and the checks of every certificate the bench counts, need it: install it (Debian: apt-get install openssl) and run the bench again.";
  try {
    const r = await run("openssl", ["version"]);
    if (r.code !== 0 || !/OpenSSL|LibreSSL/i.test(r.stdout)) throw new BenchError(`${missing} (\`openssl version\` answered: ${(r.stdout + r.stderr).trim().slice(0, 200)})`);
    return r.stdout.trim();
  } catch (e) {
    if (e instanceof BenchError) throw e;
    throw new BenchError(missing);
  }
}

export function machineInfo(opensslCli: string): MachineInfo {
  return {
    cpuModel: cpuModel(),
    cores: typeof os.availableParallelism === "function" ? os.availableParallelism() : os.cpus().length,
    memoryMB: Math.round(os.totalmem() / 2 ** 20),
    os: `${os.type()} ${os.release()} ${os.arch()}`,
    node: process.version,
    nodeOpenssl: process.versions.openssl,
    opensslCli,
    loadAverageAtStart: os.loadavg().map((x) => Math.round(x * 100) / 100),
  };
}

export function describeMachine(m: MachineInfo): string {
  const load = (l: number[] | undefined) => (l ? l.join(" ") : "?");
  return [
    `machine: ${m.cpuModel}, ${m.cores} cores, ${m.memoryMB} MB, ${m.os}`,
    `node ${m.node} (OpenSSL ${m.nodeOpenssl}); ${m.opensslCli}`,
    `load average at start ${load(m.loadAverageAtStart)}${m.loadAverageAtEnd ? `, at end ${load(m.loadAverageAtEnd)}` : ""}`,
  ].join("\n");
}
