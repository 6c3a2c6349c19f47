/**
 * A plugin's own API reference, generated from the routes its manifest declares: each route is an
 * operation under the installation's endpoint (`/p/{installationId}{path}`), typed from the
 * route's schemas, with the platform's security schemes, the gateway's refusals and the route's
 * limit. SDKs for a plugin are generated from this document. Pure, no I/O.
 *
 * - Path parameters: `params[name]` (a string when the route declares none); a final `*` is the
 *   path parameter `{path}` (`x-atoll-catch-all: true`): it may hold slashes, never a `.` or
 *   `..` segment.
 * - Query: each property of `query` is a query parameter (required when `query.required` says so).
 * - Body and responses: the declared schemas as named component models (`PostChargesBody`,
 *   `PostChargesResponse`, `PostChargesResponse201`…); a route that declares no success answer
 *   documents a free-form JSON 200.
 * - Refusals: the gateway's problem documents (application/problem+json) — 400, 401, 403, 404,
 *   405, 413, 415 (only with a body schema), 429, 502, 503, 504, and 402 for a paid listing.
 * - Limits: the route's `{requests, window}` as `x-atoll-limit`, said in the description, with
 *   the RateLimit/RateLimit-Policy headers on every answer and Retry-After on 429.
 * - `ANY` routes become GET, POST, PUT, PATCH and DELETE (the methods the SDKs generate; the
 *   gateway also lets HEAD and OPTIONS through), the body on POST, PUT and PATCH.
 *
 * Everything here comes from a publisher's manifest: names and text stay data (the SDK generators
 * escape them); component names are built from the route's method and path only.
 */
import { routePathProblem, type Manifest, type ManifestRoute } from "../../contract/manifest";
import { type OpenApiDocument, type JsonSchema, operationIdOf, pascal, RATE_HEADERS } from "./spec";

const PROBLEM_REF = { $ref: "#/components/schemas/Problem" };
const PROBLEM: JsonSchema & Record<string, unknown> = {
  type: "object",
  description: "A problem document (RFC 9457), as the gateway answers its refusals",
  properties: {
    type: { type: "string" },
    title: { type: "string" },
    status: { type: "integer" },
    detail: { type: "string" },
    errors: {
      type: "array",
      description: "400: each field that does not match the route's schemas",
      items: {
        type: "object",
        properties: { path: { type: "string" }, message: { type: "string" } },
        required: ["path", "message"],
      },
    },
  },
  required: ["type", "title", "status"],
};

/** The methods an `ANY` route is documented (and generated) as. */
export const ANY_METHODS = ["get", "post", "put", "patch", "delete"] as const;
const BODY_METHODS = new Set(["post", "put", "patch", "delete"]);

const problem = (description: string, headers?: Record<string, unknown>) => ({
  description,
  ...(headers ? { headers } : {}),
  content: { "application/problem+json": { schema: PROBLEM_REF } },
});

/** The name the catch-all `*` takes: `path`, unless the route already names a parameter so. */
function catchAllName(names: string[]): string {
  for (const candidate of ["path", "rest", "tail"])
    if (!names.includes(candidate)) return candidate;
  let n = 2;
  while (names.includes(`path${n}`)) n++;
  return `path${n}`;
}

/** The route's path under the endpoint, OpenAPI-style, and its parameter names in order. */
function templateOf(route: ManifestRoute): {
  path: string;
  names: string[];
  catchAll: string | null;
} {
  const segments = route.path === "/" ? [""] : route.path.slice(1).split("/");
  const names: string[] = [];
  for (const s of segments) {
    const m = /^\{(.+)\}$|^:(.+)$/.exec(s);
    if (m) names.push(m[1] ?? m[2] ?? "");
  }
  const catchAll = segments.at(-1) === "*" ? catchAllName(names) : null;
  const out = segments.map((s) => {
    if (s === "*") return `{${catchAll}}`;
    const m = /^\{(.+)\}$|^:(.+)$/.exec(s);
    return m ? `{${m[1] ?? m[2]}}` : s;
  });
  // No trailing slash (the gateway ignores one): the root route is the endpoint itself.
  return { path: `/p/{installationId}/${out.join("/")}`.replace(/\/$/, ""), names, catchAll };
}

