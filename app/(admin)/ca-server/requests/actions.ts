"use server";
import { headers } from "next/headers";
import { redirect } from "next/navigation";
import { revalidatePath } from "next/cache";
import { requireAdminAction } from "@/app/_server/session.ts";
import { echoValues, formText, toFormState, type FormState } from "@/app/_server/action-state.ts";
import { issueRequest, type IssueInput } from "@/lib/ca/issue-request.ts";
import { startBulkIssue, type BulkIssueResult } from "@/lib/ca/bulk-issue.ts";
import { deleteRequest, getRequest, type RequestStatus } from "@/lib/ca/requests.ts";
import { isAppError } from "@/lib/errors/app-error.ts";
import { env } from "@/lib/env.ts";

export interface IssueData {
  /** The request's state when it could not be issued because it is no longer pending. */
  current?: { status: RequestStatus; certificateNumber?: number };
}
export type IssueState = FormState<IssueData>;

/** Fields the issue form shows messages next to; any other field's message is shown for the whole form. */
const FORM_FIELDS = ["usage", "fingerprintVerified", "verificationChannel", "verificationNote", "caKeyPassword"];

/** What the issue form and the bulk form send: usage, password and the verification record. */
function issueInputFrom(fd: FormData): IssueInput {
  return {
    usage: formText(fd, "usage"),
    caKeyPassword: formText(fd, "caKeyPassword") ?? "",
    fingerprintVerified: fd.get("fingerprintVerified") === "on",
    verificationChannel: formText(fd, "verificationChannel"),
    verificationNote: formText(fd, "verificationNote"),
  };
}

async function portalUrl(): Promise<string | undefined> {
  if (env().PORTCULLIS_PUBLIC_URL) return env().PORTCULLIS_PUBLIC_URL;
  const h = await headers();
  const host = h.get("host");
  return host ? `${h.get("x-forwarded-proto") ?? "http"}://${host}` : undefined;
}

/** Finish: issue the certificate for request `id` (bound by the page). */
export async function issueRequestAction(id: string, _prev: IssueState, fd: FormData): Promise<IssueState> {
  const values = echoValues(fd, ["caKeyPassword"]);
  let destination: string;
  try {
    const admin = await requireAdminAction();
    const r = await issueRequest(id, issueInputFrom(fd), { actor: admin.username, portalUrl: await portalUrl() });
    destination = `/ca-server/requests/${encodeURIComponent(id)}?issued=${r.number}&mail=${r.emailSentTo ? "sent" : "not-sent"}`;
  } catch (e) {
    // Messages for fields this form does not have (the CSR itself, the CA's validity setting) go on top.
    const state = toFormState<IssueData>(e, values, FORM_FIELDS);
    if (isAppError(e) && e.code === "conflict") {
      const current = await getRequest(id).catch(() => null);
      if (current) state.data = { current: { status: current.status, certificateNumber: current.certificateNumber } };
    } else if (isAppError(e) && e.code === "not_found") {
      state.message = "This Certificate Signing Request no longer exists (the CA server may have been reinitialized).";
    }
    return state;
  }
  // The layout is refreshed too: the header counts mails waiting in the outbox.
  revalidatePath("/", "layout");
  redirect(destination);
}

/** Delete (reject) a pending request; back to the queue with a notice. */
export async function deleteRequestAction(fd: FormData): Promise<void> {
  const id = formText(fd, "id") ?? "";
  const from = formText(fd, "from") === "process" ? "process" : "queue";
  const cursor = formText(fd, "cursor");
  const queue = (extra: Record<string, string>) => {
    const q = new URLSearchParams(extra);
    if (cursor && /^[A-Za-z0-9_-]{1,200}$/.test(cursor)) q.set("cursor", cursor);
    return `/ca-server/requests?${q}`;
  };
  let destination: string;
  try {
    const admin = await requireAdminAction();
    await deleteRequest(id, admin.username);
    destination = queue({ deleted: id });
  } catch (e) {
    if (!isAppError(e)) throw e;
    if (e.code === "unauthorized") destination = `/login?next=${encodeURIComponent(from === "process" ? `/ca-server/requests/${id}` : "/ca-server/requests")}`;
    else if (e.code === "conflict") destination = from === "process" ? `/ca-server/requests/${encodeURIComponent(id)}?notDeleted=1` : queue({ notDeleted: id });
    else if (e.code === "not_found") destination = queue({});
    else throw e;
  }
  revalidatePath("/", "layout");
  redirect(destination);
}

export type BulkIssueState = FormState<BulkIssueResult>;

/**
 * Issues the requests named by the form's `id` entries with one CA key password (the page
 * sends a large selection in chunks, so it can show progress between them).
 */
export async function bulkIssueAction(_prev: BulkIssueState, fd: FormData): Promise<BulkIssueState> {
  try {
    const admin = await requireAdminAction();
    const ids = fd.getAll("id").filter((v): v is string => typeof v === "string");
    const result = await startBulkIssue({ ids, ...issueInputFrom(fd) }, { actor: admin.username, portalUrl: await portalUrl() });
    revalidatePath("/", "layout");
    return { ok: true, data: result };
  } catch (e) {
    return toFormState<BulkIssueResult>(e, echoValues(fd, ["caKeyPassword"]), FORM_FIELDS);
  }
}
