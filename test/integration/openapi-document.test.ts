/**
 * The served OpenAPI document says what the API does, in the form client generators read: the
 * rules that used to live only in server code or prose are in the schemas. (The drift check in
 * test/helpers.ts holds every response of the suite to this document; test/e2e/openapi-lint.test.ts
 * runs Redocly's linter on it.)
 */
import { Validator, type Schema } from "@cfworker/json-schema";
import { beforeAll, describe, expect, it } from "vitest";
import { call, signup } from "../helpers";

interface Param {
  name: string;
  in: string;
  required?: boolean;
  schema?: Record<string, unknown>;
  example?: unknown;
}
interface Op {
  operationId: string;
  security?: Record<string, string[]>[];
  parameters?: Param[];
  requestBody?: { content: Record<string, { schema: Record<string, unknown> }> };
  responses: Record<string, unknown>;
}
interface Doc {
  paths: Record<string, Record<string, Op>>;
  components: {
    schemas: Record<string, Record<string, unknown>>;
    securitySchemes: Record<string, Record<string, unknown>>;
  };
}

let doc: Doc;
const operations = () =>
  Object.entries(doc.paths).flatMap(([path, ops]) =>
    Object.entries(ops).map(([method, op]) => ({ key: `${method} ${path}`, path, method, op })),
  );
const validator = (schema: Record<string, unknown>) =>
  new Validator({ ...schema, components: doc.components } as Schema, "2020-12", false);

beforeAll(async () => {
  doc = (await (await call("/openapi.json")).json()) as Doc;
});

function* schemasIn(value: unknown, at = ""): Generator<[string, Record<string, unknown>]> {
  if (Array.isArray(value)) {
    for (const [i, v] of value.entries()) yield* schemasIn(v, `${at}/${i}`);
  } else if (value && typeof value === "object") {
    yield [at, value as Record<string, unknown>];
    for (const [k, v] of Object.entries(value))
      if (k !== "example") yield* schemasIn(v, `${at}/${k}`);
  }
}

