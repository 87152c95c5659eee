/**
 * The subject text of an accepted CSR comes from a reader of its own for plain subjects
 * and from @peculiar/x509's round trip for the rest. Random subjects (plain ones mostly,
 * and ones with escapes, several attributes in one RDN, other string types and unknown
 * attribute types) in CSRs signed for real: parseCsr answers the same subject text as
 * @peculiar/x509, and refuses for its encoding exactly the subjects @peculiar/x509 would
 * not write back byte for byte.
 */
import { generateKeyPairSync, sign } from "node:crypto";
import { describe, expect, it } from "vitest";
import fc from "fast-check";
import { fuzzParameters, runs, settleAsync, testTimeout } from "../fuzz/support.ts";
import { oid, tlv } from "./der.mjs";
import { parseCsr, peculiarSubjectText, plainSubjectText } from "./csr.ts";

const { privateKey, publicKey } = generateKeyPairSync("ec", { namedCurve: "P-256" });
const spki = publicKey.export({ format: "der", type: "spki" });
const ECDSA_SHA256 = tlv(0x30, oid("1.2.840.10045.4.3.2"));

function csrFor(subject: Buffer): Buffer {
  const info = tlv(0x30, Buffer.concat([tlv(0x02, Buffer.from([0])), subject, spki, tlv(0xa0, Buffer.alloc(0))]));
  const signature = sign("sha256", info, privateKey);
  return tlv(0x30, Buffer.concat([info, ECDSA_SHA256, tlv(0x03, Buffer.concat([Buffer.from([0]), signature]))]));
}

const KNOWN = ["2.5.4.3", "2.5.4.7", "2.5.4.8", "2.5.4.10", "2.5.4.11", "0.9.2342.19200300.100.1.25", "1.2.840.113549.1.9.1", "2.5.4.42", "2.5.4.43", "2.5.4.4", "2.5.4.12"];
const STRING_TAGS = { utf8: 0x0c, printable: 0x13, ia5: 0x16, teletex: 0x14, bmp: 0x1e } as const;

const value = fc.oneof(
  { weight: 6, arbitrary: fc.stringMatching(/^[A-Za-z0-9][A-Za-z0-9 .\-:=?()'/]{0,30}[A-Za-z0-9]$/) },
  { weight: 2, arbitrary: fc.stringMatching(/^[ #]?[A-Za-z0-9 ,+"\\<>;#@_]{1,20}[ ]?$/) },
  { weight: 1, arbitrary: fc.string({ unit: "grapheme", minLength: 1, maxLength: 12 }) },
  { weight: 1, arbitrary: fc.constantFrom("a", "#", "+x", "#x", " x", "x ", "a,b", "a+b", 'say "hi"', "back\\slash", "<tag>", "semi;colon", "caf\u00e9", "x@example.com") },
);

const attribute = fc.record({
  type: fc.oneof({ weight: 9, arbitrary: fc.constantFrom(...KNOWN) }, { weight: 1, arbitrary: fc.constantFrom("2.5.4.5", "1.3.6.1.4.1.99999.1", "2.5.4.6") }),
  tag: fc.constantFrom<keyof typeof STRING_TAGS>("utf8", "utf8", "printable", "printable", "ia5", "teletex", "bmp"),
  value,
});

function encodeValue(tag: keyof typeof STRING_TAGS, text: string): Buffer {
  if (tag === "utf8") return tlv(STRING_TAGS.utf8, Buffer.from(text, "utf8"));
  if (tag === "bmp") return tlv(STRING_TAGS.bmp, Buffer.from(text, "utf16le").swap16());
  return tlv(STRING_TAGS[tag], Buffer.from(text, "latin1"));
}

const subject = fc
  .array(fc.oneof({ weight: 6, arbitrary: fc.array(attribute, { minLength: 1, maxLength: 1 }) }, { weight: 1, arbitrary: fc.array(attribute, { minLength: 2, maxLength: 3 }) }), { minLength: 1, maxLength: 6 })
  .map((rdns) => tlv(0x30, Buffer.concat(rdns.map((avas) => tlv(0x31, Buffer.concat(avas.map((a) => tlv(0x30, Buffer.concat([oid(a.type), encodeValue(a.tag, a.value)])))))))));

const ENCODING_REFUSAL = /uses an encoding Portcullis cannot copy into a certificate exactly/;

describe("the subject text of a CSR", () => {
  const count = runs(2);
  it(
    "is @peculiar/x509's text of the subject, and the subjects it cannot write back are refused",
    async () => {
      let accepted = 0;
      let plain = 0;
      await fc.assert(
        fc.asyncProperty(subject, async (subjectDer) => {
          const r = await settleAsync(() => parseCsr(new Uint8Array(csrFor(subjectDer))), "parseCsr");
          const reference = peculiarSubjectText(subjectDer);
          if (r.ok) {
            accepted++;
            expect(r.value.subject).toBe(reference);
            expect(r.value.subjectDer.equals(subjectDer)).toBe(true);
            if (plainSubjectText(r.value.subjectAttributes) === r.value.subject) plain++;
          } else if (ENCODING_REFUSAL.test(r.error.message)) {
            expect(reference).toBeNull();
          }
        }),
        fuzzParameters(count),
      );
      // The property means something only when both kinds of subject were accepted often.
      expect(accepted).toBeGreaterThan(count / 4);
      expect(plain).toBeGreaterThan(count / 8);
    },
    testTimeout(count),
  );

  it("of a plain subject is read without @peculiar/x509, in order, as it writes it", async () => {
    const der = tlv(0x30, Buffer.concat([
      tlv(0x31, tlv(0x30, Buffer.concat([oid("2.5.4.6"), tlv(0x13, Buffer.from("US"))]))),
      tlv(0x31, tlv(0x30, Buffer.concat([oid("2.5.4.10"), tlv(0x0c, Buffer.from("Acme (Devices) Inc."))]))),
      tlv(0x31, tlv(0x30, Buffer.concat([oid("1.2.840.113549.1.9.1"), tlv(0x16, Buffer.from("ops@acme.example"))]))),
      tlv(0x31, tlv(0x30, Buffer.concat([oid("2.5.4.3"), tlv(0x0c, Buffer.from("device-1.acme.example"))]))),
    ]));
    const csr = await parseCsr(new Uint8Array(csrFor(der)));
    expect(csr.subject).toBe("C=US, O=Acme (Devices) Inc., E=ops@acme.example, CN=device-1.acme.example");
    expect(csr.subject).toBe(peculiarSubjectText(der));
  });
});
