import type { Metadata, Viewport } from "next";
import type { ReactNode } from "react";
import "./globals.css";
import { SiteHeader } from "@/components/layout/site-header";
import { HydrationMarker } from "@/components/layout/hydration-marker";
import { CrlBanner } from "@/components/layout/crl-banner";

export const metadata: Metadata = {
  title: { default: "Portcullis PKI", template: "%s · Portcullis PKI" },
  description: "Self-hosted public key infrastructure portal",
};

export const viewport: Viewport = { width: "device-width", initialScale: 1 };

export default function RootLayout({ children }: { children: ReactNode }) {
  return (
    <html lang="en">
      <body className="min-h-screen">
        <a href="#main" className="sr-only focus:not-sr-only focus:absolute focus:left-2 focus:top-2 focus:z-50 focus:rounded focus:bg-white focus:px-3 focus:py-2">
          Skip to content
        </a>
        <HydrationMarker />
        <SiteHeader />
        <CrlBanner />
        <main id="main" className="mx-auto w-full max-w-5xl px-4 py-8 sm:px-6">
          {children}
        </main>
        <footer className="mx-auto max-w-5xl px-4 pb-8 text-xs text-slate-500 sm:px-6">Portcullis — self-hosted public key infrastructure</footer>
      </body>
    </html>
  );
}
