import type { Metadata } from "next";
import { requireAdminPage } from "@/app/_server/session.ts";
import { findCrlStatus, type CrlState } from "@/lib/ca/crl-signing.ts";
import { caUnlockStatus, KEEP_UNLOCKED_ENV } from "@/lib/ca/ca-key-holder.ts";
import { PageHeader, Card, DefinitionList } from "@/components/ui/card";
import { Breadcrumb, HOME_CRUMB } from "@/components/ui/breadcrumb";
import { Alert } from "@/components/ui/alert";
import { SubmitButton } from "@/components/ui/button";
import { ServerNotConfigured } from "@/components/ca-server/server-not-configured";
import { CaPasswordForm, CrlPeriodForm } from "@/components/crl/crl-forms";
import { lockCaAction, resignCrlAction, setCrlPeriodAction, unlockCaAction } from "./actions.ts";

export const metadata: Metadata = { title: "Certificate revocation list" };
export const dynamic = "force-dynamic";

const TITLE = "Certificate revocation list";
const breadcrumb = <Breadcrumb links={[HOME_CRUMB, { href: "/ca-server", label: "Certificate Authority Server" }]} current="CRL" />;

type SearchParams = Record<string, string | string[] | undefined>;

function utcSecond(iso: string): string {
  return iso.replace("T", " ").replace(/\.\d+Z$/, " UTC").replace(/Z$/, " UTC");
}

const STATE_BADGE: Record<CrlState, { label: string; className: string }> = {
  ok: { label: "Current", className: "bg-emerald-100 text-emerald-900" },
  soon: { label: "Expires soon", className: "bg-amber-100 text-amber-900" },
  expired: { label: "Expired", className: "bg-red-100 text-red-900" },
  missing: { label: "None", className: "bg-red-100 text-red-900" },
};

