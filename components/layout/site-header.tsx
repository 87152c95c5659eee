import Link from "next/link";
import { currentAdmin } from "@/app/_server/session.ts";
import { pendingMailCount } from "@/lib/mail/outbox.ts";
import { signOutAction } from "@/app/login/actions.ts";

export async function SiteHeader() {
  const admin = await currentAdmin();
  const pendingMail = admin ? await pendingMailCount() : 0;
  return (
    <header className="border-b border-slate-200 bg-white">
      <div className="mx-auto flex max-w-5xl flex-wrap items-center justify-between gap-3 px-4 py-3 sm:px-6">
        <Link href="/" className="flex items-center gap-2 font-bold text-brand-900">
          <svg aria-hidden="true" viewBox="0 0 24 24" className="h-6 w-6 fill-brand-600">
            <path d="M4 3h16v4H4zM5 8h2v13H5zm4 0h2v13H9zm4 0h2v13h-2zm4 0h2v13h-2z" />
          </svg>
          Portcullis
        </Link>
        <nav aria-label="Main" className="flex flex-wrap items-center gap-x-4 gap-y-1 text-sm">
          <Link href="/" className="text-slate-700 hover:text-brand-700">
            Public Key Infrastructure
          </Link>
          {admin ? (
            <>
              <Link href="/tokens" className="text-slate-700 hover:text-brand-700">
                API tokens
              </Link>
              <Link href="/audit" className="text-slate-700 hover:text-brand-700">
                Audit log
              </Link>
              <Link href="/mail" className="text-slate-700 hover:text-brand-700">
                E-mail{pendingMail > 0 ? <span className="ml-1 rounded-full bg-amber-100 px-2 py-0.5 text-xs font-semibold text-amber-900">{pendingMail} waiting</span> : null}
              </Link>
              <span className="text-slate-500">Signed in as <span className="font-medium text-slate-800">{admin.username}</span></span>
              <form action={signOutAction}>
                <button type="submit" className="rounded-md border border-slate-300 px-3 py-1 text-slate-700 hover:bg-slate-50">
                  Sign out
                </button>
              </form>
            </>
          ) : (
            <Link href="/login" className="rounded-md bg-brand-600 px-3 py-1 font-semibold text-white hover:bg-brand-700">
              Sign in
            </Link>
          )}
        </nav>
      </div>
    </header>
  );
}
