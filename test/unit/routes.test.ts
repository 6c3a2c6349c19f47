import { describe, expect, it } from "vitest";
import { validateManifest, type ManifestRoute } from "../../src/contract/manifest";
import { matchRoute } from "../../src/contract/routes";

const r = (method: ManifestRoute["method"], path: string, extra: Partial<ManifestRoute> = {}) =>
  ({ method, path, ...extra }) as ManifestRoute;

const ROUTES: ManifestRoute[] = [
  r("GET", "/"),
  r("GET", "/charges/{id}"),
  r("POST", "/charges"),
  r("DELETE", "/charges/{id}"),
  r("GET", "/charges/export"),
  r("ANY", "/files/*"),
  r("GET", "/users/:user/posts/{post}"),
];

describe("matching a call against declared routes", () => {
  it.each([
    ["GET", "/", 0, {}],
    ["GET", "/charges/ch_1", 1, { id: "ch_1" }],
    ["GET", "/charges/ch%201", 1, { id: "ch 1" }],
    ["GET", "/charges/ch_1/", 1, { id: "ch_1" }],
    ["HEAD", "/charges/ch_1", 1, { id: "ch_1" }],
    ["POST", "/charges", 2, {}],
    ["DELETE", "/charges/ch_1", 3, { id: "ch_1" }],
    ["GET", "/charges/export", 4, {}],
    ["GET", "/charges/%65xport", 4, {}],
    ["PUT", "/files", 5, {}],
    ["PATCH", "/files/a/b/c", 5, {}],
    ["GET", "/users/u1/posts/p2", 6, { user: "u1", post: "p2" }],
  ])("%s %s → route %i", (method, path, index, params) => {
    expect(matchRoute(ROUTES, method, path)).toEqual({
      ok: true,
      route: ROUTES[index],
      index,
      params,
    });
  });

  it.each([
    ["GET", "/nope"],
    ["GET", "/charges/ch_1/refunds"],
    ["GET", "/charges//"],
    ["GET", "/users/u1/posts"],
    ["GET", "/charges/%E0%A4%A"],
  ])("%s %s → 404", (method, path) => {
    expect(matchRoute(ROUTES, method, path)).toEqual({ ok: false, status: 404 });
  });

  it("answers 405 with every method the path allows", () => {
    expect(matchRoute(ROUTES, "PUT", "/charges/ch_1")).toEqual({
      ok: false,
      status: 405,
      allow: ["GET", "DELETE", "HEAD"],
    });
    expect(matchRoute(ROUTES, "OPTIONS", "/")).toEqual({
      ok: false,
      status: 405,
      allow: ["GET", "HEAD"],
    });
  });

  it("lets everything through when the manifest declares no routes, nothing when it declares none", () => {
    expect(matchRoute(undefined, "DELETE", "/anything/at/all")).toMatchObject({
      ok: true,
      route: null,
    });
    expect(matchRoute([], "GET", "/")).toEqual({ ok: false, status: 404 });
  });

  it("prefers the most specific route, whatever the order", () => {
    const routes = [r("ANY", "/*"), r("GET", "/a/{x}"), r("GET", "/a/b")];
    expect(matchRoute(routes, "GET", "/a/b")).toMatchObject({ index: 2 });
    expect(matchRoute(routes, "GET", "/a/c")).toMatchObject({ index: 1, params: { x: "c" } });
    expect(matchRoute(routes, "POST", "/a/b")).toMatchObject({ index: 0 });
  });

  it("matches 100 routes quickly (linear, no backtracking)", () => {
    const many = Array.from({ length: 100 }, (_, i) => r("GET", `/r${i}/{a}/{b}/*`));
    const path = "/r99/" + "x/".repeat(5_000);
    const started = performance.now();
    for (let i = 0; i < 100; i++)
      expect(matchRoute(many, "GET", path)).toMatchObject({ index: 99 });
    expect(performance.now() - started).toBeLessThan(2_000);
  });
});

describe("declaring routes in a manifest", () => {
  const base = {
    name: "@acme/r",
    version: "1.0.0",
    description: "d",
    author: "a",
    kind: "plugin",
    entry: "index.js",
    apiVersion: "1",
  };
  const errorsOf = (routes: unknown[]) => {
    const v = validateManifest({ ...base, routes });
    return v.ok ? [] : v.errors.map((e) => `${e.path}: ${e.message}`);
  };

  it("accepts schemas, limits and summaries", () => {
    expect(
      errorsOf([
        {
          method: "POST",
          path: "/charges/{id}",
          params: { id: { type: "string", maxLength: 40 } },
          query: { type: "object", properties: { expand: { type: "boolean" } } },
          body: {
            type: "object",
            required: ["amount"],
            properties: { amount: { type: "integer" } },
          },
          responses: { "201": { type: "object" } },
          limit: { requests: 100, window: 3600 },
        },
      ]),
    ).toEqual([]);
  });

  it.each([
    [
      { method: "GET", path: "/x/{id}", params: { other: { type: "string" } } },
      /routes\.0\.params\.other: is not a parameter/,
    ],
    [
      { method: "GET", path: "/x", query: { type: "string" } },
      /routes\.0\.query: must be an object schema/,
    ],
    [
      { method: "GET", path: "/x", body: { type: "object" } },
      /routes\.0\.body: a GET request has no body/,
    ],
    [
      { method: "POST", path: "/x", body: { type: "string", pattern: "^(a+)+$" } },
      /routes\.0\.body: "pattern"/,
    ],
    [{ method: "GET", path: "/x", responses: { ok: {} } }, /routes\.0\.responses\.ok/],
    [
      { method: "GET", path: "/x", limit: { requests: 0, window: 60 } },
      /routes\.0\.limit\.requests/,
    ],
    [
      { method: "GET", path: "/x", limit: { requests: 10, window: 86_401 } },
      /routes\.0\.limit\.window/,
    ],
  ])("refuses %j", (route, message) => {
    expect(errorsOf([route]).join("\n")).toMatch(message);
  });
});
