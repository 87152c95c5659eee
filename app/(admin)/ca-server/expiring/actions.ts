"use server";
import { headers } from "next/headers";
import { redirect } from "next/navigation";
import { revalidatePath } from "next/cache";
import { requireAdminAction } from "@/app/_server/session.ts";
import { formText } from "@/app/_server/action-state.ts";
import { runExpiryWarnings } from "@/lib/ca/expiry-warnings.ts";
import { isAppError } from "@/lib/errors/app-error.ts";
import { env } from "@/lib/env.ts";

async function portalUrl(): Promise<string | undefined> {
  if (env().PORTCULLIS_PUBLIC_URL) return env().PORTCULLIS_PUBLIC_URL;
  const h = await headers();
  const host = h.get("host");
  return host ? `${h.get("x-forwarded-proto") ?? "http"}://${host}` : undefined;
}

/**
 * "Send due warnings now": the scheduled check, run at once. Safe beside the scheduled
 * run: a threshold already mailed (by either) is not mailed again.
 */
export async function sendDueWarningsAction(fd: FormData): Promise<void> {
  const asked = formText(fd, "days") ?? "";
  const days = /^\d{1,4}$/.test(asked) ? asked : "60";
  let destination: string;
  try {
    await requireAdminAction();
    const r = await runExpiryWarnings(new Date(), { portalUrl: await portalUrl() });
    destination = `/ca-server/expiring?days=${days}&warned=${r.warned}&mails=${r.mails}${r.mailEnabled ? "" : "&noMail=1"}`;
  } catch (e) {
    if (!isAppError(e)) throw e;
    if (e.code === "unauthorized") destination = `/login?next=${encodeURIComponent(`/ca-server/expiring?days=${days}`)}`;
    else destination = `/ca-server/expiring?days=${days}&checkFailed=${encodeURIComponent(e.code)}`;
  }
  // The header counts the mails waiting in the outbox.
  revalidatePath("/", "layout");
  redirect(destination);
}
