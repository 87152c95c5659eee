/**
 * Property-based fuzzing helpers: run counts and parameters shared by every *.fuzz.test.ts,
 * the "returns or refuses with a 4xx AppError" oracle, and arbitraries that mutate DER,
 * PEM and text the way broken or hostile clients do (bit flips, truncation, length and tag
 * octets changed, insertions, huge lengths, deep nesting, well-formed but wrong
 * structures). Not used by application code.
 *
 * FUZZ_RUNS scales the number of runs of every property (default 1000 for the parsers) and
 * lifts the time budget that otherwise cuts a property short on a slow machine
 * (FUZZ_BUDGET_MS, 20 s by default); FUZZ_SEED (and FUZZ_PATH) replays a failure that
 * fast-check reported. Under CI (CI set) the seed is fixed, so that a red run always means a
 * change broke something and not that the dice found an old problem; elsewhere every run
 * draws a new seed and explores (FUZZ_SEED=random does so under CI too).
 */
import { sign, type KeyObject } from "node:crypto";
import fc from "fast-check";
import { AppError } from "../errors/app-error.ts";

/** The seed of every property under CI. */
export const CI_SEED = 20261123;

/** Runs per parser property; FUZZ_RUNS overrides it. */
export const FUZZ_RUNS = Math.max(1, Number(process.env.FUZZ_RUNS) || 1000);

/** `share` of FUZZ_RUNS, at least 1: properties whose runs are expensive take fewer. */
export function runs(share = 1): number {
  return Math.max(1, Math.round(FUZZ_RUNS * share));
}

/**
 * fast-check parameters: `numRuns` runs, each async run failed after `timeoutMs`, the
 * whole property cut short (not failed) after `budgetMs` so a slow machine keeps the suite
 * short. The seed is in every failure report; FUZZ_SEED/FUZZ_PATH replay it.
 */
export function fuzzParameters<T>(numRuns: number, opts: { timeoutMs?: number; budgetMs?: number } = {}): fc.Parameters<T> {
  const seed = process.env.FUZZ_SEED && process.env.FUZZ_SEED !== "random" ? Number(process.env.FUZZ_SEED) : process.env.CI && !process.env.FUZZ_SEED ? CI_SEED : undefined;
  const budget = Number(process.env.FUZZ_BUDGET_MS) || opts.budgetMs || 20_000;
  return {
    numRuns,
    timeout: opts.timeoutMs ?? 5_000,
    interruptAfterTimeLimit: process.env.FUZZ_RUNS ? undefined : budget,
    markInterruptAsFailure: false,
    ...(seed !== undefined && Number.isFinite(seed) ? { seed, path: process.env.FUZZ_PATH } : {}),
  };
}

/** The test timeout for a property of `numRuns` runs (generous: a hang shows as this). */
export function testTimeout(numRuns: number, msPerRun = 20): number {
  return Math.max(60_000, numRuns * msPerRun * 4);
}

export type Outcome<T> = { ok: true; value: T } | { ok: false; error: AppError };

function judge(e: unknown, what: string): AppError {
  if (e instanceof AppError) {
    if (e.status >= 500) throw new Error(`${what} refused with ${e.status} ${e.code} "${e.message}": a caller's mistake must be a 4xx`, { cause: e });
    return e;
  }
  const detail = e instanceof Error ? `${e.name}: ${e.message}\n${e.stack}` : String(e);
  throw new Error(`${what} threw something other than an AppError: ${detail}`, { cause: e });
}

/**
 * Calls `fn`: its value, or the AppError with a 4xx status it threw. Any other error (or
 * a 5xx AppError) fails the property, with what was thrown.
 */
export function settle<T>(fn: () => T, what = "the function"): Outcome<T> {
  try {
    return { ok: true, value: fn() };
  } catch (e) {
    return { ok: false, error: judge(e, what) };
  }
}

/** `settle` for async functions. */
export async function settleAsync<T>(fn: () => Promise<T>, what = "the function"): Promise<Outcome<T>> {
  try {
    return { ok: true, value: await fn() };
  } catch (e) {
    return { ok: false, error: judge(e, what) };
  }
}

