/**
 * The plugin manifest (`manifest.json`), validated by zod and published as JSON Schema at
 * GET /schemas/manifest.json. Pure: no I/O.
 */
import { z } from "zod";
import semver from "semver";
import { isCurrency, minimumCharge } from "./currency";
import { checkConfigSchema, checkSchema, describeSchemaRefusal } from "./config-schema";
import { checkPermissions } from "./permissions";
import type { Result } from "./result";

/** The marketplace's categories (a fixed, documented set). */
export const CATEGORIES = {
  analytics: "Analytics",
  automation: "Automation",
  communication: "Communication",
  crm: "CRM & sales",
  "developer-tools": "Developer tools",
  marketing: "Marketing",
  payments: "Payments & billing",
  productivity: "Productivity",
  security: "Security",
  other: "Other",
} as const;
export type Category = keyof typeof CATEGORIES;

/** Platform plugin API versions this platform runs. */
export const SUPPORTED_API_VERSIONS = ["1"] as const;
/** Platform caps on what a manifest may ask for. */
export const LIMIT_CAPS = { cpuMs: 1_000, subrequests: 50, requestsPerMinute: 100_000 } as const;
export const DEFAULT_LIMITS = { cpuMs: 50, subrequests: 10 } as const;

const NAME = /^@([a-z0-9](?:[a-z0-9-]{1,37}[a-z0-9]))\/([a-z0-9][a-z0-9._-]{0,63})$/;
const MODULE_PATH = /^(?!\/)(?!.*\.\.)[A-Za-z0-9_./-]{1,200}\.(?:m?js)$/;

/**
 * What is wrong with a declared route path, or null. A route path is a template under the
 * installation's endpoint: segments are literals (letters, digits, `-_.~`, never `.` or `..`),
 * `{param}` / `:param`, or a final `*`. It ends up in generated SDKs and documents as a path
 * under `/p/{installationId}`, so it must never be able to leave it (`/../../v1/api-keys`).
 */
export function routePathProblem(path: string): string | null {
  if (!path.startsWith("/")) return "must start with /";
  if (path === "/") return null;
  const segments = path.slice(1).split("/");
  const params = new Set<string>();
  for (const [i, segment] of segments.entries()) {
    const param = /^\{(.+)\}$|^:(.+)$/.exec(segment);
    const name = param ? (param[1] ?? param[2] ?? "") : null;
    if (name !== null) {
      // The endpoint's own parameter, and each name once: both would clash in SDK methods.
      if (name === "installationId")
        return "must not name a parameter installationId (the endpoint's own)";
      if (params.has(name)) return `must not name the parameter ${name} twice`;
      params.add(name);
    }
    const last = i === segments.length - 1;
    if (segment === "") return last ? null : "must not contain an empty segment (//)";
    if (segment === "." || segment === "..") return "must not contain . or .. segments";
    if (/^__atoll/i.test(segment)) return "must not use the platform's /__atoll paths";
    if (segment === "*") {
      if (!last) return "may use * only as the last segment";
      continue;
    }
    if (
      /^\{[A-Za-z_][A-Za-z0-9_-]{0,63}\}$/.test(segment) ||
      /^:[A-Za-z_][A-Za-z0-9_]{0,63}$/.test(segment)
    )
      continue;
    if (!/^[A-Za-z0-9_\-.~]+$/.test(segment))
      return `segment "${segment}" must be a literal (letters, digits, -_.~), {param} or :param`;
  }
  return null;
}

/** A JSON Schema in the linear-time subset (config-schema.ts), as a route declares it. */
const RouteSchema = z.record(z.string(), z.unknown()).superRefine((schema, ctx) => {
  const r = checkSchema(schema);
  if (!r.ok)
    ctx.addIssue({
      code: "custom",
      message: describeSchemaRefusal(r),
      params: { keyword: r.keyword, pointer: r.pointer },
    });
});

/** Route limits are at most this (per calling organization, installation and route). */
export const ROUTE_LIMIT_CAPS = { requests: 1_000_000, windowSec: 86_400 } as const;

export const ROUTE_METHODS = ["GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS"] as const;

