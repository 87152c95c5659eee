import type { NextConfig } from "next";

const securityHeaders = [
  { key: "X-Content-Type-Options", value: "nosniff" },
  { key: "Referrer-Policy", value: "same-origin" },
  { key: "X-Frame-Options", value: "DENY" },
  { key: "Permissions-Policy", value: "camera=(), microphone=(), geolocation=(), payment=()" },
  { key: "Cross-Origin-Opener-Policy", value: "same-origin" },
];

/**
 * HSTS only for requests that arrived over TLS: a TLS-terminating proxy says so with
 * X-Forwarded-Proto (the first entry, as for Secure cookies). A plain-http request carries
 * none, so a portal tried out on http://localhost never pins its host name to https.
 */
const tlsOnly = [{ type: "header" as const, key: "x-forwarded-proto", value: "https(?:\\s*,.*)?" }];
const hstsHeaders = [{ key: "Strict-Transport-Security", value: "max-age=31536000" }];

// Pages get a per-request nonce policy from proxy.ts; API answers are never rendered as documents.
const apiHeaders = [{ key: "Content-Security-Policy", value: "default-src 'none'; frame-ancestors 'none'" }];

const config: NextConfig = {
  // Separate build directories let several builds of one checkout coexist (PORTCULLIS_NEXT_DIST_DIR=.next-other).
  distDir: process.env.PORTCULLIS_NEXT_DIST_DIR || ".next",
  poweredByHeader: false,
  // Types are checked by `npm run typecheck` (part of `npm test`), tests included.
  typescript: { ignoreBuildErrors: true },
  reactStrictMode: true,
  serverExternalPackages: ["better-sqlite3", "pg", "@prisma/adapter-better-sqlite3", "@prisma/adapter-pg", "nodemailer"],
  experimental: {
    serverActions: { bodySizeLimit: "1mb" },
  },
  async headers() {
    return [
      { source: "/:path*", headers: securityHeaders },
      { source: "/api/:path*", headers: apiHeaders },
      { source: "/:path*", has: tlsOnly, headers: hstsHeaders },
    ];
  },
};

export default config;