// ---------------------------------------------------------------------------------
// DER as a tree, leniently read from samples and always written with correct lengths.

export interface DerTree {
  tag: number;
  /** Children of a constructed element; undefined for a primitive one. */
  children?: DerTree[];
  /** Value octets of a primitive element. */
  content?: Buffer;
}

function readLength(buf: Buffer, at: number): { length: number; header: number } | null {
  if (at + 2 > buf.length) return null;
  const first = buf[at + 1];
  if (first < 0x80) return { length: first, header: 2 };
  const n = first & 0x7f;
  if (n === 0 || n > 4 || at + 2 + n > buf.length) return null;
  let length = 0;
  for (let i = 0; i < n; i++) length = length * 256 + buf[at + 2 + i];
  return { length, header: 2 + n };
}

/** The DER element at the start of `buf` as a tree (constructed elements that do not split cleanly stay primitive). */
export function derTree(buf: Buffer, depth = 0): DerTree {
  const l = readLength(buf, 0);
  if (!l || l.header + l.length > buf.length) return { tag: buf[0] ?? 0x05, content: Buffer.from(buf.subarray(Math.min(2, buf.length))) };
  const content = buf.subarray(l.header, l.header + l.length);
  const tag = buf[0];
  if ((tag & 0x20) === 0 || depth > 100) return { tag, content: Buffer.from(content) };
  const children: DerTree[] = [];
  let off = 0;
  while (off < content.length) {
    const cl = readLength(content, off);
    if (!cl || off + cl.header + cl.length > content.length) return { tag, content: Buffer.from(content) };
    children.push(derTree(content.subarray(off, off + cl.header + cl.length), depth + 1));
    off += cl.header + cl.length;
  }
  return { tag, children };
}

export function derLength(n: number): Buffer {
  if (n < 0x80) return Buffer.from([n]);
  const bytes: number[] = [];
  for (let v = n; v > 0; v = Math.floor(v / 256)) bytes.unshift(v % 256);
  return Buffer.from([0x80 | bytes.length, ...bytes]);
}

export function tlv(tag: number, content: Buffer): Buffer {
  return Buffer.concat([Buffer.from([tag]), derLength(content.length), content]);
}

/** Octets the definite length `n` takes. */
function lengthSize(n: number): number {
  let k = 1;
  if (n >= 0x80) for (let v = n; v > 0; v = Math.floor(v / 256)) k++;
  return k;
}

/** Writes tag and length at `at`; answers where the content starts. */
function writeHeader(out: Buffer, at: number, tag: number, n: number): number {
  out[at] = tag;
  const k = lengthSize(n);
  if (k === 1) out[at + 1] = n;
  else {
    out[at + 1] = 0x80 | (k - 1);
    for (let i = k - 1, v = n; i >= 1; i--, v = Math.floor(v / 256)) out[at + 1 + i] = v % 256;
  }
  return at + 1 + k;
}

/** DER of a tree, lengths computed; linear in the output (trees may be thousands of levels deep). */
export function derEncode(t: DerTree): Buffer {
  // Sizes bottom-up without recursion, then one buffer written top-down.
  const order: DerTree[] = [];
  const stack = [t];
  while (stack.length) {
    const n = stack.pop()!;
    order.push(n);
    if (n.children) for (const c of n.children) stack.push(c);
  }
  const size = new Map<DerTree, number>();
  const total = (n: DerTree) => {
    const c = size.get(n)!;
    return 1 + lengthSize(c) + c;
  };
  for (let i = order.length - 1; i >= 0; i--) {
    const n = order[i];
    let c = 0;
    if (n.children) for (const k of n.children) c += total(k);
    else c = n.content?.length ?? 0;
    size.set(n, c);
  }
  const out = Buffer.alloc(total(t));
  const write: { node: DerTree; at: number }[] = [{ node: t, at: 0 }];
  while (write.length) {
    const { node, at } = write.pop()!;
    let off = writeHeader(out, at, node.tag, size.get(node)!);
    if (!node.children) {
      node.content?.copy(out, off);
      continue;
    }
    for (const c of node.children) {
      write.push({ node: c, at: off });
      off += total(c);
    }
  }
  return out;
}

