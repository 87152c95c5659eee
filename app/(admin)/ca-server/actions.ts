"use server";
import { headers } from "next/headers";
import { redirect } from "next/navigation";
import { revalidatePath } from "next/cache";
import { inspectCaServerLocation, configureCaServer, type ConfigureCaInput, type LocationInspection } from "@/lib/ca/configure-server.ts";
import { reinitializeCaServer } from "@/lib/ca/reinitialize-server.ts";
import { requireAdminAction, requireAdminFormAction } from "@/app/_server/session.ts";
import { echoValues, formSubject, formText, toFormState, type FormState } from "@/app/_server/action-state.ts";
import { env } from "@/lib/env.ts";

export interface WizardData {
  step: "location" | "details";
  inspection?: LocationInspection;
}
export type WizardState = FormState<WizardData>;

const SECRETS = ["keyPassword", "keyPasswordConfirm", "smtp.password", "smtp.passwordConfirm"];

function formToInput(fd: FormData): ConfigureCaInput {
  const s = (k: string) => formText(fd, k);
  return {
    fileNameRoot: s("fileNameRoot"),
    directory: s("directory"),
    keyPassword: s("keyPassword"),
    keyPasswordConfirm: s("keyPasswordConfirm"),
    subject: formSubject(fd),
    keyAlgorithm: s("keyAlgorithm"),
    caValidityDays: s("caValidityDays"),
    issuedValidityDays: s("issuedValidityDays"),
    smtp: { host: s("smtp.host"), port: s("smtp.port"), secure: fd.get("smtp.secure") === "on", username: s("smtp.username"), from: s("smtp.from"), password: s("smtp.password"), passwordConfirm: s("smtp.passwordConfirm") },
    adminEmail: s("adminEmail"),
    chainPem: s("chainPem"),
  };
}

async function portalUrl(): Promise<string | undefined> {
  if (env().PORTCULLIS_PUBLIC_URL) return env().PORTCULLIS_PUBLIC_URL;
  const h = await headers();
  const host = h.get("host");
  return host ? `${h.get("x-forwarded-proto") ?? "http"}://${host}` : undefined;
}

export async function caServerWizardAction(prev: WizardState, fd: FormData): Promise<WizardState> {
  const values = echoValues(fd, SECRETS);
  const intent = fd.get("intent");
  try {
    const admin = await requireAdminAction();
    if (intent === "back") return { data: { step: "location" }, values };
    if (intent === "next") {
      const inspection = await inspectCaServerLocation({ fileNameRoot: fd.get("fileNameRoot"), directory: fd.get("directory") });
      return { data: { step: "details", inspection }, values };
    }
    await configureCaServer(formToInput(fd), { actor: admin.username, portalUrl: await portalUrl() });
  } catch (e) {
    const state = toFormState<WizardData>(e, values);
    const step = intent === "next" ? "location" : "details";
    // A location problem found at Save sends the administrator back to step 1.
    const locationProblem = state.fields && ("fileNameRoot" in state.fields || "directory" in state.fields) && Object.keys(state.fields).every((k) => k === "fileNameRoot" || k === "directory");
    if (locationProblem && step === "details") {
      return { ...state, message: state.fields?.fileNameRoot ?? state.fields?.directory, data: { step: "details", inspection: prev.data?.inspection } };
    }
    return { ...state, data: { step, inspection: prev.data?.inspection } };
  }
  // The result page reads the message from the configuration, so it survives a reload;
  // the whole layout is refreshed because the header counts mails waiting in the outbox.
  revalidatePath("/", "layout");
  redirect("/ca-server?configured=1");
}

export async function reinitializeAction(): Promise<void> {
  const admin = await requireAdminFormAction("/ca-server");
  await reinitializeCaServer({ actor: admin.username });
  revalidatePath("/", "layout");
  redirect("/ca-server?reinitialized=1");
}
