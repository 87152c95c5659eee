/**
 * AppError matchers for the tests. Not used by application code.
 */
import { expect } from "vitest";
import { AppError, type AppErrorCode } from "../errors/app-error.ts";

/**
 * Awaits `p`, expecting it to reject with an AppError; with `code`, of that code, and with
 * `field`, naming that field among its field errors. Returns the error.
 */
export async function expectAppError(p: Promise<unknown>, code?: AppErrorCode, field?: string): Promise<AppError> {
  const e = await p.then(
    (v) => ({ resolved: v }),
    (x: unknown) => x,
  );
  expect(e, "expected an AppError").toBeInstanceOf(AppError);
  if (code !== undefined) expect((e as AppError).code).toBe(code);
  if (field !== undefined) expect(Object.keys((e as AppError).fields ?? {})).toContain(field);
  return e as AppError;
}

/**
 * The AppError that `fn` throws, or that the promise it returns rejects with: synchronously
 * for a synchronous `fn`, as a promise for one that returns a promise. Any other error is
 * thrown again; no error at all fails the test.
 */
export function appError(fn: () => Promise<unknown>): Promise<AppError>;
export function appError(fn: () => unknown): AppError;
export function appError(fn: () => unknown): AppError | Promise<AppError> {
  let result: unknown;
  try {
    result = fn();
  } catch (e) {
    return onlyAppError(e);
  }
  if (result instanceof Promise) {
    return result.then(
      () => {
        throw new Error("expected an AppError");
      },
      onlyAppError,
    );
  }
  throw new Error("expected an AppError");
}

function onlyAppError(e: unknown): AppError {
  if (e instanceof AppError) return e;
  throw e;
}
