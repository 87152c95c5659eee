/**
 * Who is calling: a browser session (cookie) or an API token (Bearer). Framework-free;
 * the app's request guards pass in the cookie value and the Authorization header.
 */
import { getDb } from "../db/index.ts";
import { sessionAdmin, type SessionAdmin } from "./sessions.ts";
import { tokenAdmin } from "./api-tokens.ts";

export interface Caller {
  admin: SessionAdmin;
  via: "session" | "token";
}

export async function authenticate(input: { sessionToken?: string | null; authorization?: string | null }): Promise<Caller | null> {
  const db = await getDb();
  const auth = input.authorization?.trim();
  if (auth) {
    const m = /^Bearer\s+(\S+)$/i.exec(auth);
    if (!m) return null;
    const admin = await tokenAdmin(db, m[1]);
    return admin ? { admin, via: "token" } : null;
  }
  const admin = await sessionAdmin(db, input.sessionToken);
  return admin ? { admin, via: "session" } : null;
}
