/**
 * Red-team review of the gateway's authentication after the router restructuring (issue 13):
 * routes declare their own access (publicRoute / optionalCredentialRoute) and several routers are
 * mounted at prefixes. Every attempt is a real request against the running app; those that held
 * stay here as documentation of the attack.
 */
import { describe, expect, it } from "vitest";
import { app } from "../../src/app";
import { OPERATOR_KEY, awayFromWindowEdge, call, signup, token } from "../helpers";

type Doc = { paths: Record<string, Record<string, { security?: Record<string, string[]>[] }>> };

const PROTECTED_PREFIX = /^\/(v1|p|apps)(\/|$)/;

/** Hono's route table, one entry per method and path (middleware "ALL" entries left out). */
function table(): { method: string; path: string }[] {
  const seen = new Set<string>();
  const out: { method: string; path: string }[] = [];
  for (const r of app.routes) {
    // OPTIONS is the CORS preflight, answered by cors() before any route (tested on its own below).
    if (r.method === "ALL" || r.method === "OPTIONS" || !PROTECTED_PREFIX.test(r.path)) continue;
    const k = `${r.method} ${r.path}`;
    if (seen.has(k)) continue;
    seen.add(k);
    out.push({ method: r.method, path: r.path });
  }
  return out;
}

const toOpenApi = (p: string) => p.replace(/:([A-Za-z0-9_]+)(\{[^}]*\})?/g, "{$1}");
const concrete = (p: string, v = "x") =>
  p.replace(/:([A-Za-z0-9_]+)(\{[^}]*\})?/g, v).replace(/\*$/, v);

async function openapi(): Promise<Doc> {
  const res = await call("/openapi.json");
  expect(res.status).toBe(200);
  return (await res.json()) as Doc;
}

/** The document's claim: anonymous callers allowed (security [] or containing {}). */
function claimsPublic(doc: Doc, method: string, path: string): boolean | undefined {
  const op = doc.paths[toOpenApi(path)]?.[method.toLowerCase()];
  if (!op) return undefined;
  return (
    op.security !== undefined &&
    (op.security.length === 0 || op.security.some((s) => Object.keys(s).length === 0))
  );
}

/**
 * Refusals are charged to the client address (120 a minute): the sweeps below move to a new
 * address every 100 requests, so what they see is the route's answer, not the sweep's own limit
 * (and few addresses: each is a Durable Object of its own).
 */
let sweep = 0;
const sweepIp = () => {
  const n = Math.floor(sweep++ / 100);
  return `10.250.${(n >> 8) & 255}.${n & 255}`;
};

const segs = (p: string) => p.split("/").filter(Boolean);
const isParam = (s: string) => s.startsWith(":") || s === "*";

/** Can some concrete path match both patterns (segment by segment; `*` swallows the rest)? */
function overlap(a: string, b: string): boolean {
  const x = segs(a);
  const y = segs(b);
  for (let i = 0; i < Math.max(x.length, y.length); i++) {
    const s = x[i];
    const t = y[i];
    if (s === "*" || t === "*") return true;
    if (s === undefined || t === undefined) return false;
    if (!isParam(s) && !isParam(t) && s !== t) return false;
  }
  return true;
}

