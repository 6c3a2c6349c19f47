/**
 * The SDK generators' view of an OpenAPI 3.1 document, pure: operations with a stable id, their
 * path, query and header parameters, JSON body and JSON success response; and the named schemas.
 * Generation happens in code from this model — no templates fetched, no network.
 */
import { Namer, safePascal } from "./escape";

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
  title?: string;
  format?: string;
  contentMediaType?: string;
}

interface OpenApiParameter {
  name: string;
  in: "path" | "query" | "header" | "cookie";
  required?: boolean;
  schema?: JsonSchema;
  description?: string;
  /** A plugin route's final `*`: the value may hold slashes (plugin-document.ts). */
  "x-atoll-catch-all"?: boolean;
}

interface OpenApiOperation {
  operationId?: string;
  summary?: string;
  description?: string;
  tags?: string[];
  parameters?: OpenApiParameter[];
  security?: Record<string, string[]>[];
  requestBody?: { required?: boolean; content?: Record<string, { schema?: JsonSchema }> };
  responses?: Record<
    string,
    { description?: string; content?: Record<string, { schema?: JsonSchema }> }
  >;
}

export interface OpenApiDocument {
  openapi: string;
  info: { title: string; version: string; description?: string };
  paths: Record<string, Record<string, OpenApiOperation>>;
  security?: Record<string, string[]>[];
  components?: {
    schemas?: Record<string, JsonSchema>;
    securitySchemes?: Record<
      string,
      { type?: string; flows?: { clientCredentials?: { tokenUrl?: unknown } } }
    >;
  };
}

export interface Param {
  /** The name on the wire (a header, query or path parameter name), untrusted text. */
  name: string;
  /** A safe identifier in the target languages (idempotency-key → idempotencyKey). */
  ident: string;
  required: boolean;
  schema: JsonSchema;
  description?: string;
  /** The rest of the path (a plugin route's `*`): sent segment by segment, slashes kept. */
  catchAll?: boolean;
}

/** How a body travels: JSON, a URL-encoded form, or bytes (any other content type). */
export type BodyKind = "json" | "form" | "binary";

export interface Operation {
  id: string;
  method: string;
  path: string;
  /** The path split into literal text and `{parameter}` references (by wire name). */
  segments: ({ text: string } | { param: string })[];
  summary: string;
  description: string;
  tag: string;
  pathParams: Param[];
  query: Param[];
  headers: Param[];
  body: { kind: BodyKind; contentType: string; schema: JsonSchema; required: boolean } | null;
  /** The first 2xx answer's body: JSON (with its schema), bytes, or none. */
  response: JsonSchema | null;
  responseKind: "json" | "binary" | "none";
  /** False when the operation's `security` is `[]` (or allows `{}`): no credential is sent. */
  authenticated: boolean;
  /** The Idempotency-Key header parameter, when the operation takes one. */
  idempotency: { header: string; required: boolean } | null;
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

export const RATE_HEADERS = {
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
  ...(p.in === "path" && p["x-atoll-catch-all"] === true ? { catchAll: true } : {}),
});

const isJson = (type: string) => /^application\/(.+\+)?json\b/i.test(type);
const isForm = (type: string) => /^application\/x-www-form-urlencoded\b/i.test(type);
const isBinarySchema = (s: JsonSchema | undefined) =>
  Boolean(s && (s.format === "binary" || s.contentMediaType !== undefined));

function bodyOf(op: OpenApiOperation): Operation["body"] {
  const content = Object.entries(op.requestBody?.content ?? {});
  const json = content.find(([t, c]) => isJson(t) && !isBinarySchema(c.schema));
  const form = content.find(([t]) => isForm(t));
  const chosen = json ?? form ?? content[0];
  if (!chosen) return null;
  const [contentType, media] = chosen;
  const kind: BodyKind = chosen === json ? "json" : chosen === form ? "form" : "binary";
  return {
    kind,
    contentType,
    schema: kind === "binary" ? { type: "string", format: "binary" } : (media.schema ?? {}),
    required: op.requestBody?.required !== false,
  };
}

