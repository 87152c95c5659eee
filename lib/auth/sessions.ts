/**
 * Browser sessions: a random cookie value, its SHA-256 as the row id, an idle timeout
 * and an absolute lifetime. Signing in always creates a new session (no fixation);
 * signing out deletes it server-side.
 */
import type { Db } from "../db/index.ts";
import { env } from "../env.ts";
import { appendAudit } from "../audit/audit-log.ts";
import { newToken, tokenHash } from "./tokens.ts";

export const SESSION_COOKIE = "portcullis_session";
export const IDLE_MINUTES = 60;

export interface SessionAdmin {
  id: string;
  username: string;
}

export async function createSession(db: Db, adminId: string, meta: { userAgent?: string | null; ip?: string | null } = {}, now = new Date()): Promise<{ token: string; expiresAt: Date }> {
  const token = newToken();
  const expiresAt = new Date(now.getTime() + env().PORTCULLIS_SESSION_HOURS * 3600_000);
  await db.session.create({
    data: { id: tokenHash(token), adminId, expiresAt, createdAt: now, lastSeenAt: now, userAgent: meta.userAgent?.slice(0, 256) ?? null, ip: meta.ip?.slice(0, 64) ?? null },
  });
  return { token, expiresAt };
}

/** The administrator of a live session, or null. Refreshes the idle timer. */
export async function sessionAdmin(db: Db, token: string | undefined | null, now = new Date()): Promise<SessionAdmin | null> {
  if (!token || token.length > 128) return null;
  const id = tokenHash(token);
  const s = await db.session.findUnique({ where: { id }, include: { admin: { select: { id: true, username: true } } } });
  if (!s) return null;
  const idleLimit = new Date(s.lastSeenAt.getTime() + IDLE_MINUTES * 60_000);
  if (s.expiresAt <= now || idleLimit <= now) {
    await db.session.deleteMany({ where: { id } });
    return null;
  }
  // Write at most once a minute: a page renders many guarded parts.
  if (now.getTime() - s.lastSeenAt.getTime() > 60_000) await db.session.update({ where: { id }, data: { lastSeenAt: now } });
  return s.admin;
}

export async function deleteSession(db: Db, token: string | undefined | null): Promise<void> {
  if (!token) return;
  const id = tokenHash(token);
  await db.$transaction(async (tx) => {
    const session = await tx.session.findUnique({ where: { id }, select: { ip: true, admin: { select: { username: true } } } });
    const { count } = await tx.session.deleteMany({ where: { id } });
    if (count === 1 && session) await appendAudit(tx, { action: "auth.sign_out", actor: session.admin.username, ip: session.ip });
  });
}
