/**
 * The one error type of Portcullis. `code` is stable and machine-readable; `message`
 * is shown to people; `field` ties the message to a form field when there is one.
 */
export type AppErrorCode =
  | "bad_request"
  | "validation_failed"
  | "unauthorized"
  | "forbidden"
  | "not_found"
  | "conflict"
  | "too_many_requests"
  | "payload_too_large"
  | "unsupported_media_type"
  | "not_configured"
  | "wrong_password"
  | "key_mismatch"
  | "not_a_ca"
  | "directory_unwritable"
  | "upstream_failed"
  | "unavailable"
  | "internal_error";

const STATUS: Record<AppErrorCode, number> = {
  bad_request: 400,
  validation_failed: 422,
  unauthorized: 401,
  forbidden: 403,
  not_found: 404,
  conflict: 409,
  too_many_requests: 429,
  payload_too_large: 413,
  unsupported_media_type: 415,
  not_configured: 404,
  wrong_password: 422,
  key_mismatch: 422,
  not_a_ca: 422,
  directory_unwritable: 422,
  upstream_failed: 502,
  unavailable: 503,
  internal_error: 500,
};

export type FieldErrors = Record<string, string>;

export class AppError extends Error {
  readonly code: AppErrorCode;
  readonly field?: string;
  readonly fields?: FieldErrors;
  readonly retryAfterSeconds?: number;

  constructor(code: AppErrorCode, message: string, opts: { field?: string; fields?: FieldErrors; retryAfterSeconds?: number; cause?: unknown } = {}) {
    super(message, opts.cause === undefined ? undefined : { cause: opts.cause });
    this.name = "AppError";
    this.code = code;
    this.field = opts.field;
    this.fields = opts.fields ?? (opts.field ? { [opts.field]: message } : undefined);
    this.retryAfterSeconds = opts.retryAfterSeconds;
  }

  get status(): number {
    return STATUS[this.code];
  }

  /** Several field errors at once, as a form shows them. */
  static validation(fields: FieldErrors): AppError {
    const entries = Object.entries(fields);
    const message = entries.length === 1 ? entries[0][1] : `${entries.length} fields need attention: ${entries.map(([, m]) => m).join(" ")}`;
    return new AppError("validation_failed", message, { fields });
  }
}

export function isAppError(e: unknown): e is AppError {
  return e instanceof AppError;
}
