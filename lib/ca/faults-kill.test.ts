/**
 * Fault: the process is killed (SIGKILL, no chance to clean up) in the middle of issuing.
 * A child process started like the app (lib/test-support/issue-loop.ts) issues the queue
 * one request after another and is killed at a random moment of an issuance, many times.
 * After each kill and the next start: every request is either still pending or fully
 * issued (request, certificate row and number agree), numbers run 1..N with no gap and
 * none reused, the SRL file mirrors the database's next number, and issuing goes on.
 */
import { beforeAll, describe, expect, it } from "vitest";
import { spawn, type ChildProcess } from "node:child_process";
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { getDb } from "../db/index.ts";
import { opensslOk } from "../pki/test-support.ts";
import { useIsolatedDataDir } from "../test-support/data-dir.ts";
import { configureCaServer } from "./configure-server.ts";
import { submitRequest } from "./requests.ts";
import { srlText } from "./server-files.ts";

const scratch = useIsolatedDataDir("faults-kill", { DATABASE_URL: undefined, PORTCULLIS_PUBLIC_URL: undefined, PORTCULLIS_ADMIN_USER: undefined, PORTCULLIS_ADMIN_PASSWORD: undefined });
const KEY_PW = "kill test CA password";
const REQUESTS = 40;
const KILLS = 10;
const LOOP = join(process.cwd(), "lib", "test-support", "issue-loop.ts");
let srlFile = "";
let caFile = "";

interface Loop {
  proc: ChildProcess;
  lines: string[];
  /** Resolves with the first output line (already printed or to come) matching `pred`. */
  next(pred: (line: string) => boolean, afterIndex?: number): Promise<{ line: string; index: number }>;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

function startLoop(args: string[] = []): Loop {
  const env: NodeJS.ProcessEnv = { ...process.env, PORTCULLIS_DATA_DIR: scratch.dir, ISSUE_LOOP_PASSWORD: KEY_PW };
  delete env.DATABASE_URL;
  delete env.PORTCULLIS_SECRET;
  // node itself with tsx's loader (not the tsx CLI, which runs the script in a child process that a kill would miss).
  const proc = spawn(process.execPath, ["--import", "tsx", LOOP, ...args], { cwd: process.cwd(), env, stdio: ["ignore", "pipe", "pipe"] });
  const lines: string[] = [];
  const waiters: (() => void)[] = [];
  let buf = "";
  let stderr = "";
  proc.stdout!.on("data", (d) => {
    buf += d;
    const parts = buf.split("\n");
    buf = parts.pop()!;
    lines.push(...parts);
    for (const w of waiters.splice(0)) w();
  });
  proc.stderr!.on("data", (d) => (stderr += d));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    proc.on("exit", (code, signal) => {
      for (const w of waiters.splice(0)) w();
      resolve({ code, signal });
    }),
  );
  let done = false;
  void exited.then(() => (done = true));
  const next: Loop["next"] = (pred, afterIndex = -1) =>
    new Promise((resolve, reject) => {
      const check = () => {
        const index = lines.findIndex((l, i) => i > afterIndex && pred(l));
        if (index >= 0) return resolve({ line: lines[index], index });
        if (done || proc.exitCode !== null || proc.signalCode !== null) return reject(new Error(`issue-loop ended without the expected line; output:\n${lines.join("\n")}\n${stderr}`));
        waiters.push(check);
      };
      check();
    });
  return { proc, lines, next, exited };
}

/** Starts a process that only starts (the app's start-up) and waits for it to finish. */
async function restart(): Promise<void> {
  const loop = startLoop(["--start-only"]);
  await loop.next((l) => l === "done");
  expect((await loop.exited).code).toBe(0);
}

/** The invariants, checked after each crash and restart; `seen` is every number → serial observed so far. */
async function expectConsistent(seen: Map<number, string>): Promise<number> {
  const db = await getDb();
  const certs = await db.certificate.findMany({ orderBy: { number: "asc" }, select: { number: true, serial: true, requestId: true } });
  const requests = await db.certificateRequest.findMany({ select: { id: true, status: true, certificateNumber: true } });
  const ca = await db.caServer.findUniqueOrThrow({ where: { id: 1 } });
  expect(certs.map((c) => c.number)).toEqual(certs.map((_, i) => i + 1));
  expect(ca.nextNumber).toBe(certs.length + 1);
  expect(new Set(certs.map((c) => c.serial)).size).toBe(certs.length);
  const byRequest = new Map(certs.map((c) => [c.requestId, c]));
  for (const r of requests) {
    if (r.status === "issued") expect(byRequest.get(r.id)?.number, r.id).toBe(r.certificateNumber);
    else {
      expect(r.status, r.id).toBe("pending");
      expect(r.certificateNumber).toBeNull();
      expect(byRequest.has(r.id)).toBe(false);
    }
  }
  expect(requests.filter((r) => r.status === "issued")).toHaveLength(certs.length);
  for (const [n, serial] of seen) expect(certs[n - 1]?.serial, `certificate ${n}`).toBe(serial);
  for (const c of certs) seen.set(c.number, c.serial);
  expect(readFileSync(srlFile, "utf8")).toBe(srlText(ca.nextNumber));
  return certs.length;
}

