"use server";
import { revalidatePath } from "next/cache";
import { createApiToken, revokeApiToken } from "@/lib/auth/api-tokens.ts";
import { requireAdminAction, requireAdminFormAction } from "@/app/_server/session.ts";
import { toFormState, type FormState } from "@/app/_server/action-state.ts";

export async function createTokenAction(_prev: FormState<{ token: string; name: string }>, fd: FormData): Promise<FormState<{ token: string; name: string }>> {
  const name = String(fd.get("name") ?? "");
  const daysRaw = String(fd.get("expiresInDays") ?? "").trim();
  try {
    const admin = await requireAdminAction();
    const { token, view } = await createApiToken(admin.id, { name, expiresInDays: daysRaw ? Number(daysRaw) : null });
    revalidatePath("/tokens");
    return { ok: true, data: { token, name: view.name } };
  } catch (e) {
    return toFormState(e, { name, expiresInDays: daysRaw });
  }
}

export async function revokeTokenAction(fd: FormData): Promise<void> {
  const admin = await requireAdminFormAction("/tokens");
  await revokeApiToken(admin.id, String(fd.get("id") ?? ""));
  revalidatePath("/tokens");
}
