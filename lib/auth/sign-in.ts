/**
 * Signing in with user name and password, with backoff on repeated failures.
 * The same answer for an unknown user and a wrong password.
 */
import { getDb } from "../db/index.ts";
import { AppError } from "../errors/app-error.ts";
import { dummyHash, verifyPassword } from "./password.ts";
import { beginAttempt, clearFailures } from "./throttle.ts";
import { createSession, type SessionAdmin } from "./sessions.ts";
import { appendAudit, recordAudit } from "../audit/audit-log.ts";

export interface SignInInput {
  username: string;
  password: string;
  ip?: string | null;
  userAgent?: string | null;
}

export async function verifyCredentials(input: SignInInput, now = new Date()): Promise<SessionAdmin> {
  const db = await getDb();
  const username = (input.username ?? "").trim();
  // Bounded keys: an attacker inventing user names cannot grow a row without limit.
  const keys = [`user:${username.toLowerCase().slice(0, 65)}`, ...(input.ip ? [`ip:${input.ip.slice(0, 64)}`] : [])];
  // Counted as a failure from here on; cleared below if the password is right.
  const wait = await beginAttempt(db, keys, now);
  if (wait > 0) {
    await recordAudit({ action: "auth.sign_in_refused", actor: username.slice(0, 64) || "(empty)", ip: input.ip, details: { reason: "too many failures", waitSeconds: wait }, at: now });
    throw new AppError("too_many_requests", `Too many failed sign-ins. Try again in ${wait} seconds.`, { retryAfterSeconds: wait });
  }
  const admin = username && username.length <= 64 ? await db.admin.findUnique({ where: { username } }) : null;
  const ok = await verifyPassword(input.password ?? "", admin?.passwordHash ?? (await dummyHash()));
  if (!admin || !ok) {
    await recordAudit({ action: "auth.sign_in_failed", actor: username.slice(0, 64) || "(empty)", ip: input.ip, details: { reason: admin ? "wrong password" : "unknown user" }, at: now });
    throw new AppError("unauthorized", "The user name or password is incorrect");
  }
  await clearFailures(db, keys);
  await db.$transaction(async (tx) => {
    await tx.admin.update({ where: { id: admin.id }, data: { lastLoginAt: now } });
    await appendAudit(tx, { action: "auth.sign_in", actor: admin.username, ip: input.ip, at: now });
  });
  return { id: admin.id, username: admin.username };
}

export async function signIn(input: SignInInput, now = new Date()): Promise<{ admin: SessionAdmin; token: string; expiresAt: Date }> {
  const admin = await verifyCredentials(input, now);
  const db = await getDb();
  const s = await createSession(db, admin.id, { userAgent: input.userAgent, ip: input.ip }, now);
  return { admin, ...s };
}