/** `inner` wrapped in `depth` constructed elements of `tag`, built in linear time. */
export function nest(inner: Buffer, depth: number, tag = 0x30): Buffer {
  const lengths: number[] = [];
  let len = inner.length;
  for (let i = 0; i < depth; i++) {
    lengths.push(len);
    len += 1 + lengthSize(len);
  }
  const out = Buffer.alloc(len);
  let at = 0;
  for (let i = depth - 1; i >= 0; i--) at = writeHeader(out, at, tag, lengths[i]);
  inner.copy(out, at);
  return out;
}

/** A deep copy (iterative: mutated trees may be thousands of levels deep). */
function cloneTree(t: DerTree): DerTree {
  const copy = (n: DerTree): DerTree => (n.children ? { tag: n.tag, children: [...n.children] } : { tag: n.tag, content: Buffer.from(n.content ?? Buffer.alloc(0)) });
  const root = copy(t);
  const stack = [root];
  while (stack.length) {
    const n = stack.pop()!;
    if (!n.children) continue;
    n.children = n.children.map(copy);
    stack.push(...n.children);
  }
  return root;
}

/** Every node with its parent, pre-order (iterative). */
function nodesOf(t: DerTree): { node: DerTree; parent: DerTree | null; index: number }[] {
  const out: { node: DerTree; parent: DerTree | null; index: number }[] = [];
  const stack: { node: DerTree; parent: DerTree | null; index: number }[] = [{ node: t, parent: null, index: 0 }];
  while (stack.length) {
    const e = stack.pop()!;
    out.push(e);
    const kids = e.node.children ?? [];
    for (let i = kids.length - 1; i >= 0; i--) stack.push({ node: kids[i], parent: e.node, index: i });
  }
  return out;
}

/** Header spans of the elements of a (valid) DER buffer: where tag and length octets sit. */
function headerSpans(buf: Buffer): { at: number; header: number; length: number; constructed: boolean }[] {
  const spans: { at: number; header: number; length: number; constructed: boolean }[] = [];
  const walk = (start: number, end: number, depth: number) => {
    let off = start;
    while (off < end && depth < 64) {
      const l = readLength(buf, off);
      if (!l || off + l.header + l.length > end) return;
      const constructed = (buf[off] & 0x20) !== 0;
      spans.push({ at: off, header: l.header, length: l.length, constructed });
      if (constructed) walk(off + l.header, off + l.header + l.length, depth + 1);
      off += l.header + l.length;
    }
  };
  walk(0, buf.length, 0);
  return spans;
}

// ---------------------------------------------------------------------------------
// Mutations.

/** Tags worth swapping in: universal types, strings, times, context tags, a high-tag-number form. */
const INTERESTING_TAGS = [0x00, 0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x0a, 0x0c, 0x12, 0x13, 0x14, 0x16, 0x17, 0x18, 0x1a, 0x1c, 0x1e, 0x1f, 0x30, 0x31, 0x80, 0x81, 0x82, 0x86, 0x87, 0x88, 0xa0, 0xa1, 0xa2, 0xa3, 0xa4, 0xbf, 0xff];

/** Length octets that lie: zero, indefinite, too many octets, huge, non-minimal, off by one. */
function lyingLengths(actual: number): Buffer[] {
  return [
    Buffer.from([0x00]),
    Buffer.from([0x7f]),
    Buffer.from([0x80]),
    Buffer.from([0x81, 0x00]),
    Buffer.from([0x81, 0x05]),
    Buffer.from([0x82, 0x00, actual & 0xff]),
    Buffer.from([0x84, 0xff, 0xff, 0xff, 0xff]),
    Buffer.from([0x84, 0x7f, 0xff, 0xff, 0xff]),
    Buffer.from([0x85, 0x01, 0x00, 0x00, 0x00, 0x00]),
    Buffer.from([0x88, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff]),
    Buffer.from([0xff]),
    derLength(actual + 1),
    derLength(Math.max(0, actual - 1)),
    derLength(actual * 2 + 1),
  ];
}