const Route = z
  .object({
    method: z.enum([...ROUTE_METHODS, "ANY"]).default("ANY"),
    path: z
      .string()
      .regex(/^\/[A-Za-z0-9_\-./:{}*~]*$/, "must be an absolute path like /charges/{id}")
      .max(200)
      .superRefine((path, ctx) => {
        const problem = routePathProblem(path);
        if (problem) ctx.addIssue({ code: "custom", message: problem });
      }),
    summary: z.string().max(200).optional(),
    /** Schemas of the path parameters, by name (values arrive as strings). */
    params: z.record(z.string().max(64), RouteSchema).optional(),
    /** Schema of the query string as an object (values are strings, or numbers/booleans where the schema says so). */
    query: RouteSchema.optional(),
    /** Schema of the JSON request body. */
    body: RouteSchema.optional(),
    /** Schemas of JSON responses, by status code ("200") — checked by atoll dev and atoll test. */
    responses: z
      .record(
        z.string().regex(/^[1-5][0-9][0-9]$/, "must be an HTTP status such as 200"),
        RouteSchema,
      )
      .optional(),
    /** The route's own limit, per calling organization × installation × route. */
    limit: z
      .object({
        requests: z.number().int().min(1).max(ROUTE_LIMIT_CAPS.requests),
        window: z.number().int().min(1).max(ROUTE_LIMIT_CAPS.windowSec).describe("seconds"),
      })
      .strict()
      .optional(),
  })
  .strict()
  .superRefine((route, ctx) => {
    const names = routeParams(route.path);
    for (const name of Object.keys(route.params ?? {}))
      if (!names.includes(name))
        ctx.addIssue({
          code: "custom",
          path: ["params", name],
          message: `is not a parameter of ${route.path}`,
        });
    if (route.query && route.query.type !== "object")
      ctx.addIssue({
        code: "custom",
        path: ["query"],
        message: 'must be an object schema (type: "object"): the query string is named values',
      });
    if (route.body && (route.method === "GET" || route.method === "HEAD"))
      ctx.addIssue({
        code: "custom",
        path: ["body"],
        message: `a ${route.method} request has no body`,
      });
  });

export type ManifestRoute = z.infer<typeof Route>;

/** The parameter names of a route path, in order (`{id}` and `:id` alike; `*` is not one). */
export function routeParams(path: string): string[] {
  return path.split("/").flatMap((segment) => {
    const m = /^\{(.+)\}$|^:(.+)$/.exec(segment);
    return m ? [m[1] ?? m[2] ?? ""] : [];
  });
}

const Pricing = z
  .object({
    model: z.enum(["free", "one-time", "subscription", "usage"]),
    /** Integer minor units (cents): never a float. */
    amount: z.number().int().nonnegative().max(100_000_000).optional(),
    currency: z
      .string()
      .regex(/^[A-Z]{3}$/, "must be an ISO 4217 code such as USD")
      .optional(),
    interval: z.enum(["month", "year"]).optional(),
    unit: z.string().max(50).optional(),
    /** Usage pricing: `amount` is the price of this many calls (default 1,000). */
    per: z.number().int().min(1).max(1_000_000_000).optional(),
  })
  .strict()
  .superRefine((p, ctx) => {
    if (p.model !== "free" && (p.amount === undefined || !p.currency))
      ctx.addIssue({
        code: "custom",
        message: "paid pricing needs amount (minor units) and currency",
      });
    if (p.currency && !isCurrency(p.currency))
      ctx.addIssue({
        code: "custom",
        path: ["currency"],
        message: `${p.currency} is not an ISO 4217 currency`,
      });
    else if (
      p.currency &&
      p.amount !== undefined &&
      (p.model === "one-time" || p.model === "subscription") &&
      p.amount < minimumCharge(p.currency)
    ) {
      ctx.addIssue({
        code: "custom",
        path: ["amount"],
        message: `is below the smallest charge in ${p.currency} (${minimumCharge(p.currency)} minor units); amounts are minor units (cents), not whole units`,
      });
    }
    if (p.model === "usage" && p.amount === 0)
      ctx.addIssue({
        code: "custom",
        path: ["amount"],
        message: "usage pricing needs a positive price",
      });
    if (p.model === "subscription" && !p.interval)
      ctx.addIssue({
        code: "custom",
        path: ["interval"],
        message: "subscriptions need an interval",
      });
    if (p.model !== "usage" && p.per !== undefined)
      ctx.addIssue({
        code: "custom",
        path: ["per"],
        message: "only usage pricing has a per-calls unit",
      });
  });

