/**
 * The generators' model of the document (src/portal/codegen/spec.ts), in both the current and
 * the coming forms: nullable references as `allOf` or `anyOf` with null, `security: []` and
 * `[{}]` as public, a required Idempotency-Key with a pattern, an oauth2 client-credentials
 * scheme, binary bodies by content type or by `format`/`contentMediaType`.
 */
import { describe, expect, it } from "vitest";
import {
  safePathTemplate,
  flattenAllOf,
  nullability,
  operationsOf,
  tokenUrlOf,
  type OpenApiDocument,
} from "../../src/portal/codegen/spec";
import { typescriptSdk } from "../../src/portal/codegen/typescript";

const ref = { $ref: "#/components/schemas/User" };
const doc = {
  openapi: "3.1.0",
  info: { title: "t", version: "1.0.0" },
  paths: {
    "/v1/signup": {
      post: {
        security: [],
        requestBody: { content: { "application/json": { schema: { type: "object" } } } },
        responses: { "201": { description: "", content: { "application/json": { schema: ref } } } },
      },
    },
    "/oauth/token": { post: { security: [{}, { clientBasic: [] }], responses: {} } },
    "/v1/purchases": {
      post: {
        security: [{ apiKey: [] }],
        parameters: [
          {
            name: "Idempotency-Key",
            in: "header",
            required: true,
            schema: { type: "string", pattern: "^[A-Za-z0-9_-]{8,255}$" },
          },
        ],
        responses: { "201": { description: "" } },
      },
    },
    "/v1/packages": {
      post: {
        security: [{ apiKey: [] }],
        requestBody: {
          content: { "application/zip": { schema: { type: "string", format: "binary" } } },
        },
        responses: {
          "200": {
            description: "",
            content: {
              "application/octet-stream": {
                schema: { type: "string", contentMediaType: "application/zip" },
              },
            },
          },
        },
      },
    },
  },
  components: {
    schemas: { User: { type: "object", properties: { email: { type: "string" } } } },
    securitySchemes: {
      apiKey: { type: "apiKey" },
      oauth2: {
        type: "oauth2",
        flows: { clientCredentials: { tokenUrl: "/oauth/token", scopes: {} } },
      },
    },
  },
} as unknown as OpenApiDocument;

const op = (path: string) => operationsOf(doc).find((o) => o.path === path);

describe("the operation model", () => {
  it("public operations (security [] or [{}]) send no credential", () => {
    expect(op("/v1/signup")?.authenticated).toBe(false);
    expect(op("/oauth/token")?.authenticated).toBe(false);
    expect(op("/v1/purchases")?.authenticated).toBe(true);
  });
  it("sees a required Idempotency-Key header", () => {
    expect(op("/v1/purchases")?.idempotency).toEqual({ header: "Idempotency-Key", required: true });
  });
  it("binary request and response bodies are bytes", () => {
    expect(op("/v1/packages")?.body).toMatchObject({
      kind: "binary",
      contentType: "application/zip",
    });
    expect(op("/v1/packages")?.responseKind).toBe("binary");
    expect(op("/v1/signup")?.body?.kind).toBe("json");
  });
  it("reads the oauth2 client-credentials token URL", () => {
    expect(tokenUrlOf(doc)).toBe("/oauth/token");
  });
  it("a nullable reference is nullable in both forms", () => {
    expect(nullability({ anyOf: [ref, { type: "null" }] })).toEqual({
      schema: ref,
      nullable: true,
    });
    expect(nullability({ allOf: [ref, { type: ["object", "null"] }] })).toEqual({
      schema: ref,
      nullable: true,
    });
    expect(nullability({ allOf: [ref, { description: "x" }] })).toEqual({
      schema: ref,
      nullable: false,
    });
  });
  it("the TypeScript types say so", () => {
    const withMe = structuredClone(doc) as unknown as {
      components: { schemas: Record<string, unknown> };
    };
    withMe.components.schemas.Me = {
      type: "object",
      properties: {
        a: { anyOf: [ref, { type: "null" }] },
        b: { allOf: [ref, { type: ["object", "null"] }] },
      },
      required: ["a", "b"],
    };
    const dts = typescriptSdk(withMe as unknown as OpenApiDocument, {
      name: "x",
      baseUrl: "http://x",
    })["dist/index.d.ts"];
    expect(dts).toContain("a: (User) | null;");
    expect(dts).toContain("b: (User) | null;");
    expect(dts).toMatch(/postPackages\(body: BinaryBody, options\?: .*\): Promise<Uint8Array>;/);
  });
});

describe("allOf of objects", () => {
  it("is one object with every member's properties and required fields", () => {
    const d = {
      ...doc,
      components: {
        schemas: {
          Summary: { type: "object", properties: { name: { type: "string" } }, required: ["name"] },
        },
      },
    } as unknown as OpenApiDocument;
    const listing = {
      allOf: [
        { $ref: "#/components/schemas/Summary" },
        { type: "object", properties: { readme: { type: "string" } }, required: ["readme"] },
      ],
    };
    expect(flattenAllOf(listing, d)).toEqual({
      type: "object",
      properties: { name: { type: "string" }, readme: { type: "string" } },
      required: ["name", "readme"],
    });
    // Not only objects: left as it is.
    const mixed = { allOf: [{ $ref: "#/components/schemas/Summary" }, { type: "string" }] };
    expect(flattenAllOf(mixed, d)).toBe(mixed);
  });
});

describe("safePathTemplate: only paths that stay on the client's base URL are generated", () => {
  it.each([
    "/",
    "/v1/me",
    "/v1/a/{id}/b",
    "/.well-known/jwks.json",
    "/p/{installationId}/x/",
    "/v1/{a\nb}",
  ])("keeps %j", (path) => expect(safePathTemplate(path)).toBe(true));
  it.each([
    "@127.0.0.1:9/steal",
    ".evil.example/x",
    "/../../v1/api-keys",
    "/a/./b",
    "//evil.example/x",
    "/a/%2e%2e/b",
    "/a?x=1",
    "/a#f",
    "/a\\b",
    "/a\n/b",
    "/.\t./x",
  ])("drops %j", (path) => expect(safePathTemplate(path)).toBe(false));
});
