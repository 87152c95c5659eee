/**
 * (a) The raw signing rate of a CA key in this process: Node's crypto.sign (synchronous
 * one at a time; callback form, on the libuv pool, many at once) and native WebCrypto
 * (one awaited at a time; many at once). The data signed is the size of a leaf
 * certificate's to-be-signed part.
 */
import { randomBytes, sign, webcrypto, type KeyObject } from "node:crypto";
import { figure, type Figure } from "./report.ts";
import { medianOf, rateConcurrent, rateSerial } from "./util.ts";

export interface SigningOptions {
  /** The CA's own P-256 key. */
  p256: KeyObject;
  /** An RSA-2048 key (the bench's CA is P-256, so this one is generated for the bench). */
  rsa2048: KeyObject;
  seconds: number;
  repeats: number;
  inFlight: number;
}

const TBS_BYTES = 520;

async function webcryptoKey(key: KeyObject, kind: "p256" | "rsa"): Promise<{ key: webcrypto.CryptoKey; alg: webcrypto.EcdsaParams | webcrypto.Algorithm }> {
  const der = key.export({ format: "der", type: "pkcs8" });
  if (kind === "p256") {
    const k = await webcrypto.subtle.importKey("pkcs8", der, { name: "ECDSA", namedCurve: "P-256" }, false, ["sign"]);
    return { key: k, alg: { name: "ECDSA", hash: "SHA-256" } };
  }
  const k = await webcrypto.subtle.importKey("pkcs8", der, { name: "RSASSA-PKCS1-v1_5", hash: "SHA-256" }, false, ["sign"]);
  return { key: k, alg: { name: "RSASSA-PKCS1-v1_5" } };
}

function signAsync(key: KeyObject, data: Buffer): Promise<Buffer> {
  return new Promise((resolve, reject) => sign("sha256", data, key, (err, sig) => (err ? reject(err) : resolve(sig))));
}

export async function measureSigning(o: SigningOptions): Promise<Figure[]> {
  const data = randomBytes(TBS_BYTES);
  const figures: Figure[] = [];
  for (const [kind, key, name] of [
    ["p256", o.p256, "P-256"],
    ["rsa", o.rsa2048, "RSA-2048"],
  ] as const) {
    const tag = kind === "p256" ? "p256" : "rsa2048";
    const wc = await webcryptoKey(key, kind);
    const keyNote = kind === "p256" ? "the CA's key" : "an RSA-2048 key made for the bench";
    const cases: { id: string; label: string; measure: () => Promise<number>; note: string }[] = [
      { id: `a.${tag}.node-sign.serial`, label: `sign ${name}, crypto.sign, one at a time`, measure: () => rateSerial(() => sign("sha256", data, key), o.seconds), note: keyNote },
      { id: `a.${tag}.node-sign.concurrent`, label: `sign ${name}, crypto.sign async, ${o.inFlight} in flight`, measure: () => rateConcurrent(() => signAsync(key, data), o.seconds, o.inFlight), note: "libuv thread pool" },
      { id: `a.${tag}.webcrypto.serial`, label: `sign ${name}, WebCrypto, one at a time`, measure: () => rateSerial(() => webcrypto.subtle.sign(wc.alg, wc.key, data), o.seconds), note: "native WebCrypto" },
      { id: `a.${tag}.webcrypto.concurrent`, label: `sign ${name}, WebCrypto, ${o.inFlight} in flight`, measure: () => rateConcurrent(() => webcrypto.subtle.sign(wc.alg, wc.key, data), o.seconds, o.inFlight), note: "native WebCrypto" },
    ];
    for (const c of cases) {
      const r = await medianOf(o.repeats, c.measure);
      figures.push(figure({ id: c.id, section: "a", label: c.label, unit: "signs/s", value: r.median, detail: { runs: r.runs.map((x) => Math.round(x)).join(" ") }, note: c.note }));
    }
  }
  return figures;
}