beforeAll(async () => {
  await configureCaServer({ fileNameRoot: "KillCA", directory: "ca", keyPassword: KEY_PW, subject: { CN: "Kill Test CA" }, caValidityDays: 3650, issuedValidityDays: 365, adminEmail: "camgr@example.com" });
  srlFile = join(scratch.dir, "ca", "KillCA.srl");
  caFile = join(scratch.dir, "ca", "KillCA.cer");
  for (let i = 0; i < REQUESTS; i++) {
    const base = scratch.path(`req-${i}`);
    opensslOk(["req", "-new", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-keyout", `${base}.key`, "-subj", `/CN=host${i}.example.com`, "-addext", `subjectAltName=DNS:host${i}.example.com`, "-out", `${base}.csr`]);
    await submitRequest({ csr: readFileSync(`${base}.csr`, "utf8"), contact: { name: "Tina Tech" }, filename: `host${i}` }, { now: new Date(Date.UTC(2030, 0, 1, 0, 0, i)) });
  }
});

describe("SIGKILL in the middle of issuance", () => {
  it("leaves every request pending or fully issued, never reuses a number, and issuing goes on after each restart", async () => {
    const seen = new Map<number, string>();
    // A warm-up run that is not killed: the duration of one issuance, to aim the kills.
    const warm = startLoop(["--count", "3"]);
    await warm.next((l) => l === "done");
    expect((await warm.exited).code).toBe(0);
    const durations = warm.lines.filter((l) => l.startsWith("issued ")).map((l) => Number(l.split(" ")[3]));
    // The first issuance also makes the OCSP responder certificate and the first CRL: aim by the later ones.
    const issueMs = Math.max(5, ...durations.slice(1));
    let issued = await expectConsistent(seen);
    expect(issued).toBe(3);

    const outcomes = { pending: 0, issued: 0 };
    for (let k = 0; k < KILLS; k++) {
      const loop = startLoop();
      // Kill during an issuance: the first one, or (half of the time) a later one.
      const target = await loop.next((l) => l.startsWith("issuing "));
      const aimed = k % 2 === 0 ? target : await loop.next((l) => l.startsWith("issuing "), target.index);
      const id = aimed.line.split(" ")[1];
      // From early in the issuance to past its end (the commit comes late in it), with some jitter.
      const delay = issueMs * (0.2 + (1.2 * k) / (KILLS - 1)) * (0.85 + Math.random() * 0.3);
      await new Promise((r) => setTimeout(r, delay));
      loop.proc.kill("SIGKILL");
      expect((await loop.exited).signal).toBe("SIGKILL");

      await restart();
      issued = await expectConsistent(seen);
      const row = await (await getDb()).certificateRequest.findUniqueOrThrow({ where: { id } });
      outcomes[row.status as "pending" | "issued"]++;
    }
    // What the kills hit: both outcomes are legitimate; the invariants held after each.
    console.log(`SIGKILL during issuance: ${KILLS} kills; the request being issued was left pending ${outcomes.pending} times and fully issued ${outcomes.issued} times`);
    expect(outcomes.pending + outcomes.issued).toBe(KILLS);

    // After the last restart, the rest of the queue is issued, numbers going on from where they were.
    const last = startLoop();
    await last.next((l) => l === "done");
    expect((await last.exited).code).toBe(0);
    const total = await expectConsistent(seen);
    expect(total).toBe(REQUESTS);
    const numbers = last.lines.filter((l) => l.startsWith("issued ")).map((l) => Number(l.split(" ")[2]));
    expect(numbers).toEqual(numbers.map((_, i) => issued + 1 + i));
    const db = await getDb();
    const lastCert = await db.certificate.findUniqueOrThrow({ where: { number: REQUESTS } });
    const leaf = scratch.path("last.pem");
    writeFileSync(leaf, lastCert.pem);
    expect(opensslOk(["verify", "-x509_strict", "-purpose", "sslserver", "-CAfile", caFile, leaf])).toMatch(/OK/);
  }, 600_000);

  it("a start rewrites an SRL left behind by a crash between the commit and the mirror", async () => {
    const db = await getDb();
    const next = (await db.caServer.findUniqueOrThrow({ where: { id: 1 } })).nextNumber;
    writeFileSync(srlFile, srlText(next - 1));
    await restart();
    expect(readFileSync(srlFile, "utf8")).toBe(srlText(next));
  }, 60_000);
});
