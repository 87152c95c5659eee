/**
 * Environment variables for the tests. Not used by application code.
 */
import { resetEnvCache } from "../env.ts";

export type EnvChanges = Record<string, string | undefined>;

/**
 * Sets the variables of `changes` (deleting those given as undefined) and resets the
 * configuration cache so the app reads them; returns a function that puts back what
 * was there before, and resets the cache again.
 */
export function setEnv(changes: EnvChanges): () => void {
  const saved: EnvChanges = {};
  for (const k of Object.keys(changes)) saved[k] = process.env[k];
  apply(changes);
  return () => apply(saved);
}

function apply(changes: EnvChanges): void {
  for (const [k, v] of Object.entries(changes)) {
    if (v === undefined) delete process.env[k];
    else process.env[k] = v;
  }
  resetEnvCache();
}