function responseOf(op: OpenApiOperation): Pick<Operation, "response" | "responseKind"> {
  const ok = Object.entries(op.responses ?? {})
    .filter(([code]) => /^2\d\d$/.test(code))
    .sort(([a], [b]) => a.localeCompare(b))[0];
  const content = Object.entries(ok?.[1].content ?? {});
  if (!content.length) return { response: null, responseKind: "none" };
  const json = content.find(([t, c]) => isJson(t) && !isBinarySchema(c.schema));
  if (json) return { response: json[1].schema ?? {}, responseKind: "json" };
  return { response: null, responseKind: "binary" };
}

/** The path as literal text and parameter references: `/v1/x/{id}/y` → "/v1/x/", {id}, "/y". */
export function segmentsOf(path: string): Operation["segments"] {
  const out: Operation["segments"] = [];
  let last = 0;
  for (const m of path.matchAll(/\{([^{}]+)\}/g)) {
    if (m.index > last) out.push({ text: path.slice(last, m.index) });
    out.push({ param: m[1] ?? "" });
    last = m.index + m[0].length;
  }
  if (last < path.length) out.push({ text: path.slice(last) });
  return out;
}

function authenticatedOf(op: OpenApiOperation, doc: OpenApiDocument): boolean {
  const security = op.security ?? doc.security ?? [];
  return security.length > 0 && !security.some((s) => Object.keys(s).length === 0);
}

/**
 * Whether a document's path template can only name a path on the client's own base URL: it
 * starts with `/`, has no `.` or `..` segment (URL parsers resolve them, %2E-encoded too), no
 * empty segment but a trailing one, and no character that would end or re-encode the path
 * (`?`, `#`, `\\`, `%`, control characters). `@host/…`, `.evil.com/…`, `/../…` are refused:
 * they could send the credential elsewhere.
 */
