/**
 * The SDK generators' view of an OpenAPI 3.1 document, pure: operations with a stable id, their
 * path, query and header parameters, JSON body and JSON success response; and the named schemas.
 * Generation happens in code from this model — no templates fetched, no network.
 */

export interface JsonSchema {
  $ref?: string;
  type?: string | string[];
  properties?: Record<string, JsonSchema>;
  required?: string[];
  items?: JsonSchema;
  enum?: unknown[];
  const?: unknown;
  anyOf?: JsonSchema[];
  oneOf?: JsonSchema[];
  allOf?: JsonSchema[];
  additionalProperties?: boolean | JsonSchema;
  nullable?: boolean;
  description?: string;
  format?: string;
}

interface OpenApiParameter {
  name: string;
  in: "path" | "query" | "header" | "cookie";
  required?: boolean;
  schema?: JsonSchema;
  description?: string;
}

interface OpenApiOperation {
  operationId?: string;
  summary?: string;
  description?: string;
  tags?: string[];
  parameters?: OpenApiParameter[];
  security?: Record<string, string[]>[];
  requestBody?: { content?: Record<string, { schema?: JsonSchema }> };
  responses?: Record<
    string,
    { description?: string; content?: Record<string, { schema?: JsonSchema }> }
  >;
}

export interface OpenApiDocument {
  openapi: string;
  info: { title: string; version: string; description?: string };
  paths: Record<string, Record<string, OpenApiOperation>>;
  components?: { schemas?: Record<string, JsonSchema> };
}

export interface Param {
  name: string;
  /** A safe identifier in the target languages (idempotency-key → idempotencyKey). */
  ident: string;
  required: boolean;
  schema: JsonSchema;
  description?: string;
}

export interface Operation {
  id: string;
  method: string;
  path: string;
  summary: string;
  tag: string;
  pathParams: Param[];
  query: Param[];
  headers: Param[];
  body: { schema: JsonSchema; required: boolean; form: boolean } | null;
  /** The JSON schema of the first 2xx answer, or null (no body, or not JSON). */
  response: JsonSchema | null;
  authenticated: boolean;
}

const METHODS = ["get", "post", "put", "patch", "delete"] as const;

export function camel(text: string): string {
  const parts = text.split(/[^A-Za-z0-9]+/).filter(Boolean);
  return parts
    .map((p, i) =>
      i === 0 ? p.charAt(0).toLowerCase() + p.slice(1) : p.charAt(0).toUpperCase() + p.slice(1),
    )
    .join("");
}
export const pascal = (text: string) => {
  const c = camel(text);
  return c.charAt(0).toUpperCase() + c.slice(1);
};

/**
 * A stable operation id from method and path: `GET /v1/purchases/{purchaseId}/refunds` →
 * `getPurchasesByPurchaseIdRefunds`. The served document carries the same ids.
 */
export function operationIdOf(method: string, path: string): string {
  const segments = path
    .split("/")
    .filter((s) => s && s !== "v1")
    .map((s) => {
      const param = /^\{(.+)\}$/.exec(s);
      return param ? `By${pascal(param[1] ?? "")}` : pascal(s);
    });
  return method.toLowerCase() + segments.join("");
}

const RATE_HEADERS = {
  RateLimit: {
    description: 'The caller\'s remaining quota (IETF draft): "api";r=57;t=42',
    schema: { type: "string" },
  },
  "RateLimit-Policy": {
    description: 'The quota and window: "api";q=60;w=60',
    schema: { type: "string" },
  },
};

/**
 * Adds operationIds where a route has none (the document generators and Scalar use them), and
 * documents the rate-limit headers: every authenticated answer carries RateLimit and
 * RateLimit-Policy; a 429 also Retry-After.
 */
export function withOperationIds<T extends OpenApiDocument>(doc: T): T {
  for (const [path, ops] of Object.entries(doc.paths)) {
    for (const [method, op] of Object.entries(ops)) {
      if (!METHODS.includes(method as (typeof METHODS)[number])) continue;
      if (!op.operationId) op.operationId = operationIdOf(method, path);
      if (!(op.security ?? []).length) continue;
      for (const [code, res] of Object.entries(op.responses ?? {})) {
        const r = res as { headers?: Record<string, unknown> };
        if (/^2\d\d$/.test(code)) r.headers = { ...RATE_HEADERS, ...(r.headers ?? {}) };
        if (code === "429")
          r.headers = {
            ...RATE_HEADERS,
            "Retry-After": {
              description: "Seconds until the window resets",
              schema: { type: "integer" },
            },
            ...(r.headers ?? {}),
          };
      }
    }
  }
  return doc;
}

