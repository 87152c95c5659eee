import { readJson, requireAdminApi, route } from "@/app/_server/http.ts";
import { checkSameOrigin, clientIp } from "@/app/_server/origin.ts";
import { buildCertificateBundle, type BundleInput } from "@/lib/bundles/build-bundle.ts";
import type { BundleFile } from "@/lib/bundles/builders.ts";
import { AppError } from "@/lib/errors/app-error.ts";

type Ctx = { params: Promise<{ number: string }> };

async function certificateNumber(ctx: Ctx): Promise<number> {
  const raw = (await ctx.params).number;
  if (!/^\d{1,9}$/.test(raw) || Number(raw) < 1) throw new AppError("not_found", `No certificate number ${raw.slice(0, 20)}`);
  return Number(raw);
}

function download(f: BundleFile): Response {
  return new Response(new Uint8Array(f.body), {
    headers: {
      "Content-Type": f.contentType,
      "Content-Disposition": `attachment; filename="${f.filename}"`,
      "Content-Length": String(f.body.length),
      "Cache-Control": "no-store",
      "X-Content-Type-Options": "nosniff",
    },
  });
}

const SECRET_PARAMS = ["password", "passwordConfirm", "keyPassword"];

/** GET /api/v1/certificates/{number}/bundle?format=trust|cockroach[&source=server|client] — bundles that need no password (admin). */
export const GET = route<Ctx>(async (req, ctx) => {
  const caller = await requireAdminApi(req);
  const number = await certificateNumber(ctx);
  const q = new URL(req.url).searchParams;
  if (SECRET_PARAMS.some((p) => q.has(p))) {
    throw new AppError("bad_request", "Passwords are never accepted in a URL: send them with POST as JSON", { field: SECRET_PARAMS.find((p) => q.has(p)) });
  }
  const input: BundleInput = { format: q.get("format") ?? undefined, source: q.get("source") ?? undefined };
  // A private key must not be exported by a link another site makes the browser follow.
  if (caller.via === "session" && input.format !== "trust") checkSameOrigin(req.headers, req.url);
  return download(await buildCertificateBundle(number, input, { viaGet: true, actor: caller.admin.username, ip: clientIp(req.headers) }));
});

/** POST /api/v1/certificates/{number}/bundle {format, password?, passwordConfirm?, keyPassword?, unencrypted?, legacy?, source?} (admin). */
export const POST = route<Ctx>(async (req, ctx) => {
  const caller = await requireAdminApi(req);
  const number = await certificateNumber(ctx);
  const body = await readJson(req);
  return download(await buildCertificateBundle(number, body as BundleInput, { actor: caller.admin.username, ip: clientIp(req.headers) }));
});
