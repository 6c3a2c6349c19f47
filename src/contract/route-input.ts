/**
 * Checking a call against its route's declared schemas (pure: no I/O): path parameters, the
 * query string and the JSON body before the plugin runs (the gateway and the dev server), the
 * JSON response after (the dev server and `atoll test` only: never on the production hot path).
 *
 * Path and query values arrive as strings; where the schema types a value as integer, number or
 * boolean, a string that spells one is converted first (`?limit=10` is 10), and a property typed
 * array takes every value of a repeated key (`?tag=a&tag=b`). Errors name the field:
 * `params.id`, `query.limit`, `body.items.0.amount`. The schemas are in the linear-time subset
 * (config-schema.ts), checked at publish; validators are compiled once per schema.
 */
import { Validator } from "@cfworker/json-schema";
import { overlongArray } from "./config-schema";
import type { ManifestRoute } from "./manifest";
import { matchRoute } from "./routes";

export interface FieldError {
  path: string;
  message: string;
}

type Schema = Record<string, unknown>;
const validators = new WeakMap<Schema, Validator>();

function validatorOf(schema: Schema): Validator {
  let v = validators.get(schema);
  if (!v) {
    v = new Validator(schema as never, "2020-12", false);
    validators.set(schema, v);
  }
  return v;
}

