/**
 * Certificate usages (issuance profiles): what the administrator picks when issuing
 * a certificate for a pending request, and the extensions each one puts into the
 * certificate. Plain data with no crypto imports, so forms and client components can
 * use it too; lib/pki/issue.ts turns it into X.509 extensions.
 */

/** The API's usage identifiers (DESIGN.md, "Conventions of the API"). */
export type Usage = "tls" | "intermediate-ca" | "code-signing" | "tls-client" | "iot-device";

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
  /** A TLS server certificate: needs a DNS or IP SAN (the CN is added as one when it is a host name). */
  requiresServerName: boolean;
  /** An IoT device certificate: needs the identity CN=d:<type>:<id> or SAN email:d:<type>:<id>. */
  requiresDeviceIdentity: boolean;
}

const signatureOnly = (): KeyUsageName[] => ["digitalSignature"];

/**
 * The profile table of DESIGN.md ("Usages (profiles)"). keyEncipherment is only for
 * RSA keys: RSA key transport is the only use of it, and ECDSA/Ed25519 keys cannot
 * encipher keys at all (OpenSSL and browsers reject or ignore it on EC certificates).
 */
export const PROFILES: Readonly<Record<Usage, UsageProfile>> = Object.freeze({
  tls: {
    usage: "tls",
    basicConstraints: { ca: false },
    keyUsage: (alg: string): KeyUsageName[] => (alg === "RSA" ? ["digitalSignature", "keyEncipherment"] : ["digitalSignature"]),
    extendedKeyUsage: ["serverAuth", "clientAuth"],
    requiresServerName: true,
    requiresDeviceIdentity: false,
  },
  "intermediate-ca": {
    usage: "intermediate-ca",
    basicConstraints: { ca: true, pathLength: 0 },
    keyUsage: (): KeyUsageName[] => ["keyCertSign", "cRLSign"],
    extendedKeyUsage: [],
    requiresServerName: false,
    requiresDeviceIdentity: false,
  },
  "code-signing": {
    usage: "code-signing",
    basicConstraints: { ca: false },
    keyUsage: signatureOnly,
    extendedKeyUsage: ["codeSigning"],
    requiresServerName: false,
    requiresDeviceIdentity: false,
  },
  "tls-client": {
    usage: "tls-client",
    basicConstraints: { ca: false },
    keyUsage: signatureOnly,
    extendedKeyUsage: ["clientAuth"],
    requiresServerName: false,
    requiresDeviceIdentity: false,
  },
  "iot-device": {
    usage: "iot-device",
    basicConstraints: { ca: false },
    keyUsage: signatureOnly,
    extendedKeyUsage: ["clientAuth"],
    requiresServerName: false,
    requiresDeviceIdentity: true,
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