describe("anonymous and malformed credentials against every route", () => {
  it("every /v1, /p, /apps route not documented as public answers 401 without a credential", async () => {
    const doc = await openapi();
    const leaks: string[] = [];
    for (const { method, path } of table()) {
      if (claimsPublic(doc, method, path) === true) continue;
      const res = await call(concrete(path), {
        method,
        ip: sweepIp(),
        ...(method === "GET" || method === "HEAD" ? {} : { json: {} }),
      });
      if (res.status !== 401) leaks.push(`${method} ${path} -> ${res.status}`);
    }
    expect(leaks).toEqual([]);
  });

  it("every such route answers 401 to a malformed key, a foreign scheme, an unknown key and a forged JWT", async () => {
    const doc = await openapi();
    const creds: Record<string, string>[] = [
      { "x-api-key": "atk_notarealkey" },
      { authorization: "Basic dXNlcjpwYXNz" },
      { authorization: "Bearer eyJhbGciOiJub25lIn0.eyJzdWIiOiJ4In0." },
      { authorization: "Bearer " + OPERATOR_KEY }, // the operator key is only an X-API-Key/atk-shaped secret
      { "x-api-key": OPERATOR_KEY.slice(0, -1) },
    ];
    const leaks: string[] = [];
    for (const { method, path } of table()) {
      if (claimsPublic(doc, method, path) === true) continue;
      for (const headers of creds) {
        const res = await call(concrete(path), {
          method,
          headers,
          ip: sweepIp(),
          ...(method === "GET" || method === "HEAD" ? {} : { json: {} }),
        });
        if (res.status !== 401)
          leaks.push(`${method} ${path} ${JSON.stringify(headers)} -> ${res.status}`);
      }
    }
    expect(leaks).toEqual([]);
  });

  it("the OpenAPI document and the route table agree on which routes are public", async () => {
    const doc = await openapi();
    const wrong: string[] = [];
    for (const { method, path } of table()) {
      const claim = claimsPublic(doc, method, path);
      if (claim !== true) continue;
      // Documented public: it must answer without a credential with something other than 401.
      const res = await call(concrete(path), {
        method,
        ...(method === "GET" || method === "HEAD" ? {} : { json: {} }),
      });
      if (res.status === 401) wrong.push(`${method} ${path} documented public but 401`);
    }
    // And every documented operation of /v1 is in the route table with that method.
    const served = new Set(
      table().map((r) => `${r.method} ${toOpenApi(r.path).replace(/\/\*$/, "/{path}")}`),
    );
    for (const [p, ops] of Object.entries(doc.paths)) {
      if (!PROTECTED_PREFIX.test(p)) continue;
      for (const m of Object.keys(ops))
        if (!served.has(`${m.toUpperCase()} ${p}`)) wrong.push(`${m} ${p} documented, not served`);
    }
    expect(wrong).toEqual([]);
  });

  it("no public route's pattern overlaps a protected route's pattern with the same method", async () => {
    // The marker is found among *all* routes the request matched, so a public `/a/:x` would make
    // a protected `/a/mine` public for the request `/a/mine`.
    const doc = await openapi();
    const rows = table();
    const pub = rows.filter((r) => claimsPublic(doc, r.method, r.path) === true);
    const prot = rows.filter((r) => claimsPublic(doc, r.method, r.path) !== true);
    const pairs: string[] = [];
    for (const a of pub)
      for (const b of prot)
        if (
          (a.method === b.method || (b.method === "HEAD" && a.method === "GET")) &&
          overlap(a.path, b.path)
        )
          pairs.push(`${a.method} ${a.path} ~ ${b.method} ${b.path}`);
    expect(pairs).toEqual([]);
  });

  it("protected routes with parameters set to other routes' literal segments still need a credential", async () => {
    const doc = await openapi();
    const rows = table();
    const literals = new Set<string>();
    for (const r of rows) for (const s of segs(r.path)) if (!isParam(s)) literals.add(s);
    const leaks: string[] = [];
    for (const { method, path } of rows) {
      if (claimsPublic(doc, method, path) === true || !path.includes(":")) continue;
      if (!["GET", "POST", "PUT", "PATCH", "DELETE"].includes(method)) continue;
      for (const lit of literals) {
        const url = concrete(path, lit);
        const res = await call(url, {
          method,
          ip: sweepIp(),
          ...(method === "GET" ? {} : { json: {} }),
        });
        if (res.status === 200 || res.status === 201 || res.status === 204)
          leaks.push(`${method} ${url} (${path}) -> ${res.status}`);
      }
    }
    expect(leaks).toEqual([]);
  }, 60_000);
});