/** A mutation of raw bytes: applied to a buffer, it answers a new buffer. */
export type ByteMutation = (b: Buffer) => Buffer;

const at = (b: Buffer, i: number) => (b.length === 0 ? 0 : i % b.length);

/** One raw-byte mutation: flip, set, truncate, insert, delete, lie in a length, change a tag, append. */
export const byteMutation: fc.Arbitrary<ByteMutation> = fc.oneof(
  fc.record({ i: fc.nat(), bit: fc.integer({ min: 0, max: 7 }) }).map(({ i, bit }) => (b: Buffer) => {
    const c = Buffer.from(b);
    if (c.length) c[at(c, i)] ^= 1 << bit;
    return c;
  }),
  fc.record({ i: fc.nat(), v: fc.integer({ min: 0, max: 255 }) }).map(({ i, v }) => (b: Buffer) => {
    const c = Buffer.from(b);
    if (c.length) c[at(c, i)] = v;
    return c;
  }),
  fc.nat().map((i) => (b: Buffer) => Buffer.from(b.subarray(0, i % (b.length + 1)))),
  fc.record({ i: fc.nat(), ins: fc.uint8Array({ minLength: 1, maxLength: 32 }) }).map(({ i, ins }) => (b: Buffer) => {
    const p = i % (b.length + 1);
    return Buffer.concat([b.subarray(0, p), Buffer.from(ins), b.subarray(p)]);
  }),
  fc.record({ i: fc.nat(), n: fc.integer({ min: 1, max: 64 }) }).map(({ i, n }) => (b: Buffer) => {
    const p = at(b, i);
    return Buffer.concat([b.subarray(0, p), b.subarray(p + n)]);
  }),
  fc.record({ k: fc.nat(), which: fc.nat() }).map(({ k, which }) => (b: Buffer) => {
    const spans = headerSpans(b);
    if (!spans.length) return b;
    const s = spans[k % spans.length];
    const lies = lyingLengths(s.length);
    return Buffer.concat([b.subarray(0, s.at + 1), lies[which % lies.length], b.subarray(s.at + s.header)]);
  }),
  fc.record({ k: fc.nat(), tag: fc.oneof(fc.constantFrom(...INTERESTING_TAGS), fc.integer({ min: 0, max: 255 })) }).map(({ k, tag }) => (b: Buffer) => {
    const spans = headerSpans(b);
    if (!spans.length) return b;
    const c = Buffer.from(b);
    c[spans[k % spans.length].at] = tag;
    return c;
  }),
  fc.uint8Array({ minLength: 1, maxLength: 64 }).map((tail) => (b: Buffer) => Buffer.concat([b, Buffer.from(tail)])),
);

/** A mutation of a DER tree (lengths stay correct): the shapes a careless or hostile encoder makes. */
export type TreeMutation = (t: DerTree) => DerTree;

/** Primitive values that break parsers' assumptions. */
const hostileContent: fc.Arbitrary<Buffer> = fc.oneof(
  fc.uint8Array({ maxLength: 48 }).map((u) => Buffer.from(u)),
  fc.constantFrom(
    Buffer.alloc(0),
    Buffer.from([0x00]),
    Buffer.from([0x80]),
    Buffer.from([0xff]),
    Buffer.alloc(21, 0x7f), // an INTEGER longer than a serial may be
    Buffer.from([0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x7f]), // an OID arc larger than 2^53
    Buffer.from([0xc0, 0x80]), // overlong UTF-8
    Buffer.from([0xed, 0xa0, 0x80]), // a UTF-8 surrogate
    Buffer.from("\u0000\u0007\u001b[31m\u202e", "utf8"),
    Buffer.from("d:type:id", "ascii"),
    Buffer.from("*.", "ascii"),
    Buffer.from("991231235959Z", "ascii"), // UTCTime
    Buffer.from("99991231235959Z", "ascii"), // GeneralizedTime
    Buffer.from("20240230250000Z", "ascii"), // an impossible date
    Buffer.from("00000000000000Z", "ascii"),
  ),
  fc.integer({ min: 1, max: 4000 }).map((n) => Buffer.alloc(n, 0x41)),
);

