/**
 * The URLs issued certificates carry for relying parties: the CRL distribution point,
 * the OCSP responder and the CA certificate (caIssuers). The base is the documented
 * PORTCULLIS_PUBLIC_URL, else the portal's own origin as the request reached it, else
 * there is none and the extensions are left out.
 */
import { env } from "../env.ts";
import { portalBase } from "./server-context.ts";

export interface ExtensionUrls {
  crlUrl?: string;
  ocspUrl?: string;
  caIssuersUrl?: string;
}

export function extensionUrls(fileNameRoot: string, portalUrl?: string): ExtensionUrls {
  const base = portalBase(env().PORTCULLIS_PUBLIC_URL ?? portalUrl);
  if (!base || !/^https?:\/\//i.test(base)) return {};
  return {
    crlUrl: `${base}/crl/${encodeURIComponent(fileNameRoot)}.crl`,
    ocspUrl: `${base}/ocsp`,
    caIssuersUrl: `${base}/api/v1/ca/certificate?format=der`,
  };
}