export function safePathTemplate(template: string): boolean {
  // A {parameter}'s name never reaches the URL (its value does, checked when sent).
  const path = template.replace(/\{[^{}]*\}/g, "p");
  if (!path.startsWith("/")) return false;
  if (/[?#\\%\u0000-\u001f\u007f]/.test(path)) return false;
  const segments = path.slice(1).split("/");
  return segments.every(
    (segment, i) =>
      (segment !== "" || i === segments.length - 1) && segment !== "." && segment !== "..",
  );
}

/**
 * The operations of a document, sorted by tag and id. Plugin catch-all endpoints are skipped, and
 * so is any path that could leave the base URL (safePathTemplate).
 */
export function operationsOf(doc: OpenApiDocument): Operation[] {
  const out: Operation[] = [];
  for (const [path, ops] of Object.entries(doc.paths ?? {})) {
    if (!safePathTemplate(path)) continue;
    for (const method of METHODS) {
      const op = ops[method];
      if (!op) continue;
      const params = op.parameters ?? [];
      // "Any path" endpoints are not operations; a plugin route's declared catch-all is.
      const last = /\{([^{}]+)\}$/.exec(path)?.[1];
      const catchAll = params.some(
        (p) => p.in === "path" && p.name === last && p["x-atoll-catch-all"] === true,
      );
      if (/\{path\}$/.test(path) && !catchAll) continue;
      const segments = segmentsOf(path);
      const pathParams = params.filter((p) => p.in === "path").map(param);
      // A `{name}` in the path that no parameter declares is still a (string) parameter.
      for (const s of segments)
        if ("param" in s && !pathParams.some((p) => p.name === s.param))
          pathParams.push(param({ name: s.param, in: "path", required: true }));
      const headers = params.filter((p) => p.in === "header").map(param);
      const idem = headers.find((h) => h.name.toLowerCase() === "idempotency-key");
      out.push({
        id: op.operationId ?? operationIdOf(method, path),
        method: method.toUpperCase(),
        path,
        segments,
        summary: op.summary ?? "",
        description: op.description ?? "",
        tag: op.tags?.[0] ?? "Other",
        pathParams: pathParams.filter((p) =>
          segments.some((s) => "param" in s && s.param === p.name),
        ),
        query: params.filter((p) => p.in === "query").map(param),
        headers,
        body: bodyOf(op),
        ...responseOf(op),
        authenticated: authenticatedOf(op, doc),
        idempotency: idem ? { header: idem.name, required: idem.required } : null,
      });
    }
  }
  return out.sort((a, b) => a.tag.localeCompare(b.tag) || a.id.localeCompare(b.id));
}

/** The OAuth 2.0 client-credentials token URL the document declares, if any. */
export function tokenUrlOf(doc: OpenApiDocument): string | null {
  for (const scheme of Object.values(doc.components?.securitySchemes ?? {})) {
    const url = scheme.flows?.clientCredentials?.tokenUrl;
    if (scheme.type === "oauth2" && typeof url === "string") return url;
  }
  return null;
}

/** The named schemas under identifiers that are safe and unique in every target language. */
export interface SchemaNames {
  list: [string, JsonSchema][];
  /** The identifier of a `$ref`'s target, or null when it names no schema of the document. */
  ref: (ref: string) => string | null;
}

export function schemaNamesOf(doc: OpenApiDocument, reserved: Iterable<string>): SchemaNames {
  const namer = new Namer(safePascal, reserved);
  const byRaw = new Map<string, string>();
  const list: [string, JsonSchema][] = [];
  for (const [raw, schema] of Object.entries(doc.components?.schemas ?? {})) {
    const name = namer.name(raw, "Model");
    byRaw.set(raw, name);
    list.push([name, schema]);
  }
  const prefix = "#/components/schemas/";
  return {
    list,
    ref: (ref) =>
      ref.startsWith(prefix)
        ? (byRaw.get(ref.slice(prefix.length).replace(/~1/g, "/").replace(/~0/g, "~")) ?? null)
        : null,
  };
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
  // `allOf: [{$ref}, {type: ["object", "null"]}]` (the older form of a nullable reference).
  const allOfNull = (r.schema.allOf ?? []).some(
    (x) => x.type === "null" || (Array.isArray(x.type) && x.type.includes("null")),
  );
  return { schema: simplify(r.schema), nullable: r.nullable || allOfNull };
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

/** The schema a local `$ref` points at, or null. */
export function resolveRef(doc: OpenApiDocument, ref: string): JsonSchema | null {
  const prefix = "#/components/schemas/";
  if (!ref.startsWith(prefix)) return null;
  const name = ref.slice(prefix.length).replace(/~1/g, "/").replace(/~0/g, "~");
  return Object.hasOwn(doc.components?.schemas ?? {}, name)
    ? (doc.components?.schemas?.[name] ?? null)
    : null;
}

/**
 * `allOf` of objects (a schema extending another: Listing = ListingSummary + more) as one object
 * with every member's properties and required fields; anything else is returned as it is.
 */
export function flattenAllOf(s: JsonSchema, doc: OpenApiDocument, depth = 0): JsonSchema {
  if (!s.allOf || depth > 8) return s;
  const properties: Record<string, JsonSchema> = { ...(s.properties ?? {}) };
  const required = new Set(s.required ?? []);
  for (const member of s.allOf) {
    const target = member.$ref ? resolveRef(doc, member.$ref) : member;
    if (!target) return s;
    const part = flattenAllOf(target, doc, depth + 1);
    if (part.anyOf || part.oneOf) return s;
    const types = Array.isArray(part.type) ? part.type : part.type ? [part.type] : [];
    if (types.some((t) => t !== "object" && t !== "null")) return s;
    Object.assign(properties, part.properties ?? {});
    for (const r of part.required ?? []) required.add(r);
  }
  const { allOf: _allOf, ...rest } = s;
  return { ...rest, type: "object", properties, required: [...required] };
}
