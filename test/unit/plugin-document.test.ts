/**
 * The per-plugin OpenAPI document carries each declared route's schemas (path params, query,
 * body, responses as named models), the gateway's refusals and the route's limit; and the SDK
 * generators type their methods from it (catch-all paths keep slashes, never dot segments).
 */
import { describe, expect, it } from "vitest";
import { Manifest } from "../../src/contract/manifest";
import { pluginDocument } from "../../src/portal/codegen/plugin-document";
import { operationsOf, withOperationIds } from "../../src/portal/codegen/spec";
import { typescriptSdk } from "../../src/portal/codegen/typescript";
import { pythonSdk } from "../../src/portal/codegen/python";
import { javaSdk } from "../../src/portal/codegen/java";
import hello from "../../plugins/hello/manifest.json";
import analytics from "../../plugins/advanced-analytics/manifest.json";
import payments from "../../plugins/payment-gateway/manifest.json";
import slack from "../../plugins/slack-responder/manifest.json";
import template from "../../packages/cli/template/manifest.json";

const parse = (m: unknown) => Manifest.parse(m);
type Op = {
  parameters: { name: string; in: string; required: boolean; schema: Record<string, unknown> }[];
  requestBody?: { content: Record<string, { schema: Record<string, unknown> }> };
  responses: Record<
    string,
    {
      content?: Record<string, { schema: Record<string, unknown> }>;
      headers?: Record<string, unknown>;
    }
  >;
  "x-atoll-limit"?: unknown;
  description?: string;
};
const opOf = (doc: ReturnType<typeof pluginDocument>, path: string, method: string) =>
  (doc.paths[path] as Record<string, Op>)[method] as Op;

const base = {
  name: "@demo/typed",
  version: "1.0.0",
  description: "typed",
  author: "t",
  kind: "plugin",
  entry: "index.js",
  apiVersion: "1",
};

describe("every example plugin and the atoll init template", () => {
  it.each([
    ["hello", hello],
    ["advanced-analytics", analytics],
    ["payment-gateway", payments],
    ["slack-responder", slack],
    ["template", template],
  ])("%s declares responses for every route, params for every parameter", (_n, raw) => {
    const m = parse(raw);
    expect(m.routes?.length).toBeGreaterThan(0);
    for (const route of m.routes ?? []) {
      expect(route.responses?.["200"], route.path).toBeDefined();
      for (const name of route.path.match(/\{([^}]+)\}/g) ?? [])
        expect(route.params?.[name.slice(1, -1)], route.path).toBeDefined();
      if (route.method === "POST" && route.path !== "/visits") expect(route.body).toBeDefined();
    }
  });
});

