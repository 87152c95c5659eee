import type { Metadata } from "next";
import { redirect } from "next/navigation";
import { adminCount } from "@/lib/auth/admins.ts";
import { SetupForm } from "@/components/auth/sign-in-form";
import { setupAction } from "@/app/login/actions.ts";

export const metadata: Metadata = { title: "Set up" };
export const dynamic = "force-dynamic";

export default async function SetupPage() {
  if ((await adminCount()) > 0) redirect("/login");
  return (
    <div className="mx-auto max-w-md">
      <h1 className="mb-2 text-2xl font-bold">Welcome to Portcullis</h1>
      <p className="mb-6 text-sm text-slate-600">
        No administrator exists yet. Create the first one: it can configure the Certificate Authority server and issue certificates. This page is available only until an administrator exists.
      </p>
      <div className="rounded-xl border border-slate-200 bg-white p-6 shadow-sm">
        <SetupForm action={setupAction} />
      </div>
    </div>
  );
}
