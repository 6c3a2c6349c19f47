import { afterEach, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { SignJWT, exportJWK, generateKeyPair, type CryptoKey, type JWK } from "jose";
import { PLATFORM_ALGORITHMS, verifyJwt, type VerifyOptions } from "../../src/access/tokens/jwt";
import { toBase64Url, utf8, fromBase64Url } from "../../src/platform/crypto/encoding";

const ISS = "https://atoll.test";
const AUD = "atoll-api";
let priv: CryptoKey;
let pub: CryptoKey;
let pubJwk: JWK;
let attacker: { publicKey: CryptoKey; privateKey: CryptoKey };

beforeAll(async () => {
  const pair = await generateKeyPair("EdDSA", { crv: "Ed25519", extractable: true });
  priv = pair.privateKey;
  pub = pair.publicKey;
  pubJwk = await exportJWK(pub);
  attacker = await generateKeyPair("EdDSA", { crv: "Ed25519", extractable: true });
});

const opts = (extra: Partial<VerifyOptions> = {}): VerifyOptions => ({
  issuer: ISS,
  audience: AUD,
  algorithms: PLATFORM_ALGORITHMS,
  typ: "at+jwt",
  resolveKey: (kid) => (kid === "k1" ? pub : null),
  ...extra,
});

function sign(
  claims: Record<string, unknown> = {},
  header: Record<string, unknown> = {},
  key: CryptoKey = priv,
) {
  const now = Math.floor(Date.now() / 1000);
  return new SignJWT({ sub: "usr_1", iss: ISS, aud: AUD, iat: now, exp: now + 300, ...claims })
    .setProtectedHeader({ alg: "EdDSA", typ: "at+jwt", kid: "k1", ...header })
    .sign(key);
}

/** Builds a token with an arbitrary header and no real signature. */
function raw(header: Record<string, unknown>, payload: Record<string, unknown>, signature = "") {
  return `${toBase64Url(utf8(JSON.stringify(header)))}.${toBase64Url(utf8(JSON.stringify(payload)))}.${signature}`;
}

const validPayload = () => ({
  sub: "usr_1",
  iss: ISS,
  aud: AUD,
  exp: Math.floor(Date.now() / 1000) + 300,
  iat: Math.floor(Date.now() / 1000),
});

// No verification may ever reach the network, whatever a header says.
const realFetch = globalThis.fetch;
let fetched: string[] = [];
beforeEach(() => {
  fetched = [];
  globalThis.fetch = (async (input: RequestInfo | URL) => {
    fetched.push(String(input instanceof Request ? input.url : input));
    throw new Error("network is off in tests");
  }) as typeof fetch;
});
afterEach(() => {
  globalThis.fetch = realFetch;
  expect(fetched).toEqual([]);
});

describe("access token verification (RFC 8725)", () => {
  it("accepts a well-formed token signed by a known key", async () => {
    const r = await verifyJwt(await sign(), opts());
    expect(r.ok).toBe(true);
  });

  it("refuses alg: none", async () => {
    const r = await verifyJwt(
      raw({ alg: "none", typ: "at+jwt", kid: "k1" }, validPayload()),
      opts(),
    );
    expect(r).toMatchObject({ ok: false, reason: "algorithm" });
  });

  it("refuses algorithm confusion: HS256 keyed with the public key", async () => {
    const secret = fromBase64Url(pubJwk.x as string);
    const now = Math.floor(Date.now() / 1000);
    const forged = await new SignJWT({ sub: "usr_1" })
      .setProtectedHeader({ alg: "HS256", typ: "at+jwt", kid: "k1" })
      .setIssuer(ISS)
      .setAudience(AUD)
      .setIssuedAt(now)
      .setExpirationTime(now + 300)
      .sign(secret);
    expect(await verifyJwt(forged, opts())).toMatchObject({ ok: false, reason: "algorithm" });
  });

  it("refuses a token that embeds its own key (jwk header)", async () => {
    const jwk = await exportJWK(attacker.publicKey);
    const forged = await sign({}, { jwk }, attacker.privateKey);
    expect(await verifyJwt(forged, opts())).toMatchObject({
      ok: false,
      reason: "forbidden-header",
    });
  });

  it.each([
    ["jku", { jku: "https://evil.example/jwks.json" }],
    ["x5u", { x5u: "https://evil.example/cert.pem" }],
    ["x5c", { x5c: ["MIIB"] }],
  ])("refuses a %s header without fetching it", async (_name, header) => {
    const forged = raw(
      { alg: "EdDSA", typ: "at+jwt", kid: "k1", ...header },
      validPayload(),
      "AAAA",
    );
    expect(await verifyJwt(forged, opts())).toMatchObject({
      ok: false,
      reason: "forbidden-header",
    });
  });

  it("refuses unknown critical header parameters", async () => {
    const token = raw(
      {
        alg: "EdDSA",
        typ: "at+jwt",
        kid: "k1",
        crit: ["urn:example:must-understand"],
        "urn:example:must-understand": true,
      },
      validPayload(),
      "AAAA",
    );
    expect(await verifyJwt(token, opts())).toMatchObject({ ok: false, reason: "forbidden-header" });
  });

  it.each([
    ["path traversal", "../../etc/passwd"],
    ["SQL", "k1' OR '1'='1"],
    ["overlong", "k".repeat(65)],
    ["non-string", 42],
  ])("refuses a hostile kid (%s) before any key lookup", async (_label, kid) => {
    let looked = false;
    const token = raw({ alg: "EdDSA", typ: "at+jwt", kid }, validPayload(), "AAAA");
    const r = await verifyJwt(token, opts({ resolveKey: () => ((looked = true), null) }));
    expect(r).toMatchObject({ ok: false, reason: "kid" });
    expect(looked).toBe(false);
  });

  it("refuses a kid it does not know", async () => {
    expect(await verifyJwt(await sign({}, { kid: "k2" }), opts())).toMatchObject({
      ok: false,
      reason: "unknown-key",
    });
  });

  it("refuses a token signed by another key under a known kid", async () => {
    expect(await verifyJwt(await sign({}, {}, attacker.privateKey), opts())).toMatchObject({
      ok: false,
      reason: "signature",
    });
  });

  it.each([
    ["a missing typ", { typ: undefined }],
    ["a plain JWT typ", { typ: "JWT" }],
  ])("refuses %s (explicit typing)", async (_label, header) => {
    expect(await verifyJwt(await sign({}, header), opts())).toMatchObject({
      ok: false,
      reason: "type",
    });
  });

  it("refuses a token without exp", async () => {
    const now = Math.floor(Date.now() / 1000);
    const token = await new SignJWT({ sub: "usr_1" })
      .setProtectedHeader({ alg: "EdDSA", typ: "at+jwt", kid: "k1" })
      .setIssuer(ISS)
      .setAudience(AUD)
      .setIssuedAt(now)
      .sign(priv);
    expect(await verifyJwt(token, opts())).toMatchObject({ ok: false, reason: "claims" });
  });

  it("refuses an expired token", async () => {
    const r = await verifyJwt(await sign(), opts({ currentDate: new Date(Date.now() + 3600_000) }));
    expect(r).toMatchObject({ ok: false, reason: "expired" });
  });

  it("refuses another issuer and another audience", async () => {
    expect(await verifyJwt(await sign({ iss: "https://evil.example" }), opts())).toMatchObject({
      ok: false,
      reason: "issuer",
    });
    expect(await verifyJwt(await sign({ aud: "other-api" }), opts())).toMatchObject({
      ok: false,
      reason: "audience",
    });
  });

  it("refuses a tampered payload", async () => {
    const [h, , s] = (await sign()).split(".");
    const p = toBase64Url(utf8(JSON.stringify({ ...validPayload(), sub: "usr_admin" })));
    expect(await verifyJwt(`${h}.${p}.${s}`, opts())).toMatchObject({
      ok: false,
      reason: "signature",
    });
  });

  it.each([
    ["garbage", "not-a-jwt"],
    ["two parts", "a.b"],
    ["bad header", "!!!.e30.AAAA"],
    ["huge", "a".repeat(9000)],
  ])("refuses %s as malformed", async (_l, token) => {
    expect(await verifyJwt(token, opts())).toMatchObject({ ok: false, reason: "malformed" });
  });
});