describe("a public marker does not leak to neighbours of the public route", () => {
  it("other methods on public paths need a credential or are refused", async () => {
    const attempts: [string, string][] = [
      ["GET", "/v1/signup"],
      ["PUT", "/v1/signup"],
      ["DELETE", "/v1/signup"],
      ["GET", "/v1/invitations/accept"],
      ["POST", "/v1/marketplace/listings"],
      ["DELETE", "/v1/marketplace/listings/acme/x"],
      ["PUT", "/v1/marketplace/listings/acme/x/ratings"],
      ["POST", "/v1/portal/tutorials"],
      ["PUT", "/v1/portal/tutorials/intro"],
      ["DELETE", "/v1/portal/tutorials/intro"],
      ["GET", "/v1/webhooks/con_x"],
      ["DELETE", "/v1/webhooks/con_x"],
      ["GET", "/v1/payments/webhook"],
    ];
    const bad: string[] = [];
    for (const [method, path] of attempts) {
      const res = await call(path, { method, ...(method === "GET" ? {} : { json: {} }) });
      if (![401, 404, 405].includes(res.status)) bad.push(`${method} ${path} -> ${res.status}`);
    }
    expect(bad).toEqual([]);
  });

  it("HEAD of a protected GET needs a credential; HEAD of a public GET does not", async () => {
    expect((await call("/v1/me", { method: "HEAD" })).status).toBe(401);
    expect((await call("/v1/api-keys", { method: "HEAD" })).status).toBe(401);
    expect((await call("/v1/operator/review-queue", { method: "HEAD" })).status).toBe(401);
    expect((await call("/v1/marketplace/listings", { method: "HEAD" })).status).toBe(200);
  });

  it("trailing slash, double slash, case, dot segments and percent-encoding never reach a protected handler anonymously", async () => {
    const variants = [
      "/v1/me/",
      "//v1/me",
      "/v1//me",
      "/V1/me",
      "/v1/ME",
      "/%761/me",
      "/v1/%6de",
      "/v1/%6De",
      "/v1/./me",
      "/v1/x/../me",
      "/v1/signup/../me",
      "/v1/me%2F",
      "/v1/me;/v1/signup",
      "/v1/me?/v1/signup",
      "/v1/me#/v1/signup",
      "/v1/api-keys/",
      "//v1/api-keys",
      "/v1/api-keys%2F",
      "/v1/operator/review-queue/",
      "//v1/operator/review-queue",
      "/v1/operator//review-queue",
      "/v1/%6Fperator/review-queue",
      "/v1/marketplace/listings/%2E%2E/%2E%2E/%2E%2E/me",
      "/v1/portal/tutorials/..%2F..%2Fme",
      "/v1/webhooks/..%2Fme",
      "/v1/installations/",
      "//v1/installations",
      "/v1/revenue/balance/",
      "//v1/revenue/balance",
      "/p/",
      "//p/ins_abc/x",
      "/apps//acme/production/app",
    ];
    const bad: string[] = [];
    for (const v of variants) {
      const res = await call(v);
      if (res.status >= 200 && res.status < 300)
        bad.push(`${v} -> ${res.status} ${await res.text()}`);
      // 405: the not-found handler's answer for a path served with other methods (no handler ran).
      else if (![400, 401, 404, 405].includes(res.status)) bad.push(`${v} -> ${res.status}`);
    }
    expect(bad).toEqual([]);
  });

  it("percent-encoded paths are authenticated as the path they decode to", async () => {
    // Hono decodes before routing; authentication must look at the same decoded path.
    expect((await call("/%761/me")).status).toBe(401);
    const a = await signup("pe");
    const res = await call("/%761/%6De", { key: a.apiKey });
    expect([200, 404]).toContain(res.status);
  });
});

describe("credentials that are not good enough", () => {
  it("a revoked or expired key is refused on the optional-credential route, not treated as anonymous", async () => {
    const a = await signup("rv");
    const created = await call("/v1/api-keys", {
      method: "POST",
      key: a.apiKey,
      json: { name: "k" },
    });
    expect(created.status).toBe(201);
    const k = (await created.json()) as { id: string; key: string };
    expect((await call(`/v1/api-keys/${k.id}`, { method: "DELETE", key: a.apiKey })).status).toBe(
      204,
    );
    const res = await call("/v1/invitations/accept", {
      method: "POST",
      key: k.key,
      json: { token: "x".repeat(43) },
    });
    expect(res.status).toBe(401);
    // And it is refused everywhere else too.
    expect((await call("/v1/me", { key: k.key })).status).toBe(401);
    expect((await call("/p/ins_abc/x", { key: k.key })).status).toBe(401);
    expect((await call("/apps/acme/production/app", { key: k.key })).status).toBe(401);
  });

  it("a malformed credential on the optional-credential route is 401, not anonymous", async () => {
    for (const headers of <Record<string, string>[]>[
      { "x-api-key": "atk_bad" },
      { authorization: "Basic x" },
      { authorization: "Bearer not.a.jwt" },
    ]) {
      const res = await call("/v1/invitations/accept", {
        method: "POST",
        headers,
        json: { token: "x".repeat(43) },
      });
      expect(res.status).toBe(401);
    }
  });

  it("no /v1/operator route answers a non-operator (admin key, token, another org) with success", async () => {
    const a = await signup("op");
    const rows = table().filter((r) => r.path.startsWith("/v1/operator/"));
    expect(rows.length).toBeGreaterThan(5);
    const bad: string[] = [];
    for (const { method, path } of rows) {
      if (method === "HEAD" || method === "OPTIONS") continue;
      const url = concrete(path, a.orgId);
      const res = await call(url, {
        method,
        key: a.apiKey,
        ...(method === "GET" ? {} : { json: {} }),
      });
      // Validation may run first (400); success or any state change must not happen.
      if (res.status !== 403 && res.status !== 400) bad.push(`${method} ${path} -> ${res.status}`);
    }
    expect(bad).toEqual([]);
    // Control: the operator does reach them.
    expect((await call("/v1/operator/review-queue", { key: OPERATOR_KEY })).status).toBe(200);
  });

  it("operator routes are not reachable by a non-operator through the other mounts' prefixes", async () => {
    const a = await signup("op2");
    for (const p of [
      "/v1/review-queue",
      "/v1/fees",
      "/v1/payments",
      "/v1/payouts/run",
      "/v1/billing/run",
      "/v1/signing-keys/rotate",
      "/v1/install-counts/recount",
      "/v1/api-keys/review-queue",
      "/v1/installations/review-queue",
      "/v1/connections/review-queue",
      "/review-queue",
      "/payouts/run",
    ]) {
      for (const method of ["GET", "POST", "PUT"]) {
        const res = await call(p, {
          method,
          key: a.apiKey,
          ...(method === "GET" ? {} : { json: {} }),
        });
        expect(res.status, `${method} ${p}`).not.toBeLessThan(300);
        expect(res.status, `${method} ${p}`).not.toBe(500);
      }
    }
  });

  it("another organization's member sees no other organization's objects", async () => {
    const a = await signup("xa");
    const b = await signup("xb");
    for (const p of [
      `/v1/organizations/${b.orgId}`,
      `/v1/organizations/${b.orgId}/members`,
      `/v1/organizations/${b.orgId}/audit-log`,
    ]) {
      expect((await call(p, { key: a.apiKey })).status, p).toBe(404);
    }
  });
});

