import { answerOcsp, MAX_OCSP_REQUEST_BYTES, ocspHttpResponse } from "@/lib/ca/ocsp-responder.ts";
import { ocspErrorResponse } from "@/lib/pki/ocsp.ts";

/** GET /ocsp/{base64 of the DER OCSPRequest, URL-encoded} (RFC 6960 A.1.1); public. */
export async function GET(req: Request): Promise<Response> {
  const path = new URL(req.url).pathname;
  const i = path.indexOf("/ocsp/");
  let text: string;
  try {
    text = decodeURIComponent(path.slice(i + "/ocsp/".length));
  } catch {
    return ocspHttpResponse(ocspErrorResponse("malformedRequest"));
  }
  // Base64 (or base64url) only; 4/3 of the largest request plus padding.
  if (i < 0 || text.length > Math.ceil(MAX_OCSP_REQUEST_BYTES / 3) * 4 || !/^[A-Za-z0-9+/_-]+={0,2}$/.test(text)) {
    return ocspHttpResponse(ocspErrorResponse("malformedRequest"));
  }
  const der = Buffer.from(text.replace(/-/g, "+").replace(/_/g, "/"), "base64");
  return ocspHttpResponse(await answerOcsp(der));
}
