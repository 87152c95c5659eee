/**
 * Certificate usages (issuance profiles): what the administrator picks when issuing
 * a certificate for a pending request, and the extensions each one puts into the
 * certificate. Plain data with no crypto imports, so forms and client components can
 * use it too; lib/pki/issue.ts turns it into X.509 extensions.
 */

/** The API's usage identifiers (DESIGN.md, "Conventions of the API"). */
export type Usage = "tls" | "intermediate-ca" | "code-signing" | "tls-client" | "iot-device" | "cockroach-node" | "cockroach-client";

/** Usages in display order, with the labels the portal shows (IRIS's wording first). */
export const USAGES: readonly { id: Usage; label: string; description: string }[] = Object.freeze([
  {
    id: "tls",
    label: "TLS/SSL and XML security",
    description: "Server (and client) authentication for TLS; signing and encryption for XML security. Needs a host name or IP address.",
  },
  {
    id: "intermediate-ca",
    label: "Intermediate Certificate Authority",
    description: "A subordinate CA that may issue end-entity certificates but no further CAs (path length 0).",
  },
  {
    id: "code-signing",
    label: "Code signing",
    description: "Signing software, scripts and packages.",
  },
  {
    id: "tls-client",
    label: "TLS client only",
    description: "Client authentication for TLS (users, services, nodes connecting to a server).",
  },
  {
    id: "iot-device",
    label: "IoT device",
    description: "Device authentication; the request must carry the identity CN=d:<type>:<id> or the SAN email:d:<type>:<id>.",
  },
  {
    id: "cockroach-node",
    label: "CockroachDB node",
    description: "A CockroachDB node (node.crt): the common name must be exactly \"node\" and the request must name the node's host names or IP addresses as subject alternative names.",
  },
  {
    id: "cockroach-client",
    label: "CockroachDB client",
    description: "A CockroachDB SQL user (client.<user>.crt): the common name is the user name (lowercase letters, digits and \"_\", starting with a letter or \"_\", at most 63).",
  },
]);

/** Narrows untrusted input (form values, JSON) to a Usage. */
export function isUsage(x: unknown): x is Usage {
  return typeof x === "string" && USAGES.some((u) => u.id === x);
}

/** The label of a usage, e.g. "TLS client only". */
export function usageLabel(usage: Usage): string {
  return USAGES.find((u) => u.id === usage)?.label ?? usage;
}

/** RFC 5280 keyUsage bits, by their ASN.1 names. */
export type KeyUsageName = "digitalSignature" | "keyEncipherment" | "keyCertSign" | "cRLSign";

/** extendedKeyUsage purposes Portcullis issues, with their OIDs (RFC 5280 4.2.1.12). */
export const EKU_OIDS = Object.freeze({
  serverAuth: "1.3.6.1.5.5.7.3.1",
  clientAuth: "1.3.6.1.5.5.7.3.2",
  codeSigning: "1.3.6.1.5.5.7.3.3",
} as const);

export type ExtendedKeyUsageName = keyof typeof EKU_OIDS;

export interface UsageProfile {
  usage: Usage;
  /** basicConstraints (always critical): cA, and pathLenConstraint for CAs. */
  basicConstraints: { ca: boolean; pathLength?: number };
  /** keyUsage (always critical) for a subject key of this type. */
  keyUsage(keyAlgorithm: string): KeyUsageName[];
  /** extendedKeyUsage (not critical); empty means the extension is left out. */
  extendedKeyUsage: readonly ExtendedKeyUsageName[];
  /** A TLS server certificate: needs a DNS or IP SAN. */
  requiresServerName: boolean;
  /** With requiresServerName: a request without DNS/IP SANs gets its CN as one when the CN is a host name or IP address. */
  commonNameAsServerName: boolean;
  /** What the subject's common name must be: null when it fits, else the reason it does not (for the refusal). */
  commonNameProblem?: (commonName: string | null) => string | null;
  /** An IoT device certificate: needs the identity CN=d:<type>:<id> or SAN email:d:<type>:<id>. */
  requiresDeviceIdentity: boolean;
}

const signatureOnly = (): KeyUsageName[] => ["digitalSignature"];
const tlsKeyUsage = (alg: string): KeyUsageName[] => (alg === "RSA" ? ["digitalSignature", "keyEncipherment"] : ["digitalSignature"]);

/** The common name of every CockroachDB node certificate. */
export const COCKROACH_NODE_CN = "node";

/** A CockroachDB SQL user name as Portcullis issues client certificates for it (also safe in the file name client.<user>.crt). */
export const COCKROACH_USER = /^[a-z_][a-z0-9_]{0,62}$/;

