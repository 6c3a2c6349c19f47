/** The marketplace: browse and full-text search of listings, categories, a listing's page. Public. */
import { VersionSignature, signaturesOf } from "./signing";
import { createRoute, z } from "@hono/zod-openapi";
import type { Context } from "hono";
import { createRouter, type AppEnv } from "../platform/http/router";
import { requireScope } from "../access/principal";
import type { PluginRow } from "../platform/db/schema";
import { hasEntitlement, paymentRequired } from "../revenue/entitlements";
import { getDb } from "../platform/db/client";
import { ApiError, badRequest, notFound } from "../platform/http/problem";
import { packageKey } from "../runtime/packages";
import { AUTHENTICATED, ListingParams, problems, iso } from "../platform/http/schemas";
import {
  isDevVersion,
  listVersions,
  categoryCounts,
  findListedPlugin,
  installsPerVersion,
  searchListings,
  type ListingRow,
  type Sort,
} from "./queries";
import { CATEGORIES } from "../contract/manifest";
import { describePermission } from "../contract/permissions";
import { SEARCH_LIMITS, decodeCursor, encodeCursor, ftsQuery } from "./listing";
import { getOrganization } from "../access/queries";
import { publicRoute } from "../access/authenticate";

export const listingRoutes = createRouter();

const Pricing = z
  .object({
    model: z.string(),
    amount: z.number().int().optional(),
    currency: z.string().optional(),
    interval: z.string().optional(),
  })
  .openapi("Pricing");
const RatingSummary = z
  .object({ average: z.number().nullable(), count: z.number().int() })
  .openapi("RatingSummary");

const ListingSummary = z
  .object({
    name: z.string().openapi({ example: "@example/hello" }),
    kind: z.enum(["plugin", "app", "template"]),
    displayName: z.string(),
    summary: z.string(),
    category: z.string(),
    icon: z.string().nullable(),
    pricing: Pricing,
    latestVersion: z.string().nullable(),
    publisher: z.string(),
    publisherVerified: z.boolean(),
    installs: z.number().int(),
    rating: RatingSummary,
    createdAt: z.string().datetime(),
  })
  .openapi("ListingSummary");

const rating = (count: number, sum: number) => ({
  average: count === 0 ? null : Math.round((sum / count) * 100) / 100,
  count,
});

function toSummary(r: ListingRow) {
  return {
    name: r.name,
    kind: r.kind,
    displayName: r.display_name,
    summary: r.summary,
    category: r.category,
    icon: r.icon,
    pricing: JSON.parse(r.pricing) as z.infer<typeof Pricing>,
    latestVersion: r.latest_version,
    publisher: r.org_slug,
    publisherVerified: r.org_verified === 1,
    installs: r.install_count,
    rating: rating(r.rating_count, r.rating_sum),
    createdAt: iso(r.created_at),
  };
}

const categoryKeys = Object.keys(CATEGORIES) as [string, ...string[]];

const SearchQuery = z
  .object({
    q: z.string().max(SEARCH_LIMITS.maxQueryLength).optional(),
    kind: z.enum(["plugin", "app", "template"]).optional(),
    category: z
      .enum(categoryKeys)
      .optional()
      .openapi({ description: "One of GET /v1/marketplace/categories" }),
    pricing: z.enum(["free", "paid", "one-time", "subscription", "usage"]).optional(),
    minRating: z.coerce.number().min(1).max(5).optional(),
    sort: z
      .enum(["relevance", "installs", "rating", "newest"])
      .optional()
      .openapi({ description: "Default: relevance with q, installs without" }),
    cursor: z.string().max(200).optional(),
    limit: z.coerce
      .number()
      .int()
      .min(1)
      .max(SEARCH_LIMITS.maxLimit)
      .default(SEARCH_LIMITS.defaultLimit),
  })
  .strict();

export const searchRoute = createRoute(
  publicRoute({
    method: "get",
    path: "/v1/marketplace/listings",
    tags: ["Marketplace"],
    summary:
      "Browse and search listings (full-text, ranked), with filters, sorts and cursor pagination",
    request: { query: SearchQuery },
    responses: {
      200: {
        description: "A page of listings",
        content: {
          "application/json": {
            schema: z
              .object({ listings: z.array(ListingSummary), nextCursor: z.string().nullable() })
              .openapi("ListingPage"),
          },
        },
      },
      ...problems(400, 429),
    },
  }),
);