describe("rate limiting keys the right subject", () => {
  it("an anonymous public call is charged to the anonymous class", async () => {
    const res = await call("/v1/marketplace/categories");
    expect(res.status).toBe(200);
    expect(res.headers.get("ratelimit-policy") ?? "").toMatch(/anonymous/);
  });

  it("an authenticated call is charged to its plan's class, not the anonymous one", async () => {
    const a = await signup("rl");
    const res = await call("/v1/me", { key: a.apiKey });
    expect(res.status).toBe(200);
    expect(res.headers.get("ratelimit-policy") ?? "").not.toMatch(/anonymous/);
  });

  it("a failed authentication spends the client address's anonymous budget, not anyone's plan", async () => {
    const res = await call("/v1/me", { key: "atk_notarealkey" });
    expect(res.status).toBe(401);
    expect(res.headers.get("ratelimit-policy")).toBe('"anonymous";q=120;w=60');
  });

  it("the provider-delivery exemption from the per-IP limit covers only POST to the delivery routes", async () => {
    // Any other path that looks like it (trailing slash, other method, deeper path) is limited per IP or refused.
    for (const [method, p] of [
      ["GET", "/v1/webhooks/con_x"],
      ["POST", "/v1/webhooks/con_x/extra"],
      ["POST", "/v1/payments/webhook/x"],
    ] as const) {
      const res = await call(p, { method, ...(method === "GET" ? {} : { json: {} }) });
      expect(res.status, `${method} ${p}`).not.toBeLessThan(300);
    }
  });
});

describe("the CORS preflight on plugin endpoints", () => {
  it("OPTIONS on /p and /apps is answered by the gateway's CORS layer, with no body and no plugin call", async () => {
    for (const p of ["/p/ins_abc/x", "/p/ins_abc", "/apps/acme/production/app/x"]) {
      const res = await call(p, { method: "OPTIONS", headers: { origin: "https://evil.example" } });
      expect(res.status, p).toBe(204);
      expect(await res.text()).toBe("");
      expect(res.headers.get("access-control-allow-origin")).not.toBe("https://evil.example");
    }
  });
});

describe("bearer forms of the same credentials", () => {
  it("a user's access token and its key as a bearer reach neither operator routes nor another org", async () => {
    const a = await signup("tk");
    const b = await signup("tk");
    const jwt = await token(a);
    for (const auth of [{ token: jwt }, { token: a.apiKey }]) {
      expect((await call("/v1/me", auth)).status).toBe(200);
      expect((await call("/v1/operator/review-queue", auth)).status).toBe(403);
      expect((await call(`/v1/organizations/${b.orgId}/members`, auth)).status).toBe(404);
    }
    // A token whose signature is altered is refused, also on the optional-credential route.
    const forged = jwt.slice(0, -4) + (jwt.endsWith("AAAA") ? "BBBB" : "AAAA");
    expect((await call("/v1/me", { token: forged })).status).toBe(401);
    const res = await call("/v1/invitations/accept", {
      method: "POST",
      token: forged,
      json: { token: "x".repeat(43) },
    });
    expect(res.status).toBe(401);
  });
});

