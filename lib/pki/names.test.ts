import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { AppError } from "../errors/app-error.ts";
import { createSelfSignedCa } from "./certificates.ts";
import { generateKeyPair, type KeyPair } from "./keys.ts";
import { ISO_3166_ALPHA2, normalizeSubject, SUBJECT_FIELDS, subjectToName, subjectToString, validateSubject } from "./names.ts";
import { opensslOk, scratchDir } from "./test-support.ts";

const tmp = scratchDir("names");
let keys: KeyPair;
beforeAll(async () => {
  keys = await generateKeyPair("ecdsa-p256");
});
afterAll(() => tmp.remove());

describe("validateSubject", () => {
  it("accepts a full subject", () => {
    expect(validateSubject({ C: "DE", ST: "Bayern", L: "München", O: "Acme GmbH", OU: "IT", CN: "Acme Root CA" })).toEqual({});
  });

  it("accepts a single attribute", () => {
    expect(validateSubject({ O: "Acme" })).toEqual({});
    expect(validateSubject({ C: "de" })).toEqual({});
  });

  it("asks for at least one attribute, on the CN field", () => {
    expect(validateSubject({})).toEqual({ "subject.CN": "Enter at least one subject attribute" });
    expect(validateSubject({ C: " ", CN: "\u00a0", O: "" })).toEqual({ "subject.CN": "Enter at least one subject attribute" });
    expect(validateSubject({}, "ca.")).toEqual({ "ca.CN": "Enter at least one subject attribute" });
  });

  it("checks the country against ISO 3166", () => {
    expect(validateSubject({ C: "XX" })["subject.C"]).toBe('Country "XX" is not an ISO 3166 country code');
    expect(validateSubject({ C: "usa" })["subject.C"]).toMatch(/two-letter/);
    expect(validateSubject({ C: "D" })["subject.C"]).toMatch(/two-letter/);
    expect(validateSubject({ C: "D1" })["subject.C"]).toMatch(/two-letter/);
    expect(validateSubject({ C: "ÄB" })["subject.C"]).toMatch(/two-letter/);
    expect(validateSubject({ C: " uk " })["subject.C"]).toContain('"GB"');
    // Codes ICU knows as regions but ISO 3166-1 has not assigned.
    for (const c of ["EU", "XK", "UN", "AN", "QO"]) expect(validateSubject({ C: c })["subject.C"], c).toBeDefined();
    expect(validateSubject({ C: " de " })).toEqual({});
  });

  it("limits values to 64 characters, counting code points", () => {
    expect(validateSubject({ CN: "a".repeat(64) })).toEqual({});
    expect(validateSubject({ CN: "a".repeat(65) })).toEqual({ "subject.CN": "Common Name must be at most 64 characters" });
    expect(validateSubject({ OU: "x".repeat(65) })["subject.OU"]).toBe("Organizational Unit must be at most 64 characters");
    // 64 astral characters are 128 UTF-16 units but 64 characters.
    expect(validateSubject({ CN: "😀".repeat(64) })).toEqual({});
    expect(validateSubject({ CN: "😀".repeat(65) })["subject.CN"]).toBeDefined();
    // Surrounding whitespace is trimmed before counting.
    expect(validateSubject({ CN: `  ${"a".repeat(64)}  ` })).toEqual({});
  });

  it("refuses control characters", () => {
    for (const bad of ["a\tb", "a\nb", "a\u0000b", "a\u007fb", "a\u0085b", "a\u009fb", "a\u001bb"]) {
      expect(validateSubject({ O: bad })["subject.O"], JSON.stringify(bad)).toMatch(/control characters/);
    }
    expect(validateSubject({ O: "a\u00a0b" })).toEqual({});
  });

  it("refuses strings that are not valid Unicode (lone surrogates)", () => {
    expect(validateSubject({ CN: "a\ud800b" })["subject.CN"]).toMatch(/not valid Unicode/);
    expect(validateSubject({ CN: "a\udc00" })["subject.CN"]).toMatch(/not valid Unicode/);
    expect(validateSubject({ CN: "\ud83d\ude00" })).toEqual({});
  });

  it("reports every bad field at once, with the prefix", () => {
    const errors = validateSubject({ C: "XX", L: "a\nb", CN: "a".repeat(70) }, "");
    expect(Object.keys(errors).sort()).toEqual(["C", "CN", "L"]);
  });

  it("refuses values that are not strings (untrusted JSON)", () => {
    expect(validateSubject({ CN: 42 as unknown as string })["subject.CN"]).toBe("Common Name must be text");
  });
});

