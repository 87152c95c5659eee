/**
 * Revoking an issued certificate, as an administrator does with the CA key's password:
 * the certificate is marked revoked and the new CRL that lists it is signed and stored
 * in the same transaction, so no revocation ever exists without a CRL naming it.
 */
import { getDb } from "../db/index.ts";
import { AppError, type FieldErrors } from "../errors/app-error.ts";
import { createCrl, isRevocationReason, REVOCATION_REASONS, type RevocationReason } from "../pki/crl.ts";
import { pemToDer } from "../pki/pem.ts";
import { ensureOcspSigner } from "./ocsp-responder.ts";
import { requireCaServer, unlockCa } from "./server-context.ts";
import { str } from "./validation.ts";

const DAY_MS = 24 * 60 * 60 * 1000;
/** nextUpdate is never further than this from thisUpdate. */
export const MAX_CRL_NEXT_UPDATE_DAYS = 10;

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

function nextUpdateDays(configured: number): number {
  if (!Number.isInteger(configured) || configured < 1) return 1;
  return Math.min(configured, MAX_CRL_NEXT_UPDATE_DAYS);
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

  await db.$transaction(async (tx) => {
    const marked = await tx.certificate.updateMany({
      where: { number, status: "valid" },
      data: { status: "revoked", revokedAt: now, revocationReason: v.reason, revokedBy: opts.actor },
    });
    if (marked.count !== 1) throw new AppError("conflict", `Certificate number ${number} was revoked meanwhile; nothing was changed`);
    const server = await requireCaServer(tx);
    const crlNumber = server.crlNumber + 1;
    const bumped = await tx.caServer.updateMany({ where: { id: 1, crlNumber: server.crlNumber }, data: { crlNumber } });
    if (bumped.count !== 1) throw new AppError("conflict", "Another CRL was signed at the same moment; try again");
    const revoked = await tx.certificate.findMany({
      where: { status: "revoked" },
      select: { serial: true, revokedAt: true, revocationReason: true, issuedAt: true },
      orderBy: { number: "asc" },
    });
    const nextUpdate = new Date(now.getTime() + nextUpdateDays(server.crlNextUpdateDays) * DAY_MS);
    const crl = await createCrl({
      ca: unlocked,
      crlNumber,
      thisUpdate: now,
      nextUpdate,
      revoked: revoked.map((r) => ({
        serialHex: r.serial,
        revokedAt: r.revokedAt ?? r.issuedAt,
        reason: isRevocationReason(r.revocationReason) ? r.revocationReason : "unspecified",
      })),
    });
    await tx.caServer.update({ where: { id: 1 }, data: { crlPem: crl.pem, crlThisUpdate: now, crlNextUpdate: nextUpdate } });
  });

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
    throw new AppError("not_found", "No CRL has been signed yet: the CRL is created at the first revocation");
  }
  return { der: pemToDer(ca.crlPem, "X509 CRL"), pem: ca.crlPem, fileNameRoot: ca.fileNameRoot };
}