/*
 * Rate limits of credentialed calls to public routes and of refused credentials (issue 14; they
 * were recorded here as breaks): authenticate() checks a credential wherever it is sent, and
 * charges every refusal to the client address.
 */
describe("rate limits of credentialed calls to public routes and of refused credentials", () => {
  it.each([
    ["an API key", "key"],
    ["an access token", "token"],
    ["an API key as a bearer", "bearer-key"],
  ] as const)(
    "a call with %s to a public route is charged to the organization's plan, not the client IP (docs/api.md: /v1/… with a credential → api)",
    async (_what, form) => {
      const a = await signup("pubrl");
      const auth =
        form === "key"
          ? { key: a.apiKey }
          : { token: form === "token" ? await token(a) : a.apiKey };
      for (const path of [
        "/v1/marketplace/categories",
        "/v1/marketplace/listings",
        "/v1/portal/tutorials",
      ]) {
        const res = await call(path, auth);
        expect(res.status, path).toBe(200);
        expect(res.headers.get("ratelimit-policy"), path).toBe('"api";q=60;w=60');
      }
      // The same budget as its authenticated calls: /v1/me sees the three calls above spent.
      const me = await call("/v1/me", auth);
      const before = Number(/r=(\d+)/.exec(me.headers.get("ratelimit") ?? "")?.[1]);
      expect(before).toBeLessThanOrEqual(60 - 4);
    },
  );

  it("a present but invalid credential on a public route is 401, as on every other route", async () => {
    const a = await signup("pubbad");
    const jwt = await token(a);
    const forged = jwt.slice(0, -4) + (jwt.endsWith("AAAA") ? "BBBB" : "AAAA");
    for (const headers of <Record<string, string>[]>[
      { "x-api-key": "atk_notarealkey" },
      { "x-api-key": a.apiKey.slice(0, -1) + (a.apiKey.endsWith("A") ? "B" : "A") },
      { authorization: "Basic dXNlcjpwYXNz" },
      { authorization: `Bearer ${forged}` },
    ]) {
      for (const path of ["/v1/marketplace/categories", "/v1/marketplace/listings"]) {
        const res = await call(path, { headers });
        expect(res.status, `${path} ${JSON.stringify(headers)}`).toBe(401);
      }
      const signupRes = await call("/v1/signup", { method: "POST", headers, json: {} });
      expect(signupRes.status).toBe(401);
    }
  });

  it("a provider delivery ignores credential headers: its signature is what it is checked by", async () => {
    const res = await call("/v1/payments/webhook", {
      method: "POST",
      headers: { "x-api-key": "atk_notarealkey", "stripe-signature": "t=1,v1=00" },
      json: {},
    });
    expect(res.status).not.toBe(401);
    expect(res.status).toBeGreaterThanOrEqual(400);
  });

  it("calls refused for their credential (none, malformed, unknown, forged) are limited per client IP, and cost the key's owner nothing", async () => {
    await awayFromWindowEdge();
    const victim = await signup("victim");
    const victimIp = "203.0.113.77";
    const attacker = "198.51.100.66";
    const first = await call("/v1/me", { key: victim.apiKey, ip: victimIp });
    const remaining = (r: Response) =>
      Number(/r=(\d+)/.exec(r.headers.get("ratelimit") ?? "")?.[1]);
    const jwt = await token(victim);
    const forged = jwt.slice(0, -4) + (jwt.endsWith("AAAA") ? "BBBB" : "AAAA");
    const attempts: ((i: number) => Parameters<typeof call>[1])[] = [
      () => ({}),
      (i) => ({ key: `atk_guess${i}` }),
      (i) => ({ key: victim.apiKey.slice(0, 12) + String(i).padStart(32, "x") }),
      () => ({ token: forged }),
    ];
    const statuses: number[] = [];
    for (let i = 0; i < 130; i++) {
      const res = await call("/v1/me", { ...attempts[i % attempts.length]?.(i), ip: attacker });
      statuses.push(res.status);
      if (i === 0) expect(res.headers.get("ratelimit-policy")).toBe('"anonymous";q=120;w=60');
    }
    expect(statuses.slice(0, 120).every((s) => s === 401)).toBe(true);
    expect(statuses.slice(120).every((s) => s === 429)).toBe(true);
    // The address is limited for anonymous calls too (one budget), and so is a public route.
    expect((await call("/v1/marketplace/categories", { ip: attacker })).status).toBe(429);
    // The victim, from its own address, still has its plan's budget less its own one call.
    const later = await call("/v1/me", { key: victim.apiKey, ip: victimIp });
    expect(later.status).toBe(200);
    expect(remaining(later)).toBe(remaining(first) - 1);
  }, 60_000);
});