export const treeMutation: fc.Arbitrary<TreeMutation> = fc.oneof(
  // Replace a node with another node of the same tree.
  fc.record({ a: fc.nat(), b: fc.nat() }).map(({ a, b }) => (t: DerTree) => {
    const root = cloneTree(t);
    const nodes = nodesOf(root);
    const target = nodes[a % nodes.length];
    const source = cloneTree(nodes[b % nodes.length].node);
    if (!target.parent) return source;
    target.parent.children![target.index] = source;
    return root;
  }),
  // Drop, duplicate or swap children.
  fc.record({ a: fc.nat(), op: fc.constantFrom("drop", "dup", "swap", "empty"), j: fc.nat() }).map(({ a, op, j }) => (t: DerTree) => {
    const root = cloneTree(t);
    const withKids = nodesOf(root).filter((n) => n.node.children && n.node.children.length);
    if (!withKids.length) return root;
    const kids = withKids[a % withKids.length].node.children!;
    const i = j % kids.length;
    if (op === "drop") kids.splice(i, 1);
    else if (op === "dup") kids.splice(i, 0, cloneTree(kids[i]));
    else if (op === "empty") kids.splice(0, kids.length);
    else if (kids.length > 1) [kids[0], kids[i]] = [kids[i], kids[0]];
    return root;
  }),
  // Change a tag, keeping the content (primitive ↔ constructed mismatches included).
  fc.record({ a: fc.nat(), tag: fc.oneof(fc.constantFrom(...INTERESTING_TAGS), fc.integer({ min: 0, max: 255 })) }).map(({ a, tag }) => (t: DerTree) => {
    const root = cloneTree(t);
    const nodes = nodesOf(root);
    nodes[a % nodes.length].node.tag = tag;
    return root;
  }),
  // Replace a primitive value with hostile content.
  fc.record({ a: fc.nat(), content: hostileContent }).map(({ a, content }) => (t: DerTree) => {
    const root = cloneTree(t);
    const prims = nodesOf(root).filter((n) => !n.node.children);
    if (!prims.length) return root;
    prims[a % prims.length].node.content = content;
    return root;
  }),
  // Nest a node deep inside SEQUENCEs (or SETs, or context tags).
  fc.record({ a: fc.nat(), depth: fc.oneof(fc.integer({ min: 1, max: 8 }), fc.integer({ min: 100, max: 3000 })), tag: fc.constantFrom(0x30, 0x31, 0xa0) }).map(
    ({ a, depth, tag }) => (t: DerTree) => {
      const root = cloneTree(t);
      const nodes = nodesOf(root);
      const target = nodes[a % nodes.length];
      let wrapped: DerTree = target.node;
      for (let i = 0; i < depth; i++) wrapped = { tag, children: [wrapped] };
      if (!target.parent) return wrapped;
      target.parent.children![target.index] = wrapped;
      return root;
    },
  ),
  // Many children: a long list where a parser may expect a few.
  fc.record({ a: fc.nat(), n: fc.integer({ min: 2, max: 400 }) }).map(({ a, n }) => (t: DerTree) => {
    const root = cloneTree(t);
    const withKids = nodesOf(root).filter((x) => x.node.children && x.node.children.length);
    if (!withKids.length) return root;
    const kids = withKids[a % withKids.length].node.children!;
    // Copies of a small first child (a deep one would make the tree explode).
    const first = nodesOf(kids[0]).length <= 64 ? kids[0] : { tag: 0x05, content: Buffer.alloc(0) };
    for (let i = 0; i < n; i++) kids.push(cloneTree(first));
    return root;
  }),
);

/** Tree mutations, 1 to 3 at a time. */
export const treeMutations: fc.Arbitrary<TreeMutation> = fc.array(treeMutation, { minLength: 1, maxLength: 3 }).map((ms) => (t: DerTree) => ms.reduce((acc, m) => m(acc), t));

