import { route, readJson, json } from "@/app/_server/http.ts";
import { clientIp } from "@/app/_server/origin.ts";
import { authenticate } from "@/lib/auth/authenticate.ts";
import { RateLimiter } from "@/lib/auth/rate-limit.ts";
import { checkDeviceCertificate } from "@/lib/iot/device-check.ts";

const limiter = new RateLimiter(Number(process.env.PORTCULLIS_DEVICE_CHECK_RATE_LIMIT ?? 300), 60_000);

/**
 * POST /api/v1/iot/device-check {certificate, chain?} — would this device certificate be
 * accepted? Always 200 with {accepted, deviceType, deviceId, issuer, reasons}; 400 only
 * when the input is not a certificate. Anonymous callers are rate limited per address.
 */
export const POST = route(async (req) => {
  const auth = req.headers.get("authorization");
  const admin = auth ? await authenticate({ authorization: auth }) : null;
  if (!admin) limiter.hit(clientIp(req.headers) ?? "unknown");
  const body = await readJson(req, 256 * 1024);
  return json(await checkDeviceCertificate({ certificate: body.certificate, chain: body.chain }));
});
