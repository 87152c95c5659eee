import "server-only";
import { getPublicCaCertificate, type PublicCaCertificate } from "@/lib/ca/get-server.ts";
import { isAppError } from "@/lib/errors/app-error.ts";
import { utcMinute } from "@/components/ui/table";

/** The CA certificate when this instance is a configured CA server; null otherwise. */
export async function findPublicCa(): Promise<PublicCaCertificate | null> {
  try {
    return await getPublicCaCertificate();
  } catch (e) {
    if (isAppError(e) && e.code === "not_configured") return null;
    throw e;
  }
}

/** "2026-05-01T12:00:00.000Z" → "2026-05-01 12:00 UTC". */
export function utcDate(iso: string | null | undefined): string {
  return utcMinute(iso ? new Date(iso) : null);
}
