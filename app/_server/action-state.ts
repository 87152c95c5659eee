import { isAppError } from "@/lib/errors/app-error.ts";
import { databaseUnavailable } from "@/lib/errors/database-errors.ts";
import { SUBJECT_FIELDS, type SubjectInput } from "@/lib/pki/names.ts";

/** What a form's server action returns: field messages, a form-level message, or success. */
export interface FormState<T = unknown> {
  ok?: boolean;
  message?: string;
  fields?: Record<string, string>;
  values?: Record<string, string>;
  data?: T;
}

/**
 * Turns a thrown error into form state; unknown errors are logged and hidden. With
 * `shownFields` (names, or prefixes ending in "."), messages for fields the form does
 * not show become the form-level message instead of disappearing.
 */
export function toFormState<T>(caught: unknown, values?: Record<string, string>, shownFields?: readonly string[]): FormState<T> {
  const e = databaseUnavailable(caught) ?? caught;
  if (!isAppError(e)) {
    console.error("Unhandled error in server action:", e instanceof Error ? e.stack : e);
    return { ok: false, message: "Something went wrong on the server. Nothing was changed.", values };
  }
  const all = e.fields && Object.keys(e.fields).length ? e.fields : undefined;
  if (!all || !shownFields) return { ok: false, message: all ? undefined : e.message, fields: all, values };
  const shown = (k: string) => shownFields.some((s) => (s.endsWith(".") ? k.startsWith(s) : k === s));
  const fields = Object.fromEntries(Object.entries(all).filter(([k]) => shown(k)));
  const others = Object.entries(all).filter(([k]) => !shown(k)).map(([, m]) => m);
  return { ok: false, message: others.length ? others.join(" ") : undefined, fields: Object.keys(fields).length ? fields : undefined, values };
}

/** Form values to echo back after an error, without any secret. */
export function echoValues(fd: FormData, secretFields: string[]): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of fd.entries()) {
    if (typeof v === "string" && !secretFields.includes(k) && !k.startsWith("$ACTION")) out[k] = v;
  }
  return out;
}

/** A text field of the submitted form; undefined when it is missing (or a file). */
export function formText(fd: FormData, name: string): string | undefined {
  const v = fd.get(name);
  return typeof v === "string" ? v : undefined;
}

/** The Subject DN of a form whose fields are named subject.C, subject.ST, … subject.CN. */
export function formSubject(fd: FormData): SubjectInput {
  return Object.fromEntries(SUBJECT_FIELDS.map(({ key }) => [key, formText(fd, `subject.${key}`)]));
}
