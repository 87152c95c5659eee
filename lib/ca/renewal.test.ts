import { beforeEach, describe, expect, it } from "vitest";
import { readFileSync } from "node:fs";
import { getDb } from "../db/index.ts";
import { opensslOk } from "../pki/test-support.ts";
import { expectAppError } from "../test-support/app-error.ts";
import { useIsolatedDataDir } from "../test-support/data-dir.ts";
import { configureCaServer } from "./configure-server.ts";
import { reinitializeCaServer } from "./reinitialize-server.ts";
import { getRequest, listPendingRequests, submitRequest, type SubmitRequestInput } from "./requests.ts";
import { issueRequest } from "./issue-request.ts";
import { revokeCertificate } from "./revoke-certificate.ts";
import { getCertificate, getCertificateDetails, searchCertificates } from "./certificates.ts";
import { extensionUrls } from "./extension-urls.ts";
import { env, resetEnvCache } from "../env.ts";

const scratch = useIsolatedDataDir("renewal", { PORTCULLIS_PUBLIC_URL: undefined });
const KEY_PW = "renewal test CA password";
let counter = 0;

function csr(cn: string, san?: string): string {
  const dir = scratch.path(`csr-${++counter}`);
  const extra = san ? ["-addext", `subjectAltName=${san}`] : [];
  opensslOk(["req", "-new", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-keyout", `${dir}.key`, "-subj", `/O=Example/CN=${cn}`, "-out", `${dir}.csr`, ...extra]);
  return readFileSync(`${dir}.csr`, "utf8");
}

function input(cn: string, over: Partial<SubmitRequestInput> = {}): SubmitRequestInput {
  return { csr: csr(cn, `DNS:${cn}`), contact: { name: "Tina Tech", email: "tina@example.com" }, hostname: cn, filename: `F${++counter}`, ...over };
}

const issueInput = { usage: "tls", caKeyPassword: KEY_PW, fingerprintVerified: true, verificationChannel: "phone", verificationNote: "called 555-0100" };

async function issued(cn: string, portalUrl?: string): Promise<number> {
  const r = await submitRequest(input(cn));
  return (await issueRequest(r.id, issueInput, { actor: "admin", portalUrl })).number;
}

beforeEach(async () => {
  const db = await getDb();
  if (await db.caServer.count()) await reinitializeCaServer();
  await configureCaServer({
    fileNameRoot: "RenewCA",
    directory: `ca-${++counter}`,
    keyPassword: KEY_PW,
    subject: { O: "Example", CN: "Renewal Test CA" },
    caValidityDays: 3650,
    issuedValidityDays: 365,
    adminEmail: "camgr@example.com",
  });
});

describe("issued certificates carry the CRL distribution point and authorityInfoAccess", () => {
  it("from the portal's URL when PORTCULLIS_PUBLIC_URL is not set, judged by openssl x509 -text", async () => {
    const n = await issued("web.example.com", "http://127.0.0.1:3000/");
    const text = opensslOk(["x509", "-noout", "-text"], (await getCertificate(n)).pem);
    expect(text).toMatch(/X509v3 CRL Distribution Points:\s*\n\s*Full Name:\s*\n\s*URI:http:\/\/127\.0\.0\.1:3000\/crl\/RenewCA\.crl/);
    expect(text).toContain("OCSP - URI:http://127.0.0.1:3000/ocsp");
    expect(text).toContain("CA Issuers - URI:http://127.0.0.1:3000/api/v1/ca/certificate?format=der");
  });

  it("PORTCULLIS_PUBLIC_URL wins over the request's origin; without either, none", async () => {
    const before = process.env.PORTCULLIS_PUBLIC_URL;
    process.env.PORTCULLIS_PUBLIC_URL = "https://pki.example.com/";
    resetEnvCache();
    try {
      expect(env().PORTCULLIS_PUBLIC_URL).toBe("https://pki.example.com/");
      expect(extensionUrls("RenewCA", "http://10.0.0.1:3000")).toEqual({
        crlUrl: "https://pki.example.com/crl/RenewCA.crl",
        ocspUrl: "https://pki.example.com/ocsp",
        caIssuersUrl: "https://pki.example.com/api/v1/ca/certificate?format=der",
      });
    } finally {
      if (before === undefined) delete process.env.PORTCULLIS_PUBLIC_URL;
      else process.env.PORTCULLIS_PUBLIC_URL = before;
      resetEnvCache();
    }
    expect(extensionUrls("RenewCA", undefined)).toEqual({});
    const n = await issued("plain.example.com");
    const text = opensslOk(["x509", "-noout", "-text"], (await getCertificate(n)).pem);
    expect(text).not.toContain("CRL Distribution Points");
    expect(text).not.toContain("Authority Information Access");
  });
});

describe("renewal", () => {
  it("queues a renewal with the same common name, marked as a renewal of the certificate", async () => {
    const n = await issued("app.example.com");
    const r = await submitRequest(input("app.example.com"), { renewalOf: n });
    expect(r).toMatchObject({ status: "pending", renewalOf: n });
    expect((await getRequest(r.id)).renewalOf).toBe(n);
    const queued = (await listPendingRequests()).items.find((x) => x.id === r.id);
    expect(queued?.renewalOf).toBe(n);
    const plain = await submitRequest(input("other.example.com"));
    expect(plain.renewalOf).toBeUndefined();
  });

  it("refuses a different common name, naming the original one", async () => {
    const n = await issued("app.example.com");
    const e = await expectAppError(submitRequest(input("App.example.com"), { renewalOf: n }), "validation_failed", "csr");
    expect(e.message).toBe('The common name must stay "app.example.com" for a renewal');
    expect((await listPendingRequests()).total).toBe(0);
  });

  it("refuses an unknown certificate (404) and a revoked one (409)", async () => {
    await expectAppError(submitRequest(input("app.example.com"), { renewalOf: 999 }), "not_found");
    const n = await issued("app.example.com");
    await revokeCertificate(n, { reason: "superseded", caKeyPassword: KEY_PW }, { actor: "admin" });
    const e = await expectAppError(submitRequest(input("app.example.com"), { renewalOf: n }), "conflict");
    expect(e.message).toContain("revoked");
  });

  it("the certificate view tells revokedAt and the reason only when revoked; details carry the verification record", async () => {
    const n = await issued("app.example.com");
    const before = (await searchCertificates({ number: n })).items[0];
    expect(before.status).toBe("valid");
    expect(before).not.toHaveProperty("revokedAt");
    expect(before).not.toHaveProperty("revocationReason");
    const r = await revokeCertificate(n, { reason: "keyCompromise", caKeyPassword: KEY_PW }, { actor: "admin" });
    const after = (await searchCertificates({ number: n })).items[0];
    expect(after).toMatchObject({ status: "revoked", revokedAt: r.revokedAt, revocationReason: "keyCompromise" });
    const d = await getCertificateDetails(n);
    expect(d).toMatchObject({ verifiedBy: "admin", verifiedChannel: "phone", verifiedNote: "called 555-0100", revokedBy: "admin", commonName: "app.example.com" });
  });
});

describe("revocation reason labels", () => {
  it("name every RFC 5280 reason the CRL accepts, in order", async () => {
    const { REVOCATION_REASONS } = await import("../pki/crl.ts");
    const { REVOCATION_REASON_LABELS, revocationReasonLabel } = await import("./revocation-reasons.ts");
    expect(REVOCATION_REASON_LABELS.map((r) => r.value)).toEqual([...REVOCATION_REASONS]);
    expect(revocationReasonLabel("keyCompromise")).toBe("Key compromise");
  });
});
