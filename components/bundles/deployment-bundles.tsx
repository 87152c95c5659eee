"use client";
import { useState, type FormEvent, type ReactNode } from "react";
import { Alert } from "@/components/ui/alert";
import { Field } from "@/components/ui/field";
import { buttonClass, Spinner } from "@/components/ui/button";
import type { BundleAvailability } from "@/lib/bundles/availability.ts";

type Fields = Record<string, string>;
interface FormStatus {
  busy: boolean;
  message?: string;
  fields?: Fields;
  saved?: string;
}

const IDLE: FormStatus = { busy: false };

/**
 * POSTs to the bundle API (same origin, the session cookie) and hands the file to the
 * browser; the passwords travel only in the request body.
 */
async function downloadBundle(number: number, body: Record<string, unknown>): Promise<{ ok: true; filename: string } | { ok: false; message: string; fields: Fields }> {
  let res: Response;
  try {
    res = await fetch(`/api/v1/certificates/${number}/bundle`, {
      method: "POST",
      headers: { "content-type": "application/json", accept: "application/json" },
      body: JSON.stringify(body),
      credentials: "same-origin",
      cache: "no-store",
    });
  } catch {
    return { ok: false, message: "The server could not be reached. Nothing was downloaded.", fields: {} };
  }
  if (!res.ok) {
    if (res.status === 401) return { ok: false, message: "Your session has ended. Sign in again.", fields: {} };
    let error: { message?: string; fields?: Fields } | undefined;
    try {
      error = (await res.json()).error;
    } catch {
      error = undefined;
    }
    return { ok: false, message: error?.message ?? `The server answered ${res.status}. Nothing was downloaded.`, fields: error?.fields ?? {} };
  }
  const filename = /filename="([^"]+)"/.exec(res.headers.get("content-disposition") ?? "")?.[1] ?? "bundle";
  const href = URL.createObjectURL(await res.blob());
  const a = document.createElement("a");
  a.href = href;
  a.download = filename;
  document.body.appendChild(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(href), 60_000);
  return { ok: true, filename };
}

function Saved({ status, testId }: { status: FormStatus; testId: string }) {
  if (status.saved) {
    return (
      <p role="status" data-testid={`${testId}-saved`} className="text-sm text-emerald-800">
        Downloaded {status.saved}.
      </p>
    );
  }
  if (status.message) {
    return (
      <Alert tone="error">
        <p data-testid={`${testId}-error`}>{status.message}</p>
      </Alert>
    );
  }
  return null;
}

function DownloadButton({ busy, children, testId }: { busy: boolean; children: ReactNode; testId: string }) {
  return (
    <button type="submit" disabled={busy} aria-disabled={busy || undefined} className={buttonClass("primary")} data-testid={testId}>
      {busy ? <Spinner /> : null}
      {busy ? "Preparing…" : children}
    </button>
  );
}

function Section({ title, description, children }: { title: string; description: ReactNode; children: ReactNode }) {
  return (
    <section className="space-y-3 border-t border-slate-100 pt-4 first:border-t-0 first:pt-0">
      <div>
        <h3 className="text-sm font-semibold text-slate-900">{title}</h3>
        <p className="mt-0.5 text-sm text-slate-600">{description}</p>
      </div>
      {children}
    </section>
  );
}

/** Messages of the fields a form does not show go to its message. */
function split(result: { message: string; fields: Fields }, shown: string[]): FormStatus {
  const fields = Object.fromEntries(Object.entries(result.fields).filter(([k]) => shown.includes(k)));
  const hidden = Object.entries(result.fields).filter(([k]) => !shown.includes(k));
  const message = Object.keys(result.fields).length === 0 ? result.message : hidden.length ? hidden.map(([, m]) => m).join(" ") : undefined;
  return { busy: false, fields, message };
}

/**
 * The "Deployment bundles" section of a certificate page: the trust bundle always; with
 * a key this instance generated, PKCS#12, PEM with the key and (for the CockroachDB
 * usages) the certs directory.
 */
