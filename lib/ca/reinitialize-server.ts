/**
 * Reinitialize the CA server: deletes its configuration (and, as more of the
 * lifecycle is stored, the issued-certificate records and pending requests).
 * The key, certificate and SRL files are never deleted, nor `<root>.crlnumber`, which
 * keeps the CRL numbers of this CA increasing when it is configured again.
 */
import { getDb } from "../db/index.ts";
import { AppError } from "../errors/app-error.ts";
import { serverFilePaths } from "./server-files.ts";
import { appendAudit } from "../audit/audit-log.ts";
import { dropHeldCaKey } from "./ca-key-holder.ts";
import { crlNumberFilePath, recordCrlNumber } from "./crl-signing.ts";

export interface ReinitializeResult {
  reinitialized: true;
  keptFiles: string[];
  message: string;
}

export async function reinitializeCaServer(opts: { actor?: string } = {}): Promise<ReinitializeResult> {
  const db = await getDb();
  // An unlocked CA key held in memory belongs to the configuration being deleted.
  dropHeldCaKey();
  return db.$transaction(async (tx) => {
    const c = await tx.caServer.findUnique({ where: { id: 1 }, select: { directory: true, fileNameRoot: true, subject: true, sha256Fingerprint: true, nextNumber: true, crlNumber: true } });
    if (!c) throw new AppError("not_configured", "The Certificate Authority server is not configured");
    // Normally up to date already (written with each CRL). Without it a configuration of the
    // same key would sign CRL numbers again that relying parties have seen: refuse instead.
    if (c.crlNumber > 0) {
      await recordCrlNumber(c.directory, c.fileNameRoot, c.crlNumber).catch((e: unknown) => {
        const file = crlNumberFilePath(c.directory, c.fileNameRoot);
        throw new AppError("directory_unwritable", `${file} cannot be written (${e instanceof AppError ? e.message : String(e)}): it must keep the last CRL number (${c.crlNumber}) so that this CA's CRL numbers go on increasing. Nothing was deleted; make the directory writable and reinitialize again.`, { cause: e });
      });
    }
    await tx.certificate.deleteMany();
    await tx.expiryWarning.deleteMany();
    await tx.certificateRequest.deleteMany();
    await tx.caServer.delete({ where: { id: 1 } });
    // After the CA row: issuance and CRL signing lock it before the audit head, and so must this.
    await appendAudit(tx, { action: "ca.reinitialize", actor: opts.actor ?? "system", target: "ca", details: { fileNameRoot: c.fileNameRoot, subject: c.subject, sha256: c.sha256Fingerprint, certificatesIssued: c.nextNumber - 1 } });
    const p = serverFilePaths(c.directory, c.fileNameRoot);
    return {
      reinitialized: true as const,
      keptFiles: [p.cer, p.key, p.srl],
      message: `Certificate Authority server configuration deleted. The files ${p.cer}, .key and .srl were kept (and .crlnumber, so its CRL numbers go on increasing).`,
    };
  });
}
