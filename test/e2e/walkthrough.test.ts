/**
 * The README's walkthrough, over HTTP against the real local server: sign up, call /v1/me with the
 * API key, exchange it for a JWT, call /v1/me with the JWT, revoke the key and see both refused,
 * and hit the rate limit.
 */
import { readFileSync } from "node:fs";
import { describe, expect, inject, it } from "vitest";

const base = inject("baseUrl");

async function json<T>(res: Response): Promise<T> {
  return (await res.json()) as T;
}

describe("README walkthrough against the running platform", () => {
  it("serves health, OpenAPI, the docs page and its script", async () => {
    expect(await json(await fetch(`${base}/healthz`))).toEqual({ status: "ok" });
    const doc = await json<{ openapi: string; servers: { url: string }[] }>(
      await fetch(`${base}/openapi.json`),
    );
    expect(doc.openapi).toBe("3.1.0");
    expect(doc.servers[0]?.url).toBe(base);
    const page = await fetch(`${base}/docs`);
    expect(page.headers.get("content-type")).toContain("text/html");
    const script = await fetch(`${base}/docs/scalar.js`);
    expect(script.status).toBe(200);
    expect((await script.text()).length).toBeGreaterThan(100_000);
  });

  it("seeded the demo organization and wrote working credentials", async () => {
    const creds = JSON.parse(readFileSync(inject("credentialsPath"), "utf8")) as {
      apiKey: string;
      organization: { slug: string };
    };
    expect(creds.organization.slug).toBe("demo");
    const me = await fetch(`${base}/v1/me`, { headers: { "x-api-key": creds.apiKey } });
    expect(me.status).toBe(200);
  });

  it("signs up, authenticates by key and by JWT, then revokes", async () => {
    const email = `walk-${Date.now()}@example.test`;
    const signup = await fetch(`${base}/v1/signup`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({
        email,
        name: "Walker",
        organization: { name: "Walkers", slug: `walkers-${Date.now()}` },
      }),
    });
    expect(signup.status).toBe(201);
    const { apiKey, apiKeyId } = await json<{ apiKey: string; apiKeyId: string }>(signup);

    const me = await fetch(`${base}/v1/me`, { headers: { "x-api-key": apiKey } });
    expect(me.status).toBe(200);
    expect(me.headers.get("ratelimit-policy")).toBe('"api";q=60;w=60');
    expect(me.headers.get("x-request-id")).toMatch(/^req_/);

    const tokenRes = await fetch(`${base}/oauth/token`, {
      method: "POST",
      headers: { "content-type": "application/x-www-form-urlencoded" },
      body: new URLSearchParams({
        grant_type: "client_credentials",
        client_id: apiKeyId,
        client_secret: apiKey,
      }),
    });
    expect(tokenRes.status).toBe(200);
    const { access_token } = await json<{ access_token: string }>(tokenRes);
    const meJwt = await json<{ method: string; user: { email: string } }>(
      await fetch(`${base}/v1/me`, { headers: { authorization: `Bearer ${access_token}` } }),
    );
    expect(meJwt).toMatchObject({ method: "access_token", user: { email } });

    expect(
      (
        await fetch(`${base}/v1/api-keys/${apiKeyId}`, {
          method: "DELETE",
          headers: { "x-api-key": apiKey },
        })
      ).status,
    ).toBe(204);
    const refused = await fetch(`${base}/v1/me`, { headers: { "x-api-key": apiKey } });
    expect(refused.status).toBe(401);
    expect(refused.headers.get("content-type")).toBe("application/problem+json");
    expect(
      (await fetch(`${base}/v1/me`, { headers: { authorization: `Bearer ${access_token}` } }))
        .status,
    ).toBe(401);
  });

  it("hits the rate limit and answers 429 with RateLimit and Retry-After headers", async () => {
    // Stay inside one minute-aligned window.
    const left = 60_000 - (Date.now() % 60_000);
    if (left < 8_000) await new Promise((r) => setTimeout(r, left + 50));
    const signup = await fetch(`${base}/v1/signup`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({
        email: `limit-${Date.now()}@example.test`,
        name: "L",
        organization: `Limit ${Date.now()}`,
      }),
    });
    const { apiKey } = await json<{ apiKey: string }>(signup);
    const statuses = await Promise.all(
      Array.from({ length: 100 }, async () => {
        const r = await fetch(`${base}/v1/me`, { headers: { "x-api-key": apiKey } });
        await r.arrayBuffer();
        return r;
      }),
    );
    expect(statuses.filter((r) => r.status === 200)).toHaveLength(60);
    const limited = statuses.find((r) => r.status === 429);
    expect(limited?.headers.get("retry-after")).toMatch(/^\d+$/);
    expect(limited?.headers.get("ratelimit")).toMatch(/^"api";r=0;t=\d+$/);
    expect(limited?.headers.get("content-type")).toBe("application/problem+json");
  });

  it("refuses bad input with precise problem documents over the wire", async () => {
    const cases: [RequestInit & { path?: string }, number][] = [
      [{ method: "POST", headers: { "content-type": "application/json" }, body: "{" }, 400],
      [{ method: "POST", headers: { "content-type": "text/plain" }, body: "hi" }, 415],
      [
        {
          method: "POST",
          headers: { "content-type": "application/json" },
          body: JSON.stringify({ email: "a@b.test" }),
        },
        400,
      ],
      [{ method: "PUT", headers: { "content-type": "application/json" }, body: "{}" }, 405],
    ];
    for (const [init, status] of cases) {
      const res = await fetch(`${base}/v1/signup`, init);
      expect(res.status).toBe(status);
      expect(res.headers.get("content-type")).toBe("application/problem+json");
      const body = await res.text();
      expect(body).not.toMatch(/at \w+ \(|\.ts:\d+/);
    }
  });
});