/** Errors of `value` against `schema`, named from `root` (`body`, `query`…). */
export function schemaErrors(schema: Schema, value: unknown, root: string): FieldError[] {
  const overlong = overlongArray(schema, value, root);
  if (overlong) return [{ path: overlong, message: "has more items than the schema allows" }];
  const result = validatorOf(schema).validate(value);
  if (result.valid) return [];
  // The leaves: the validator also reports each enclosing properties/items/allOf.
  const errors = result.errors
    .filter((e) => !["properties", "allOf", "items"].includes(e.keyword))
    .map((e) => ({
      path: root + e.instanceLocation.replace(/^#/, "").replace(/\//g, "."),
      message: e.error,
    }));
  return (
    errors.length > 0 ? errors : [{ path: root, message: "does not match the declared schema" }]
  ).slice(0, 20);
}

function typesOf(schema: unknown): string[] {
  if (typeof schema !== "object" || schema === null) return [];
  const t = (schema as Schema).type;
  return Array.isArray(t) ? t.map(String) : typeof t === "string" ? [t] : [];
}

/** A string as the schema types it, when it spells that type; else the string. */
function coerce(value: string, schema: unknown): unknown {
  const types = typesOf(schema);
  if (types.includes("string")) return value;
  if (
    (types.includes("integer") || types.includes("number")) &&
    /^-?\d+(\.\d+)?([eE][+-]?\d+)?$/.test(value)
  )
    return Number(value);
  if (types.includes("boolean") && (value === "true" || value === "false")) return value === "true";
  if (types.includes("null") && value === "null") return null;
  return value;
}

/** The query string as the object its schema describes. */
export function queryObject(query: URLSearchParams, schema: Schema): Record<string, unknown> {
  const props = (
    typeof schema.properties === "object" && schema.properties !== null ? schema.properties : {}
  ) as Record<string, unknown>;
  const out: Record<string, unknown> = {};
  for (const key of new Set(query.keys())) {
    const prop = Object.hasOwn(props, key) ? props[key] : schema.additionalProperties;
    const values = query.getAll(key);
    if (typesOf(prop).includes("array")) {
      const items = (prop as Schema).items;
      out[key] = values.map((v) => coerce(v, items));
    } else out[key] = coerce(values[values.length - 1] ?? "", prop);
  }
  return out;
}

/** Whether a content type is JSON (`application/json`, `…+json`). */
export function isJsonContentType(contentType: string | null): boolean {
  const type = (contentType ?? "").split(";")[0]?.trim().toLowerCase() ?? "";
  return type === "application/json" || /^application\/[a-z0-9.+-]*\+json$/.test(type);
}

/**
 * The errors of a call's parameters and query against the route (the body separately, once
 * read: `bodyErrors`). Empty: the call may go on.
 */
export function requestErrors(
  route: ManifestRoute,
  params: Record<string, string>,
  query: URLSearchParams,
): FieldError[] {
  const errors: FieldError[] = [];
  for (const [name, schema] of Object.entries(route.params ?? {}))
    errors.push(...schemaErrors(schema, coerce(params[name] ?? "", schema), `params.${name}`));
  if (route.query)
    errors.push(...schemaErrors(route.query, queryObject(query, route.query), "query"));
  return errors;
}

/** The errors of a parsed JSON body against the route's body schema. */
export function bodyErrors(route: ManifestRoute, body: unknown): FieldError[] {
  return route.body ? schemaErrors(route.body, body, "body") : [];
}

/** The errors of a JSON response against the schema declared for its status (none declared: none). */
export function responseErrors(route: ManifestRoute, status: number, body: unknown): FieldError[] {
  const schema = route.responses?.[String(status)];
  return schema ? schemaErrors(schema, body, "response") : [];
}

export type Admission =
  | {
      ok: true;
      /** The declared route (null: the manifest declares no routes). */
      route: ManifestRoute | null;
      index: number;
      params: Record<string, string>;
      /** The body as read for validation (undefined: not read, pass the stream on). */
      body?: string;
    }
  | { ok: false; status: 404 }
  | { ok: false; status: 405; allow: string[] }
  | { ok: false; status: 415 }
  | { ok: false; status: 400; errors: FieldError[] };

/**
 * Whether a call may reach the plugin, by its declared routes: the route, or why not (404, 405,
 * 415, 400 with the fields). The body is read (through `readBody`) only when the route declares a
 * body schema. One function for the gateway and the standalone dev server.
 */
export async function admit(
  routes: readonly ManifestRoute[] | undefined,
  call: {
    method: string;
    path: string;
    query: URLSearchParams;
    contentType: string | null;
    readBody: () => Promise<string>;
  },
): Promise<Admission> {
  const match = matchRoute(routes, call.method, call.path);
  if (!match.ok) return match;
  const route = match.route;
  if (!route) return { ok: true, route: null, index: -1, params: {} };
  const errors = requestErrors(route, match.params, call.query);
  let body: string | undefined;
  if (route.body && call.method !== "GET" && call.method !== "HEAD") {
    if (!isJsonContentType(call.contentType)) return { ok: false, status: 415 };
    body = await call.readBody();
    let parsed: unknown;
    try {
      parsed = JSON.parse(body);
      errors.push(...bodyErrors(route, parsed));
    } catch {
      errors.push({ path: "body", message: "is not valid JSON" });
    }
  }
  if (errors.length > 0) return { ok: false, status: 400, errors };
  return {
    ok: true,
    route,
    index: match.index,
    params: match.params,
    ...(body !== undefined ? { body } : {}),
  };
}

/** A refusal as a problem document's parts (the platform renders it; no platform types here). */
export interface RefusalProblem {
  status: 400 | 404 | 405 | 415;
  type: string;
  title: string;
  detail: string;
  headers?: Record<string, string>;
  extensions?: Record<string, unknown>;
}

/** Why a call does not reach `plugin`, worded once for the gateway and the dev server. */
export function refusalProblem(
  why: Exclude<Admission, { ok: true }>,
  plugin: string,
  method: string,
): RefusalProblem {
  switch (why.status) {
    case 404:
      return {
        status: 404,
        type: "route-not-found",
        title: "No such route",
        detail: `${plugin} declares no route for this path.`,
      };
    case 405:
      return {
        status: 405,
        type: "method-not-allowed",
        title: "Method not allowed",
        detail: `This route of ${plugin} answers ${why.allow.join(", ")}, not ${method}.`,
        headers: { allow: why.allow.join(", ") },
      };
    case 415:
      return {
        status: 415,
        type: "unsupported-media-type",
        title: "Unsupported media type",
        detail: "This route takes a JSON body (content-type: application/json).",
      };
    case 400:
      return {
        status: 400,
        type: "validation-failed",
        title: "Bad request",
        detail: `The request does not match the route ${plugin} declares: ${why.errors
          .slice(0, 3)
          .map((e) => `${e.path}: ${e.message}`)
          .join("; ")}`,
        extensions: { errors: why.errors },
      };
  }
}
