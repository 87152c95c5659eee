import { route, readJson, json } from "@/app/_server/http.ts";
import { clientIp } from "@/app/_server/origin.ts";
import { verifyCredentials } from "@/lib/auth/sign-in.ts";
import { createApiToken } from "@/lib/auth/api-tokens.ts";
import { AppError } from "@/lib/errors/app-error.ts";

/** POST /api/v1/auth/token {username, password, name?, expiresInDays?} → 201 {token} */
export const POST = route(async (req) => {
  const body = await readJson(req);
  if (typeof body.username !== "string" || typeof body.password !== "string") {
    throw new AppError("bad_request", "Send {\"username\": \"…\", \"password\": \"…\"}");
  }
  const admin = await verifyCredentials({ username: body.username, password: body.password, ip: clientIp(req.headers) });
  const name = typeof body.name === "string" && body.name.trim() ? body.name : `API token ${new Date().toISOString().slice(0, 16).replace("T", " ")}`;
  const expiresInDays = typeof body.expiresInDays === "number" ? body.expiresInDays : null;
  const { token, view } = await createApiToken(admin.id, { name, expiresInDays });
  return json({ token, id: view.id, name: view.name, expiresAt: view.expiresAt?.toISOString() ?? null }, 201);
});
