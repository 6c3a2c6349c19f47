/**
 * The manifest's routes are the contract the gateway enforces before the isolate wakes:
 * undeclared paths (404) and methods (405), per-route limits, declared schemas (400 naming the
 * field). The plugin counts every call that reaches it in its storage, so "never reached" is
 * measured, not assumed.
 */
import { describe, expect, it } from "vitest";
import { OPERATOR_KEY, call, problem, type Account } from "../helpers";
import { publishAndInstall, publishZip, publisher, rawPackage } from "../plugin-helpers";

/** Counts each call it receives (lifecycle calls aside) and echoes what it got. */
const COUNTER = `
export default {
  async fetch(request, env) {
    const url = new URL(request.url);
    if (url.pathname.startsWith("/__atoll/")) return Response.json({ ok: true });
    // One key per call: concurrent calls cannot lose a count (no read-modify-write).
    if (url.pathname === "/count")
      return Response.json({ calls: (await env.STORAGE.list("call:", 1000)).length });
    await env.STORAGE.put("call:" + crypto.randomUUID(), "1");
    const body = request.method === "GET" || request.method === "HEAD" ? null : await request.text();
    return Response.json({ method: request.method, path: url.pathname, query: url.search, body });
  },
};`;

const ROUTES = [
  { method: "GET", path: "/count" },
  {
    method: "GET",
    path: "/charges/{id}",
    params: { id: { type: "string", minLength: 3, maxLength: 10 } },
    query: {
      type: "object",
      properties: {
        limit: { type: "integer", minimum: 1, maximum: 50 },
        tag: { type: "array", items: { type: "string" } },
      },
      additionalProperties: false,
    },
  },
  {
    method: "POST",
    path: "/charges",
    body: {
      type: "object",
      required: ["amount", "currency"],
      properties: {
        amount: { type: "integer", minimum: 1 },
        currency: { type: "string", enum: ["usd", "eur"] },
      },
      additionalProperties: false,
    },
  },
  { method: "DELETE", path: "/charges/{id}" },
  { method: "POST", path: "/limited", limit: { requests: 10, window: 60 } },
  { method: "POST", path: "/other", limit: { requests: 10, window: 60 } },
  { method: "ANY", path: "/files/*" },
];

async function install(a: Account, manifest: Record<string, unknown> = { routes: ROUTES }) {
  return publishAndInstall(
    a,
    rawPackage(a.slug, COUNTER, { permissions: ["storage"], ...manifest }),
  );
}

async function calls(a: Account, endpoint: string): Promise<number> {
  const res = await call(`${endpoint}/count`, { key: a.apiKey });
  expect(res.status).toBe(200);
  return ((await res.json()) as { calls: number }).calls;
}

describe("declared routes", () => {
  it("answers an undeclared path with 404 and a wrong method with 405 + Allow, never waking the plugin", async () => {
    const a = await publisher("rt");
    const inst = await install(a);
    for (const path of ["/nope", "/charges/abc/refunds", "/count/extra", "/Count", "/charges"]) {
      const res = await call(`${inst.endpoint}${path}`, { key: a.apiKey });
      expect(res.status, path).toBe(path === "/charges" ? 405 : 404);
      await problem(res);
    }
    const put = await call(`${inst.endpoint}/charges/abc`, {
      method: "PUT",
      key: a.apiKey,
      json: {},
    });
    expect(put.status).toBe(405);
    expect(put.headers.get("allow")).toBe("GET, DELETE, HEAD");
    expect((await problem(put)).type).toMatch(/method-not-allowed$/);
    const root = await call(`${inst.endpoint}/`, { key: a.apiKey });
    expect(root.status).toBe(404);
    expect((await problem(root)).type).toMatch(/route-not-found$/);
    // Nothing above reached the plugin.
    expect(await calls(a, inst.endpoint)).toBe(0);
    // Declared ones do.
    expect((await call(`${inst.endpoint}/charges/abc`, { key: a.apiKey })).status).toBe(200);
    expect(
      (await call(`${inst.endpoint}/charges/abc`, { method: "DELETE", key: a.apiKey })).status,
    ).toBe(200);
    expect(
      (await call(`${inst.endpoint}/files/a/b.txt`, { method: "PUT", key: a.apiKey, body: "x" }))
        .status,
    ).toBe(200);
    expect(await calls(a, inst.endpoint)).toBe(3);
  });

  it("lets every path through when the manifest declares no routes", async () => {
    const a = await publisher("rt");
    const inst = await install(a, {});
    const res = await call(`${inst.endpoint}/any/path?x=1`, {
      method: "PATCH",
      key: a.apiKey,
      body: "hi",
    });
    expect(res.status).toBe(200);
    expect(await res.json()).toMatchObject({
      method: "PATCH",
      path: "/any/path",
      query: "?x=1",
      body: "hi",
    });
  });
});

