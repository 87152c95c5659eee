"use server";
import { headers } from "next/headers";
import { redirect } from "next/navigation";
import { signIn } from "@/lib/auth/sign-in.ts";
import { createFirstAdmin } from "@/lib/auth/admins.ts";
import { deleteSession } from "@/lib/auth/sessions.ts";
import { getDb } from "@/lib/db/index.ts";
import { clientIp } from "@/app/_server/origin.ts";
import { clearSessionCookie, setSessionCookie } from "@/app/_server/session.ts";
import { toFormState, type FormState } from "@/app/_server/action-state.ts";

/** Only local paths, so `next` cannot send a signed-in user elsewhere. */
function safeNext(v: FormDataEntryValue | null): string {
  const s = typeof v === "string" ? v : "";
  return s.startsWith("/") && !s.startsWith("//") && !s.startsWith("/\\") ? s : "/";
}

export async function signInAction(_prev: FormState, fd: FormData): Promise<FormState> {
  const h = await headers();
  const username = String(fd.get("username") ?? "");
  let session;
  try {
    session = await signIn({ username, password: String(fd.get("password") ?? ""), ip: clientIp(h), userAgent: h.get("user-agent") });
  } catch (e) {
    return toFormState(e, { username });
  }
  await setSessionCookie(session.token, session.expiresAt);
  redirect(safeNext(fd.get("next")));
}

export async function setupAction(_prev: FormState, fd: FormData): Promise<FormState> {
  const h = await headers();
  const username = String(fd.get("username") ?? "");
  const password = String(fd.get("password") ?? "");
  let session;
  try {
    await createFirstAdmin({ username, password, passwordConfirm: String(fd.get("passwordConfirm") ?? "") });
    session = await signIn({ username, password, ip: clientIp(h), userAgent: h.get("user-agent") });
  } catch (e) {
    return toFormState(e, { username });
  }
  await setSessionCookie(session.token, session.expiresAt);
  redirect("/");
}

export async function signOutAction(): Promise<void> {
  const token = await clearSessionCookie();
  await deleteSession(await getDb(), token);
  redirect("/login?signedOut=1");
}
