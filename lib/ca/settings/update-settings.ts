/**
 * The CA server's settings that stay editable after configuration: the validity of issued
 * certificates, the SMTP server and the administrator's e-mail. The field rules are the
 * configure form's; the SMTP password is write-only (sealed at rest, never answered back):
 * left empty it is kept, `clearPassword` removes it.
 */
import { getDb } from "../../db/index.ts";
import { AppError, type FieldErrors } from "../../errors/app-error.ts";
import { open, seal } from "../../crypto/secret-box.ts";
import { appendAudit, recordAudit } from "../../audit/audit-log.ts";
import { describeSendError, updateQueuedTransport } from "../../mail/outbox.ts";
import { createTransport, defaultFrom, type SmtpSettings } from "../../mail/transport.ts";
import { smtpTestEmail } from "../../mail/templates/test-message.ts";
import { issuedValidityLimit, issuedValidityTooLong, SMTP_PASSWORD_CONTEXT, validateServerSettings, type SmtpInput } from "../configure-server.ts";
import { requireCaServer, type CaServerRow } from "../server-context.ts";
import { bool, str } from "../validation.ts";

export interface CaSettingsInput {
  issuedValidityDays?: unknown;
  /** Fields left out keep their value; `password` empty or left out keeps the stored one. */
  smtp?: SmtpInput & { clearPassword?: unknown };
  adminEmail?: unknown;
}

export interface CaSettingsView {
  issuedValidityDays: number;
  /** The longest validity the CA certificate's remaining life allows today. */
  issuedValidityMaxDays: number;
  smtp: { host: string | null; port: number | null; secure: boolean; username: string | null; passwordSet: boolean; from: string | null };
  adminEmail: string;
}

export interface UpdateCaSettingsResult {
  settings: CaSettingsView;
  /** The fields that changed ("smtp.password" when it was replaced or removed); empty when nothing did. */
  changed: string[];
  /** Queued e-mails whose SMTP settings were replaced by the new ones. */
  requeuedMails: number;
}

export interface TestMailResult {
  status: "sent" | "failed";
  to: string;
  /** What the SMTP server answered, in one line (the password withheld). */
  message: string;
}


interface ResolvedSettings {
  issuedValidityDays: number;
  smtp: SmtpSettings | null;
  adminEmail: string;
  /** What happened to the stored SMTP password. */
  password: "kept" | "replaced" | "removed" | "none";
}

function viewOf(c: Pick<CaServerRow, "issuedValidityDays" | "smtpHost" | "smtpPort" | "smtpSecure" | "smtpUsername" | "smtpPasswordEnc" | "smtpFrom" | "adminEmail" | "notAfter">, now: Date): CaSettingsView {
  return {
    issuedValidityDays: c.issuedValidityDays,
    issuedValidityMaxDays: issuedValidityLimit(c.notAfter, now).maxDays,
    smtp: { host: c.smtpHost, port: c.smtpPort, secure: c.smtpSecure, username: c.smtpUsername, passwordSet: c.smtpPasswordEnc !== null, from: c.smtpFrom },
    adminEmail: c.adminEmail,
  };
}

/** The stored SMTP password, or null when there is none or it cannot be opened with the secret in force. */
function storedPassword(c: CaServerRow): string | null {
  if (!c.smtpPasswordEnc) return null;
  try {
    return open(c.smtpPasswordEnc, SMTP_PASSWORD_CONTEXT);
  } catch {
    return null;
  }
}

/** The input over the stored settings, checked with the configure form's rules. */
function resolve(c: CaServerRow, input: CaSettingsInput, now: Date): ResolvedSettings {
  if (input.smtp !== undefined && input.smtp !== null && (typeof input.smtp !== "object" || Array.isArray(input.smtp))) {
    throw new AppError("validation_failed", "smtp must be an object", { field: "smtp" });
  }
  const smtpIn = input.smtp ?? {};
  const newPassword = str(smtpIn.password);
  const clear = bool(smtpIn.clearPassword);
  const errors: FieldErrors = {};
  const common = validateServerSettings(
    {
      issuedValidityDays: input.issuedValidityDays ?? c.issuedValidityDays,
      adminEmail: input.adminEmail ?? c.adminEmail,
      smtp: {
        host: smtpIn.host ?? c.smtpHost ?? "",
        port: smtpIn.port ?? c.smtpPort ?? "",
        secure: smtpIn.secure ?? c.smtpSecure,
        username: smtpIn.username ?? c.smtpUsername ?? "",
        from: smtpIn.from ?? c.smtpFrom ?? "",
        password: newPassword,
        passwordConfirm: newPassword ? smtpIn.passwordConfirm : undefined,
      },
    },
    errors,
  );
  if (newPassword && clear) errors["smtp.password"] = "Enter a new SMTP password or remove the stored one, not both";
  if (common.issuedValidityDays !== undefined && !errors.issuedValidityDays) {
    const limit = issuedValidityLimit(c.notAfter, now);
    if (common.issuedValidityDays > limit.maxDays) errors.issuedValidityDays = issuedValidityTooLong(limit.caDaysLeft, limit.maxDays);
  }
  const smtp = common.smtp.settings;
  let password: ResolvedSettings["password"] = "none";
  if (smtp) {
    const kept = newPassword || clear ? null : storedPassword(c);
    if (newPassword) password = "replaced";
    else if (kept !== null) {
      password = "kept";
      smtp.password = kept;
      if (!smtp.username) errors["smtp.username"] = "Enter the user name that goes with the stored SMTP password, or remove the password";
    } else if (c.smtpPasswordEnc) password = "removed";
  } else if (c.smtpPasswordEnc) password = "removed";
  if (Object.keys(errors).length) throw AppError.validation(errors);
  return { issuedValidityDays: common.issuedValidityDays!, smtp, adminEmail: common.adminEmail, password };
}

