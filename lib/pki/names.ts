import { AppError } from "../errors/app-error.ts";
import { x509 } from "./setup.ts";

/** Subject attributes Portcullis asks for (IRIS's form fields). */
export interface SubjectInput {
  C?: string;
  ST?: string;
  L?: string;
  O?: string;
  OU?: string;
  CN?: string;
}

export type SubjectField = keyof SubjectInput;

/** The fields in DN order (most significant first), with their form labels. */
export const SUBJECT_FIELDS: readonly { key: SubjectField; label: string }[] = Object.freeze([
  { key: "C", label: "Country" },
  { key: "ST", label: "State or Province" },
  { key: "L", label: "Locality" },
  { key: "O", label: "Organization" },
  { key: "OU", label: "Organizational Unit" },
  { key: "CN", label: "Common Name" },
]);

/** ISO 3166-1 alpha-2 codes officially assigned (249; as of 2024). */
export const ISO_3166_ALPHA2: ReadonlySet<string> = new Set(
  (
    "AD AE AF AG AI AL AM AO AQ AR AS AT AU AW AX AZ " +
    "BA BB BD BE BF BG BH BI BJ BL BM BN BO BQ BR BS BT BV BW BY BZ " +
    "CA CC CD CF CG CH CI CK CL CM CN CO CR CU CV CW CX CY CZ " +
    "DE DJ DK DM DO DZ " +
    "EC EE EG EH ER ES ET " +
    "FI FJ FK FM FO FR " +
    "GA GB GD GE GF GG GH GI GL GM GN GP GQ GR GS GT GU GW GY " +
    "HK HM HN HR HT HU " +
    "ID IE IL IM IN IO IQ IR IS IT " +
    "JE JM JO JP " +
    "KE KG KH KI KM KN KP KR KW KY KZ " +
    "LA LB LC LI LK LR LS LT LU LV LY " +
    "MA MC MD ME MF MG MH MK ML MM MN MO MP MQ MR MS MT MU MV MW MX MY MZ " +
    "NA NC NE NF NG NI NL NO NP NR NU NZ " +
    "OM " +
    "PA PE PF PG PH PK PL PM PN PR PS PT PW PY " +
    "QA " +
    "RE RO RS RU RW " +
    "SA SB SC SD SE SG SH SI SJ SK SL SM SN SO SR SS ST SV SX SY SZ " +
    "TC TD TF TG TH TJ TK TL TM TN TO TR TT TV TW TZ " +
    "UA UG UM US UY UZ " +
    "VA VC VE VG VI VN VU " +
    "WF WS " +
    "YE YT " +
    "ZA ZM ZW"
  ).split(" "),
);

// RFC 5280 upper bounds (ub-common-name etc.) are 64 characters for every field we ask for.
const MAX_LENGTH = 64;
const CONTROL = /[\u0000-\u001F\u007F-\u009F]/;
// A lone surrogate cannot be encoded as UTF-8, so it would corrupt a UTF8String.
const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;

/**
 * Field errors for a subject, keyed `${prefix}C` … `${prefix}CN`; empty when valid.
 * Values are judged after trimming; C is judged upper-cased.
 */
export function validateSubject(input: SubjectInput, prefix = "subject."): Record<string, string> {
  const errors: Record<string, string> = {};
  let present = 0;
  for (const { key, label } of SUBJECT_FIELDS) {
    const raw: unknown = (input as Record<string, unknown> | null | undefined)?.[key];
    if (raw === undefined || raw === null) continue;
    if (typeof raw !== "string") {
      errors[prefix + key] = `${label} must be text`;
      continue;
    }
    const value = raw.trim();
    if (value === "") continue;
    present++;
    if (LONE_SURROGATE.test(value)) {
      errors[prefix + key] = `${label} contains characters that are not valid Unicode`;
    } else if (CONTROL.test(value)) {
      errors[prefix + key] = `${label} must not contain control characters (tabs, line breaks and the like)`;
    } else if (key === "C") {
      const c = value.toUpperCase();
      if (!/^[A-Z]{2}$/.test(c)) {
        errors[prefix + key] = "Country must be a two-letter ISO 3166 code, such as DE or US";
      } else if (!ISO_3166_ALPHA2.has(c)) {
        errors[prefix + key] =
          c === "UK"
            ? 'Country "UK" is not an ISO 3166 code; the United Kingdom is "GB"'
            : `Country "${c}" is not an ISO 3166 country code`;
      }
    } else if ([...value].length > MAX_LENGTH) {
      errors[prefix + key] = `${label} must be at most ${MAX_LENGTH} characters`;
    }
  }
  if (present === 0 && Object.keys(errors).length === 0) errors[prefix + "CN"] = "Enter at least one subject attribute";
  return errors;
}

/** Trimmed values, Country upper-cased, empty fields removed. Does not validate. */
export function normalizeSubject(input: SubjectInput): SubjectInput {
  const out: SubjectInput = {};
  for (const { key } of SUBJECT_FIELDS) {
    const raw = input[key];
    if (typeof raw !== "string") continue;
    const value = raw.trim();
    if (value === "") continue;
    out[key] = key === "C" ? value.toUpperCase() : value;
  }
  return out;
}

/**
 * The subject as an x509.Name in the order C, ST, L, O, OU, CN. Values go in through
 * the typed JSON form: plain strings in that form are parsed (a leading "#" is read as
 * hex, backslashes and quotes are unescaped), which would alter what the user typed.
 * Throws validation_failed (fields keyed "subject.X") for an invalid subject.
 */
export function subjectToName(s: SubjectInput): x509.Name {
  const errors = validateSubject(s);
  if (Object.keys(errors).length > 0) throw AppError.validation(errors);
  const n = normalizeSubject(s);
  const rdns: x509.JsonNameParams = [];
  for (const { key } of SUBJECT_FIELDS) {
    const value = n[key];
    if (value === undefined) continue;
    // RFC 5280 requires PrintableString for countryName; UTF8String is the default elsewhere.
    rdns.push({ [key]: [key === "C" ? { printableString: value } : { utf8String: value }] });
  }
  return new x509.Name(rdns);
}

/** The subject as @peculiar/x509 prints names (RFC 4514 escaping, C first). */
export function subjectToString(s: SubjectInput): string {
  return subjectToName(s).toString();
}
