import { ConfirmDialog } from "@/components/ui/confirm-dialog";

/**
 * Delete (reject) a pending request, after IRIS's confirmation. The trigger's
 * accessible name carries the file name, so a list of rows reads unambiguously.
 */
export function DeleteRequestButton({
  id,
  filename,
  subject,
  from,
  cursor,
  action,
}: {
  id: string;
  filename: string;
  subject: string;
  from: "queue" | "process";
  cursor?: string;
  action: (fd: FormData) => Promise<void>;
}) {
  return (
    <ConfirmDialog
      trigger={
        <>
          Delete<span className="sr-only"> {filename}</span>
        </>
      }
      title={`Delete the Certificate Signing Request "${filename}"?`}
      confirmLabel="Delete request"
      pendingLabel="Deleting…"
      action={action}
      hidden={{ id, from, ...(cursor ? { cursor } : {}) }}
    >
      <p className="break-words">
        The request for <span className="font-medium">{subject}</span> leaves the queue and no certificate is issued for it. It stays in the record as deleted.
      </p>
    </ConfirmDialog>
  );
}
