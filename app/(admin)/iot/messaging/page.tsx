import type { Metadata } from "next";
import { requireAdminPage } from "@/app/_server/session.ts";
import { ensureDefaultMessagingCertificate, getMessagingCertificate, listDefaultCandidates, listMessagingCertificates, type MessagingCertificateView } from "@/lib/iot/messaging-certificates.ts";
import { isAppError } from "@/lib/errors/app-error.ts";
import { Pager } from "@/components/ui/pager";
import { PageHeader, Card } from "@/components/ui/card";
import { Breadcrumb } from "@/components/ui/breadcrumb";
import { Alert } from "@/components/ui/alert";
import { DataTable, utcMinute } from "@/components/ui/table";
import { ConfirmDialog } from "@/components/ui/confirm-dialog";
import { AddMessagingCertificateForm } from "@/components/iot/add-messaging-certificate-form";
import { GenerateCsrForm } from "@/components/iot/generate-csr-form";
import { AttachCertificateForm } from "@/components/iot/attach-certificate-form";
import { DefaultCertificateForm } from "@/components/iot/default-certificate-form";
import { ExportDefault } from "@/components/iot/export-default";
import { addMessagingCertificateAction, attachCertificateAction, deleteMessagingAction, exportDefaultAction, generateCsrAction, setDefaultAction } from "./actions.ts";

export const metadata: Metadata = { title: "Messaging server certificates" };
export const dynamic = "force-dynamic";

type SearchParams = Record<string, string | string[] | undefined>;

const TITLE = "Messaging server certificates";

/** Rows per page of the table. */
const PAGE_SIZE = 50;

function one(sp: SearchParams, key: string): string | undefined {
  const v = sp[key];
  return typeof v === "string" && v.length <= 200 ? v : undefined;
}

/** A file name for the CSR download, from the subject's CN when there is one. */
function csrFileName(r: MessagingCertificateView): string {
  const cn = /(?:^|,\s*)CN=([^,]+)/.exec(r.subject)?.[1] ?? "messaging-server";
  return `${cn.replace(/[^A-Za-z0-9._-]+/g, "_").slice(0, 60) || "messaging-server"}.csr`;
}

function dataUrl(pem: string, type: string): string {
  return `data:${type};base64,${Buffer.from(pem, "utf8").toString("base64")}`;
}

function sourceLabel(r: MessagingCertificateView): string {
  if (r.kind === "csr") return "CSR awaiting its signed certificate";
  if (r.source === "default") return r.selfSigned ? "Created at first start (self-signed)" : "Created at first start";
  if (r.source === "csr") return "Generated here, signed certificate uploaded";
  return "Uploaded";
}

function Validity({ r }: { r: MessagingCertificateView }) {
  if (!r.notBefore || !r.notAfter) return <span className="text-slate-500">—</span>;
  const expired = new Date(r.notAfter).getTime() < Date.now();
  return (
    <span className="whitespace-nowrap">
      {utcMinute(new Date(r.notBefore))}
      <br />→ {utcMinute(new Date(r.notAfter))}
      {expired ? <span className="ml-1 rounded bg-red-100 px-1.5 py-0.5 text-xs font-semibold text-red-800">expired</span> : null}
    </span>
  );
}

