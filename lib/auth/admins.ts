/**
 * Administrators: the first one comes from PORTCULLIS_ADMIN_USER/PASSWORD at start,
 * or from the one-time set-up page when none exists.
 */
import { randomUUID } from "node:crypto";
import { getDb } from "../db/index.ts";
import { AppError } from "../errors/app-error.ts";
import { env } from "../env.ts";
import { hashPassword, passwordProblem } from "./password.ts";
import { appendAudit } from "../audit/audit-log.ts";

export const USERNAME_PATTERN = /^[A-Za-z0-9._@-]{1,64}$/;

export async function adminCount(): Promise<number> {
  const db = await getDb();
  return db.admin.count();
}

export interface NewAdminInput {
  username: string;
  password: string;
  passwordConfirm?: string;
  /** Recorded in the audit log: "system" when created from the environment. */
  actor?: string;
}

function validate(input: NewAdminInput): Record<string, string> {
  const errors: Record<string, string> = {};
  const username = input.username?.trim() ?? "";
  if (!USERNAME_PATTERN.test(username)) errors.username = "Use 1 to 64 letters, digits, '.', '_', '@' or '-'";
  const p = passwordProblem(input.password ?? "", username);
  if (p) errors.password = p;
  if (input.passwordConfirm !== undefined && input.passwordConfirm !== input.password) errors.passwordConfirm = "The passwords do not match";
  return errors;
}

/**
 * Creates the first administrator; refused once one exists, so the set-up page
 * cannot be used to add a second one behind the first's back.
 */
export async function createFirstAdmin(input: NewAdminInput): Promise<{ id: string; username: string }> {
  const errors = validate(input);
  if (Object.keys(errors).length) throw AppError.validation(errors);
  const db = await getDb();
  const passwordHash = await hashPassword(input.password);
  const username = input.username.trim();
  const conflict = () => new AppError("conflict", "An administrator already exists; sign in instead");
  // The first administrator takes set-up slot 1: of parallel calls, the database lets
  // exactly one insert win (unique constraint), on SQLite and PostgreSQL alike.
  try {
    return await db.$transaction(async (tx) => {
      if ((await tx.admin.count()) > 0) throw conflict();
      const id = randomUUID();
      await tx.admin.create({ data: { id, username, passwordHash, setupSlot: 1 } });
      await appendAudit(tx, { action: "admin.create", actor: input.actor ?? username, target: `admin:${username}`, details: { via: input.actor === "system" ? "environment" : "set-up page" } });
      return { id, username };
    });
  } catch (e) {
    if ((e as { code?: unknown }).code === "P2002" || /Unique constraint|UNIQUE constraint|duplicate key/i.test(e instanceof Error ? e.message : "")) throw conflict();
    throw e;
  }
}

/** Creates the administrator named by the environment if there is none yet. */
export async function ensureAdminFromEnv(): Promise<"created" | "exists" | "not-set"> {
  const { PORTCULLIS_ADMIN_USER: username, PORTCULLIS_ADMIN_PASSWORD: password } = env();
  if (!username || !password) return "not-set";
  if ((await adminCount()) > 0) return "exists";
  try {
    await createFirstAdmin({ username, password, actor: "system" });
    return "created";
  } catch (e) {
    if (e instanceof AppError && e.code === "conflict") return "exists";
    if (e instanceof AppError) throw new Error(`PORTCULLIS_ADMIN_USER/PORTCULLIS_ADMIN_PASSWORD rejected: ${e.message}`);
    throw e;
  }
}