export function DeploymentBundles({ bundles }: { bundles: BundleAvailability }) {
  const { number, source, fileRoot, keyFile } = bundles;
  const [keyPassword, setKeyPassword] = useState("");
  const [keyPasswordError, setKeyPasswordError] = useState<string | undefined>();
  const [p12, setP12] = useState<FormStatus>(IDLE);
  const [pem, setPem] = useState<FormStatus>(IDLE);
  const [crdb, setCrdb] = useState<FormStatus>(IDLE);
  const [trust, setTrust] = useState<FormStatus>(IDLE);
  const [unencrypted, setUnencrypted] = useState(false);
  const keyBundles = bundles.keyBundlesProblem === null;

  function submit(set: (s: FormStatus) => void, shown: string[], body: (fd: FormData) => Record<string, unknown>, opts: { withKey?: boolean; afterDownload?: () => void } = {}) {
    const withKey = opts.withKey !== false;
    return async (e: FormEvent<HTMLFormElement>) => {
      e.preventDefault();
      const form = e.currentTarget;
      set({ busy: true });
      if (withKey) setKeyPasswordError(undefined);
      const request = { ...body(new FormData(form)), source, ...(withKey && keyFile?.encrypted ? { keyPassword } : {}) };
      const result = await downloadBundle(number, request);
      if (result.ok) {
        form.reset();
        opts.afterDownload?.();
        set({ busy: false, saved: result.filename });
        return;
      }
      if (result.fields.keyPassword) setKeyPasswordError(result.fields.keyPassword);
      set(split(result, [...shown, "keyPassword"]));
    };
  }

  const text = (fd: FormData, name: string) => (typeof fd.get(name) === "string" ? (fd.get(name) as string) : "");

  return (
    <div className="space-y-5" data-testid="deployment-bundles">
      <Section title="Trust bundle" description="The CA certificate and its issuers (trust_ca_cert.pem), for the clients and servers that must trust this certificate.">
        <form onSubmit={submit(setTrust, [], () => ({ format: "trust" }), { withKey: false })} className="space-y-3" noValidate data-testid="trust-form">
          <button type="submit" disabled={trust.busy} className={buttonClass("secondary")} data-testid="download-trust">
            {trust.busy ? <Spinner /> : null}
            Download trust_ca_cert.pem
          </button>
          <Saved status={trust} testId="trust" />
        </form>
      </Section>

      {!keyBundles ? (
        <Alert tone="info" title="No bundle with the private key">
          <p data-testid="key-bundles-problem">{bundles.keyBundlesProblem}</p>
        </Alert>
      ) : (
        <>
          {keyFile?.encrypted ? (
            <Field
              name="keyPassword"
              type="password"
              autoComplete="off"
              label={`Password of the private key file ${keyFile.fileNameRoot}.key`}
              hint="The key was saved encrypted when the request was submitted; it is decrypted only to build the file."
              value={keyPassword}
              onChange={(e) => setKeyPassword(e.target.value)}
              error={keyPasswordError}
              className="max-w-md"
            />
          ) : null}

          <Section title="PKCS#12" description={<>Key, certificate and CA chain in one password-protected file ({fileRoot}.p12), for Windows, Java keystores and browsers.</>}>
            <form onSubmit={submit(setP12, ["password", "passwordConfirm"], (fd) => ({ format: "pkcs12", password: text(fd, "password"), passwordConfirm: text(fd, "passwordConfirm"), legacy: fd.get("legacy") === "on" }))} className="space-y-3" noValidate data-testid="pkcs12-form">
              <div className="grid max-w-2xl gap-3 sm:grid-cols-2">
                <Field name="password" id="p12-password" type="password" autoComplete="new-password" label="Password" required hint="At least 8 characters." error={p12.fields?.password} />
                <Field name="passwordConfirm" id="p12-password-confirm" type="password" autoComplete="new-password" label="Confirm password" required error={p12.fields?.passwordConfirm} />
              </div>
              <div className="flex items-start gap-2">
                <input id="p12-legacy" name="legacy" type="checkbox" className="mt-1 h-4 w-4 rounded border-slate-300" aria-describedby="p12-legacy-hint" />
                <div>
                  <label htmlFor="p12-legacy" className="text-sm font-medium text-slate-800">
                    Legacy encryption (3DES, SHA-1 MAC)
                  </label>
                  <p id="p12-legacy-hint" className="text-xs text-slate-500">
                    Only for Windows Server 2016 and older, or other importers that cannot read AES. By default the file is encrypted with AES-256 (PBES2) and an HMAC-SHA256 MAC, as OpenSSL 3 writes it.
                  </p>
                </div>
              </div>
              <DownloadButton busy={p12.busy} testId="download-pkcs12">
                Download {fileRoot}.p12
              </DownloadButton>
              <Saved status={p12} testId="pkcs12" />
            </form>
          </Section>

          <Section title="PEM with the private key" description={<>The certificate, the CA chain and the private key in one PEM file ({fileRoot}.pem), for nginx, HAProxy and similar servers.</>}>
            <form onSubmit={submit(setPem, ["password", "passwordConfirm"], (fd) => (unencrypted ? { format: "pem-with-key", unencrypted: true } : { format: "pem-with-key", password: text(fd, "password"), passwordConfirm: text(fd, "passwordConfirm") }), { afterDownload: () => setUnencrypted(false) })} className="space-y-3" noValidate data-testid="pem-form">
              <div className="flex items-start gap-2">
                <input id="pem-unencrypted" name="unencrypted" type="checkbox" checked={unencrypted} onChange={(e) => setUnencrypted(e.target.checked)} className="mt-1 h-4 w-4 rounded border-slate-300" />
                <label htmlFor="pem-unencrypted" className="text-sm font-medium text-slate-800">
                  Private key unencrypted
                </label>
              </div>
              {unencrypted ? (
                <Alert tone="warning" title="The private key will not be encrypted">
                  <p data-testid="unencrypted-warning">
                    Anyone who gets a copy of {fileRoot}.pem can impersonate {bundles.commonName ?? "this certificate's subject"}. Keep it readable only by the service that uses it (chmod 600), never send it by e-mail, and delete the download once it is deployed.
                  </p>
                </Alert>
              ) : (
                <div className="grid max-w-2xl gap-3 sm:grid-cols-2">
                  <Field name="password" id="pem-password" type="password" autoComplete="new-password" label="Password for the private key" required hint="Encrypted PKCS#8 (PBES2, AES-256-CBC); at least 8 characters." error={pem.fields?.password} />
                  <Field name="passwordConfirm" id="pem-password-confirm" type="password" autoComplete="new-password" label="Confirm password" required error={pem.fields?.passwordConfirm} />
                </div>
              )}
              <DownloadButton busy={pem.busy} testId="download-pem">
                Download {fileRoot}.pem
              </DownloadButton>
              <Saved status={pem} testId="pem" />
            </form>
          </Section>

          <Section
            title="CockroachDB certs directory"
            description={
              "crt" in bundles.cockroach ? (
                <>
                  certs.tar.gz with <code>ca.crt</code>, <code>{bundles.cockroach.crt}</code> and <code>{bundles.cockroach.key}</code> (mode 0600, unencrypted as CockroachDB requires): unpack it where <code>--certs-dir</code> points.
                </>
              ) : (
                bundles.cockroach.problem
              )
            }
          >
            {"crt" in bundles.cockroach ? (
              <form onSubmit={submit(setCrdb, [], () => ({ format: "cockroach" }))} className="space-y-3" noValidate data-testid="cockroach-form">
                <DownloadButton busy={crdb.busy} testId="download-cockroach">
                  Download certs.tar.gz
                </DownloadButton>
                <Saved status={crdb} testId="cockroach" />
              </form>
            ) : null}
          </Section>
        </>
      )}
    </div>
  );
}
