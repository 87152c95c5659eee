import { route, readJson, json, requireAdminApi } from "@/app/_server/http.ts";
import { configureCaServer, type ConfigureCaInput } from "@/lib/ca/configure-server.ts";
import { getCaServerView } from "@/lib/ca/get-server.ts";
import { reinitializeCaServer } from "@/lib/ca/reinitialize-server.ts";
import { updateCaSettings } from "@/lib/ca/settings/update-settings.ts";
import { AppError } from "@/lib/errors/app-error.ts";
import { env } from "@/lib/env.ts";

export const GET = route(async (req) => {
  await requireAdminApi(req);
  return json(await getCaServerView());
});

function objectOrUndefined(v: unknown, field: string): Record<string, unknown> | undefined {
  if (v === undefined || v === null) return undefined;
  if (typeof v !== "object" || Array.isArray(v)) throw new AppError("validation_failed", `${field} must be an object`, { field });
  return v as Record<string, unknown>;
}

export const POST = route(async (req) => {
  const caller = await requireAdminApi(req);
  const body = await readJson(req);
  const subject = objectOrUndefined(body.subject, "subject");
  const input: ConfigureCaInput = {
    ...body,
    subject: subject ? Object.fromEntries(Object.entries(subject).map(([k, v]) => [k, typeof v === "string" ? v : v == null ? undefined : String(v)])) : undefined,
    smtp: objectOrUndefined(body.smtp, "smtp"),
  };
  const r = await configureCaServer(input, { actor: caller.admin.username, portalUrl: env().PORTCULLIS_PUBLIC_URL ?? new URL(req.url).origin });
  return json(
    {
      mode: r.mode,
      sha1Fingerprint: r.sha1Fingerprint,
      sha256Fingerprint: r.sha256Fingerprint,
      subject: r.subject,
      files: r.files,
      renamed: r.renamed,
      emailSentTo: r.emailSentTo,
      email: r.email,
      message: r.message.join("\n"),
      chain: r.chain,
    },
    201,
  );
});

/** Edits the settings that stay editable after configuration; fields left out keep their value. */
export const PATCH = route(async (req) => {
  const caller = await requireAdminApi(req);
  const body = await readJson(req);
  const r = await updateCaSettings(
    { issuedValidityDays: body.issuedValidityDays, adminEmail: body.adminEmail, smtp: objectOrUndefined(body.smtp, "smtp") },
    { actor: caller.admin.username },
  );
  return json(r);
});

export const DELETE = route(async (req) => {
  const caller = await requireAdminApi(req);
  return json(await reinitializeCaServer({ actor: caller.admin.username }));
});
