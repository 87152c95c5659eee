"use server";
import { revalidatePath } from "next/cache";
import { retryNow } from "@/lib/mail/outbox.ts";
import { requireAdminFormAction } from "@/app/_server/session.ts";

export async function retryMailAction(fd: FormData): Promise<void> {
  await requireAdminFormAction("/mail");
  await retryNow(String(fd.get("id") ?? ""));
  revalidatePath("/", "layout");
}