/** A copy of a manifest schema as an OpenAPI 3.1 schema (the subset is plain JSON Schema). */
function schemaOf(schema: Record<string, unknown> | undefined): JsonSchema {
  if (!schema) return { type: "string" };
  const { $schema: _s, $id: _i, ...rest } = structuredClone(schema);
  return rest as JsonSchema;
}

const isObjectModel = (s: JsonSchema) =>
  Boolean(s.properties && Object.keys(s.properties).length > 0);

export function pluginDocument(
  manifest: Manifest,
  serverUrl: string,
): OpenApiDocument & Record<string, unknown> {
  const paths: OpenApiDocument["paths"] = {};
  const schemas: Record<string, JsonSchema> = { Problem: PROBLEM };
  /** A component for `schema` named `base` (unique), or the schema inline when it is no object model. */
  const model = (base: string, schema: JsonSchema): JsonSchema => {
    if (!isObjectModel(schema)) return schema;
    let name = base;
    for (let n = 2; Object.hasOwn(schemas, name); n++) name = `${base}${n}`;
    schemas[name] = schema;
    return { $ref: `#/components/schemas/${name}` };
  };
  const paid = Boolean(manifest.pricing && manifest.pricing.model !== "free");
  for (const route of manifest.routes ?? []) {
    // Versions published before the rule may hold a path that climbs out of the endpoint
    // (`/../../v1/api-keys`): never an operation of the plugin's document or SDKs.
    if (routePathProblem(route.path)) continue;
    const { path, names, catchAll } = templateOf(route);
    const methods = route.method === "ANY" ? [...ANY_METHODS] : [route.method.toLowerCase()];
    // Models are named after the route (once for all of an ANY route's methods).
    const stem = pascal(operationIdOf(route.method === "ANY" ? "any" : route.method, route.path));
    const body = route.body ? model(`${stem}Body`, schemaOf(route.body)) : null;
    const declared = Object.entries(route.responses ?? {}).sort(([a], [b]) => a.localeCompare(b));
    const firstOk = declared.find(([code]) => /^2/.test(code))?.[0];
    const answers = declared.map(
      ([code, s]) =>
        [
          code,
          model(code === firstOk ? `${stem}Response` : `${stem}Response${code}`, schemaOf(s)),
        ] as const,
    );
    const queryProps = Object.entries(
      (route.query?.properties ?? {}) as Record<string, Record<string, unknown>>,
    );
    const queryRequired = new Set(
      Array.isArray(route.query?.required) ? (route.query.required as string[]) : [],
    );
    const typed = Boolean(route.params || route.query || route.body || route.responses);
    const limit = route.limit;
    const limitText = limit
      ? `Limit: ${limit.requests} requests per ${limit.window} s per calling organization (RateLimit-Policy "route"), beside the plan's.`
      : "";
    for (const method of methods) {
      const withBody = body !== null && BODY_METHODS.has(method);
      const rate = { ...RATE_HEADERS };
      const responses: Record<string, unknown> = {};
      for (const [code, schema] of answers)
        responses[code] = {
          description: /^2/.test(code) ? "The plugin's answer" : `The plugin's ${code} answer`,
          ...(/^2/.test(code) ? { headers: rate } : {}),
          content: { "application/json": { schema } },
        };
      if (!firstOk)
        responses["200"] = {
          description: "The plugin's answer (the route declares no schema for it)",
          headers: rate,
          content: {
            "application/json": { schema: { type: "object", additionalProperties: true } },
          },
        };
      const refusals: Record<string, ReturnType<typeof problem>> = {
        "400": problem(
          "A path the gateway refuses, or parameters, query or body that do not match the route's schemas (`errors` names each field)",
        ),
        "401": problem("Missing, invalid, expired or revoked credential"),
        ...(paid
          ? { "402": problem("The listing is paid and the organization holds no current purchase") }
          : {}),
        "403": problem("The credential lacks the plugins:call scope"),
        "404": problem("No such installation (or another organization's)"),
        "405": problem("A method this path does not declare (see Allow)"),
        "413": problem("The request body is over the platform's limit"),
        ...(withBody ? { "415": problem("The request body is not JSON") } : {}),
        "429": problem(
          limit
            ? `Rate limit reached: the plan's, the installation's or this route's (${limit.requests} per ${limit.window} s); see RateLimit-Policy and Retry-After`
            : "Rate limit reached: the plan's or the installation's; see RateLimit-Policy and Retry-After",
          {
            ...rate,
            "Retry-After": {
              description: "Seconds until a request is admitted again",
              schema: { type: "integer" },
            },
          },
        ),
        "502": problem("The plugin failed (threw, answered malformed headers, or too large)"),
        "503": problem("Plugins cannot run right now"),
        "504": problem("The plugin exceeded its deadline or limits"),
      };
      for (const [code, answer] of Object.entries(refusals)) {
        const own = responses[code] as { content?: Record<string, unknown> } | undefined;
        // The plugin declares this status too: either document may come back.
        responses[code] = own
          ? { ...answer, content: { ...own.content, ...answer.content } }
          : answer;
      }
      paths[path] ??= {};
      (paths[path] as Record<string, unknown>)[method] = {
        operationId: operationIdOf(method, route.path),
        summary: route.summary ?? `${method.toUpperCase()} ${route.path}`,
        ...(limitText ? { description: limitText } : {}),
        tags: [manifest.displayName ?? manifest.name],
        security: [{ apiKey: [] }, { bearerAuth: [] }],
        ...(limit ? { "x-atoll-limit": { requests: limit.requests, window: limit.window } } : {}),
        parameters: [
          {
            name: "installationId",
            in: "path",
            required: true,
            description: "The installation of this plugin (ins_…)",
            schema: { type: "string" },
          },
          ...names.map((name) => ({
            name,
            in: "path",
            required: true,
            schema: Object.hasOwn(route.params ?? {}, name)
              ? schemaOf(route.params?.[name])
              : { type: "string" },
          })),
          ...(catchAll
            ? [
                {
                  name: catchAll,
                  in: "path",
                  required: true,
                  description:
                    "The rest of the path: may be empty and may hold slashes (each segment is encoded; . and .. are refused)",
                  schema: { type: "string" },
                  "x-atoll-catch-all": true,
                },
              ]
            : []),
          ...queryProps.map(([name, s]) => ({
            name,
            in: "query",
            required: queryRequired.has(name),
            schema: schemaOf(s),
          })),
        ],
        ...(withBody && body
          ? { requestBody: { required: true, content: { "application/json": { schema: body } } } }
          : // A route that declares no schema at all keeps a free-form body; one that declares
            // schemas but no body takes none.
            BODY_METHODS.has(method) && method !== "delete" && !typed
            ? {
                requestBody: {
                  required: false,
                  content: {
                    "application/json": { schema: { type: "object", additionalProperties: true } },
                  },
                },
              }
            : {}),
        responses,
      };
    }
  }
  return {
    openapi: "3.1.0",
    info: {
      title: `${manifest.displayName ?? manifest.name} (Atoll plugin)`,
      version: manifest.version,
      description: manifest.description,
      ...(manifest.limits?.requestsPerMinute
        ? { "x-atoll-requests-per-minute": manifest.limits.requestsPerMinute }
        : {}),
    },
    servers: [{ url: serverUrl }],
    tags: [{ name: manifest.displayName ?? manifest.name, description: manifest.description }],
    paths,
    components: {
      schemas,
      securitySchemes: {
        apiKey: { type: "apiKey", in: "header", name: "X-API-Key" },
        bearerAuth: { type: "http", scheme: "bearer" },
      },
    },
  } as OpenApiDocument & Record<string, unknown>;
}
