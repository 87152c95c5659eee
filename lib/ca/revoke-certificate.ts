/**
 * Revoking an issued certificate, as an administrator does with the CA key's password:
 * the certificate is marked revoked and the new CRL that lists it is signed and stored
 * in the same transaction, so no revocation ever exists without a CRL naming it.
 */
import { getDb } from "../db/index.ts";
import { AppError, type FieldErrors } from "../errors/app-error.ts";
import { isRevocationReason, REVOCATION_REASONS, type RevocationReason } from "../pki/crl.ts";
import { crlDer, CrlNumberConflict, signCrlInTransaction } from "./crl-signing.ts";
import { ensureOcspSigner } from "./ocsp-responder.ts";
import { requireCaServer, unlockCa } from "./server-context.ts";
import { appendAudit } from "../audit/audit-log.ts";
import { str } from "./validation.ts";

export interface RevokeInput {
  reason?: unknown;
  caKeyPassword?: unknown;
}

export interface RevokeResult {
  number: number;
  revokedAt: string;
  reason: RevocationReason;
}

function validate(input: RevokeInput): { reason: RevocationReason; password: string } {
  const errors: FieldErrors = {};
  if (!isRevocationReason(input.reason)) errors.reason = `Choose the reason as RFC 5280 names it: ${REVOCATION_REASONS.join(", ")}`;
  const password = str(input.caKeyPassword);
  if (!password) errors.caKeyPassword = "Enter the password of the CA private key";
  if (Object.keys(errors).length) throw AppError.validation(errors);
  return { reason: input.reason as RevocationReason, password };
}

export async function revokeCertificate(number: number, input: RevokeInput, opts: { actor: string; now?: Date }): Promise<RevokeResult> {
  const v = validate(input);
  if (!Number.isSafeInteger(number) || number < 1) throw new AppError("not_found", `No certificate number ${String(number)}`);
  const db = await getDb();
  const ca = await requireCaServer(db);
  const existing = await db.certificate.findUnique({ where: { number }, select: { status: true } });
  if (!existing) throw new AppError("not_found", `No certificate number ${number}`);
  if (existing.status !== "valid") throw new AppError("conflict", `Certificate number ${number} is already ${existing.status}; nothing was changed`);
  // Wrong password: nothing has been written yet.
  const unlocked = await unlockCa(ca, v.password);
  // The password is typed: the moment to (re)issue the OCSP responder's certificate when due.
  await ensureOcspSigner(unlocked);
  // Whole seconds, as the CRL encodes them.
  const now = new Date(Math.floor((opts.now ?? new Date()).getTime() / 1000) * 1000);

  // A CRL signed by someone else meanwhile (a re-sign, another revocation) took the number
  // this transaction read: it rolled back whole, and the next attempt lists both.
  for (let attempt = 1; ; attempt++) {
    try {
      await db.$transaction(async (tx) => {
        // Locks in the order issuance and CRL signing take them, the CA row before the audit
        // head: the other order deadlocks against a concurrent re-sign on PostgreSQL.
        await tx.caServer.update({ where: { id: 1 }, data: { crlNumber: { increment: 0 } } });
        const marked = await tx.certificate.updateMany({
          where: { number, status: "valid" },
          data: { status: "revoked", revokedAt: now, revocationReason: v.reason, revokedBy: opts.actor },
        });
        if (marked.count !== 1) throw new AppError("conflict", `Certificate number ${number} was revoked meanwhile; nothing was changed`);
        await appendAudit(tx, { action: "certificate.revoke", actor: opts.actor, target: `certificate:${number}`, details: { reason: v.reason }, at: now });
        // A retry's CRL must not claim to be older than the one that took its number.
        await signCrlInTransaction(tx, unlocked.privateKey, attempt === 1 ? now : new Date(Math.max(now.getTime(), Date.now())), opts.actor);
      });
      break;
    } catch (e) {
      if (!(e instanceof CrlNumberConflict) || attempt >= 5) throw e;
    }
  }

  return { number, revokedAt: now.toISOString(), reason: v.reason };
}

export interface CurrentCrl {
  der: Buffer;
  pem: string;
  fileNameRoot: string;
}

/** The last CRL signed, as stored. */
export async function currentCrl(): Promise<CurrentCrl> {
  const db = await getDb();
  const ca = await requireCaServer(db);
  if (!ca.crlPem) {
    throw new AppError("not_found", "No CRL has been signed yet: it is signed when an administrator next types the CA key password");
  }
  return { der: crlDer(ca.crlPem), pem: ca.crlPem, fileNameRoot: ca.fileNameRoot };
}