describe("ISO 3166 list", () => {
  it("holds the 249 assigned codes, each a region ICU can name", () => {
    expect(ISO_3166_ALPHA2.size).toBe(249);
    const regions = new Intl.DisplayNames(["en"], { type: "region" });
    for (const code of ISO_3166_ALPHA2) {
      expect(code).toMatch(/^[A-Z]{2}$/);
      expect(regions.of(code), code).not.toBe(code);
    }
    for (const c of ["DE", "US", "GB", "JP", "SS", "CW", "BQ", "SX", "AX", "EH"]) expect(ISO_3166_ALPHA2.has(c), c).toBe(true);
  });
});

describe("normalizeSubject", () => {
  it("trims, upper-cases the country and drops empty fields", () => {
    expect(normalizeSubject({ C: " de ", ST: "", L: "  ", O: " Acme ", CN: "x" })).toEqual({ C: "DE", O: "Acme", CN: "x" });
  });

  it("labels the six fields in DN order", () => {
    expect(SUBJECT_FIELDS.map((f) => f.key)).toEqual(["C", "ST", "L", "O", "OU", "CN"]);
    expect(SUBJECT_FIELDS.map((f) => f.label)).toEqual(["Country", "State or Province", "Locality", "Organization", "Organizational Unit", "Common Name"]);
  });
});

describe("subjectToName", () => {
  const tricky = `#a, b+c=d "e" <f> g;h\\i é 日本`;

  it("orders attributes C, ST, L, O, OU, CN whatever the input order", () => {
    const name = subjectToName({ CN: "cn", OU: "ou", O: "o", L: "l", ST: "st", C: "de" });
    expect(name.toJSON().map((rdn) => Object.keys(rdn)[0])).toEqual(["C", "ST", "L", "O", "OU", "CN"]);
    expect(name.toString()).toBe("C=DE, ST=st, L=l, O=o, OU=ou, CN=cn");
  });

  it("keeps special characters literally and escapes them when printing", () => {
    const name = subjectToName({ C: "de", O: "Acme", CN: tricky });
    expect(name.getField("CN")).toEqual([tricky]);
    expect(subjectToString({ C: "de", O: "Acme", CN: tricky })).toBe(`C=DE, O=Acme, CN=\\#a\\, b\\+c=d \\"e\\" \\<f\\> g\\;h\\\\i é 日本`);
  });

  it("throws validation_failed with field errors for an invalid subject", () => {
    try {
      subjectToName({ C: "XX" });
      expect.unreachable();
    } catch (e) {
      expect(e).toBeInstanceOf(AppError);
      expect((e as AppError).code).toBe("validation_failed");
      expect((e as AppError).fields).toHaveProperty("subject.C");
    }
  });

  it("is read back exactly by OpenSSL (RFC 2253 escaping, UTF-8, string types)", async () => {
    const { pem } = await createSelfSignedCa({ subject: { C: "de", ST: "Île-de-France", O: "Acme", CN: tricky }, keys, validityDays: 1 });
    const file = tmp.file("ca.cer", pem);
    const subject = opensslOk(["x509", "-in", file, "-noout", "-subject", "-nameopt", "RFC2253,-esc_msb"]).trim();
    expect(subject).toBe(`subject=CN=\\#a\\, b\\+c=d \\"e\\" \\<f\\> g\\;h\\\\i é 日本,O=Acme,ST=Île-de-France,C=DE`);
    const asn1 = opensslOk(["asn1parse", "-in", file]);
    expect(asn1).toMatch(/OBJECT\s+:countryName\n.*PRINTABLESTRING\s+:DE\n/);
    expect(asn1).toMatch(/OBJECT\s+:commonName\n.*UTF8STRING\s+:/);
    expect(asn1).toMatch(/OBJECT\s+:organizationName\n.*UTF8STRING\s+:Acme\n/);
  });
});