describe("the API document", () => {
  it("writes every nullable reference so that generators see the null", () => {
    for (const [at, s] of schemasIn(doc)) {
      const all = s.allOf as Record<string, unknown>[] | undefined;
      const nullable = (x: Record<string, unknown>) =>
        (Array.isArray(x.type) && x.type.includes("null")) || x.nullable === true;
      expect(all?.some(nullable) ?? false, `${at}: allOf with a nullable member`).toBe(false);
    }
    const me = doc.components.schemas.Me?.properties as Record<string, unknown>;
    for (const field of ["user", "organization"])
      expect(me[field], field).toEqual({
        anyOf: [{ $ref: expect.stringMatching(/^#\/components\/schemas\//) }, { type: "null" }],
      });
  });

  it("answers the operator's /v1/me with the nulls the document allows", async () => {
    const res = await call("/v1/me", { key: "test-operator-key-0123456789" });
    expect(await res.json()).toMatchObject({ user: null, organization: null });
    // (the drift check in call() validated the body against the Me schema)
  });

  it("requires the Idempotency-Key, with its pattern, on the five money-moving POSTs", () => {
    const withKey = operations().filter((o) =>
      o.op.parameters?.some((p) => p.in === "header" && p.name.toLowerCase() === "idempotency-key"),
    );
    expect(withKey.map((o) => o.key).sort()).toEqual([
      "post /v1/operator/billing/run",
      "post /v1/operator/payouts/run",
      "post /v1/purchases",
      "post /v1/purchases/{purchaseId}/refunds",
      "post /v1/revenue/payouts",
    ]);
    for (const o of withKey) {
      const p = o.op.parameters?.find((x) => x.name.toLowerCase() === "idempotency-key");
      expect(p?.required, o.key).toBe(true);
      const pattern = new RegExp(String(p?.schema?.pattern));
      expect(pattern.test("00000000-0000-4000-8000-000000000000")).toBe(true);
      expect(pattern.test("has space")).toBe(false);
      expect(pattern.test("")).toBe(false);
    }
  });

  it("declares OAuth 2.0 client credentials, and security on every operation", () => {
    expect(doc.components.securitySchemes.oauth2).toMatchObject({
      type: "oauth2",
      flows: { clientCredentials: { tokenUrl: "/oauth/token" } },
    });
    const flows = doc.components.securitySchemes.oauth2?.flows as {
      clientCredentials: { scopes: Record<string, string> };
    };
    expect(Object.keys(flows.clientCredentials.scopes)).toContain("installations:write");
    for (const o of operations()) {
      expect(Array.isArray(o.op.security), `${o.key} declares its security`).toBe(true);
      if (o.op.security?.length && !o.key.includes("/oauth/"))
        expect(o.op.security, o.key).toContainEqual({ oauth2: [] });
    }
  });

  it("types no parameter as nullable (a query string is a string or absent)", () => {
    for (const o of operations())
      for (const p of o.op.parameters ?? [])
        expect(JSON.stringify(p.schema?.type ?? ""), `${o.key} ${p.name}`).not.toContain("null");
  });

  it("documents 429 on every rate-limited operation and 401 on every authenticated one", () => {
    for (const o of operations()) {
      const limited =
        o.path.startsWith("/v1/") || o.path.startsWith("/p/") || o.path === "/oauth/token";
      if (limited) expect(Object.keys(o.op.responses), o.key).toContain("429");
      if (o.op.security?.length && !o.op.security.some((s) => Object.keys(s).length === 0))
        expect(Object.keys(o.op.responses), o.key).toContain("401");
      // A public /v1 route still checks a credential that is sent: an invalid one is a 401
      // (but for the providers' deliveries, proven by their signatures alone).
      const delivery = ["post /v1/payments/webhook", "post /v1/webhooks/{connectionId}"];
      if (o.path.startsWith("/v1/") && o.op.security?.length === 0 && !delivery.includes(o.key))
        expect(Object.keys(o.op.responses), o.key).toContain("401");
    }
  });

  it("documents the plugin endpoints as passing the plugin's own answers through", () => {
    const op = doc.paths["/p/{installationId}/{path}"]?.get as Op;
    const res = op.responses as Record<string, { content?: Record<string, unknown> }>;
    expect(Object.keys(res.default?.content ?? {})).toEqual(["*/*"]);
    expect(Object.keys(res["502"]?.content ?? {})).toEqual(["application/problem+json", "*/*"]);
  });

  it("gives examples that validate against their own schemas", () => {
    let checked = 0;
    for (const [at, s] of schemasIn(doc)) {
      if (!("example" in s) || at.includes("/parameters/")) continue;
      const { example, ...schema } = s;
      const result = validator(schema).validate(example);
      expect(result.valid, `${at}: ${JSON.stringify(result.errors.slice(0, 2))}`).toBe(true);
      checked++;
    }
    for (const o of operations())
      for (const p of o.op.parameters ?? [])
        if (p.schema && "example" in p.schema) {
          const { example, ...schema } = p.schema;
          expect(validator(schema).validate(example).valid, `${o.key} ${p.name}`).toBe(true);
          checked++;
        }
    expect(checked).toBeGreaterThan(20);
  });

  it("uses example values that cannot name a real object", async () => {
    const text = JSON.stringify(doc);
    // Listing names are @example/…, and no organization may take the slug "example".
    expect(text).not.toMatch(/@(demo|acme)\//);
    const names = [...text.matchAll(/"@([a-z0-9-]+)\/[a-z0-9._-]+"/g)].map((m) => m[1]);
    expect(new Set(names)).toEqual(new Set(["example"]));
    // Identifiers in examples are all zeros: never generated (ids are random).
    for (const [, id] of text.matchAll(/"(?:\/p\/)?([a-z]{3}_[0-9A-Za-z]{16,})"/g))
      expect(id, id).toMatch(/^[a-z]{3}_0+1?$/);
    const taken = await call("/v1/signup", {
      method: "POST",
      json: { email: "x@example.test", name: "X", organization: { name: "Ex", slug: "example" } },
    });
    expect(taken.status).toBe(400);
    const derived = await call("/v1/signup", {
      method: "POST",
      json: { email: "y@example.test", name: "Y", organization: "Example" },
    });
    expect(derived.status).toBe(400);
  });
});

describe("rules that are in the schema and in the server alike", () => {
  it("takes RFC 3339 timestamps with an offset where the document says date-time", async () => {
    const a = await signup("dt");
    for (const before of ["2030-01-01T00:00:00Z", "2030-01-01T02:00:00+02:00"]) {
      const res = await call(`/v1/purchases?before=${encodeURIComponent(before)}`, {
        key: a.apiKey,
      });
      expect(res.status, before).toBe(200);
    }
  });

  it("requires execute's input, as the schema says", async () => {
    const schema = doc.components.schemas.ExecuteRequest as { required?: string[] };
    expect(schema.required).toEqual(["input"]);
  });

  it("writes the cross-field rules into the schemas", () => {
    const s = doc.components.schemas;
    const check = (name: string, value: unknown) =>
      validator({ $ref: `#/components/schemas/${name}` }).validate(value).valid;
    expect(check("ReviewDecision", { decision: "reject" })).toBe(false);
    expect(check("ReviewDecision", { decision: "reject", reason: "no" })).toBe(true);
    expect(check("ReviewDecision", { decision: "approve" })).toBe(true);
    const rule = (value: unknown) =>
      validator({
        ...((s.CreateSync?.properties as Record<string, Record<string, unknown>>).mapping
          ?.items as Record<string, unknown>),
      }).validate(value).valid;
    expect(rule({ to: "Email", from: "email" })).toBe(true);
    expect(rule({ to: "Email", default: "x" })).toBe(true);
    expect(rule({ to: "Email" })).toBe(false);
    expect(rule({ to: "Email", from: "a", concat: { from: ["a", "b"] } })).toBe(false);
    expect(
      check("CreateConnection", {
        provider: "slack",
        credentials: { botToken: "xoxb-1", signingSecret: "0123456789abcdef" },
      }),
    ).toBe(true);
    expect(
      check("CreateConnection", {
        provider: "slack",
        credentials: { clientId: "x", clientSecret: "y" },
      }),
    ).toBe(false);
    expect(
      check("CreateConnection", {
        provider: "generic-crm",
        credentials: { clientId: "x", clientSecret: "y" },
      }),
    ).toBe(false);
    const fees = doc.paths["/v1/operator/fees"]?.put?.requestBody?.content["application/json"]
      ?.schema as Record<string, unknown>;
    expect(validator(fees).validate({ feeBps: 10 }).valid).toBe(false);
    expect(
      validator(fees).validate({ listing: "@example/a", organization: "org_0", feeBps: 10 }).valid,
    ).toBe(false);
    expect(validator(fees).validate({ listing: "@example/a", feeBps: 10 }).valid).toBe(true);
  });
});
