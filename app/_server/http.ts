/**
 * Route-handler plumbing: JSON responses, the error envelope, bounded body reading,
 * and the admin guard (session cookie or Bearer token, with CSRF protection for
 * cookie-authenticated writes).
 */
import "server-only";
import { NextResponse } from "next/server";
import { AppError, isAppError } from "@/lib/errors/app-error.ts";
import { databaseUnavailable } from "@/lib/errors/database-errors.ts";
import { authenticate, type Caller } from "@/lib/auth/authenticate.ts";
import { SESSION_COOKIE } from "@/lib/auth/sessions.ts";
import { declaredLength, readBoundedBody } from "@/lib/http/bounded-body.ts";
import { checkSameOrigin } from "./origin.ts";

export const MAX_JSON_BYTES = 64 * 1024;

export function json(data: unknown, status = 200, headers?: HeadersInit): NextResponse {
  return NextResponse.json(data, { status, headers: { "Cache-Control": "no-store", ...headers } });
}

export function errorResponse(caught: unknown): NextResponse {
  const transient = databaseUnavailable(caught);
  if (transient) console.warn(`Database unavailable in route handler: ${transient.message}`);
  const e = transient ?? caught;
  if (isAppError(e)) {
    const body: { error: { code: string; message: string; fields?: Record<string, string> } } = { error: { code: e.code, message: e.message } };
    if (e.fields && Object.keys(e.fields).length) body.error.fields = e.fields;
    const headers: Record<string, string> = {};
    if (e.retryAfterSeconds) headers["Retry-After"] = String(e.retryAfterSeconds);
    if (e.code === "unauthorized") headers["WWW-Authenticate"] = 'Bearer realm="portcullis"';
    return json(body, e.status, headers);
  }
  console.error("Unhandled error in route handler:", e instanceof Error ? e.stack : e);
  return json({ error: { code: "internal_error", message: "Something went wrong on the server" } }, 500);
}

type Handler<C> = (req: Request, ctx: C) => Promise<Response>;

/** Wraps a handler so every failure becomes the JSON error envelope. */
export function route<C = unknown>(handler: Handler<C>): Handler<C> {
  return async (req, ctx) => {
    try {
      return await handler(req, ctx);
    } catch (e) {
      return errorResponse(e);
    }
  };
}

/** Reads a JSON object body, refusing more than `limit` bytes before reading it whole. */
export async function readJson(req: Request, limit = MAX_JSON_BYTES): Promise<Record<string, unknown>> {
  const type = req.headers.get("content-type") ?? "";
  if (!/^application\/(.+\+)?json\b/i.test(type)) throw new AppError("unsupported_media_type", "Send the body as application/json");
  const tooLarge = () => new AppError("payload_too_large", `The body is larger than ${limit} bytes`);
  if (declaredLength(req.headers) > limit) throw tooLarge();
  if (!req.body) throw new AppError("bad_request", "The request has no body");
  const raw = await readBoundedBody(req.body, limit, tooLarge);
  let text: string;
  try {
    text = new TextDecoder("utf-8", { fatal: true }).decode(raw);
  } catch {
    throw new AppError("bad_request", "The body is not valid UTF-8");
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    throw new AppError("bad_request", "The body is not valid JSON");
  }
  if (!parsed || typeof parsed !== "object" || Array.isArray(parsed)) throw new AppError("bad_request", "The body must be a JSON object");
  if (hasLoneSurrogate(parsed)) throw new AppError("bad_request", "The body holds text that is not valid Unicode (a \\u escape of a lone surrogate)");
  return parsed as Record<string, unknown>;
}

const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;

/** True when a string (or key) anywhere in the parsed JSON holds a lone surrogate, which no database or UTF-8 encoder takes. */
function hasLoneSurrogate(value: unknown): boolean {
  const stack: unknown[] = [value];
  while (stack.length) {
    const v = stack.pop();
    if (typeof v === "string") {
      if (LONE_SURROGATE.test(v)) return true;
    } else if (Array.isArray(v)) {
      for (const x of v) stack.push(x);
    } else if (v && typeof v === "object") {
      for (const [k, x] of Object.entries(v)) {
        if (LONE_SURROGATE.test(k)) return true;
        stack.push(x);
      }
    }
  }
  return false;
}

function cookieValue(req: Request, name: string): string | null {
  const header = req.headers.get("cookie");
  if (!header) return null;
  for (const part of header.split(";")) {
    const i = part.indexOf("=");
    if (i > 0 && part.slice(0, i).trim() === name) return decodeURIComponent(part.slice(i + 1).trim());
  }
  return null;
}

const SAFE_METHODS = new Set(["GET", "HEAD", "OPTIONS"]);

/** The administrator calling an admin route handler; 401 otherwise, 403 for a cross-site cookie write. */
export async function requireAdminApi(req: Request): Promise<Caller> {
  const caller = await authenticate({ sessionToken: cookieValue(req, SESSION_COOKIE), authorization: req.headers.get("authorization") });
  if (!caller) throw new AppError("unauthorized", "Sign in or send an API token (Authorization: Bearer …)");
  if (caller.via === "session" && !SAFE_METHODS.has(req.method)) checkSameOrigin(req.headers, req.url);
  return caller;
}