export default async function MessagingCertificatesPage({ searchParams }: { searchParams: Promise<SearchParams> }) {
  await requireAdminPage("/iot/messaging");
  const sp = await searchParams;
  const cursor = one(sp, "cursor");
  let page: Awaited<ReturnType<typeof listMessagingCertificates>>;
  let cursorProblem: string | null = null;
  try {
    page = await listMessagingCertificates({ cursor, take: PAGE_SIZE });
  } catch (e) {
    if (!isAppError(e)) throw e;
    cursorProblem = e.message;
    page = await listMessagingCertificates({ take: PAGE_SIZE });
  }
  const rows = page.items;
  const byId = async (id: string | undefined) => (id ? getMessagingCertificate(id).catch(() => undefined) : undefined);
  const [current, choices, added, csr, attached, madeDefault, notDeleted] = await Promise.all([
    ensureDefaultMessagingCertificate(),
    listDefaultCandidates(),
    byId(one(sp, "added")),
    byId(one(sp, "csr")),
    byId(one(sp, "attached")),
    byId(one(sp, "default")),
    byId(one(sp, "notDeleted")),
  ]);

  return (
    <div className="space-y-6">
      <PageHeader
        title={TITLE}
        breadcrumb={<Breadcrumb current="Device security (IoT)" />}
        description="The TLS certificates the messaging server (MQTT broker) presents to devices. One is the default; a default exists from the first start. Add a certificate with its key, or generate a CSR here, have it signed and upload the result onto its row."
      />
      {added ? <Alert tone="success" title="Certificate added">{`"${added.subject}" was added. Its private key is stored encrypted and is not shown again.`}</Alert> : null}
      {csr && csr.kind === "csr" ? (
        <Alert tone="success" title="CSR generated">
          {`The CSR for "${csr.subject}" is in the table below: download it, have it signed, then upload the signed certificate onto its row. Its private key stays on this server, encrypted.`}
        </Alert>
      ) : null}
      {attached ? <Alert tone="success" title="Signed certificate uploaded">{`The CSR for "${attached.subject}" is now a certificate.`} Choose it as the default below to use it.</Alert> : null}
      {madeDefault ? <Alert tone="success" title="Default saved">{`"${madeDefault.subject}" is now the default messaging server certificate.`} Export it again for the broker.</Alert> : null}
      {one(sp, "deleted") ? <Alert tone="success">Deleted.</Alert> : null}
      {notDeleted ? <Alert tone="warning">The default messaging server certificate cannot be deleted: choose another default first.</Alert> : null}

      {cursorProblem ? <Alert tone="error" title="That page of the table cannot be shown">{cursorProblem} The first page is shown instead.</Alert> : null}
      <Card title="Certificates and CSRs">
        <DataTable
          columns={["Subject", "Subject alternative names", "Validity", "Details", "Actions"]}
          empty="No messaging server certificates."
          rows={rows.map((r) => (
            <tr key={r.id} id={`row-${r.id}`} data-testid="messaging-row" data-id={r.id} data-kind={r.kind} className="align-top">
              <td className="min-w-48 max-w-80 py-2 pr-4 break-words">
                <span data-testid="messaging-subject">{r.subject}</span>
                {r.default ? (
                  <span data-testid="default-badge" className="ml-2 whitespace-nowrap rounded-full bg-emerald-100 px-2 py-0.5 text-xs font-semibold text-emerald-900">
                    Default
                  </span>
                ) : null}
                {r.kind === "csr" ? <span className="ml-2 whitespace-nowrap rounded-full bg-amber-100 px-2 py-0.5 text-xs font-semibold text-amber-900">Request</span> : null}
              </td>
              <td className="min-w-40 py-2 pr-4">
                {r.sans.length ? (
                  <ul className="space-y-0.5">
                    {r.sans.map((s) => (
                      <li key={s} className="font-mono text-xs break-all">
                        {s}
                      </li>
                    ))}
                  </ul>
                ) : (
                  "—"
                )}
              </td>
              <td className="py-2 pr-4 text-xs">
                <Validity r={r} />
              </td>
              <td className="min-w-48 max-w-72 py-2 pr-4 text-xs text-slate-600">
                <p>{sourceLabel(r)}</p>
                {r.issuer && !r.selfSigned ? <p className="break-words">Issuer: {r.issuer}</p> : null}
                <p>Key: {r.keyAlgorithm}</p>
                {r.description ? <p className="break-words text-slate-800">{r.description}</p> : null}
                {r.sha1Fingerprint ? <p className="break-all font-mono">SHA-1 {r.sha1Fingerprint}</p> : null}
              </td>
              <td className="min-w-56 py-2">
                <div className="relative flex flex-wrap items-center gap-2">
                  {r.kind === "csr" && r.csr ? (
                    <a className="font-medium text-brand-700 underline" href={dataUrl(r.csr, "application/pkcs10")} download={csrFileName(r)} data-testid="download-csr">
                      Download<span className="sr-only"> the CSR for {r.subject}</span>
                    </a>
                  ) : null}
                  {r.kind === "certificate" && r.certificate ? (
                    <a className="font-medium text-brand-700 underline" href={dataUrl(r.certificate, "application/x-pem-file")} download={csrFileName(r).replace(/\.csr$/, ".crt")}>
                      Certificate<span className="sr-only"> of {r.subject}</span>
                    </a>
                  ) : null}
                  {!r.default ? (
                    <ConfirmDialog
                      trigger={
                        <>
                          Delete<span className="sr-only"> {r.subject}</span>
                        </>
                      }
                      title={r.kind === "csr" ? "Delete this CSR and its key?" : "Delete this certificate and its key?"}
                      confirmLabel="Delete"
                      pendingLabel="Deleting…"
                      action={deleteMessagingAction}
                      hidden={{ id: r.id }}
                    >
                      <p className="break-words">
                        <span className="font-medium">{r.subject}</span> and its private key are deleted from this server. {r.kind === "csr" ? "A certificate signed for this CSR can no longer be uploaded." : ""}
                      </p>
                    </ConfirmDialog>
                  ) : null}
                </div>
                {r.kind === "csr" ? <AttachCertificateForm action={attachCertificateAction.bind(null, r.id)} subject={r.subject} /> : null}
              </td>
            </tr>
          ))}
        />
        <Pager label="Pages of messaging server certificates" firstHref={cursor ? "/iot/messaging" : null} nextHref={page.nextCursor ? `/iot/messaging?cursor=${encodeURIComponent(page.nextCursor)}` : null} />
      </Card>

      <Card title="Default messaging server certificate" description="The certificate the broker uses; export it with its key for the broker's configuration.">
        <div className="space-y-4">
          {choices.length ? (
            <DefaultCertificateForm
              action={setDefaultAction}
              current={current?.id}
              options={choices.map((c) => ({ value: c.id, label: `${c.subject}${c.notAfter ? ` — until ${c.notAfter.slice(0, 10)}` : ""}${c.description ? ` — ${c.description}` : ""}` }))}
            />
          ) : (
            <p className="text-sm text-slate-600">No certificate can be the default yet.</p>
          )}
          <ExportDefault action={exportDefaultAction} />
        </div>
      </Card>

      <div className="grid gap-6 lg:grid-cols-2">
        <Card title="Add Certificate" description="A certificate signed elsewhere, with its private key.">
          <AddMessagingCertificateForm action={addMessagingCertificateAction} />
        </Card>
        <Card title="Generate CSR" description="A key pair is generated on this server and kept encrypted; the CSR appears in the table to download.">
          <GenerateCsrForm action={generateCsrAction} />
        </Card>
      </div>
    </div>
  );
}
