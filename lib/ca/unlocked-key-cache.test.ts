import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { readFileSync, writeFileSync } from "node:fs";
import { getDb } from "../db/index.ts";
import { opensslOk } from "../pki/test-support.ts";
import { expectAppError } from "../test-support/app-error.ts";
import { useIsolatedDataDir } from "../test-support/data-dir.ts";
import { setEnv } from "../test-support/env.ts";
import { configureCaServer } from "./configure-server.ts";
import { reinitializeCaServer } from "./reinitialize-server.ts";
import { requireCaServer, unlockCa } from "./server-context.ts";
import { serverFilePaths } from "./server-files.ts";
import { cachedUnlock, forgetUnlockedKey, unlockedKeyCached } from "./unlocked-key-cache.ts";

const scratch = useIsolatedDataDir("unlocked-key-cache");
const KEY_PW = "cache test CA password";
let counter = 0;

async function ca() {
  return requireCaServer(await getDb());
}

beforeEach(async () => {
  forgetUnlockedKey();
  const db = await getDb();
  if (await db.caServer.count()) await reinitializeCaServer();
  await configureCaServer({ fileNameRoot: "CacheCA", directory: `ca-${++counter}`, keyPassword: KEY_PW, subject: { CN: "Cache Test CA" }, keyAlgorithm: "ecdsa-p256", caValidityDays: 365, issuedValidityDays: 30, adminEmail: "camgr@example.com" });
});

afterEach(() => forgetUnlockedKey());

describe("the decrypted CA key kept after an issuance", () => {
  it("is kept after the right password, and every later call still needs that password", async () => {
    const c = await ca();
    const first = await unlockCa(c, KEY_PW);
    expect(unlockedKeyCached()).toBe(true);
    const again = await unlockCa(c, KEY_PW);
    expect(again.privateKey).toBe(first.privateKey);
    // A wrong password meanwhile is refused as before (the full decryption runs and fails).
    await expectAppError(unlockCa(c, "not the password"), "wrong_password", "caKeyPassword");
    await expectAppError(unlockCa(c, `${KEY_PW} `), "wrong_password", "caKeyPassword");
    const keyPem = readFileSync(serverFilePaths(c.directory, c.fileNameRoot).key, "utf8");
    expect(cachedUnlock(keyPem, c.certificatePem, "not the password")).toBeNull();
    expect(cachedUnlock(keyPem, c.certificatePem, KEY_PW)).not.toBeNull();
  });

  it("ends after the idle time, and never lasts more than twice that from the decryption", async () => {
    const c = await ca();
    await unlockCa(c, KEY_PW);
    const keyPem = readFileSync(serverFilePaths(c.directory, c.fileNameRoot).key, "utf8");
    const t0 = Date.now();
    // Used every 50 s: kept while idle less than 60 s, but not past 120 s from the decryption.
    expect(cachedUnlock(keyPem, c.certificatePem, KEY_PW, t0 + 50_000)).not.toBeNull();
    expect(cachedUnlock(keyPem, c.certificatePem, KEY_PW, t0 + 100_000)).not.toBeNull();
    expect(cachedUnlock(keyPem, c.certificatePem, KEY_PW, t0 + 125_000)).toBeNull();
    expect(unlockedKeyCached()).toBe(false);

    await unlockCa(c, KEY_PW);
    expect(cachedUnlock(keyPem, c.certificatePem, KEY_PW, Date.now() + 61_000)).toBeNull();
  });

  it("is not used once the key file changes: the old password no longer unlocks a key re-encrypted with a new one", async () => {
    const c = await ca();
    await unlockCa(c, KEY_PW);
    const { key } = serverFilePaths(c.directory, c.fileNameRoot);
    const plain = opensslOk(["pkey", "-in", key, "-passin", `pass:${KEY_PW}`]);
    const clear = scratch.path("clear.key");
    writeFileSync(clear, plain);
    writeFileSync(key, opensslOk(["pkcs8", "-topk8", "-in", clear, "-v2", "aes-256-cbc", "-passout", "pass:the new CA password"]));
    await expectAppError(unlockCa(c, KEY_PW), "wrong_password", "caKeyPassword");
    expect((await unlockCa(c, "the new CA password")).privateKey.type).toBe("private");
  });

  it("is dropped on Reinitialize, and not kept at all with PORTCULLIS_CA_KEY_CACHE_SECONDS=0", async () => {
    await unlockCa(await ca(), KEY_PW);
    expect(unlockedKeyCached()).toBe(true);
    await reinitializeCaServer();
    expect(unlockedKeyCached()).toBe(false);

    const restore = setEnv({ PORTCULLIS_CA_KEY_CACHE_SECONDS: "0" });
    try {
      await configureCaServer({ fileNameRoot: "CacheCA", directory: `ca-${++counter}`, keyPassword: KEY_PW, subject: { CN: "Cache Test CA" }, keyAlgorithm: "ecdsa-p256", caValidityDays: 365, issuedValidityDays: 30, adminEmail: "camgr@example.com" });
      const c = await ca();
      const a = await unlockCa(c, KEY_PW);
      const b = await unlockCa(c, KEY_PW);
      expect(unlockedKeyCached()).toBe(false);
      expect(b.privateKey).not.toBe(a.privateKey);
    } finally {
      restore();
    }
  });
});
