import { AppError } from "@/lib/errors/app-error.ts";

/**
 * CSRF defence for cookie-authenticated writes: the browser must say the request
 * comes from this origin (Origin header, or Sec-Fetch-Site for browsers that omit it).
 */
export function checkSameOrigin(headers: Headers, requestUrl: string): void {
  const origin = headers.get("origin");
  const host = headers.get("x-forwarded-host") ?? headers.get("host") ?? new URL(requestUrl).host;
  if (origin) {
    let originHost: string;
    try {
      originHost = new URL(origin).host;
    } catch {
      throw new AppError("forbidden", "Cross-site request refused");
    }
    if (originHost !== host) throw new AppError("forbidden", "Cross-site request refused");
    return;
  }
  const site = headers.get("sec-fetch-site");
  if (site && site !== "same-origin" && site !== "none") throw new AppError("forbidden", "Cross-site request refused");
  if (!site) throw new AppError("forbidden", "Cross-site request refused: send an Origin header or use an API token");
}

/**
 * The caller's address as the nearest hop saw it: the last X-Forwarded-For entry (a
 * reverse proxy appends the address it received from; Next.js sets it from the socket
 * when absent). Used for sign-in backoff, never for authorization.
 */
export function clientIp(headers: Headers): string | null {
  const fwd = headers.get("x-forwarded-for");
  if (fwd) return fwd.split(",").at(-1)!.trim().slice(0, 64) || null;
  return headers.get("x-real-ip")?.slice(0, 64) ?? null;
}

export function isSecure(headers: Headers, requestUrl?: string): boolean {
  const proto = headers.get("x-forwarded-proto");
  if (proto) return proto.split(",")[0].trim() === "https";
  return requestUrl ? requestUrl.startsWith("https:") : false;
}

/**
 * The portal's origin as the caller reached it (Host / X-Forwarded-Host and -Proto), for
 * links and certificate URLs when PORTCULLIS_PUBLIC_URL is not set; Next.js's req.url
 * names the address it listens on instead (e.g. localhost for 127.0.0.1).
 */
export function requestOrigin(req: Request): string {
  const host = (req.headers.get("x-forwarded-host") ?? req.headers.get("host"))?.split(",")[0].trim();
  if (!host || !/^[A-Za-z0-9.\-[\]:]+$/.test(host)) return new URL(req.url).origin;
  return `${isSecure(req.headers, req.url) ? "https" : "http"}://${host}`;
}
