import Link from "next/link";
import { Alert } from "@/components/ui/alert";

/** What a CA server page shows until this instance is a CA: a link to configure it, after `reason` when given. */
export function ServerNotConfigured({ reason }: { reason?: string }) {
  const link = (
    <Link href="/ca-server" className="font-medium underline">
      Configure local Certificate Authority server
    </Link>
  );
  return (
    <Alert tone="warning" title="This instance is not configured as a Certificate Authority server.">
      {reason ? (
        <p>
          {reason} {link}
        </p>
      ) : (
        link
      )}
    </Alert>
  );
}
