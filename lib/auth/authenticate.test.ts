import { beforeEach, describe, expect, it } from "vitest";
import { getDb } from "../db/index.ts";
import { authenticate } from "./authenticate.ts";
import { createApiToken, revokeApiToken } from "./api-tokens.ts";
import { createSession } from "./sessions.ts";
import { insertAdmin, useFreshDatabase, wipeAuthTables } from "./test-support.ts";

useFreshDatabase("authenticate");

// authenticate() uses the real clock, so sessions and tokens are made "now" as well.
let alice: { id: string; username: string };
let bob: { id: string; username: string };
let aliceSession: string;
let bobToken: string;
let bobTokenId: string;

beforeEach(async () => {
  await wipeAuthTables();
  alice = await insertAdmin("alice");
  bob = await insertAdmin("bob");
  const db = await getDb();
  aliceSession = (await createSession(db, alice.id)).token;
  const t = await createApiToken(bob.id, { name: "bob's script" });
  bobToken = t.token;
  bobTokenId = t.view.id;
});

describe("authenticate", () => {
  it("returns null with neither a cookie nor an Authorization header", async () => {
    expect(await authenticate({})).toBeNull();
    expect(await authenticate({ sessionToken: null, authorization: null })).toBeNull();
    expect(await authenticate({ sessionToken: "", authorization: "" })).toBeNull();
  });

  it("recognises a session cookie", async () => {
    expect(await authenticate({ sessionToken: aliceSession })).toEqual({ admin: { id: alice.id, username: "alice" }, via: "session" });
    expect(await authenticate({ sessionToken: "forged" })).toBeNull();
  });

  it("recognises a Bearer API token, with any case of 'Bearer' and surrounding space", async () => {
    const expected = { admin: { id: bob.id, username: "bob" }, via: "token" };
    expect(await authenticate({ authorization: `Bearer ${bobToken}` })).toEqual(expected);
    expect(await authenticate({ authorization: `bearer ${bobToken}` })).toEqual(expected);
    expect(await authenticate({ authorization: `  BEARER \t ${bobToken}  ` })).toEqual(expected);
  });

  it("gives the Bearer token precedence over the session cookie", async () => {
    expect(await authenticate({ sessionToken: aliceSession, authorization: `Bearer ${bobToken}` })).toEqual({ admin: { id: bob.id, username: "bob" }, via: "token" });
  });

  it("does not fall back to the cookie when the Bearer token is bad or revoked", async () => {
    expect(await authenticate({ sessionToken: aliceSession, authorization: "Bearer pcl_unknown" })).toBeNull();
    await revokeApiToken(bob.id, bobTokenId);
    expect(await authenticate({ sessionToken: aliceSession, authorization: `Bearer ${bobToken}` })).toBeNull();
    expect(await authenticate({ authorization: `Bearer ${bobToken}` })).toBeNull();
  });

  it("returns null for a malformed Authorization header, even with a valid cookie", async () => {
    for (const authorization of ["Bearer", "Bearer ", `Bearer ${bobToken} extra`, `Basic ${Buffer.from("bob:pw").toString("base64")}`, `Token ${bobToken}`, bobToken, `Bearer:${bobToken}`]) {
      expect(await authenticate({ sessionToken: aliceSession, authorization }), authorization).toBeNull();
    }
  });

  it("uses the cookie when the Authorization header is only whitespace", async () => {
    expect(await authenticate({ sessionToken: aliceSession, authorization: "   " })).toEqual({ admin: { id: alice.id, username: "alice" }, via: "session" });
  });

  it("refuses a session token sent as Bearer, and an API token sent as the cookie", async () => {
    expect(await authenticate({ authorization: `Bearer ${aliceSession}` })).toBeNull();
    expect(await authenticate({ authorization: `Bearer pcl_${aliceSession}` })).toBeNull();
    expect(await authenticate({ sessionToken: bobToken })).toBeNull();
    // Both are still valid where they belong.
    expect((await authenticate({ sessionToken: aliceSession }))?.via).toBe("session");
    expect((await authenticate({ authorization: `Bearer ${bobToken}` }))?.via).toBe("token");
  });
});
