"use client";
import { useRef, useState, useTransition } from "react";
import { buttonClass, Spinner } from "@/components/ui/button";
import { Alert } from "@/components/ui/alert";

type Result = { ok: true; data: { certificate: string; privateKey: string } } | { ok: false; message: string };

/**
 * Export default for the broker: a warning first; then the certificate and its
 * unencrypted private key, shown once on this page (not stored in the browser).
 */
export function ExportDefault({ action }: { action: () => Promise<Result> }) {
  const ref = useRef<HTMLDialogElement>(null);
  const [pending, start] = useTransition();
  const [result, setResult] = useState<Result | null>(null);
  function confirm() {
    start(async () => {
      const r = await action();
      setResult(r);
      ref.current?.close();
    });
  }
  return (
    <div className="space-y-4">
      <button type="button" className={buttonClass("secondary")} onClick={() => ref.current?.showModal()}>
        Export default for the broker
      </button>
      <dialog ref={ref} aria-labelledby="export-title" className="m-auto w-[min(32rem,calc(100vw-2rem))] rounded-xl p-0 shadow-xl">
        <div className="space-y-4 p-6">
          <h2 id="export-title" className="text-lg font-semibold">
            Show the default certificate and its private key?
          </h2>
          <div className="space-y-2 text-sm text-slate-700">
            <p>
              The private key is shown <strong>unencrypted</strong> (PKCS#8 PEM), because brokers such as Mosquitto read their key without a passphrase.
            </p>
            <p>Anyone who sees it can impersonate your messaging server. Make sure nobody is looking over your shoulder, copy it straight into the broker&apos;s key file (readable only by the broker, mode 0600), and do not keep other copies.</p>
          </div>
          <div className="flex justify-end gap-3">
            <button type="button" className={buttonClass("secondary")} onClick={() => ref.current?.close()} autoFocus>
              Cancel
            </button>
            <button type="button" className={buttonClass("danger")} onClick={confirm} disabled={pending}>
              {pending ? <Spinner /> : null}
              Show certificate and key
            </button>
          </div>
        </div>
      </dialog>
      {result && !result.ok ? <Alert tone="error" title="Not exported">{result.message}</Alert> : null}
      {result && result.ok ? (
        <div className="space-y-3" data-testid="export-result">
          <Alert tone="warning" title="The private key below is unencrypted: protect it">
            It is shown this once. Store it only in the broker&apos;s configuration, readable by the broker alone; reload the page to hide it.
          </Alert>
          <div>
            <label htmlFor="export-certificate" className="block text-sm font-medium text-slate-800">
              Certificate (PEM)
            </label>
            <textarea id="export-certificate" readOnly rows={8} value={result.data.certificate} className="mt-1 block w-full rounded-md border border-slate-300 bg-slate-50 px-3 py-2 font-mono text-xs" />
          </div>
          <div>
            <label htmlFor="export-private-key" className="block text-sm font-medium text-slate-800">
              Private key (unencrypted PKCS#8 PEM)
            </label>
            <textarea id="export-private-key" readOnly rows={6} value={result.data.privateKey} className="mt-1 block w-full rounded-md border border-red-300 bg-red-50 px-3 py-2 font-mono text-xs" />
          </div>
          <button type="button" className={buttonClass("secondary")} onClick={() => setResult(null)}>
            Hide
          </button>
        </div>
      ) : null}
    </div>
  );
}
