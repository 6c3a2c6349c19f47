import { env } from "cloudflare:workers";
import { decodeJwt, decodeProtectedHeader } from "jose";
import { describe, expect, it } from "vitest";
import { OPERATOR_KEY, call, problem, signup, token } from "../helpers";

const form = (fields: Record<string, string>) => ({
  method: "POST",
  body: new URLSearchParams(fields),
  headers: { "content-type": "application/x-www-form-urlencoded" },
});

describe("POST /oauth/token (client credentials)", () => {
  it("issues a short-lived EdDSA access token with the RFC 9068 claims", async () => {
    const a = await signup();
    const res = await call(
      "/oauth/token",
      form({ grant_type: "client_credentials", client_id: a.apiKeyId, client_secret: a.apiKey }),
    );
    expect(res.status).toBe(200);
    expect(res.headers.get("cache-control")).toBe("no-store");
    const body = (await res.json()) as {
      access_token: string;
      token_type: string;
      expires_in: number;
    };
    expect(body.token_type).toBe("Bearer");
    expect(body.expires_in).toBe(900);
    const header = decodeProtectedHeader(body.access_token);
    expect(header).toMatchObject({ alg: "EdDSA", typ: "at+jwt" });
    expect(header.kid).toBeTruthy();
    const claims = decodeJwt(body.access_token);
    expect(claims).toMatchObject({
      iss: env.ATOLL_ISSUER,
      aud: env.ATOLL_AUDIENCE,
      sub: a.userId,
      org: a.orgId,
      client_id: a.apiKeyId,
    });
    expect(claims.jti).toBeTruthy();
    expect((claims.exp as number) - (claims.iat as number)).toBe(900);
  });

  it("accepts HTTP Basic client authentication", async () => {
    const a = await signup();
    const basic = btoa(`${a.apiKeyId}:${a.apiKey}`);
    const res = await call("/oauth/token", {
      ...form({ grant_type: "client_credentials" }),
      headers: {
        "content-type": "application/x-www-form-urlencoded",
        authorization: `Basic ${basic}`,
      },
    });
    expect(res.status).toBe(200);
  });

  it("narrows the token to a requested scope, and refuses scopes the key lacks", async () => {
    const a = await signup();
    const narrow = await token(a, "org:read");
    expect(decodeJwt(narrow).scope).toBe("org:read");
    const res = await call("/v1/api-keys", { method: "POST", token: narrow, json: { name: "x" } });
    expect(res.status).toBe(403);
    const bad = await call(
      "/oauth/token",
      form({
        grant_type: "client_credentials",
        client_id: a.apiKeyId,
        client_secret: a.apiKey,
        scope: "org:read root",
      }),
    );
    expect(bad.status).toBe(400);
    expect((await problem(bad)).error).toBe("invalid_scope");
  });

  it.each([
    [
      "a wrong secret",
      (a: { apiKeyId: string; apiKey: string }) => ({
        grant_type: "client_credentials",
        client_id: a.apiKeyId,
        client_secret:
          a.apiKey.slice(0, 10) + (a.apiKey[10] === "Q" ? "R" : "Q") + a.apiKey.slice(11),
      }),
      401,
      "invalid_client",
    ],
    [
      "a key under another client id",
      (a: { apiKeyId: string; apiKey: string }) => ({
        grant_type: "client_credentials",
        client_id: "key_other",
        client_secret: a.apiKey,
      }),
      401,
      "invalid_client",
    ],
    [
      "another grant type",
      (a: { apiKeyId: string; apiKey: string }) => ({
        grant_type: "password",
        client_id: a.apiKeyId,
        client_secret: a.apiKey,
      }),
      400,
      "unsupported_grant_type",
    ],
    [
      "no grant type",
      (a: { apiKeyId: string; apiKey: string }) => ({
        client_id: a.apiKeyId,
        client_secret: a.apiKey,
      }),
      400,
      "invalid_request",
    ],
    [
      "no secret",
      (a: { apiKeyId: string; apiKey: string }) => ({
        grant_type: "client_credentials",
        client_id: a.apiKeyId,
      }),
      400,
      "invalid_request",
    ],
  ])("refuses %s with RFC 6749's error code", async (_label, fields, status, error) => {
    const a = await signup();
    const res = await call("/oauth/token", form(fields(a)));
    expect(res.status).toBe(status);
    const p = await problem(res);
    expect(p.error).toBe(error);
    expect(JSON.stringify(p)).not.toContain(a.apiKey);
  });

  it("refuses a JSON body and credentials sent twice", async () => {
    const a = await signup();
    const json = await call("/oauth/token", {
      method: "POST",
      json: { grant_type: "client_credentials", client_id: a.apiKeyId, client_secret: a.apiKey },
    });
    expect(json.status).toBe(400);
    const both = await call("/oauth/token", {
      ...form({ grant_type: "client_credentials", client_id: a.apiKeyId, client_secret: a.apiKey }),
      headers: {
        "content-type": "application/x-www-form-urlencoded",
        authorization: `Basic ${btoa(`${a.apiKeyId}:${a.apiKey}`)}`,
      },
    });
    expect(both.status).toBe(400);
  });

  it("refuses an oversized token request before parsing it", async () => {
    const res = await call(
      "/oauth/token",
      form({
        grant_type: "client_credentials",
        client_id: "key_x",
        client_secret: "x".repeat(9000),
      }),
    );
    expect(res.status).toBe(400);
    expect((await problem(res)).error).toBe("invalid_request");
  });

  it("refuses a revoked key as a client", async () => {
    const a = await signup();
    await call(`/v1/api-keys/${a.apiKeyId}`, { method: "DELETE", key: a.apiKey });
    const res = await call(
      "/oauth/token",
      form({ grant_type: "client_credentials", client_id: a.apiKeyId, client_secret: a.apiKey }),
    );
    expect(res.status).toBe(401);
  });
});