/** Why a common name is not a CockroachDB client user name, or null when it is one. */
export function cockroachUserProblem(cn: string | null): string | null {
  if (cn === null || cn === "") return "A CockroachDB client certificate needs the SQL user name as its common name; this request has no common name";
  if (cn === COCKROACH_NODE_CN) return 'The common name "node" is the CockroachDB node identity: issue it with the CockroachDB node usage, not as a client';
  if (!COCKROACH_USER.test(cn)) {
    return `A CockroachDB client certificate needs the SQL user name as its common name (lowercase letters, digits and "_", starting with a letter or "_", at most 63 characters); "${cn.slice(0, 80)}" is not one`;
  }
  return null;
}

/**
 * The profile table of DESIGN.md ("Usages (profiles)"). keyEncipherment is only for
 * RSA keys: RSA key transport is the only use of it, and ECDSA/Ed25519 keys cannot
 * encipher keys at all (OpenSSL and browsers reject or ignore it on EC certificates).
 */
export const PROFILES: Readonly<Record<Usage, UsageProfile>> = Object.freeze({
  tls: {
    usage: "tls",
    basicConstraints: { ca: false },
    keyUsage: tlsKeyUsage,
    extendedKeyUsage: ["serverAuth", "clientAuth"],
    requiresServerName: true,
    commonNameAsServerName: true,
    requiresDeviceIdentity: false,
  },
  "intermediate-ca": {
    usage: "intermediate-ca",
    basicConstraints: { ca: true, pathLength: 0 },
    keyUsage: (): KeyUsageName[] => ["keyCertSign", "cRLSign"],
    extendedKeyUsage: [],
    requiresServerName: false,
    commonNameAsServerName: false,
    requiresDeviceIdentity: false,
  },
  "code-signing": {
    usage: "code-signing",
    basicConstraints: { ca: false },
    keyUsage: signatureOnly,
    extendedKeyUsage: ["codeSigning"],
    requiresServerName: false,
    commonNameAsServerName: false,
    requiresDeviceIdentity: false,
  },
  "tls-client": {
    usage: "tls-client",
    basicConstraints: { ca: false },
    keyUsage: signatureOnly,
    extendedKeyUsage: ["clientAuth"],
    requiresServerName: false,
    commonNameAsServerName: false,
    requiresDeviceIdentity: false,
  },
  "iot-device": {
    usage: "iot-device",
    basicConstraints: { ca: false },
    keyUsage: signatureOnly,
    extendedKeyUsage: ["clientAuth"],
    requiresServerName: false,
    commonNameAsServerName: false,
    requiresDeviceIdentity: true,
  },
  "cockroach-node": {
    usage: "cockroach-node",
    basicConstraints: { ca: false },
    keyUsage: tlsKeyUsage,
    extendedKeyUsage: ["serverAuth", "clientAuth"],
    requiresServerName: true,
    // "node" is a valid one-label host name, but not the node's address: the SANs must come from the request.
    commonNameAsServerName: false,
    requiresDeviceIdentity: false,
    commonNameProblem: (cn) => (cn === COCKROACH_NODE_CN ? null : `A CockroachDB node certificate needs the common name "node"; this request's common name is ${cn === null ? "missing" : `"${cn}"`}`),
  },
  "cockroach-client": {
    usage: "cockroach-client",
    basicConstraints: { ca: false },
    keyUsage: signatureOnly,
    extendedKeyUsage: ["clientAuth"],
    requiresServerName: false,
    commonNameAsServerName: false,
    requiresDeviceIdentity: false,
    commonNameProblem: cockroachUserProblem,
  },
});

/** The profile of a usage. */
export function profileFor(usage: Usage): UsageProfile {
  return PROFILES[usage];
}

/**
 * A device identity value: `d:<type>:<id>`, type and id each 1–36 characters of
 * letters, digits, "-", "_" and ".". Used as the whole CN or as an rfc822Name SAN.
 */
export const DEVICE_IDENTITY = /^d:([A-Za-z0-9._-]{1,36}):([A-Za-z0-9._-]{1,36})$/;

export interface DeviceIdentity {
  type: string;
  id: string;
  /** Where it was found: the subject's CN or an `email:` SAN. */
  source: "cn" | "san";
}

/** The device type and id of an identity string, or null when it is not one. */
export function parseDeviceIdentity(value: string): { type: string; id: string } | null {
  const m = DEVICE_IDENTITY.exec(value);
  return m ? { type: m[1], id: m[2] } : null;
}

/**
 * The device identity of a request or certificate: the CN when it is `d:<type>:<id>`,
 * else the first `email:d:<type>:<id>` SAN; null when neither holds.
 */
export function findDeviceIdentity(subject: { commonName: string | null; sans: readonly { type: string; value: string }[] }): DeviceIdentity | null {
  const fromCn = subject.commonName === null ? null : parseDeviceIdentity(subject.commonName);
  if (fromCn) return { ...fromCn, source: "cn" };
  for (const san of subject.sans) {
    if (san.type !== "email") continue;
    const fromSan = parseDeviceIdentity(san.value);
    if (fromSan) return { ...fromSan, source: "san" };
  }
  return null;
}
