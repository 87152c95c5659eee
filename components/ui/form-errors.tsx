import { Alert } from "@/components/ui/alert";

/**
 * Above a form that was not saved: the form-level message when there is one, otherwise
 * how many of the fields below to correct; nothing when there is neither.
 */
export function FormErrorSummary({ title, message, fields, messageTestId }: { title: string; message?: string; fields?: Record<string, unknown>; messageTestId?: string }) {
  if (message) {
    return (
      <Alert tone="error" title={title}>
        {messageTestId ? <p data-testid={messageTestId}>{message}</p> : message}
      </Alert>
    );
  }
  const n = Object.keys(fields ?? {}).length;
  if (n === 0) return null;
  return (
    <Alert tone="error" title={title}>
      {n === 1 ? "Correct the field marked below." : `Correct the ${n} fields marked below.`}
    </Alert>
  );
}