describe("validation at the edge", () => {
  it.each([
    ["/charges/ab", "params.id"],
    ["/charges/abcdefghijk", "params.id"],
    ["/charges/abc?limit=0", "query.limit"],
    ["/charges/abc?limit=ten", "query.limit"],
    ["/charges/abc?unknown=1", "query"],
  ])("refuses GET %s naming %s, before the plugin", async (path, field) => {
    const a = await publisher("rv");
    const inst = await install(a);
    const res = await call(`${inst.endpoint}${path}`, { key: a.apiKey });
    expect(res.status).toBe(400);
    const p = await problem(res);
    expect(p.type).toMatch(/validation-failed$/);
    expect((p.errors as { path: string }[]).map((e) => e.path)).toContain(field);
    expect(await calls(a, inst.endpoint)).toBe(0);
  });

  it("passes typed query values and repeated keys, and the plugin gets the query as sent", async () => {
    const a = await publisher("rv");
    const inst = await install(a);
    const res = await call(`${inst.endpoint}/charges/abc?limit=10&tag=a&tag=b`, { key: a.apiKey });
    expect(res.status).toBe(200);
    expect(await res.json()).toMatchObject({ query: "?limit=10&tag=a&tag=b" });
  });

  it.each([
    [{ currency: "usd" }, "body"],
    [{ amount: "12", currency: "usd" }, "body.amount"],
    [{ amount: 12, currency: "gbp" }, "body.currency"],
    [{ amount: 12, currency: "usd", extra: true }, "body"],
  ])("refuses the body %j naming %s", async (json, field) => {
    const a = await publisher("rb");
    const inst = await install(a);
    const res = await call(`${inst.endpoint}/charges`, { method: "POST", key: a.apiKey, json });
    expect(res.status).toBe(400);
    const p = await problem(res);
    expect((p.errors as { path: string }[]).some((e) => e.path.startsWith(field))).toBe(true);
    expect(p.detail).not.toContain("gbp"); // fields are named, values are not echoed
    expect(await calls(a, inst.endpoint)).toBe(0);
  });

  it("refuses a body that is not JSON (415) or not parseable (400), and passes a valid one intact", async () => {
    const a = await publisher("rb");
    const inst = await install(a);
    const text = await call(`${inst.endpoint}/charges`, {
      method: "POST",
      key: a.apiKey,
      body: "amount=1",
      headers: { "content-type": "application/x-www-form-urlencoded" },
    });
    expect(text.status).toBe(415);
    await problem(text);
    const broken = await call(`${inst.endpoint}/charges`, {
      method: "POST",
      key: a.apiKey,
      body: '{"amount":',
      headers: { "content-type": "application/json" },
    });
    expect(broken.status).toBe(400);
    expect(((await problem(broken)).errors as { path: string }[])[0]?.path).toBe("body");
    expect(await calls(a, inst.endpoint)).toBe(0);
    const ok = await call(`${inst.endpoint}/charges`, {
      method: "POST",
      key: a.apiKey,
      json: { amount: 1999, currency: "eur" },
    });
    expect(ok.status).toBe(200);
    expect(await ok.json()).toMatchObject({ body: '{"amount":1999,"currency":"eur"}' });
  });
});

