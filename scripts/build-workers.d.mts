/** Writes the PKI worker bundle to `outfile` (default: <build dir>/portcullis/pki-worker.cjs); answers its path. */
export function buildPkiWorker(outfile?: string): Promise<string>;
