import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { call, problem, signup, token } from "../helpers";

describe("GET /v1/me", () => {
  it("describes a caller authenticated by API key, in X-API-Key or as a bearer", async () => {
    const a = await signup();
    for (const init of [{ key: a.apiKey }, { headers: { authorization: `Bearer ${a.apiKey}` } }]) {
      const res = await call("/v1/me", init);
      expect(res.status).toBe(200);
      const me = (await res.json()) as Record<string, unknown>;
      expect(me).toMatchObject({
        method: "api_key",
        role: "owner",
        keyId: a.apiKeyId,
        organization: { id: a.orgId },
        user: { id: a.userId },
      });
    }
  });

  it("describes a caller authenticated by a JWT from /oauth/token", async () => {
    const a = await signup();
    const res = await call("/v1/me", { token: await token(a) });
    expect(res.status).toBe(200);
    expect(await res.json()).toMatchObject({
      method: "access_token",
      subject: a.apiKeyId,
      organization: { id: a.orgId },
    });
  });

  it.each([
    ["no credential", {}, "Send an API key"],
    ["a mistyped key", { key: "atk_" + "x".repeat(38) }, "checksum"],
    ["a non-Atoll key", { key: "sk_live_123" }, "format"],
    ["a Basic header", { headers: { authorization: "Basic dXNlcjpwYXNz" } }, "Bearer"],
    ["a garbage bearer", { token: "abc.def.ghi" }, ""],
  ])("answers 401 with a problem for %s", async (_label, init, text) => {
    const res = await call("/v1/me", init);
    expect(res.status).toBe(401);
    expect(res.headers.get("www-authenticate")).toMatch(/^Bearer/);
    expect((await problem(res)).detail).toContain(text);
  });

  it("refuses an expired key", async () => {
    const a = await signup();
    await env.DB.prepare("UPDATE api_keys SET expires_at = ? WHERE id = ?")
      .bind(Date.now() - 1000, a.apiKeyId)
      .run();
    const res = await call("/v1/me", { key: a.apiKey });
    expect(res.status).toBe(401);
    expect((await problem(res)).reason).toBe("expired");
  });
});