describe("per-route limits", () => {
  it("admits exactly the route's quota under concurrency, independently per route and per caller", async () => {
    const a = await publisher("rl");
    const inst = await install(a);
    const burst = await Promise.all(
      Array.from({ length: 40 }, () =>
        call(`${inst.endpoint}/limited`, { method: "POST", key: a.apiKey }),
      ),
    );
    const statuses = burst.map((r) => r.status);
    expect(statuses.filter((s) => s === 200)).toHaveLength(10);
    expect(statuses.filter((s) => s === 429)).toHaveLength(30);
    const refused = burst.find((r) => r.status === 429) as Response;
    expect(refused.headers.get("ratelimit-policy")).toContain('"route";q=10;w=60');
    expect(refused.headers.get("retry-after")).toMatch(/^\d+$/);
    expect((await problem(refused)).detail).toMatch(/This route accepts 10 requests per 60 s/);
    const admitted = burst.find((r) => r.status === 200) as Response;
    expect(admitted.headers.get("ratelimit-policy")).toMatch(
      /"plugin";q=\d+;w=60, "route";q=10;w=60/,
    );
    expect(admitted.headers.get("ratelimit")).toMatch(/"plugin";r=\d+;t=\d+, "route";r=\d+;t=\d+/);
    // Another route's budget is its own; so is another caller's (the operator).
    expect((await call(`${inst.endpoint}/other`, { method: "POST", key: a.apiKey })).status).toBe(
      200,
    );
    expect(
      (await call(`${inst.endpoint}/limited`, { method: "POST", key: OPERATOR_KEY })).status,
    ).toBe(200);
    // Refused calls never reached the plugin: 10 + /other + the operator's.
    expect(await calls(a, inst.endpoint)).toBe(12);
  });

  it("a version that reorders its routes does not hand a route a fresh bucket (red team)", async () => {
    const a = await publisher("rl");
    const limited = { method: "POST", path: "/limited", limit: { requests: 3, window: 60 } };
    const other = { method: "GET", path: "/count" };
    const inst = await install(a, { routes: [limited, other] });
    const spend = async () =>
      (await call(`${inst.endpoint}/limited`, { method: "POST", key: a.apiKey })).status;
    expect([await spend(), await spend(), await spend(), await spend()]).toEqual([
      200, 200, 200, 429,
    ]);
    // Version 2.0.0 lists the same route second; upgrading must not reset its budget.
    const pub = await publishZip(
      a,
      rawPackage(a.slug, COUNTER, {
        name: inst.plugin,
        permissions: ["storage"],
        version: "2.0.0",
        routes: [other, limited],
      }),
    );
    expect(pub.status).toBe(201);
    const up = await call(`/v1/installations/${inst.id}`, {
      method: "PATCH",
      key: a.apiKey,
      json: { version: "2.0.0" },
    });
    expect(up.status).toBe(200);
    expect(await spend()).toBe(429);
  });

  it("a plugin cannot forge the platform's RateLimit headers", async () => {
    const a = await publisher("rl");
    const source = `export default { fetch() { return new Response("ok", { headers: { "ratelimit-policy": '"route";q=999999;w=1', ratelimit: '"route";r=999999;t=0' } }); } };`;
    const inst = await publishAndInstall(a, rawPackage(a.slug, source));
    const res = await call(`${inst.endpoint}/x`, { key: a.apiKey });
    expect(res.headers.get("ratelimit-policy")).not.toContain("999999");
    expect(res.headers.get("ratelimit")).not.toContain("999999");
  });

  it("applies the plugin-wide requestsPerMinute to every caller together", async () => {
    const a = await publisher("rl");
    const inst = await install(a, { routes: ROUTES, limits: { requestsPerMinute: 5 } });
    const statuses: number[] = [];
    for (let i = 0; i < 7; i++)
      statuses.push((await call(`${inst.endpoint}/files/x`, { key: a.apiKey })).status);
    expect(statuses).toEqual([200, 200, 200, 200, 200, 429, 429]);
    const refused = await call(`${inst.endpoint}/files/x`, { key: OPERATOR_KEY });
    expect(refused.status).toBe(429);
    expect(refused.headers.get("ratelimit-policy")).toContain('"installation";q=5;w=60');
  });
});
