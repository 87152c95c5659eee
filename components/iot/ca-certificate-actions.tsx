import { ConfirmDialog } from "@/components/ui/confirm-dialog";
import { buttonClass } from "@/components/ui/button-styles";

/** Activate/Deactivate, Refresh CRL (when the certificate names one) and Delete (with a confirmation) for one registered CA certificate. */
export function CaCertificateRowActions({
  id,
  subject,
  active,
  show,
  setActive,
  remove,
  refreshCrl,
}: {
  id: string;
  subject: string;
  active: boolean;
  show?: string;
  setActive: (fd: FormData) => Promise<void>;
  remove: (fd: FormData) => Promise<void>;
  /** Given when the certificate names a CRL distribution point. */
  refreshCrl?: (fd: FormData) => Promise<void>;
}) {
  const hidden = { id, ...(show ? { show } : {}) };
  return (
    <div className="relative flex flex-wrap items-center gap-2">
      <form action={setActive}>
        <input type="hidden" name="id" value={id} />
        <input type="hidden" name="active" value={active ? "false" : "true"} />
        {show ? <input type="hidden" name="show" value={show} /> : null}
        <button type="submit" className={buttonClass("secondary")}>
          {active ? "Deactivate" : "Activate"}
          <span className="sr-only"> {subject}</span>
        </button>
      </form>
      {refreshCrl ? (
        <form action={refreshCrl}>
          <input type="hidden" name="id" value={id} />
          {show ? <input type="hidden" name="show" value={show} /> : null}
          <button type="submit" className={buttonClass("secondary")}>
            Refresh CRL
            <span className="sr-only"> of {subject}</span>
          </button>
        </form>
      ) : null}
      <ConfirmDialog
        trigger={
          <>
            Delete<span className="sr-only"> {subject}</span>
          </>
        }
        title="Delete this CA certificate?"
        confirmLabel="Delete certificate"
        pendingLabel="Deleting…"
        action={remove}
        hidden={hidden}
      >
        <p className="break-words">
          Devices whose certificates chain to <span className="font-medium">{subject}</span> are no longer accepted, and it leaves the trust bundle. To stop trusting it for a while instead, Deactivate it.
        </p>
      </ConfirmDialog>
    </div>
  );
}