export const Manifest = z
  .object({
    name: z.string().regex(NAME, "must be a scoped name, @publisher/name, lower-case"),
    version: z
      .string()
      .max(64)
      .refine((v) => semver.valid(v) === v, "must be a semantic version such as 1.2.3"),
    description: z.string().min(1).max(500),
    author: z.union([
      z.string().min(1).max(200),
      z
        .object({
          name: z.string().min(1).max(200),
          email: z.string().email().optional(),
          url: z.string().url().optional(),
        })
        .strict(),
    ]),
    kind: z.enum(["plugin", "app", "template"]),
    entry: z.string().regex(MODULE_PATH, "must be a relative .js or .mjs path inside the package"),
    apiVersion: z
      .string()
      .refine((v) => (SUPPORTED_API_VERSIONS as readonly string[]).includes(v), {
        message: `is not supported by this platform; supported: ${SUPPORTED_API_VERSIONS.join(", ")}`,
      }),
    permissions: z
      .array(z.string().max(300))
      .max(50)
      .default([])
      .superRefine((perms, ctx) => {
        for (const p of checkPermissions(perms))
          ctx.addIssue({
            code: "custom",
            message: `${p.permission}: ${p.reason}`,
            params: { permission: p.permission },
          });
      }),
    /**
     * The HTTP routes the gateway lets through (undeclared paths are 404, other methods 405, before
     * the plugin runs). Absent: every path and method reaches the plugin, as if `ANY /*`.
     */
    routes: z.array(Route).max(100).optional(),
    config: z
      .record(z.string(), z.unknown())
      .optional()
      .superRefine((schema, ctx) => {
        const r = schema === undefined ? null : checkConfigSchema(schema);
        if (r && !r.ok)
          ctx.addIssue({
            code: "custom",
            message: describeSchemaRefusal(r),
            params: { keyword: r.keyword, pointer: r.pointer },
          });
      })
      .describe(
        "JSON Schema of the installation settings, in the subset of docs/trust-model.md; properties marked writeOnly are secrets",
      ),
    limits: z
      .object({
        cpuMs: z.number().int().min(1).max(LIMIT_CAPS.cpuMs).optional(),
        subrequests: z.number().int().min(1).max(LIMIT_CAPS.subrequests).optional(),
        requestsPerMinute: z.number().int().min(1).max(LIMIT_CAPS.requestsPerMinute).optional(),
      })
      .strict()
      .default({}),
    pricing: Pricing.default({ model: "free" }),
    category: z.enum(Object.keys(CATEGORIES) as [Category, ...Category[]]).default("other"),
    displayName: z.string().min(1).max(80).optional(),
    keywords: z.array(z.string().min(1).max(50)).max(20).default([]),
    icon: z.string().max(500).optional(),
    homepage: z.string().url().max(500).optional(),
    license: z.string().min(1).max(100).default("UNLICENSED"),
  })
  .strict();

export type Manifest = z.infer<typeof Manifest>;
export type ManifestInput = z.input<typeof Manifest>;

export type ManifestResult = Result<
  { manifest: Manifest },
  { errors: { path: string; message: string }[] }
>;

/** Validates a parsed manifest; errors name the field and the reason. */
export function validateManifest(value: unknown): ManifestResult {
  const r = Manifest.safeParse(value);
  if (r.success) return { ok: true, manifest: r.data };
  return {
    ok: false,
    errors: r.error.issues.map((i) => ({
      path: i.path.map(String).join(".") || "(manifest)",
      message: i.message,
    })),
  };
}

/** The scope (publisher slug) and short name of a manifest name. */
export function splitName(name: string): { scope: string; short: string } | null {
  const m = NAME.exec(name);
  return m?.[1] && m[2] ? { scope: m[1], short: m[2] } : null;
}

/** The manifest as JSON Schema (draft 2020-12), for editors and third-party tooling. */
export function manifestJsonSchema(): Record<string, unknown> {
  return {
    $id: "https://atoll.dev/schemas/manifest.json",
    title: "Atoll plugin manifest",
    ...z.toJSONSchema(Manifest, { io: "input", unrepresentable: "any" }),
  };
}

/** Effective runtime limits: the manifest's, capped by the platform. */
export function effectiveLimits(m: Manifest): { cpuMs: number; subrequests: number } {
  return {
    cpuMs: Math.min(m.limits.cpuMs ?? DEFAULT_LIMITS.cpuMs, LIMIT_CAPS.cpuMs),
    subrequests: Math.min(
      m.limits.subrequests ?? DEFAULT_LIMITS.subrequests,
      LIMIT_CAPS.subrequests,
    ),
  };
}
