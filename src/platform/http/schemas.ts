/** Schemas and response helpers shared by every route's OpenAPI declaration. */
import { z } from "@hono/zod-openapi";

export const Problem = z
  .object({
    type: z.string().url().openapi({ example: "https://atoll.dev/problems/validation-failed" }),
    title: z.string().openapi({ example: "Bad request" }),
    status: z.number().int().openapi({ example: 400 }),
    detail: z.string().optional(),
    instance: z.string().optional(),
    requestId: z.string().optional(),
    errors: z.array(z.object({ path: z.string(), message: z.string() })).optional(),
  })
  .openapi("Problem", { description: "RFC 9457 problem details" });

const problemContent = { "application/problem+json": { schema: Problem } };

const DESCRIPTIONS: Record<number, string> = {
  400: "Invalid input (the problem lists each field)",
  401: "Missing, invalid, expired or revoked credential",
  403: "The credential lacks a scope or role",
  404: "Not found (also for objects of another organization)",
  409: "Conflict with existing data",
  413: "Request body too large",
  415: "Request body is not JSON",
  402: "Payment required: the listing is paid and the organization holds no current purchase",
  422: "The request is well formed but cannot be carried out",
  429: "Rate limit reached (see Retry-After)",
  502: "An upstream (a plugin or a provider) failed",
  503: "Service unavailable",
  504: "An upstream (a plugin or a provider) timed out",
};

/** Problem responses for the given statuses, for a route's `responses`. */
export function problems(...statuses: number[]) {
  return Object.fromEntries(
    statuses.map((s) => [s, { description: DESCRIPTIONS[s] ?? "Error", content: problemContent }]),
  );
}

/**
 * "Exactly one of these fields", in JSON Schema: what a zod `refine` checks at run time, written
 * into the document (pass to `.openapi()`) so that clients and validators see the rule too.
 */
export const exactlyOneOf = (...fields: string[]) => ({
  oneOf: fields.map((field) => ({ required: [field] })),
});

/** One problem response with its own description, for a route's `responses`. */
export const problemWith = (description: string) => ({ description, content: problemContent });

/** Security requirement for routes that take any credential. */
export const AUTHENTICATED: Array<Record<string, string[]>> = [
  { apiKey: [] },
  { oauth2: [] },
  { bearerAuth: [] },
];

/** Body limit for JSON APIs (bytes). */
export const JSON_BODY_LIMIT = 64 * 1024;

export const IdParam = (name: string, prefix: string) =>
  z
    .string()
    .regex(new RegExp(`^${prefix}_[0-9A-Za-z]{1,40}$`), `must be an id starting with ${prefix}_`)
    .openapi({ param: { name, in: "path" }, example: `${prefix}_00000000000000000000` });

/** Path parameters naming a listing: `/{scope}/{name}` as in `@demo/hello`. */
export const ListingParams = z.object({
  scope: z
    .string()
    .regex(/^@[a-z0-9-]{3,39}$/, "must be @ followed by an organization slug")
    .openapi({ param: { name: "scope", in: "path" }, example: "@example" }),
  name: z
    .string()
    .regex(/^[a-z0-9][a-z0-9._-]{0,63}$/, "must be a plugin name")
    .openapi({ param: { name: "name", in: "path" }, example: "hello" }),
});

/** A millisecond timestamp as an RFC 3339 (ISO 8601, UTC) string, as every response carries it. */
export const iso = (ms: number) => new Date(ms).toISOString();
