import "reflect-metadata";

// Tests run the PKI jobs on the main thread, whatever build lies in .next: the worker tests
// (lib/pki/worker/pool.test.ts) build their own bundle and turn the workers on themselves.
process.env.PORTCULLIS_PKI_WORKERS ??= "0";
