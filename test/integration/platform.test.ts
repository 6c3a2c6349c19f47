import { env } from "cloudflare:workers";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { app } from "../../src/app";
import { WEB_PATHS } from "../../src/web/web.routes";
import { OPERATOR_KEY, call, problem, signup, token } from "../helpers";

interface OpenApiDoc {
  openapi: string;
  paths: Record<
    string,
    Record<string, { security?: Record<string, unknown>[]; responses: Record<string, unknown> }>
  >;
  components: { securitySchemes: Record<string, unknown> };
}

describe("OpenAPI document", () => {
  it("is OpenAPI 3.1 with the security schemes", async () => {
    const doc = (await (await call("/openapi.json")).json()) as OpenApiDoc;
    expect(doc.openapi).toBe("3.1.0");
    expect(Object.keys(doc.components.securitySchemes).sort()).toEqual([
      "apiKey",
      "bearerAuth",
      "clientBasic",
      "oauth2",
    ]);
  });

  it("describes every route the app serves (and nothing it does not)", async () => {
    const doc = (await (await call("/openapi.json")).json()) as OpenApiDoc;
    const served = new Set(
      app.routes
        // /__host/integrations and /__host/logs are the local plugin host's loopback bridges (host secret), and the
        // web UI's pages are HTML, not API.
        .filter(
          (r) =>
            r.method !== "ALL" &&
            ![
              "/openapi.json",
              "/docs",
              "/docs/scalar.js",
              "/__host/integrations",
              "/__host/logs",
              ...WEB_PATHS,
            ].includes(r.path),
        )
        // The plugin endpoint's own root (/p/{id}) is documented by /p/{id}/{path}; HEAD and
        // OPTIONS are not listed.
        .filter(
          (r) =>
            !["/p/:installationId", "/apps/:organization/:environment/:app"].includes(r.path) &&
            !["HEAD", "OPTIONS"].includes(r.method),
        )
        .map(
          (r) =>
            `${r.method.toLowerCase()} ${r.path.replace(/:([A-Za-z0-9_]+)/g, "{$1}").replace(/\/\*$/, "/{path}")}`,
        ),
    );
    const documented = new Set(
      Object.entries(doc.paths).flatMap(([path, ops]) =>
        Object.keys(ops).map((m) => `${m} ${path}`),
      ),
    );
    expect([...served].filter((r) => !documented.has(r))).toEqual([]);
    expect([...documented].filter((r) => !served.has(r))).toEqual([]);
  });

  it("mounts each router once: no served path repeats its prefix (a router mounted at /v1/x declares paths relative to it)", () => {
    const doubled = app.routes
      .map((r) => r.path)
      .filter((p) => /^(\/v1\/[^/]+)\/v1\//.test(p) || /^\/v1\/([^/]+)\/\1\//.test(p));
    expect(doubled).toEqual([]);
  });

  it("declares security on every /v1 route that needs a credential", async () => {
    const doc = (await (await call("/openapi.json")).json()) as OpenApiDoc;
    for (const [path, ops] of Object.entries(doc.paths)) {
      if (!path.startsWith("/v1/")) continue;
      for (const [method, op] of Object.entries(ops)) {
        if (
          PUBLIC_OPERATIONS.includes(`${method} ${path}`) ||
          OPTIONAL_OPERATIONS.includes(`${method} ${path}`)
        )
          continue;
        expect(op.security?.length, `${method} ${path}`).toBeGreaterThan(0);
      }
    }
  });

  it("the routes that need no credential are exactly the reviewed list, declared by their routers", async () => {
    const doc = (await (await call("/openapi.json")).json()) as OpenApiDoc;
    const ops = Object.entries(doc.paths).flatMap(([path, o]) =>
      Object.entries(o).map(([method, op]) => ({
        key: `${method} ${path}`,
        security: op.security,
      })),
    );
    expect(
      ops
        .filter((o) => o.key.includes(" /v1/") && o.security?.length === 0)
        .map((o) => o.key)
        .sort(),
    ).toEqual([...PUBLIC_OPERATIONS].sort());
    expect(
      ops
        .filter(
          (o) => o.security?.some((s) => Object.keys(s).length === 0) && o.security.length > 0,
        )
        .map((o) => o.key)
        .filter((k) => k.includes(" /v1/"))
        .sort(),
    ).toEqual([...OPTIONAL_OPERATIONS].sort());
    // And the middleware agrees with the document: without a credential, a public route is never
    // 401 and any other /v1 route is (tried on every documented operation).
    for (const { key } of ops) {
      const [method = "", path = ""] = key.split(" ");
      if (!path.startsWith("/v1/")) continue;
      const url = path.replace(/\{[^}]+\}/g, "x");
      const res = await call(url, {
        method: method.toUpperCase(),
        headers: { "content-type": "application/json" },
        body: method === "get" ? undefined : "{}",
      });
      if (PUBLIC_OPERATIONS.includes(key) || OPTIONAL_OPERATIONS.includes(key))
        expect(res.status, key).not.toBe(401);
      else expect(res.status, key).toBe(401);
    }
  });

  it("serves the interactive reference, with its script from this origin", async () => {
    const res = await call("/docs");
    expect(res.status).toBe(200);
    const html = await res.text();
    expect(html).toContain("/openapi.json");
    expect(html).toContain('src="/docs/scalar.js"');
  });
});

