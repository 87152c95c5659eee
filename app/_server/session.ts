/**
 * Guards for pages and server actions. Every admin page and every action calls one
 * of these itself: a layout's check does not protect a page or an action.
 */
import "server-only";
import { cache } from "react";
import { cookies, headers } from "next/headers";
import { redirect } from "next/navigation";
import { authenticate } from "@/lib/auth/authenticate.ts";
import { SESSION_COOKIE, type SessionAdmin } from "@/lib/auth/sessions.ts";
import { AppError } from "@/lib/errors/app-error.ts";
import { env } from "@/lib/env.ts";
import { checkSameOrigin, isSecure } from "./origin.ts";

/** The signed-in administrator; looked up once per request, however many parts of the page ask. */
export const currentAdmin = cache(async (): Promise<SessionAdmin | null> => {
  const jar = await cookies();
  const caller = await authenticate({ sessionToken: jar.get(SESSION_COOKIE)?.value });
  return caller?.admin ?? null;
});

/** For pages: the signed-in administrator, or a redirect to the sign-in page. */
export async function requireAdminPage(returnTo: string): Promise<SessionAdmin> {
  const admin = await currentAdmin();
  if (!admin) redirect(`/login?next=${encodeURIComponent(returnTo)}`);
  return admin;
}

/**
 * For server actions: the signed-in administrator, or an AppError. Next.js already
 * refuses actions whose Origin differs from the host; the explicit check keeps that
 * promise if the framework's behaviour changes.
 */
export async function requireAdminAction(): Promise<SessionAdmin> {
  const h = await headers();
  checkSameOrigin(h, "http://localhost/");
  const admin = await currentAdmin();
  if (!admin) throw new AppError("unauthorized", "Your session has ended. Sign in again.");
  return admin;
}

/**
 * For form actions that answer with a redirect and have no form state to carry a message
 * (one-click buttons): the signed-in administrator, or the sign-in page, which returns to
 * `returnTo` — an ended session is the caller's situation, not a server error.
 */
export async function requireAdminFormAction(returnTo: string): Promise<SessionAdmin> {
  const h = await headers();
  checkSameOrigin(h, "http://localhost/");
  const admin = await currentAdmin();
  if (!admin) redirect(`/login?next=${encodeURIComponent(returnTo)}`);
  return admin;
}

export async function setSessionCookie(token: string, expiresAt: Date): Promise<void> {
  const jar = await cookies();
  const h = await headers();
  const mode = env().PORTCULLIS_SECURE_COOKIES;
  const secure = mode === "always" || (mode === "auto" && isSecure(h));
  jar.set(SESSION_COOKIE, token, { httpOnly: true, sameSite: "lax", secure, path: "/", expires: expiresAt });
}

export async function clearSessionCookie(): Promise<string | undefined> {
  const jar = await cookies();
  const value = jar.get(SESSION_COOKIE)?.value;
  jar.delete(SESSION_COOKIE);
  return value;
}