/** Byte mutations, 1 to 4 at a time. */
export const byteMutations: fc.Arbitrary<ByteMutation> = fc.array(byteMutation, { minLength: 1, maxLength: 4 }).map((ms) => (b: Buffer) => ms.reduce((acc, m) => m(acc), b));

/** A mutation of DER bytes: raw (anything goes) or structural (lengths stay consistent). */
export const derMutation: fc.Arbitrary<ByteMutation> = fc.oneof(
  byteMutations,
  treeMutations.map((m) => (b: Buffer) => derEncode(m(derTree(b)))),
);

/** Deeply nested SEQUENCEs (definite or indefinite lengths), or an unterminated deep nest. */
export const deepNesting: fc.Arbitrary<Buffer> = fc.record({ depth: fc.integer({ min: 50, max: 20_000 }), kind: fc.constantFrom("definite", "indefinite", "open") }).map(({ depth, kind }) => {
  if (kind === "indefinite") return Buffer.concat([Buffer.alloc(depth * 2).fill(Buffer.from([0x30, 0x80])), Buffer.alloc(depth * 2, 0)]);
  if (kind === "open") return Buffer.alloc(depth * 2).fill(Buffer.from([0x30, 0x84]));
  return nest(Buffer.from([0x05, 0x00]), Math.min(depth, 8000));
});

// ---------------------------------------------------------------------------------
// Signed structures: mutate the to-be-signed part and sign it again, so that the fuzzing
// reaches the checks that come after the signature.

/** Signs `tbs` with `key` the way the sample's signature algorithm says (ECDSA/RSA with SHA-256 or -384, Ed25519). */
export function signLike(tbs: Buffer, key: KeyObject, hash: "sha256" | "sha384" | null = "sha256"): Buffer {
  return sign(key.asymmetricKeyType === "ed25519" ? null : hash, tbs, key);
}

/**
 * `signed` (SEQUENCE { tbs, algorithm, BIT STRING }) with its to-be-signed part replaced
 * by `mutate(tbs)` and signed again with `key`.
 */
export function resign(signed: Buffer, key: KeyObject, mutate: ByteMutation, hash: "sha256" | "sha384" | null = "sha256"): Buffer {
  const tree = derTree(signed);
  const [tbs, alg] = tree.children ?? [];
  if (!tbs || !alg) return mutate(signed);
  const newTbs = mutate(derEncode(tbs));
  const sig = signLike(newTbs, key, hash);
  return tlv(0x30, Buffer.concat([newTbs, derEncode(alg), tlv(0x03, Buffer.concat([Buffer.from([0]), sig]))]));
}

// ---------------------------------------------------------------------------------
// PEM and text.

export function pem(der: Buffer, label: string, lineLength = 64): string {
  const b64 = der.toString("base64");
  const lines = b64.match(new RegExp(`.{1,${lineLength}}`, "g")) ?? [];
  return `-----BEGIN ${label}-----\n${lines.join("\n")}${lines.length ? "\n" : ""}-----END ${label}-----\n`;
}

/** Any code point, lone surrogates included. */
export const anyChar: fc.Arbitrary<string> = fc.oneof(
  { weight: 6, arbitrary: fc.string({ unit: "binary", minLength: 1, maxLength: 1 }) },
  { weight: 1, arbitrary: fc.integer({ min: 0xd800, max: 0xdfff }).map((c) => String.fromCharCode(c)) },
  { weight: 2, arbitrary: fc.constantFrom("\u0000", "\r", "\n", "\t", "\u007f", "\u0085", "\u00a0", "\u200b", "\u202e", "\ufeff", "\uffff", "-", ":", ",", "=", "+", "\\", '"', "<", ">", "&", "'", "%", "/", ".", "*", "@", "#") },
);

/** Text of any code points (lone surrogates and control characters included). */
export const hostileText = (maxLength = 80): fc.Arbitrary<string> => fc.string({ unit: anyChar, maxLength });

/** A mutation of PEM text: the armour, the base64, the line breaks and what surrounds it. */
export type TextMutation = (s: string) => string;