describe("API keys", () => {
  it("creates a key shown once, lists keys without secrets, and revokes it at once", async () => {
    const a = await signup();
    const created = await call("/v1/api-keys", {
      method: "POST",
      key: a.apiKey,
      json: { name: "ci", scopes: ["org:read"] },
    });
    expect(created.status).toBe(201);
    const k = (await created.json()) as {
      id: string;
      key: string;
      prefix: string;
      scopes: string[];
      status: string;
    };
    expect(k).toMatchObject({ scopes: ["org:read"], status: "active" });
    expect(k.key.startsWith(k.prefix)).toBe(true);

    const list = await call("/v1/api-keys", { key: a.apiKey });
    const text = await list.text();
    expect(text).not.toContain(k.key);
    expect(text).not.toContain(a.apiKey);
    expect(JSON.parse(text).keys.map((x: { id: string }) => x.id)).toContain(k.id);

    expect((await call("/v1/me", { key: k.key })).status).toBe(200);
    expect((await call(`/v1/api-keys/${k.id}`, { method: "DELETE", key: a.apiKey })).status).toBe(
      204,
    );
    const refused = await call("/v1/me", { key: k.key });
    expect(refused.status).toBe(401);
    expect((await problem(refused)).reason).toBe("revoked");
    const listed = (await (await call("/v1/api-keys", { key: a.apiKey })).json()) as {
      keys: { id: string; status: string }[];
    };
    expect(listed.keys.find((x) => x.id === k.id)?.status).toBe("revoked");
  });

  it("stops accepting JWTs minted from a key once the key is revoked", async () => {
    const a = await signup();
    const created = (await (
      await call("/v1/api-keys", { method: "POST", key: a.apiKey, json: { name: "minting" } })
    ).json()) as { id: string; key: string };
    const jwt = await token({ apiKey: created.key, apiKeyId: created.id });
    expect((await call("/v1/me", { token: jwt })).status).toBe(200);
    await call(`/v1/api-keys/${created.id}`, { method: "DELETE", key: a.apiKey });
    const res = await call("/v1/me", { token: jwt });
    expect(res.status).toBe(401);
    expect((await problem(res)).reason).toBe("revoked");
  });

  it("refuses to create a key with scopes the creator lacks", async () => {
    const a = await signup();
    const narrow = (await (
      await call("/v1/api-keys", {
        method: "POST",
        key: a.apiKey,
        json: { name: "narrow", scopes: ["keys:write", "org:read"] },
      })
    ).json()) as { key: string };
    const res = await call("/v1/api-keys", {
      method: "POST",
      key: narrow.key,
      json: { name: "wider", scopes: ["org:write"] },
    });
    expect(res.status).toBe(403);
    expect((await problem(res)).detail).toContain("org:write");
  });

  it("refuses an action outside the key's scopes", async () => {
    const a = await signup();
    const readOnly = (await (
      await call("/v1/api-keys", {
        method: "POST",
        key: a.apiKey,
        json: { name: "ro", scopes: ["org:read"] },
      })
    ).json()) as { key: string };
    const res = await call("/v1/api-keys", {
      method: "POST",
      key: readOnly.key,
      json: { name: "x" },
    });
    expect(res.status).toBe(403);
    expect((await problem(res)).detail).toContain("keys:write");
  });

  it.each([
    ["an unknown scope", { name: "x", scopes: ["root"] }],
    ["a past expiry", { name: "x", expiresAt: "2001-01-01T00:00:00Z" }],
    ["an expiry beyond a year", { name: "x", expiresAt: "2099-01-01T00:00:00Z" }],
    ["a missing name", { scopes: ["org:read"] }],
  ])("answers 400 for %s", async (_label, json) => {
    const a = await signup();
    const res = await call("/v1/api-keys", { method: "POST", key: a.apiKey, json });
    expect(res.status).toBe(400);
    await problem(res);
  });

  it("records key creation and revocation in the audit log, without secrets", async () => {
    const a = await signup();
    const k = (await (
      await call("/v1/api-keys", { method: "POST", key: a.apiKey, json: { name: "audited" } })
    ).json()) as { id: string; key: string };
    await call(`/v1/api-keys/${k.id}`, { method: "DELETE", key: a.apiKey });
    const res = await call(`/v1/organizations/${a.orgId}/audit-log`, { key: a.apiKey });
    const text = await res.text();
    expect(text).not.toContain(k.key);
    const actions = (JSON.parse(text) as { entries: { action: string }[] }).entries.map(
      (e) => e.action,
    );
    expect(actions).toEqual(
      expect.arrayContaining(["api_key.created", "api_key.revoked", "organization.created"]),
    );
  });
});

describe("cross-organization isolation", () => {
  it("never lets one organization read or change another's data", async () => {
    const a = await signup("a");
    const b = await signup("b");
    const bKey = (await (
      await call("/v1/api-keys", { method: "POST", key: b.apiKey, json: { name: "b-second" } })
    ).json()) as { id: string; key: string };
    const attempts: [string, RequestInit & { json?: unknown }][] = [
      [`/v1/organizations/${b.orgId}`, {}],
      [`/v1/organizations/${b.orgId}/members`, {}],
      [`/v1/organizations/${b.orgId}/audit-log`, {}],
      [
        `/v1/organizations/${b.orgId}/members`,
        { method: "POST", json: { email: "intruder@example.test", role: "owner" } },
      ],
      [
        `/v1/organizations/${b.orgId}/members/${b.userId}`,
        { method: "PATCH", json: { role: "member" } },
      ],
      [`/v1/organizations/${b.orgId}/members/${b.userId}`, { method: "DELETE" }],
      [`/v1/api-keys/${bKey.id}`, { method: "DELETE" }],
    ];
    for (const [path, init] of attempts) {
      for (const cred of [{ key: a.apiKey }, { token: await token(a) }]) {
        const res = await call(path, { ...init, ...cred });
        expect(res.status, `${init.method ?? "GET"} ${path}`).toBe(404);
      }
    }
    const aList = await (await call("/v1/api-keys", { key: a.apiKey })).text();
    expect(aList).not.toContain(bKey.id);
    expect((await call("/v1/me", { key: bKey.key })).status).toBe(200);
  });
});