/** Reviewed: every /v1 operation that answers without a credential. Adding one is a security decision. */
const PUBLIC_OPERATIONS = [
  "post /v1/signup",
  "post /v1/payments/webhook",
  "post /v1/webhooks/{connectionId}",
  "get /v1/marketplace/listings",
  "get /v1/marketplace/categories",
  "get /v1/marketplace/listings/{scope}/{name}",
  "get /v1/marketplace/listings/{scope}/{name}/package",
  "get /v1/marketplace/listings/{scope}/{name}/ratings",
  "get /v1/marketplace/listings/{scope}/{name}/openapi.json",
  "get /v1/portal/tutorials",
  "get /v1/portal/tutorials/{slug}",
  "get /v1/portal/sdks/{language}",
];
/** Public, but reads a credential when one is sent. */
const OPTIONAL_OPERATIONS = ["post /v1/invitations/accept"];

describe("gateway middleware", () => {
  it("generates a request id, or propagates a well-formed one", async () => {
    const gen = await call("/healthz");
    expect(gen.headers.get("x-request-id")).toMatch(/^req_/);
    const prop = await call("/healthz", { headers: { "x-request-id": "trace-123" } });
    expect(prop.headers.get("x-request-id")).toBe("trace-123");
    const hostile = await call("/healthz", { headers: { "x-request-id": "a b<script>" } });
    expect(hostile.headers.get("x-request-id")).toMatch(/^req_/);
  });

  it("answers CORS preflights for allowed origins only", async () => {
    const ok = await call("/v1/me", {
      method: "OPTIONS",
      headers: { origin: "http://localhost:8787", "access-control-request-method": "GET" },
    });
    expect(ok.headers.get("access-control-allow-origin")).toBe("http://localhost:8787");
    const evil = await call("/v1/me", {
      method: "OPTIONS",
      headers: { origin: "https://evil.example", "access-control-request-method": "GET" },
    });
    expect(evil.headers.get("access-control-allow-origin")).toBeNull();
  });

  it("sets security headers", async () => {
    const res = await call("/healthz");
    expect(res.headers.get("x-content-type-options")).toBe("nosniff");
    expect(res.headers.get("strict-transport-security")).toContain("max-age");
  });

  it("answers unknown routes 404 and wrong methods 405 with Allow, as problems", async () => {
    const nf = await call("/v1/nothing-here");
    expect(nf.status).toBe(404);
    expect((await problem(nf)).detail).toContain("/v1/nothing-here");
    const wrong = await call("/v1/me", { method: "DELETE" });
    expect(wrong.status).toBe(405);
    expect(wrong.headers.get("allow")).toContain("GET");
    await problem(wrong);
    const wrongParam = await call("/v1/api-keys/key_abc", { method: "GET" });
    expect(wrongParam.status).toBe(405);
    expect(wrongParam.headers.get("allow")).toContain("DELETE");
  });

  it("answers 400 naming the parameter for a malformed path id", async () => {
    const a = await signup();
    const res = await call("/v1/organizations/not-an-id", { key: a.apiKey });
    expect(res.status).toBe(400);
    expect(JSON.stringify(await problem(res))).toContain("orgId");
  });

  it("authorises operator routes before it validates them: a non-operator learns 401/403, never the request's shape", async () => {
    const a = await signup();
    const bad = { json: { nonsense: true }, method: "PUT" };
    for (const path of [
      "/v1/operator/fees",
      "/v1/operator/payout-holds",
      "/v1/operator/payments",
    ]) {
      const member = await call(path, { ...bad, key: a.apiKey });
      expect(member.status, path).toBe(403);
      expect(JSON.stringify(await problem(member))).not.toContain("nonsense");
      expect((await call(path, bad)).status, path).toBe(401);
      // The operator still gets the validation failure, naming the fields.
      expect((await call(path, { ...bad, key: OPERATOR_KEY })).status, path).toBe(400);
    }
    const decision = await call("/v1/operator/versions/not-an-id/decision", {
      method: "POST",
      key: a.apiKey,
      json: {},
    });
    expect(decision.status).toBe(403);
    // A path with no operator route is still 404 for everyone.
    expect((await call("/v1/operator/nothing-here", { key: a.apiKey })).status).toBe(404);
  });

  it("reports readiness at /healthz", async () => {
    const res = await call("/healthz");
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ status: "ok" });
  });
});