export default async function CrlPage({ searchParams }: { searchParams: Promise<SearchParams> }) {
  await requireAdminPage("/ca-server/crl");
  const sp = await searchParams;
  const status = await findCrlStatus();
  if (!status) {
    return (
      <div>
        <PageHeader title={TITLE} breadcrumb={breadcrumb} />
        <ServerNotConfigured reason="The CRL is signed by the CA once it is." />
      </div>
    );
  }
  const lock = caUnlockStatus();
  const crl = status.current;
  const link = "font-medium text-brand-700 underline";
  const files = { der: `/crl/${encodeURIComponent(status.fileNameRoot)}.crl`, pem: `/crl/${encodeURIComponent(status.fileNameRoot)}.pem` };
  const badge = STATE_BADGE[crl?.state ?? "missing"];

  return (
    <div className="space-y-6">
      <PageHeader
        title={TITLE}
        breadcrumb={breadcrumb}
        description={`The CA's signed list of revoked certificates, published at ${files.der} (the distribution point in every certificate it issues). Relying parties that check revocation refuse all of this CA's certificates once the CRL's nextUpdate has passed: re-sign it before then. You are reminded on every page and by e-mail ${status.reminderHours} hours before.`}
      />
      {typeof sp.signed === "string" ? (
        <Alert tone="success" title={<span data-testid="crl-signed-message">{`CRL number ${sp.signed.replace(/\D/g, "").slice(0, 12)} signed.`}</span>}>
          The new CRL is published now.
        </Alert>
      ) : null}
      {sp.period ? <Alert tone="success" title="Saved. The CRLs signed from now on use the new period." /> : null}
      {sp.unlocked && lock.unlocked ? <Alert tone="success" title="The CA key is unlocked for scheduled CRL signing until this server restarts or you lock it." /> : null}
      {sp.locked ? <Alert tone="info" title="Locked: this server no longer holds the CA key." /> : null}

      <Card title="Current CRL">
        {crl ? (
          <DefinitionList
            items={[
              { term: "CRL number", value: <span data-testid="crl-number">{crl.crlNumber}</span> },
              { term: "This update", value: <span data-testid="crl-this-update">{utcSecond(crl.thisUpdate)}</span> },
              {
                term: "Next update",
                value: (
                  <span className="space-x-2">
                    <span data-testid="crl-next-update">{utcSecond(crl.nextUpdate)}</span>
                    <span data-testid="crl-state" className={`rounded-full px-2 py-0.5 text-xs font-semibold ${badge.className}`}>
                      {badge.label}
                    </span>
                  </span>
                ),
              },
              { term: "Revoked certificates listed", value: <span data-testid="crl-entries">{crl.entries}</span> },
              {
                term: "Download",
                value: (
                  <span className="space-x-3">
                    <a className={link} href={files.der} data-testid="crl-der-link">
                      {status.fileNameRoot}.crl (DER)
                    </a>
                    <a className={link} href={files.pem} data-testid="crl-pem-link">
                      {status.fileNameRoot}.pem (PEM)
                    </a>
                  </span>
                ),
              },
            ]}
          />
        ) : (
          <Alert tone="error" title="No CRL has been signed yet.">
            The distribution point named in issued certificates answers 404 until one is: re-sign it below.
          </Alert>
        )}
      </Card>

      <Card title="Re-sign CRL" description="Signs a new CRL now, listing every revoked certificate, with the next CRL number and a new nextUpdate. The password is used for this signature only and never stored.">
        <CaPasswordForm action={resignCrlAction} submitLabel="Re-sign CRL" pendingLabel="Signing…" hint="The password of the CA private key, as at issuance." failedTitle="The CRL was not signed" testId="resign-form" />
      </Card>

      <Card title="Next update period">
        <p className="mb-3 text-sm text-slate-700">
          Each CRL is valid for <span data-testid="crl-period">{status.nextUpdateDays}</span> days after it is signed (at most 10).
        </p>
        <CrlPeriodForm action={setCrlPeriodAction} current={status.nextUpdateDays} />
      </Card>

      <Card title="Keep the CA key unlocked for scheduled CRL signing">
        <div className="space-y-3 text-sm text-slate-700">
          <p>
            Optional, as other CAs &quot;activate&quot; their key: you type the CA key&apos;s password once and this server process keeps the decrypted key in its memory until it restarts, until the CA server is reinitialized, or until you lock it. Every 15 minutes it re-signs the CRL when the CRL is half-way through its validity or within the reminder window, so the CRL never expires while you are away.
          </p>
          <p>
            The key is never written to disk or to the database and never logged, and it signs CRLs only: issuing and revoking certificates still ask for the password every time. The risk: while it is unlocked, anyone who can read this process&apos;s memory (root on the host, a core dump, a debugger) or run code inside it can sign with the CA key. Use it only on a host you trust as much as the key file and its password.
          </p>
        </div>
        <div className="mt-4">
          {!lock.enabled ? (
            <Alert tone="info" title="Turned off on this server.">
              <p data-testid="keep-unlocked-off">
                To offer it, set <code>{KEEP_UNLOCKED_ENV}=true</code> in the server&apos;s environment and restart Portcullis.
              </p>
            </Alert>
          ) : lock.unlocked ? (
            <div className="space-y-3">
              <p className="text-sm font-medium text-amber-900" data-testid="ca-unlocked">
                Unlocked since {lock.unlockedAt ? utcSecond(lock.unlockedAt) : "—"}
                {lock.unlockedBy ? ` by ${lock.unlockedBy}` : ""}, until restart.
              </p>
              <form action={lockCaAction}>
                <SubmitButton variant="danger" pendingText="Locking…">
                  Lock
                </SubmitButton>
              </form>
            </div>
          ) : (
            <div className="space-y-3">
              <p className="text-sm font-medium text-slate-800" data-testid="ca-locked">
                Locked: the CRL is re-signed only when someone types the password.
              </p>
              <CaPasswordForm action={unlockCaAction} submitLabel="Unlock for scheduled CRL signing" pendingLabel="Unlocking…" hint="Kept in this server's memory only, until restart or Lock." failedTitle="The CA key was not unlocked" testId="unlock-form" />
            </div>
          )}
        </div>
      </Card>
    </div>
  );
}
