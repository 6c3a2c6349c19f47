import { runInDurableObject } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { beforeEach, describe, expect, it } from "vitest";
import { LeaseLimiter } from "../../src/access/ratelimit/lease";
import { type RateLimiter } from "../../src/access/ratelimit/durable-object";
import { takePlanQuota } from "../../src/access/ratelimit/quota";
import { OPERATOR_KEY, awayFromWindowEdge, call, problem, signup, token } from "../helpers";
import { invite } from "../mail-helpers";

const remote = (subject: string, req: Parameters<RateLimiter["acquire"]>[0]) =>
  env.RATE_LIMITER.get(env.RATE_LIMITER.idFromName(subject)).acquire(req);

describe("RateLimiter Durable Object", () => {
  beforeEach(() => awayFromWindowEdge());

  it("grants leases from one window and never beyond the limit", async () => {
    const stub = env.RATE_LIMITER.get(env.RATE_LIMITER.idFromName("do-unit"));
    const a = await stub.acquire({
      cls: "api",
      limit: 10,
      windowMs: 60_000,
      want: 7,
      leaseMs: 1_000,
    });
    const b = await stub.acquire({
      cls: "api",
      limit: 10,
      windowMs: 60_000,
      want: 7,
      leaseMs: 1_000,
    });
    const c = await stub.acquire({
      cls: "api",
      limit: 10,
      windowMs: 60_000,
      want: 7,
      leaseMs: 1_000,
    });
    expect([a.granted, b.granted, c.granted]).toEqual([7, 3, 0]);
    expect(c.resetAt).toBeGreaterThan(Date.now());
    await runInDurableObject(stub, (instance: RateLimiter) => {
      const records = instance.inspect().windows.api?.records ?? [];
      expect(records.reduce((n, r) => n + r.count, 0)).toBe(10);
    });
  });

  it("keeps route classes apart and refuses everything once revoked", async () => {
    const stub = env.RATE_LIMITER.get(env.RATE_LIMITER.idFromName("do-revoke"));
    expect(
      (await stub.acquire({ cls: "api", limit: 1, windowMs: 60_000, want: 1, leaseMs: 1_000 }))
        .granted,
    ).toBe(1);
    expect(
      (await stub.acquire({ cls: "token", limit: 1, windowMs: 60_000, want: 1, leaseMs: 1_000 }))
        .granted,
    ).toBe(1);
    await stub.revoke();
    expect(
      await stub.acquire({ cls: "other", limit: 100, windowMs: 60_000, want: 1, leaseMs: 1_000 }),
    ).toMatchObject({ granted: 0, revoked: true });
  });

  it("admits exactly 100 of 1,000 concurrent requests, from one isolate or from four", async () => {
    const one = new LeaseLimiter(remote);
    const single = await Promise.all(
      Array.from({ length: 1000 }, () => one.take("exact-1", "api", 100, 60_000)),
    );
    expect(single.filter((d) => d.allowed)).toHaveLength(100);

    const isolates = Array.from({ length: 4 }, () => new LeaseLimiter(remote));
    const many = await Promise.all(
      isolates.flatMap((l) =>
        Array.from({ length: 250 }, () => l.take("exact-4", "api", 100, 60_000)),
      ),
    );
    expect(many.filter((d) => d.allowed)).toHaveLength(100);
  });

  it("admits exactly the organization's quota across six credentials and four isolates", async () => {
    const isolates = Array.from({ length: 4 }, () => new LeaseLimiter(remote));
    const quota = { quota: 100, windowSec: 60 };
    const all = await Promise.all(
      isolates.flatMap((l) =>
        Array.from({ length: 240 }, (_, i) =>
          takePlanQuota(l, { subject: `exact-org-key-${i % 6}`, orgId: "org_exact" }, "api", quota),
        ),
      ),
    );
    expect(all.filter((d) => d.allowed)).toHaveLength(100);
    expect(all.filter((d) => !d.allowed && d.reason === "limited")).toHaveLength(860);
  });
});

