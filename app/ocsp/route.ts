import { answerOcsp, MAX_OCSP_REQUEST_BYTES, ocspHttpResponse } from "@/lib/ca/ocsp-responder.ts";
import { declaredLength, readBoundedBody } from "@/lib/http/bounded-body.ts";
import { ocspErrorResponse } from "@/lib/pki/ocsp.ts";

/** POST /ocsp — an RFC 6960 OCSPRequest (application/ocsp-request, at most 16 KB); public. */
export async function POST(req: Request): Promise<Response> {
  const type = (req.headers.get("content-type") ?? "").split(";")[0].trim().toLowerCase();
  if (type !== "application/ocsp-request") return ocspHttpResponse(ocspErrorResponse("malformedRequest"), 415);
  const tooLarge = () => new RangeError("too large");
  if (declaredLength(req.headers) > MAX_OCSP_REQUEST_BYTES || !req.body) {
    return ocspHttpResponse(ocspErrorResponse("malformedRequest"), req.body ? 413 : 200);
  }
  let body: Buffer;
  try {
    body = await readBoundedBody(req.body, MAX_OCSP_REQUEST_BYTES, tooLarge);
  } catch (e) {
    return ocspHttpResponse(ocspErrorResponse("malformedRequest"), e instanceof RangeError ? 413 : 400);
  }
  return ocspHttpResponse(await answerOcsp(body));
}
