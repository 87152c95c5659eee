import Link from "next/link";
import { findCaServerView } from "@/lib/ca/get-server.ts";
import { currentAdmin } from "@/app/_server/session.ts";

export const dynamic = "force-dynamic";

interface Task {
  title: string;
  href?: string;
  description: string;
  audience: "admin" | "public";
}

const sections: { title: string; intro: string; tasks: Task[] }[] = [
  {
    title: "Certificate Authority Server",
    intro: "Run a certificate authority: its key and certificate, and the requests sent to it.",
    tasks: [
      { title: "Configure local Certificate Authority server", href: "/ca-server", description: "Create a new CA key and certificate, or use an existing pair; e-mail settings; reinitialize.", audience: "admin" },
      { title: "Expiring certificates", href: "/ca-server/expiring", description: "Certificates reaching the end of their validity, and a calendar feed of expiry dates.", audience: "admin" },
      { title: "Process pending Certificate Signing Requests", href: "/ca-server/requests", description: "Verify each requester's fingerprint, choose the usage and issue the certificate.", audience: "admin" },
    ],
  },
  {
    title: "Certificate Authority Client",
    intro: "Obtain certificates for this instance from a certificate authority.",
    tasks: [
      { title: "Configure local Certificate Authority client", href: "/ca-client", description: "The CA server to use and your technical contact details.", audience: "admin" },
      { title: "Submit Certificate Signing Request to Certificate Authority server", href: "/ca-client/submit", description: "Generate a key pair and send its CSR to the CA.", audience: "admin" },
      { title: "Get Certificate(s) from Certificate Authority server", href: "/ca-client/certificates", description: "Download the CA certificate and the certificates issued to this instance.", audience: "admin" },
    ],
  },
  {
    title: "Without an instance of your own",
    intro: "For technical contacts and developers: no sign-in needed.",
    tasks: [
      { title: "Request a certificate", href: "/request", description: "Paste or upload a CSR, or generate the key pair in your browser; read the fingerprint back to the CA administrator.", audience: "public" },
      { title: "Check a device certificate", href: "/iot/device-check", description: "Would a device with this certificate be accepted? Chain to an active registered CA, validity, revocation, identity d:<type>:<id>.", audience: "public" },
      { title: "Certificates", href: "/certificates", description: "The CA certificate and issued certificates by serial number, number, hostname, instance or file name (PEM, DER, chain).", audience: "public" },
    ],
  },
  {
    title: "Device security (IoT)",
    intro: "Certificates for device authentication and for the messaging server.",
    tasks: [
      { title: "CA certificates", href: "/iot/ca-certificates", description: "Register the CAs whose device certificates are accepted; check a device certificate.", audience: "admin" },
      { title: "Messaging server certificates", href: "/iot/messaging", description: "The messaging server's certificate and key, with a CSR round-trip.", audience: "admin" },
    ],
  },
];

export default async function HomePage() {
  const [admin, ca] = await Promise.all([currentAdmin(), findCaServerView()]);
  return (
    <div>
      <h1 className="text-2xl font-bold tracking-tight">Public Key Infrastructure</h1>
      <p className="mt-1 text-sm text-slate-600">
        {ca ? (
          <>
            This instance is a Certificate Authority: <span className="font-medium text-slate-800">{ca.subject}</span>
          </>
        ) : (
          "This instance is not yet configured as a Certificate Authority server."
        )}
      </p>
      {!admin ? (
        <p className="mt-2 text-sm text-slate-600">
          <Link href="/login" className="font-medium text-brand-700 underline">
            Sign in
          </Link>{" "}
          to configure and operate this instance.
        </p>
      ) : null}
      <div className="mt-6 grid gap-6 md:grid-cols-2">
        {sections.map((s) => (
          <section key={s.title} aria-labelledby={`h-${s.title}`} className="rounded-xl border border-slate-200 bg-white p-5 shadow-sm">
            <h2 id={`h-${s.title}`} className="text-base font-semibold text-brand-900">
              {s.title}
            </h2>
            <p className="mt-1 text-xs text-slate-500">{s.intro}</p>
            <ul className="mt-4 space-y-3">
              {s.tasks.map((t) => (
                <li key={t.title}>
                  {t.href ? (
                    <Link href={t.href} className="font-medium text-brand-700 underline-offset-2 hover:underline">
                      {t.title}
                    </Link>
                  ) : (
                    <span className="font-medium text-slate-500">
                      {t.title} <span className="ml-1 whitespace-nowrap rounded bg-slate-100 px-1.5 py-0.5 text-xs font-normal text-slate-600">not yet available</span>
                    </span>
                  )}
                  <p className="text-xs text-slate-600">{t.description}</p>
                </li>
              ))}
            </ul>
          </section>
        ))}
      </div>
    </div>
  );
}
