/**
 * API tokens for scripts (`Authorization: Bearer pcl_…`). Shown once at creation;
 * only the SHA-256 is kept. Revoked or expired tokens are refused.
 */
import { randomUUID } from "node:crypto";
import { getDb, type Db } from "../db/index.ts";
import { AppError } from "../errors/app-error.ts";
import { newToken, tokenHash } from "./tokens.ts";
import type { SessionAdmin } from "./sessions.ts";
import { appendAudit } from "../audit/audit-log.ts";

export const TOKEN_PREFIX = "pcl_";

export interface ApiTokenView {
  id: string;
  name: string;
  prefix: string;
  createdAt: Date;
  lastUsedAt: Date | null;
  expiresAt: Date | null;
  revokedAt: Date | null;
}

export async function createApiToken(adminId: string, input: { name: string; expiresInDays?: number | null }, now = new Date()): Promise<{ token: string; view: ApiTokenView }> {
  const name = (input.name ?? "").trim();
  if (!name || name.length > 80 || /[\u0000-\u001f\u007f]/.test(name)) throw new AppError("validation_failed", "Give the token a name of 1 to 80 characters", { field: "name" });
  const days = input.expiresInDays;
  if (days != null && (!Number.isInteger(days) || days < 1 || days > 3650)) throw new AppError("validation_failed", "Expiry must be 1 to 3650 days, or none", { field: "expiresInDays" });
  const db = await getDb();
  const token = newToken(TOKEN_PREFIX);
  const row = await db.$transaction(async (tx) => {
    const created = await tx.apiToken.create({
    data: {
      id: randomUUID(),
      adminId,
      name,
      tokenHash: tokenHash(token),
      prefix: token.slice(0, TOKEN_PREFIX.length + 6),
      createdAt: now,
      expiresAt: days ? new Date(now.getTime() + days * 86400_000) : null,
    },
    omit: { tokenHash: true, adminId: true },
    });
    const admin = await tx.admin.findUniqueOrThrow({ where: { id: adminId }, select: { username: true } });
    await appendAudit(tx, { action: "token.create", actor: admin.username, target: `token:${created.prefix}`, details: { name, expiresAt: created.expiresAt?.toISOString() ?? null }, at: now });
    return created;
  });
  return { token, view: row };
}

export async function listApiTokens(adminId: string): Promise<ApiTokenView[]> {
  const db = await getDb();
  return db.apiToken.findMany({ where: { adminId }, orderBy: { createdAt: "desc" }, omit: { tokenHash: true, adminId: true } });
}

export async function revokeApiToken(adminId: string, id: string, now = new Date()): Promise<void> {
  const db = await getDb();
  const r = await db.$transaction(async (tx) => {
    const token = await tx.apiToken.findFirst({ where: { id, adminId, revokedAt: null }, select: { prefix: true, name: true, admin: { select: { username: true } } } });
    const res = await tx.apiToken.updateMany({ where: { id, adminId, revokedAt: null }, data: { revokedAt: now } });
    if (res.count === 1 && token) await appendAudit(tx, { action: "token.revoke", actor: token.admin.username, target: `token:${token.prefix}`, details: { name: token.name }, at: now });
    return res;
  });
  if (r.count === 0) {
    const exists = await db.apiToken.findFirst({ where: { id, adminId }, select: { id: true } });
    if (!exists) throw new AppError("not_found", "No such token");
  }
}

/** The administrator holding a bearer token, or null when unknown, revoked or expired. */
export async function tokenAdmin(db: Db, token: string, now = new Date()): Promise<SessionAdmin | null> {
  if (!token.startsWith(TOKEN_PREFIX) || token.length > 128) return null;
  const row = await db.apiToken.findUnique({ where: { tokenHash: tokenHash(token) }, include: { admin: { select: { id: true, username: true } } } });
  if (!row || row.revokedAt || (row.expiresAt && row.expiresAt <= now)) return null;
  if (!row.lastUsedAt || now.getTime() - row.lastUsedAt.getTime() > 60_000) await db.apiToken.update({ where: { id: row.id }, data: { lastUsedAt: now } });
  return row.admin;
}
