import type { Metadata } from "next";
import { redirect } from "next/navigation";
import { adminCount } from "@/lib/auth/admins.ts";
import { currentAdmin } from "@/app/_server/session.ts";
import { SignInForm } from "@/components/auth/sign-in-form";
import { Alert } from "@/components/ui/alert";
import { signInAction } from "./actions.ts";

export const metadata: Metadata = { title: "Sign in" };
export const dynamic = "force-dynamic";

export default async function LoginPage({ searchParams }: { searchParams: Promise<Record<string, string | string[] | undefined>> }) {
  if ((await adminCount()) === 0) redirect("/setup");
  const sp = await searchParams;
  const next = typeof sp.next === "string" && sp.next.startsWith("/") && !sp.next.startsWith("//") ? sp.next : "/";
  if (await currentAdmin()) redirect(next);
  return (
    <div className="mx-auto max-w-sm">
      <h1 className="mb-2 text-2xl font-bold">Sign in</h1>
      <p className="mb-6 text-sm text-slate-600">Administrators of this Portcullis instance sign in here.</p>
      {sp.signedOut ? (
        <div className="mb-4">
          <Alert tone="info">You have signed out.</Alert>
        </div>
      ) : null}
      <div className="rounded-xl border border-slate-200 bg-white p-6 shadow-sm">
        <SignInForm action={signInAction} next={next} />
      </div>
    </div>
  );
}
