/**
 * The keyset cursor of lists ordered by a time and an id (the queue by receivedAt, IoT
 * tables by createdAt): opaque to clients, base64url of "<ISO time>|<id>".
 */
import { AppError } from "../errors/app-error.ts";

export function encodeTimeCursor(at: Date, id: string): string {
  return Buffer.from(`${at.toISOString()}|${id}`).toString("base64url");
}

/** The time and id a cursor names; a cursor not made by encodeTimeCursor is a 400. */
export function decodeTimeCursor(cursor: string): { at: Date; id: string } {
  const [iso, id] = Buffer.from(cursor, "base64url").toString("utf8").split("|");
  const at = new Date(iso ?? "");
  if (!id || Number.isNaN(at.getTime())) throw new AppError("bad_request", "Unknown cursor: pass back the nextCursor of a previous page");
  return { at, id };
}