describe("signing keys: JWKS and rotation", () => {
  it("publishes the signing key in /.well-known/jwks.json without private parts", async () => {
    const a = await signup();
    const kid = decodeProtectedHeader(await token(a)).kid;
    const res = await call("/.well-known/jwks.json");
    const jwks = (await res.json()) as { keys: Record<string, unknown>[] };
    expect(jwks.keys.map((k) => k.kid)).toContain(kid);
    for (const k of jwks.keys) expect(k).not.toHaveProperty("d");
  });

  it("keeps tokens signed by the previous key valid after a rotation, and refuses a second rotation too soon", async () => {
    const a = await signup();
    const before = await token(a);
    const oldKid = decodeProtectedHeader(before).kid;
    const rotated = await call("/v1/operator/signing-keys/rotate", {
      method: "POST",
      key: OPERATOR_KEY,
    });
    expect(rotated.status).toBe(200);
    const { kid, previous } = (await rotated.json()) as { kid: string; previous: string };
    expect(previous).toBe(oldKid);
    const after = await token(a);
    expect(decodeProtectedHeader(after).kid).toBe(kid);
    expect((await call("/v1/me", { token: before })).status).toBe(200);
    expect((await call("/v1/me", { token: after })).status).toBe(200);
    const jwks = (await (await call("/.well-known/jwks.json")).json()) as {
      keys: { kid: string }[];
    };
    expect(jwks.keys.map((k) => k.kid).sort()).toEqual([kid, oldKid].sort());

    const tooSoon = await call("/v1/operator/signing-keys/rotate", {
      method: "POST",
      key: OPERATOR_KEY,
    });
    expect(tooSoon.status).toBe(409);
    expect(tooSoon.headers.get("retry-after")).toMatch(/^\d+$/);

    // A forced rotation retires the oldest key: its tokens stop working.
    expect(
      (
        await call("/v1/operator/signing-keys/rotate?force=true", {
          method: "POST",
          key: OPERATOR_KEY,
        })
      ).status,
    ).toBe(200);
    const res = await call("/v1/me", { token: before });
    expect(res.status).toBe(401);
    expect((await problem(res)).reason).toBe("unknown-key");
    expect((await call("/v1/me", { token: after })).status).toBe(200);
  });

  it("lets only the operator rotate keys", async () => {
    const a = await signup();
    expect(
      (await call("/v1/operator/signing-keys/rotate", { method: "POST", key: a.apiKey })).status,
    ).toBe(403);
  });

  it("stores the private key encrypted", async () => {
    const a = await signup();
    await token(a);
    const rows = await env.DB.prepare("SELECT private_jwk_enc FROM signing_keys").all<{
      private_jwk_enc: string;
    }>();
    for (const r of rows.results) {
      expect(r.private_jwk_enc).toMatch(/^v1\./);
      expect(r.private_jwk_enc).not.toContain('"d"');
    }
  });
});