describe("secrets stay out of logs and errors", () => {
  const lines: string[] = [];
  const original = { log: console.log, error: console.error, warn: console.warn };
  beforeEach(() => {
    lines.length = 0;
    for (const k of ["log", "error", "warn"] as const)
      console[k] = (...args: unknown[]) => void lines.push(args.map(String).join(" "));
  });
  afterEach(() => Object.assign(console, original));

  it("never logs an API key, a token or a client secret", async () => {
    const a = await signup();
    const jwt = await token(a);
    const loggingEnv = { ...env, ATOLL_REQUEST_LOG: "on" };
    const form = new URLSearchParams({
      grant_type: "client_credentials",
      client_id: a.apiKeyId,
      client_secret: a.apiKey,
    });
    await app.request(
      "/oauth/token?client_secret=" + a.apiKey,
      {
        method: "POST",
        body: form,
        headers: { "content-type": "application/x-www-form-urlencoded" },
      },
      loggingEnv,
    );
    await app.request("/v1/me", { headers: { "x-api-key": a.apiKey } }, loggingEnv);
    await app.request("/v1/me", { headers: { authorization: `Bearer ${jwt}` } }, loggingEnv);
    await app.request(
      "/v1/me",
      { headers: { "x-api-key": a.apiKey.slice(0, -1) + "0" } },
      loggingEnv,
    );
    const all = lines.join("\n");
    expect(lines.filter((l) => l.includes('"msg":"request"')).length).toBeGreaterThanOrEqual(4);
    expect(all).not.toContain(a.apiKey);
    expect(all).not.toContain(jwt);
    expect(all).not.toContain(a.apiKey.slice(4, 20));
  });

  it("answers an internal failure with a generic 500 problem, no stack trace", async () => {
    const res = await app.request(
      "/v1/me",
      { headers: { "x-api-key": "atk_" } },
      { ...env, DB: undefined as unknown as D1Database },
    );
    expect(res.status).toBe(500);
    const body = await res.text();
    expect(body).not.toMatch(/at \w+ \(|\.ts:\d+/);
    expect(JSON.parse(body)).toMatchObject({ status: 500, title: "Internal error" });
  });
});

describe("OpenAPI completeness", () => {
  it("gives every operation an id, problem answers, and the rate-limit headers on authenticated ones", async () => {
    const doc = (await (await call("/openapi.json")).json()) as {
      paths: Record<
        string,
        Record<
          string,
          {
            operationId?: string;
            security?: unknown[];
            responses: Record<
              string,
              { headers?: Record<string, unknown>; content?: Record<string, unknown> }
            >;
          }
        >
      >;
    };
    const ids = new Set<string>();
    for (const [path, ops] of Object.entries(doc.paths)) {
      for (const [method, op] of Object.entries(ops)) {
        expect(op.operationId, `${method} ${path}`).toBeTruthy();
        expect(ids.has(op.operationId ?? "")).toBe(false);
        ids.add(op.operationId ?? "");
        const errors = Object.entries(op.responses).filter(([code]) => /^4\d\d$/.test(code));
        for (const [, r] of errors)
          if (r.content) expect(Object.keys(r.content)).toContain("application/problem+json");
        if ((op.security ?? []).length > 0) {
          const ok = Object.entries(op.responses).find(([code]) => /^2\d\d$/.test(code));
          expect(Object.keys(ok?.[1].headers ?? {}), `${method} ${path}`).toEqual(
            expect.arrayContaining(["RateLimit", "RateLimit-Policy"]),
          );
          if (op.responses["429"])
            expect(Object.keys(op.responses["429"].headers ?? {})).toContain("Retry-After");
        }
      }
    }
  });
});
