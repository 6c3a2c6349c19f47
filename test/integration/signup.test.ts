import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { call, problem, signup } from "../helpers";

async function count(table: string): Promise<number> {
  const row = await env.DB.prepare(`SELECT count(*) AS n FROM ${table}`).first<{ n: number }>();
  return row?.n ?? 0;
}

describe("POST /v1/signup", () => {
  it("creates the user, the organization and its first API key, shown once", async () => {
    const res = await call("/v1/signup", {
      method: "POST",
      json: { email: "Ada@Acme.test", name: "Ada", organization: "Acme Corp." },
    });
    expect(res.status).toBe(201);
    const body = (await res.json()) as {
      user: { email: string };
      organization: { slug: string; plan: string };
      apiKey: string;
      apiKeyId: string;
      role: string;
    };
    expect(body.user.email).toBe("ada@acme.test");
    expect(body.organization).toMatchObject({ slug: "acme-corp", plan: "free" });
    expect(body.role).toBe("owner");
    expect(body.apiKey).toMatch(/^atk_/);
    expect(body.apiKeyId).toMatch(/^key_/);
    // Only the hash is stored.
    const stored = await env.DB.prepare("SELECT hash, prefix FROM api_keys WHERE id = ?")
      .bind(body.apiKeyId)
      .first<{ hash: string; prefix: string }>();
    expect(stored?.hash).toMatch(/^[0-9a-f]{64}$/);
    expect(stored?.hash).not.toContain(body.apiKey);
    expect(body.apiKey.startsWith(stored?.prefix ?? "x")).toBe(true);
  });

  it("refuses a duplicate email with 409 and leaves nothing half-written", async () => {
    const a = await signup();
    const before = await Promise.all(
      ["users", "organizations", "memberships", "api_keys", "audit_log"].map(count),
    );
    const res = await call("/v1/signup", {
      method: "POST",
      json: {
        email: a.email,
        name: "Again",
        organization: { name: "Fresh", slug: "fresh-unique-slug" },
      },
    });
    expect(res.status).toBe(409);
    expect((await problem(res)).type).toMatch(/email-taken$/);
    const after = await Promise.all(
      ["users", "organizations", "memberships", "api_keys", "audit_log"].map(count),
    );
    expect(after).toEqual(before);
  });

  it("refuses a taken slug with 409 and creates no orphan user", async () => {
    const a = await signup();
    const users = await count("users");
    const res = await call("/v1/signup", {
      method: "POST",
      json: {
        email: "new-person@example.test",
        name: "New",
        organization: { name: "X", slug: a.slug },
      },
    });
    expect(res.status).toBe(409);
    expect((await problem(res)).detail).toContain(a.slug);
    expect(await count("users")).toBe(users);
  });

  it.each([
    ["a missing field", { email: "a@b.test", name: "A" }, "organization"],
    ["an extra field", { email: "a@b.test", name: "A", organization: "Org", admin: true }, "admin"],
    ["a bad email", { email: "not-an-email", name: "A", organization: "Org" }, "email"],
    [
      "a bad slug",
      { email: "a@b.test", name: "A", organization: { name: "Org", slug: "-Bad Slug-" } },
      "organization",
    ],
    ["an empty name", { email: "a@b.test", name: " ", organization: "Org" }, "name"],
  ])("answers 400 naming the field for %s", async (_label, json, field) => {
    const res = await call("/v1/signup", { method: "POST", json });
    expect(res.status).toBe(400);
    const p = await problem(res);
    expect(p.type).toMatch(/validation-failed$/);
    expect(JSON.stringify(p.errors ?? p.detail)).toContain(field);
  });

  it("answers 400 for malformed JSON", async () => {
    const res = await call("/v1/signup", {
      method: "POST",
      body: '{"email":',
      headers: { "content-type": "application/json" },
    });
    expect(res.status).toBe(400);
    expect((await problem(res)).detail).toMatch(/JSON/i);
  });

  it("answers 415 for a body that is not JSON", async () => {
    const res = await call("/v1/signup", {
      method: "POST",
      body: "email=a@b.test",
      headers: { "content-type": "application/x-www-form-urlencoded" },
    });
    expect(res.status).toBe(415);
    expect((await problem(res)).detail).toContain("application/json");
  });

  it("answers 413 for an oversized body before parsing it", async () => {
    const big = JSON.stringify({
      email: "a@b.test",
      name: "x".repeat(70_000),
      organization: "Org",
    });
    const res = await call("/v1/signup", {
      method: "POST",
      body: big,
      headers: { "content-type": "application/json" },
    });
    expect(res.status).toBe(413);
    await problem(res);
  });
});
