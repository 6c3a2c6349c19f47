import { describe, expect, it } from "vitest";
import { call, problem, signup, token } from "../helpers";
import { invite } from "../mail-helpers";

const unique = (name: string) => `${name}-${Math.random().toString(36).slice(2, 10)}@example.test`;

describe("access tokens follow the member's current role", () => {
  it("a demoted admin's earlier JWT cannot add an admin or mint a permanent key", async () => {
    const owner = await signup();
    const admin = await invite(owner, unique("admin"), "admin");
    const jwt = await token(admin);
    expect(((await (await call("/v1/me", { token: jwt })).json()) as { role: string }).role).toBe(
      "admin",
    );
    const demote = await call(`/v1/organizations/${owner.orgId}/members/${admin.userId}`, {
      method: "PATCH",
      key: owner.apiKey,
      json: { role: "member" },
    });
    expect(demote.status).toBe(200);

    const me = (await (await call("/v1/me", { token: jwt })).json()) as {
      role: string;
      scopes: string[];
    };
    expect(me.role).toBe("member");
    expect(me.scopes).not.toContain("org:write");
    const addAdmin = await call(`/v1/organizations/${owner.orgId}/members`, {
      method: "POST",
      token: jwt,
      json: { email: unique("accomplice"), role: "admin" },
    });
    expect(addAdmin.status).toBe(403);
    await problem(addAdmin);
    const key = await call("/v1/api-keys", {
      method: "POST",
      token: jwt,
      json: { name: "escape", scopes: ["org:write"] },
    });
    expect(key.status).toBe(403);
  });

  it("a removed member's JWT stops working", async () => {
    const owner = await signup();
    const m = await invite(owner, unique("leaver"), "member");
    const jwt = await token(m);
    expect((await call("/v1/me", { token: jwt })).status).toBe(200);
    expect(
      (
        await call(`/v1/organizations/${owner.orgId}/members/${m.userId}`, {
          method: "DELETE",
          key: owner.apiKey,
        })
      ).status,
    ).toBe(204);
    expect((await call("/v1/me", { token: jwt })).status).toBe(401);
  });
});

describe("derived credentials never outlive or out-scope their parent", () => {
  async function shortKey(account: { apiKey: string }, minutes: number, scopes?: string[]) {
    const expiresAt = new Date(Date.now() + minutes * 60_000).toISOString();
    const res = await call("/v1/api-keys", {
      method: "POST",
      key: account.apiKey,
      json: { name: "short", expiresAt, ...(scopes ? { scopes } : {}) },
    });
    expect(res.status).toBe(201);
    return (await res.json()) as { id: string; key: string; expiresAt: string };
  }

  it("a JWT minted from a 2-minute key expires with the key", async () => {
    const a = await signup();
    const k = await shortKey(a, 2);
    const form = new URLSearchParams({
      grant_type: "client_credentials",
      client_id: k.id,
      client_secret: k.key,
    });
    const res = await call("/oauth/token", {
      method: "POST",
      body: form,
      headers: { "content-type": "application/x-www-form-urlencoded" },
    });
    expect(res.status).toBe(200);
    expect(((await res.json()) as { expires_in: number }).expires_in).toBeLessThanOrEqual(120);
  });

  it("a key created through a JWT from a 2-minute key expires no later than that JWT", async () => {
    const a = await signup();
    const k = await shortKey(a, 2);
    const jwt = await token({ apiKey: k.key, apiKeyId: k.id });
    const me = (await (await call("/v1/me", { token: jwt })).json()) as { expiresAt: string };
    for (const body of [
      { name: "year" },
      { name: "year", expiresAt: new Date(Date.now() + 360 * 86_400_000).toISOString() },
    ]) {
      const res = await call("/v1/api-keys", { method: "POST", token: jwt, json: body });
      expect(res.status).toBe(201);
      const derived = (await res.json()) as { expiresAt: string };
      expect(Date.parse(derived.expiresAt)).toBeLessThanOrEqual(Date.parse(me.expiresAt));
      expect(Date.parse(derived.expiresAt)).toBeLessThanOrEqual(Date.parse(k.expiresAt));
    }
  });

  it("a key created through a narrowed JWT gets no scope beyond the JWT's", async () => {
    const a = await signup();
    const jwt = await token(a, "keys:write org:read");
    const wider = await call("/v1/api-keys", {
      method: "POST",
      token: jwt,
      json: { name: "wider", scopes: ["org:read", "billing:write"] },
    });
    expect(wider.status).toBe(403);
    const dflt = await call("/v1/api-keys", {
      method: "POST",
      token: jwt,
      json: { name: "default" },
    });
    expect(dflt.status).toBe(201);
    expect(((await dflt.json()) as { scopes: string[] }).scopes.sort()).toEqual([
      "keys:write",
      "org:read",
    ]);
  });
});
