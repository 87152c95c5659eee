import { route } from "@/app/_server/http.ts";
import { trustBundlePem } from "@/lib/iot/ca-certificates.ts";

/** GET /api/v1/iot/trust-bundle — PEM of every active registered device CA certificate, for brokers and gateways. */
export const GET = route(async () => {
  return new Response(await trustBundlePem(), {
    headers: {
      "Content-Type": "application/x-pem-file",
      "Content-Disposition": 'attachment; filename="trust_ca_cert.pem"',
      "Cache-Control": "no-cache",
    },
  });
});