describe("rate limits over HTTP", () => {
  beforeEach(() => awayFromWindowEdge());

  it("admits exactly the plan's limit under concurrency and answers the rest 429 with headers", async () => {
    const a = await signup();
    const results = await Promise.all(
      Array.from({ length: 300 }, () => call("/v1/me", { key: a.apiKey })),
    );
    const ok = results.filter((r) => r.status === 200);
    const limited = results.filter((r) => r.status === 429);
    expect(ok).toHaveLength(60); // free plan: 60 per minute for "api"
    expect(limited).toHaveLength(240);
    expect(ok[0]?.headers.get("ratelimit-policy")).toBe('"api";q=60;w=60');
    expect(ok[0]?.headers.get("ratelimit")).toMatch(/^"api";r=\d+;t=\d+$/);
    const refused = limited[0] as Response;
    expect(refused.headers.get("ratelimit")).toMatch(/^"api";r=0;t=\d+$/);
    const retryAfter = Number(refused.headers.get("retry-after"));
    expect(retryAfter).toBeGreaterThanOrEqual(1);
    expect(retryAfter).toBeLessThanOrEqual(60);
    const p = await problem(refused);
    expect(p).toMatchObject({ status: 429, type: "https://atoll.dev/problems/rate-limited" });
  }, 30_000);

  it("counts an API key and the JWTs minted from it against one budget", async () => {
    const a = await signup();
    const jwt = await token(a);
    let admitted = 0;
    for (let i = 0; i < 40; i++)
      if ((await call("/v1/me", { key: a.apiKey })).status === 200) admitted++;
    for (let i = 0; i < 40; i++)
      if ((await call("/v1/me", { token: jwt })).status === 200) admitted++;
    expect(admitted).toBe(60);
  });

  it("shares the plan's quota among all the organization's keys, members and tokens", async () => {
    const a = await signup();
    const keys = await Promise.all(
      Array.from(
        { length: 3 },
        async (_, i) =>
          (await (
            await call("/v1/api-keys", { method: "POST", key: a.apiKey, json: { name: `k${i}` } })
          ).json()) as { id: string; key: string },
      ),
    );
    const member = await invite(
      a,
      `quota-${Math.random().toString(36).slice(2, 10)}@example.test`,
      "member",
    );
    const jwt = await token({ apiKey: keys[0]?.key ?? "", apiKeyId: keys[0]?.id ?? "" });
    // Six credentials of one organization, each well under the plan: 20 concurrent calls each, one
    // credential after the other.
    await awayFromWindowEdge(60_000, 20_000);
    const credentials: Array<{ key: string } | { token: string }> = [
      { key: a.apiKey },
      ...keys.map((k) => ({ key: k.key })),
      { key: member.apiKey },
      { token: jwt },
    ];
    const results: Response[] = [];
    for (const cred of credentials)
      results.push(...(await Promise.all(Array.from({ length: 20 }, () => call("/v1/me", cred)))));
    // Free plan: 60 a minute for the whole organization, of which the setup spent 4 (three key
    // creations and the invitation) unless waiting for the window moved it into the previous
    // minute; before, each credential had 60 of its own and all 120 passed.
    const statuses: Record<number, number> = {};
    for (const r of results) statuses[r.status] = (statuses[r.status] ?? 0) + 1;
    expect(Object.keys(statuses).sort()).toEqual(["200", "429"]);
    expect(statuses[200]).toBeGreaterThanOrEqual(56);
    expect(statuses[200]).toBeLessThanOrEqual(60);
    expect((statuses[200] ?? 0) + (statuses[429] ?? 0)).toBe(120);
  }, 30_000);

  it("shares token minting among the organization's keys", async () => {
    const a = await signup();
    const second = (await (
      await call("/v1/api-keys", { method: "POST", key: a.apiKey, json: { name: "second" } })
    ).json()) as { id: string; key: string };
    const mint = (id: string, secret: string) =>
      call("/oauth/token", {
        method: "POST",
        body: new URLSearchParams({
          grant_type: "client_credentials",
          client_id: id,
          client_secret: secret,
        }),
        headers: { "content-type": "application/x-www-form-urlencoded" },
      });
    const results = await Promise.all([
      ...Array.from({ length: 10 }, () => mint(a.apiKeyId, a.apiKey)),
      ...Array.from({ length: 10 }, () => mint(second.id, second.key)),
    ]);
    expect(results.filter((r) => r.status === 200)).toHaveLength(10); // free plan: 10 tokens a minute
    expect(results.filter((r) => r.status === 429)).toHaveLength(10);
  });

  it("raises the limit when the operator moves the organization to a bigger plan", async () => {
    const a = await signup();
    const res = await call(`/v1/operator/organizations/${a.orgId}/plan`, {
      method: "PUT",
      key: OPERATOR_KEY,
      json: { plan: "pro" },
    });
    expect(res.status).toBe(200);
    const first = await call("/v1/me", { key: a.apiKey });
    expect(first.headers.get("ratelimit-policy")).toBe('"api";q=1200;w=60');
  });

  it("limits calls without a credential per client IP", async () => {
    const res = await call("/v1/signup", { method: "POST", json: {}, ip: "203.0.113.9" });
    expect(res.headers.get("ratelimit-policy")).toBe('"anonymous";q=120;w=60');
    expect(res.headers.get("ratelimit")).toMatch(/^"anonymous";r=119;t=\d+$/);
    // Another address has a budget of its own.
    const other = await call("/v1/signup", { method: "POST", json: {}, ip: "203.0.113.10" });
    expect(other.headers.get("ratelimit")).toMatch(/^"anonymous";r=119;t=\d+$/);
  });

  it("limits a valid credential by its plan on public routes too", async () => {
    const a = await signup("pub");
    const res = await call("/v1/marketplace/categories", { key: a.apiKey });
    expect(res.status).toBe(200);
    expect(res.headers.get("ratelimit-policy")).toBe('"api";q=60;w=60');
  });
});
