/**
 * What a backup holds of the database: every model, in an order where a row's parents
 * come before it (Admin before Session and ApiToken), so inserting in this order and
 * deleting in the reverse order never trips a foreign key. A model added to the schema
 * and not listed here fails the type check below and the test beside this file.
 */
import type { Prisma } from "../db/generated/sqlite/client.ts";
import type { Db } from "../db/index.ts";

export const BACKUP_MODELS = [
  "Admin",
  "Session",
  "ApiToken",
  "LoginThrottle",
  "RateWindow",
  "CaServer",
  "OutboxMessage",
  "CertificateRequest",
  "Certificate",
  "CaClient",
  "ClientRequest",
  "IotCaCertificate",
  "MessagingCertificate",
  "JobLease",
  "ExpiryWarning",
  "AuditEntry",
  "AuditHead",
] as const satisfies readonly Prisma.ModelName[];

export type BackupModel = (typeof BACKUP_MODELS)[number];

// A compile-time error here names a model of the schema that backups would miss.
type Forgotten = Exclude<Prisma.ModelName, BackupModel>;
const everyModelListed: [Forgotten] extends [never] ? true : Forgotten = true;
void everyModelListed;

/** Tables whose rows do not make a database "in use": bookkeeping a first start or a visit writes. */
export const BOOKKEEPING_MODELS: readonly BackupModel[] = ["Session", "LoginThrottle", "RateWindow", "JobLease"];

/**
 * Columns holding values sealed with the server secret (lib/crypto/secret-box.ts), and what
 * they are; `matters` tells the rows whose value is still needed.
 */
export const SEALED_COLUMNS: readonly { model: BackupModel; field: string; what: string; matters?: (row: Record<string, unknown>) => boolean }[] = [
  { model: "CaServer", field: "smtpPasswordEnc", what: "the CA server's SMTP password" },
  { model: "CaServer", field: "ocspKeyEnc", what: "the OCSP responder's private key" },
  { model: "OutboxMessage", field: "transportEnc", what: "the SMTP settings of queued e-mails", matters: (r) => r.status !== "sent" },
  { model: "MessagingCertificate", field: "privateKeyEnc", what: "messaging server private keys" },
];

/** Columns holding absolute paths of files the backup carries: moved with the data directory on restore. */
export const PATH_COLUMNS: readonly { model: BackupModel; field: string }[] = [
  { model: "CaServer", field: "directory" },
  { model: "ClientRequest", field: "keyFile" },
  { model: "ClientRequest", field: "csrFile" },
  { model: "CaClient", field: "caFile" },
];

/** The generic part of a Prisma model delegate that backups use. */
export interface ModelDelegate {
  findMany(args?: object): Promise<Record<string, unknown>[]>;
  count(args?: object): Promise<number>;
  deleteMany(args?: object): Promise<{ count: number }>;
  createMany(args: { data: Record<string, unknown>[] }): Promise<{ count: number }>;
}

/** The delegate of `model` on a client or transaction client (`Admin` → `db.admin`). */
export function delegateOf(db: Pick<Db, never>, model: BackupModel): ModelDelegate {
  const name = model[0].toLowerCase() + model.slice(1);
  const d = (db as unknown as Record<string, ModelDelegate | undefined>)[name];
  if (!d) throw new Error(`The database client has no model ${model}`);
  return d;
}