describe("the per-plugin document", () => {
  it("types path params, body and responses as named models, and documents refusals and limits", () => {
    const doc = pluginDocument(parse(payments), "https://atoll.test");
    const get = opOf(doc, "/p/{installationId}/charges/{id}", "get");
    expect(get.parameters.find((p) => p.name === "id")?.schema).toMatchObject({
      type: "string",
      maxLength: 255,
    });
    expect(get.responses["200"]?.content?.["application/json"]?.schema).toEqual({
      $ref: "#/components/schemas/GetChargesByIdResponse",
    });
    const post = opOf(doc, "/p/{installationId}/charges", "post");
    expect(post.requestBody?.content["application/json"]?.schema).toEqual({
      $ref: "#/components/schemas/PostChargesBody",
    });
    const schemas = doc.components?.schemas ?? {};
    expect(schemas.PostChargesBody?.required).toEqual(
      expect.arrayContaining(["amount", "currency", "source", "idempotencyKey"]),
    );
    for (const code of ["400", "401", "403", "404", "405", "415", "429"])
      expect(post.responses[code]?.content?.["application/problem+json"], code).toBeDefined();
    expect(get.responses["415"]).toBeUndefined(); // no body: never a 415
    expect(post.responses["429"]?.headers).toHaveProperty("Retry-After");
    expect(post.responses["200"]?.headers).toHaveProperty("RateLimit-Policy");
    expect(post.responses["402"]).toBeUndefined(); // a free listing: no purchase needed

    const paid = pluginDocument(parse(analytics), "https://atoll.test");
    expect(opOf(paid, "/p/{installationId}/stats", "post").responses["402"]).toBeDefined();

    const limited = opOf(
      pluginDocument(parse(slack), "https://x.test"),
      "/p/{installationId}/say",
      "post",
    );
    expect(limited["x-atoll-limit"]).toEqual({ requests: 30, window: 60 });
    expect(limited.description).toMatch(/30 requests per 60 s/);
  });

  it("turns query properties into parameters, ANY into five methods and * into a catch-all", () => {
    const m = parse({
      ...base,
      routes: [
        {
          path: "/files/*",
          query: {
            type: "object",
            properties: {
              limit: { type: "integer", minimum: 1 },
              tag: { type: "string", enum: ["a", "b"] },
            },
            required: ["limit"],
          },
          body: { type: "object", properties: { note: { type: "string" } } },
        },
        { method: "GET", path: "/n/{count}", params: { count: { type: "integer" } } },
      ],
    });
    const doc = pluginDocument(m, "https://x.test");
    const ops = doc.paths["/p/{installationId}/files/{path}"] as Record<string, Op>;
    expect(Object.keys(ops).sort()).toEqual(["delete", "get", "patch", "post", "put"]);
    const query = ops.get?.parameters.filter((p) => p.in === "query");
    expect(query).toEqual([
      { name: "limit", in: "query", required: true, schema: { type: "integer", minimum: 1 } },
      { name: "tag", in: "query", required: false, schema: { type: "string", enum: ["a", "b"] } },
    ]);
    expect(ops.get?.requestBody).toBeUndefined();
    expect(ops.put?.requestBody?.content["application/json"]?.schema).toEqual({
      $ref: "#/components/schemas/AnyFilesBody",
    });
    const parsed = operationsOf(withOperationIds(structuredClone(doc)));
    const files = parsed.find((o) => o.method === "GET" && o.path.endsWith("{path}"));
    expect(files?.pathParams.find((p) => p.name === "path")?.catchAll).toBe(true);

    const ts = typescriptSdk(withOperationIds(structuredClone(doc)), {
      name: "x",
      baseUrl: "https://x.test",
    });
    expect(ts["dist/index.js"]).toMatch(/rest\(path\)/);
    expect(ts["dist/index.d.ts"]).toMatch(
      /getNByCount\(installationId: string \| number, count: number/,
    );
    expect(ts["dist/index.d.ts"]).toMatch(/query\?: \{ limit: number; tag\?: "a" \| "b" \}/);
    const py = pythonSdk(withOperationIds(structuredClone(doc)), {
      name: "x",
      baseUrl: "https://x.test",
    });
    expect(Object.values(py).join("\n")).toMatch(/_quote_rest\(path\)/);
    expect(Object.values(py).join("\n")).toMatch(/count: int/);
    const java = javaSdk(withOperationIds(structuredClone(doc)), {
      name: "x",
      baseUrl: "https://x.test",
    });
    expect(Object.values(java).join("\n")).toMatch(/segs\(path\)/);
    expect(Object.values(java).join("\n")).toMatch(/Long count/);
    expect(java["src/main/java/dev/atoll/client/models/GetFilesQuery.java"]).toMatch(
      /public record GetFilesQuery\(Long limit, String tag\)/,
    );
    expect(java["src/main/java/dev/atoll/client/Atoll.java"]).toMatch(
      /getFiles\(String installationId, String path, GetFilesQuery query\)/,
    );
  });

  it("keeps publisher text as data: hostile names land in schemas, never in component names", () => {
    const evil = '"; process.exit(1); //';
    const m = parse({
      ...base,
      routes: [
        {
          method: "POST",
          path: "/x/{class}",
          summary: `*/ ${evil}`,
          params: { class: { type: "string", enum: [evil, "*/"] } },
          body: { type: "object", properties: { [evil]: { type: "string", description: "*/ x" } } },
          responses: { "200": { type: "object", properties: { __proto__x: { enum: [evil] } } } },
        },
      ],
    });
    const doc = pluginDocument(m, "https://x.test");
    for (const name of Object.keys(doc.components?.schemas ?? {}))
      expect(name).toMatch(/^[A-Za-z0-9]+$/);
    expect(JSON.stringify(doc)).toContain(JSON.stringify(evil).slice(1, -1));
  });
});
