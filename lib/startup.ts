/** What a Portcullis process does once at start, before it serves requests. */
import "./pki/setup.ts";
import { getDb, databaseProvider } from "./db/index.ts";
import { ensureAdminFromEnv, adminCount } from "./auth/admins.ts";
import { startOutboxWorker } from "./mail/outbox.ts";
import { serverSecret } from "./crypto/secret-box.ts";
import { env } from "./env.ts";
import { ensureDefaultMessagingCertificate } from "./iot/messaging-certificates.ts";
import { startIotCrlRefresh } from "./iot/ca-certificates.ts";
import { mirrorSrlAtStart } from "./ca/issue-request.ts";
import { startCrlReminders } from "./ca/crl-reminders.ts";
import { startExpiryWarnings } from "./ca/expiry-warnings.ts";
import { pkiWorkerStatus, warmPkiWorkers } from "./pki/worker/pool.ts";

export async function startServer(): Promise<void> {
  const e = env();
  await getDb();
  serverSecret();
  const admin = await ensureAdminFromEnv();
  if (admin === "created") console.log(`Portcullis: administrator "${e.PORTCULLIS_ADMIN_USER}" created from the environment`);
  if ((await adminCount()) === 0) console.log("Portcullis: no administrator yet; open /setup to create one");
  await ensureDefaultMessagingCertificate();
  await mirrorSrlAtStart();
  startOutboxWorker();
  startCrlReminders();
  startExpiryWarnings();
  startIotCrlRefresh();
  // The PKI worker threads load and compile their code now, not during the first fleet.
  void warmPkiWorkers();
  console.log(`Portcullis: data directory ${e.dataDir}, database ${databaseProvider()}, ${pkiWorkerStatus()}`);
}