listingRoutes.openapi(searchRoute, async (c) => {
  const q = c.req.valid("query");
  const match = q.q ? ftsQuery(q.q) : null;
  const sort: Sort = q.sort ?? (match ? "relevance" : "installs");
  if (sort === "relevance" && !match)
    throw badRequest("sort=relevance needs a search query (q).", "validation-failed", {
      errors: [{ path: "sort", message: "relevance needs q" }],
    });
  // The cursor is bound to the query it came from, so it cannot be replayed against another.
  const fingerprint = JSON.stringify([
    match,
    q.kind,
    q.category,
    q.pricing,
    q.minRating,
    sort,
    q.limit,
  ]);
  const offset = q.cursor ? decodeCursor(q.cursor, fingerprint) : 0;
  if (offset === null)
    throw badRequest("The cursor is malformed or belongs to another query.", "invalid-cursor", {
      errors: [{ path: "cursor", message: "invalid" }],
    });
  const rows = await searchListings(getDb(c.env.DB), {
    match,
    kind: q.kind,
    category: q.category,
    pricing: q.pricing,
    minRating: q.minRating,
    sort,
    limit: q.limit,
    offset,
  });
  const page = rows.slice(0, q.limit);
  const next =
    rows.length > q.limit && offset + q.limit <= SEARCH_LIMITS.maxOffset
      ? encodeCursor(offset + q.limit, fingerprint)
      : null;
  c.header("cache-control", "public, max-age=30");
  return c.json({ listings: page.map(toSummary), nextCursor: next }, 200);
});

export const categoriesRoute = createRoute(
  publicRoute({
    method: "get",
    path: "/v1/marketplace/categories",
    tags: ["Marketplace"],
    summary: "The categories, with how many listings each has",
    responses: {
      200: {
        description: "Categories",
        content: {
          "application/json": {
            schema: z
              .object({
                categories: z.array(
                  z.object({ id: z.string(), name: z.string(), listings: z.number().int() }),
                ),
              })
              .openapi("Categories"),
          },
        },
      },
      ...problems(429),
    },
  }),
);

listingRoutes.openapi(categoriesRoute, async (c) => {
  const counts = await categoryCounts(getDb(c.env.DB));
  c.header("cache-control", "public, max-age=60");
  return c.json(
    {
      categories: Object.entries(CATEGORIES).map(([id, name]) => ({
        id,
        name,
        listings: counts[id] ?? 0,
      })),
    },
    200,
  );
});

const Listing = ListingSummary.extend({
  description: z.string().openapi({ description: "Markdown (the package's README.md)" }),
  homepage: z.string().nullable(),
  keywords: z.array(z.string()),
  permissions: z.array(z.object({ permission: z.string(), allows: z.string() })),
  routes: z.array(
    z.object({
      method: z.string(),
      path: z.string(),
      summary: z.string().optional(),
      limit: z
        .object({
          requests: z.number().int(),
          window: z.number().int().openapi({ description: "seconds" }),
        })
        .optional()
        .openapi({ description: "The route's own limit, per calling organization" }),
    }),
  ),
  versions: z.array(
    z.object({
      version: z.string(),
      installs: z.number().int(),
      createdAt: z.string().datetime(),
      signature: VersionSignature.nullable().openapi({
        description:
          "Who signed the version, with which key, built from which source (null: unsigned)",
      }),
    }),
  ),
}).openapi("Listing");

export const getListingRoute = createRoute(
  publicRoute({
    method: "get",
    path: "/v1/marketplace/listings/{scope}/{name}",
    tags: ["Marketplace"],
    summary:
      "A listing with its latest version, what its permissions allow, rating summary and installs",
    request: { params: ListingParams },
    responses: {
      200: { description: "The listing", content: { "application/json": { schema: Listing } } },
      ...problems(400, 404, 429),
    },
  }),
);