const param = (p: OpenApiParameter): Param => ({
  name: p.name,
  ident: camel(p.name),
  required: Boolean(p.required || p.in === "path"),
  schema: p.schema ?? { type: "string" },
  ...(p.description ? { description: p.description } : {}),
});

/** The operations of a document, sorted by tag and id. Plugin catch-all endpoints are skipped. */
export function operationsOf(doc: OpenApiDocument): Operation[] {
  const out: Operation[] = [];
  for (const [path, ops] of Object.entries(doc.paths)) {
    for (const method of METHODS) {
      const op = ops[method];
      if (!op) continue;
      if (/\{path\}$/.test(path)) continue; // "any path" endpoints are not operations
      const params = op.parameters ?? [];
      const json = op.requestBody?.content?.["application/json"]?.schema;
      const form = op.requestBody?.content?.["application/x-www-form-urlencoded"]?.schema;
      const ok = Object.entries(op.responses ?? {}).find(([code]) => /^2\d\d$/.test(code));
      out.push({
        id: op.operationId ?? operationIdOf(method, path),
        method: method.toUpperCase(),
        path,
        summary: op.summary ?? "",
        tag: op.tags?.[0] ?? "Other",
        pathParams: params.filter((p) => p.in === "path").map(param),
        query: params.filter((p) => p.in === "query").map(param),
        headers: params.filter((p) => p.in === "header").map(param),
        body: json
          ? { schema: json, required: true, form: false }
          : form
            ? { schema: form, required: true, form: true }
            : null,
        response: ok?.[1].content?.["application/json"]?.schema ?? null,
        authenticated: (op.security ?? []).length > 0,
      });
    }
  }
  return out.sort((a, b) => a.tag.localeCompare(b.tag) || a.id.localeCompare(b.id));
}

export const refName = (ref: string) => pascal(ref.split("/").pop() ?? ref);

/** Named schemas, with names that are identifiers in every target language. */
export function schemasOf(doc: OpenApiDocument): [string, JsonSchema][] {
  return Object.entries(doc.components?.schemas ?? {}).map(([name, s]) => [pascal(name), s]);
}

/** `allOf: [{$ref}, {property-less object}]` (how a nullable reference is written) is the reference. */
function simplify(s: JsonSchema): JsonSchema {
  if (s.allOf && !s.properties) {
    const refs = s.allOf.filter((x) => x.$ref);
    if (
      refs.length === 1 &&
      s.allOf.every((x) => x.$ref || (!x.properties && !x.allOf && !x.anyOf && !x.oneOf))
    )
      return refs[0] as JsonSchema;
  }
  return s;
}

/** A schema's types, `null` split off (3.1 `type: [x, "null"]`, `anyOf` with null, or `nullable`). */
export function nullability(input: JsonSchema): { schema: JsonSchema; nullable: boolean } {
  const r = nullabilityOf(input);
  return { schema: simplify(r.schema), nullable: r.nullable };
}

function nullabilityOf(s: JsonSchema): { schema: JsonSchema; nullable: boolean } {
  if (Array.isArray(s.type) && s.type.includes("null")) {
    const rest = s.type.filter((t) => t !== "null");
    return { schema: { ...s, type: rest.length === 1 ? rest[0] : rest }, nullable: true };
  }
  const variants = s.anyOf ?? s.oneOf;
  if (variants?.some((v) => v.type === "null")) {
    const rest = variants.filter((v) => v.type !== "null");
    return {
      schema: rest.length === 1 ? (rest[0] as JsonSchema) : { ...s, anyOf: rest, oneOf: undefined },
      nullable: true,
    };
  }
  return { schema: s, nullable: Boolean(s.nullable) };
}

/** The cursor parameter and the response field holding the next cursor, when an operation pages. */
export function pagination(op: Operation): { param: string; field: string } | null {
  const cursor = op.query.find((q) => q.name === "cursor" || q.name === "before");
  if (!cursor) return null;
  return { param: cursor.name, field: cursor.name === "cursor" ? "nextCursor" : "next" };
}