/** The editable settings as the settings page and `GET` show them; null when the CA server is not configured. */
export async function findCaSettings(opts: { now?: Date } = {}): Promise<CaSettingsView | null> {
  const db = await getDb();
  const c = await db.caServer.findUnique({
    where: { id: 1 },
    select: { issuedValidityDays: true, smtpHost: true, smtpPort: true, smtpSecure: true, smtpUsername: true, smtpPasswordEnc: true, smtpFrom: true, adminEmail: true, notAfter: true },
  });
  return c ? viewOf(c, opts.now ?? new Date()) : null;
}

/**
 * Saves the settings in one transaction with their audit entry; queued e-mails take the new
 * SMTP settings and are due at once, so a corrected server or password also delivers what
 * is waiting.
 * Bad input changes nothing and names each field's problem.
 */
export async function updateCaSettings(input: CaSettingsInput, opts: { actor?: string; now?: Date } = {}): Promise<UpdateCaSettingsResult> {
  const now = opts.now ?? new Date();
  const db = await getDb();
  return db.$transaction(async (tx) => {
    const c = await requireCaServer(tx);
    const s = resolve(c, input, now);
    const data = {
      issuedValidityDays: s.issuedValidityDays,
      smtpHost: s.smtp?.host ?? null,
      smtpPort: s.smtp?.port ?? null,
      smtpSecure: s.smtp?.secure ?? false,
      smtpUsername: s.smtp?.username ?? null,
      smtpFrom: s.smtp?.from ?? null,
      adminEmail: s.adminEmail,
    };
    const labels: Record<keyof typeof data, string> = {
      issuedValidityDays: "issuedValidityDays",
      smtpHost: "smtp.host",
      smtpPort: "smtp.port",
      smtpSecure: "smtp.secure",
      smtpUsername: "smtp.username",
      smtpFrom: "smtp.from",
      adminEmail: "adminEmail",
    };
    const changed = (Object.keys(data) as (keyof typeof data)[]).filter((k) => data[k] !== c[k]).map((k) => labels[k]);
    const passwordChanged = s.password === "replaced" || s.password === "removed";
    if (passwordChanged) changed.push("smtp.password");
    if (!changed.length) return { settings: viewOf(c, now), changed, requeuedMails: 0 };

    const smtpPasswordEnc = s.password === "replaced" ? seal(s.smtp!.password!, SMTP_PASSWORD_CONTEXT) : s.password === "kept" ? c.smtpPasswordEnc : null;
    const row = await tx.caServer.update({ where: { id: 1 }, data: { ...data, smtpPasswordEnc } });
    const smtpChanged = changed.some((k) => k.startsWith("smtp."));
    let requeuedMails = 0;
    if (smtpChanged && s.smtp) {
      requeuedMails = await updateQueuedTransport(tx, s.smtp);
      // Waiting mail goes out at the worker's next round, not after its backoff from the old settings' failures.
      await tx.outboxMessage.updateMany({ where: { status: "pending", nextAttemptAt: { gt: now } }, data: { nextAttemptAt: now } });
    }
    await appendAudit(tx, {
      action: "ca.settings",
      actor: opts.actor ?? "system",
      target: "ca",
      details: {
        changed,
        issuedValidityDays: data.issuedValidityDays,
        smtp: s.smtp ? { host: s.smtp.host, port: s.smtp.port, secure: s.smtp.secure, username: s.smtp.username ?? null, from: s.smtp.from ?? null, password: s.password } : null,
        adminEmail: data.adminEmail,
        requeuedMails,
      },
      at: now,
    });
    return { settings: viewOf(row, now), changed, requeuedMails };
  });
}

/**
 * Sends the SMTP test message to the administrator's e-mail with the settings given (over
 * the stored ones, as {@link updateCaSettings} would save them), without saving anything
 * but the audit entry. The SMTP server's answer is the result, never an exception.
 */
export async function sendCaSettingsTestMail(input: CaSettingsInput, opts: { actor?: string; now?: Date } = {}): Promise<TestMailResult> {
  const now = opts.now ?? new Date();
  const db = await getDb();
  const s = resolve(await requireCaServer(db), input, now);
  if (!s.smtp) throw new AppError("validation_failed", "Enter the SMTP server to send a test mail through", { field: "smtp.host" });
  const smtp = s.smtp;
  const mail = smtpTestEmail({ to: s.adminEmail });
  const transport = createTransport(smtp);
  let result: TestMailResult;
  try {
    const info = await transport.sendMail({ from: defaultFrom(smtp), to: s.adminEmail, subject: mail.subject, text: mail.text, html: mail.html });
    result = { status: "sent", to: s.adminEmail, message: `Test mail sent to ${s.adminEmail} through ${smtp.host}:${smtp.port}${info.response ? ` (${String(info.response).replace(/\s+/g, " ").slice(0, 200)})` : ""}` };
  } catch (e) {
    result = { status: "failed", to: s.adminEmail, message: describeSendError(e, smtp) };
  } finally {
    transport.close();
  }
  await recordAudit({ action: "ca.settings.test-mail", actor: opts.actor ?? "system", target: "ca", details: { to: s.adminEmail, host: smtp.host, port: smtp.port, status: result.status, message: result.message }, at: now });
  return result;
}