listingRoutes.openapi(getListingRoute, async (c) => {
  const { scope, name } = c.req.valid("param");
  const db = getDb(c.env.DB);
  const p = await findListedPlugin(db, `${scope}/${name}`);
  if (!p) throw notFound(`The listing ${scope}/${name}`);
  const [all, perVersion, org] = await Promise.all([
    listVersions(db, p.id),
    installsPerVersion(db, p.id),
    getOrganization(db, p.orgId),
  ]);
  // The public page: published versions, never a publisher's development builds.
  const versions = all.filter((v) => v.status === "published" && !isDevVersion(v.version));
  const latest = versions.find((v) => v.version === p.latestVersion);
  const manifest = latest ? latest.manifest : null;
  const signatures = await signaturesOf(db, versions);
  c.header("cache-control", "public, max-age=30");
  return c.json(
    {
      name: p.name,
      kind: p.kind,
      displayName: p.displayName,
      summary: p.summary,
      description: p.description,
      category: p.category,
      icon: p.icon,
      homepage: p.homepage,
      keywords: p.keywords ? p.keywords.split(" ") : [],
      pricing: JSON.parse(p.pricing) as z.infer<typeof Pricing>,
      latestVersion: p.latestVersion,
      publisher: scope.slice(1),
      publisherVerified: org?.verified ?? false,
      installs: p.installCount,
      rating: rating(p.ratingCount, p.ratingSum),
      createdAt: iso(p.createdAt),
      permissions: (manifest?.permissions ?? []).map((permission) => ({
        permission,
        allows: describePermission(permission),
      })),
      routes: (manifest?.routes ?? []).map((r) => ({
        method: r.method,
        path: r.path,
        ...(r.summary ? { summary: r.summary } : {}),
        ...(r.limit ? { limit: { requests: r.limit.requests, window: r.limit.window } } : {}),
      })),
      versions: versions.map((v) => ({
        version: v.version,
        installs: perVersion[v.version] ?? 0,
        createdAt: iso(v.createdAt),
        signature: signatures.get(v.id) ?? null,
      })),
    },
    200,
  );
});

const templatePackage = createRoute(
  publicRoute({
    method: "get",
    path: "/v1/marketplace/listings/{scope}/{name}/package",
    tags: ["Marketplace"],
    summary: "Download a free template's latest package (what `atoll init --template` unpacks)",
    request: { params: ListingParams },
    responses: {
      200: {
        description: "The package (zip); the starter project is under template/",
        content: { "application/zip": { schema: z.string().openapi({ format: "binary" }) } },
      },
      ...problems(400, 402, 404, 429),
    },
  }),
);

/** The latest published package of a template listing, as a download. */
async function templateZip(c: Context<AppEnv>, p: PluginRow, name: string): Promise<Response> {
  const db = getDb(c.env.DB);
  const version = (await listVersions(db, p.id)).find(
    (v) => v.version === p.latestVersion && v.status === "published",
  );
  const object = version ? await c.env.PACKAGES.get(packageKey(version.sha256)) : null;
  if (!version || !object) throw notFound(`The package of ${p.name}`);
  return c.body(object.body, 200, {
    "content-type": "application/zip",
    "content-disposition": `attachment; filename="${name}-${version.version}.zip"`,
    "x-atoll-sha256": version.sha256,
    "cache-control": p.pricingModel === "free" ? "public, max-age=300" : "private, no-store",
  });
}

listingRoutes.openapi(templatePackage, async (c) => {
  const { scope, name } = c.req.valid("param");
  const p = await findListedPlugin(getDb(c.env.DB), `${scope}/${name}`);
  if (!p || p.kind !== "template") throw notFound(`The template ${scope}/${name}`);
  if (p.pricingModel !== "free")
    throw new ApiError({
      status: 402,
      type: "purchase-required",
      title: "Payment required",
      detail: `${p.name} is a paid template: buy it (POST /v1/purchases), then download it with your API key from GET /v1/templates/${scope}/${name}/package.`,
    });
  return templateZip(c, p, name) as never;
});

const boughtTemplate = createRoute({
  method: "get",
  path: "/v1/templates/{scope}/{name}/package",
  tags: ["Marketplace"],
  summary: "Download a template your organization may use: free, its own, or bought",
  security: AUTHENTICATED,
  request: { params: ListingParams },
  responses: {
    200: {
      description: "The package (zip)",
      content: { "application/zip": { schema: z.string().openapi({ format: "binary" }) } },
    },
    ...problems(400, 401, 402, 403, 404, 429),
  },
});

listingRoutes.openapi(boughtTemplate, async (c) => {
  const principal = requireScope(c, "installations:read");
  const { scope, name } = c.req.valid("param");
  const p = await findListedPlugin(getDb(c.env.DB), `${scope}/${name}`);
  if (!p || p.kind !== "template") throw notFound(`The template ${scope}/${name}`);
  if (!principal.orgId || !(await hasEntitlement(getDb(c.env.DB), principal.orgId, p)))
    throw paymentRequired(p.name);
  return templateZip(c, p, name) as never;
});
