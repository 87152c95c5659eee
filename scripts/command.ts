/**
 * The frame of the database commands (npm run backup, restore): arguments read with
 * parseArgs, usage on --help, exit status 2 for bad arguments, 1 with the message (not a
 * stack) when the work fails, and the database connection closed either way.
 */
import { parseArgs, type ParseArgsConfig } from "node:util";
import { closeDb } from "../lib/db/index.ts";
import { isAppError } from "../lib/errors/app-error.ts";

type Parsed<C extends ParseArgsConfig> = ReturnType<typeof parseArgs<C>>;

export async function runCommand<C extends ParseArgsConfig>(o: {
  /** Said before the reason a run failed: "Backup", "Restore". */
  label: string;
  usage: string;
  config: C;
  /** Arguments parseArgs accepts but the command does not: the usage is shown, status 2. */
  invalid?: (args: Parsed<C>) => boolean;
  work: (args: Parsed<C>) => Promise<void>;
}): Promise<number> {
  let args: Parsed<C>;
  try {
    args = parseArgs(o.config);
  } catch (e) {
    console.error(`${(e as Error).message}\n${o.usage}`);
    return 2;
  }
  if ((args.values as { help?: boolean }).help) {
    console.log(o.usage);
    return 0;
  }
  if (o.invalid?.(args)) {
    console.error(o.usage);
    return 2;
  }
  try {
    await o.work(args);
    return 0;
  } catch (e) {
    console.error(`${o.label} failed: ${isAppError(e) ? e.message : (e as Error).message ?? String(e)}`);
    return 1;
  } finally {
    await closeDb().catch(() => undefined);
  }
}