const LABELS = ["CERTIFICATE", "CERTIFICATE REQUEST", "NEW CERTIFICATE REQUEST", "X509 CRL", "PRIVATE KEY", "ENCRYPTED PRIVATE KEY", "RSA PRIVATE KEY", "PUBLIC KEY", "PKCS7", "", "CERTIFICATE  REQUEST", "certificate"];

export const textMutation: fc.Arbitrary<TextMutation> = fc.oneof(
  fc.record({ i: fc.nat(), ins: hostileText(40) }).map(({ i, ins }) => (s: string) => {
    const p = i % (s.length + 1);
    return s.slice(0, p) + ins + s.slice(p);
  }),
  fc.record({ i: fc.nat(), n: fc.integer({ min: 1, max: 80 }) }).map(({ i, n }) => (s: string) => {
    const p = s.length ? i % s.length : 0;
    return s.slice(0, p) + s.slice(p + n);
  }),
  fc.nat().map((i) => (s: string) => s.slice(0, i % (s.length + 1))),
  fc.constantFrom<TextMutation>(
    (s) => s.replace(/-----END [^-]*-----\s*$/, ""), // no END line
    (s) => s + s, // two blocks
    (s) => s.replace(/\n/g, "\r\n"),
    (s) => s.replace(/\n/g, ""),
    (s) => s.replace(/\n/g, "\r"),
    (s) => s.replace(/([A-Za-z0-9+/]{10})/, "$1!"), // invalid base64
    (s) => s.replace(/=*\n-----END/, "====\n-----END"),
    (s) => s.replace(/^(-----BEGIN [^-]*-----\n)/, "$1Proc-Type: 4,ENCRYPTED\nDEK-Info: AES-128-CBC,00\n\n"),
    (s) => s.replace(/^(-----BEGIN [^-]*-----\n)/, "$1Proc-Type: 4,ENCRYPTED\n"),
    (s) => `Certificate:\n    Data: …\n${s}trailing text ✓\n`,
    (s) => s.replace(/[A-Za-z0-9+/]{4}/g, (m) => `${m} `),
    (s) => s.toLowerCase(),
    (s) => `${s}-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n`,
    (s) => s.replace(/^-----BEGIN ([^-]*)-----/, "-----BEGIN $1-----\n-----BEGIN $1-----"),
    (s) => `${"-----BEGIN CERTIFICATE-----\n".repeat(500)}${s}`,
  ),
  fc.record({ to: fc.constantFrom(...LABELS), both: fc.boolean() }).map(({ to, both }) => (s: string) => {
    const r = s.replace(/-----BEGIN ([^-]*)-----/, `-----BEGIN ${to}-----`);
    return both ? r.replace(/-----END ([^-]*)-----/, `-----END ${to}-----`) : r;
  }),
);

export const textMutations: fc.Arbitrary<TextMutation> = fc.array(textMutation, { minLength: 1, maxLength: 3 }).map((ms) => (s: string) => ms.reduce((acc, m) => m(acc), s));

/**
 * Hostile input derived from `samples` (DER): mutated DER bytes, mutated DER as PEM
 * under a label from `labels`, PEM text mutated as text, or unrelated garbage.
 */
export function mutatedInputs(samples: Buffer[], labels: string[]): fc.Arbitrary<string | Uint8Array> {
  const sample = fc.constantFrom(...samples);
  return fc.oneof(
    { weight: 4, arbitrary: fc.tuple(sample, derMutation).map(([d, m]) => new Uint8Array(m(d))) },
    { weight: 2, arbitrary: fc.tuple(sample, derMutation, fc.constantFrom(...labels)).map(([d, m, l]) => pem(m(d), l)) },
    { weight: 2, arbitrary: fc.tuple(sample, textMutations, fc.constantFrom(...labels)).map(([d, m, l]) => m(pem(d, l))) },
    { weight: 1, arbitrary: deepNesting.map((b) => new Uint8Array(b)) },
    { weight: 1, arbitrary: fc.uint8Array({ maxLength: 512 }) },
    { weight: 1, arbitrary: hostileText(200) },
  );
}
