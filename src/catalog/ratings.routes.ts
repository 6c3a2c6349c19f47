/**
 * Ratings and reviews: 1–5 stars, one per user per listing (a second call updates it), only from
 * users whose organization has used the listing for a while (eligibility.ts: not its publisher,
 * an installation active a day with a few calls), and one rating per organization counts; the
 * listing's summary is recomputed for that listing in the same batch as every change. Publishers
 * reply once; users report; an operator hides abusive reviews (hidden ones neither show nor count).
 */
import { createRoute, z } from "@hono/zod-openapi";
import { and, desc, eq, sql } from "drizzle-orm";
import { actorOf, auditInsert } from "../access/audit";
import { requireOperator, requireScope } from "../access/principal";
import { createRouter } from "../platform/http/router";
import { newId } from "../platform/crypto/encoding";
import { getDb, isUniqueViolation, type Db } from "../platform/db/client";
import { plugins, ratingReports, ratings, users, type PluginRow } from "../platform/db/schema";
import { jsonBody } from "../platform/http/middleware";
import { ApiError, badRequest, conflict, forbidden, notFound } from "../platform/http/problem";
import { AUTHENTICATED, IdParam, ListingParams, problems, iso } from "../platform/http/schemas";
import { findListedPlugin } from "./queries";
import {
  countedRatings,
  ratingEligibility,
  ratingRule,
  type Eligibility,
  type RatingRule,
} from "./rating-eligibility";
import { publicRoute } from "../access/authenticate";

export const ratingRoutes = createRouter();
/** Its operator routes, mounted under /v1/operator with the other domains' (src/app.ts). */
export const ratingsOperatorRoutes = createRouter();

const RatingParams = ListingParams.extend({ ratingId: IdParam("ratingId", "rat") });

const Review = z
  .object({
    id: z.string(),
    stars: z.number().int(),
    review: z.string().nullable(),
    author: z.string(),
    reply: z.string().nullable(),
    createdAt: z.string().datetime(),
    updatedAt: z.string().datetime(),
  })
  .openapi("Review");

/** Recomputes one listing's summary from its visible ratings (a batch item). */
function summaryStatement(db: Db, pluginId: string) {
  return db
    .update(plugins)
    .set({
      ratingCount: sql`(SELECT count(*) FROM (${countedRatings(pluginId)}))`,
      ratingSum: sql`(SELECT coalesce(sum(stars), 0) FROM (${countedRatings(pluginId)}))`,
    })
    .where(eq(plugins.id, pluginId));
}

async function listingOr404(db: Db, scope: string, name: string): Promise<PluginRow> {
  const p = await findListedPlugin(db, `${scope}/${name}`);
  if (!p) throw notFound(`The listing ${scope}/${name}`);
  return p;
}

const rate = createRoute({
  method: "put",
  path: "/v1/marketplace/listings/{scope}/{name}/rating",
  tags: ["Ratings"],
  summary: "Rate a listing your organization installed (a second call updates your rating)",
  security: AUTHENTICATED,
  middleware: [...jsonBody],
  request: {
    params: ListingParams,
    body: {
      required: true,
      content: {
        "application/json": {
          schema: z
            .object({
              stars: z.number().int().min(1).max(5),
              review: z.string().trim().min(1).max(5000).optional(),
            })
            .strict()
            .openapi("RatingRequest", { example: { stars: 5, review: "Does what it says." } }),
        },
      },
    },
  },
  responses: {
    200: { description: "Your rating", content: { "application/json": { schema: Review } } },
    ...problems(400, 401, 403, 404, 413, 415, 429),
  },
});

ratingRoutes.openapi(rate, async (c) => {
  const p = requireScope(c, "installations:read");
  if (!p.userId || !p.orgId) throw forbidden("Ratings come from users of an organization.");
  const { scope, name } = c.req.valid("param");
  const { stars, review } = c.req.valid("json");
  const db = getDb(c.env.DB);
  const plugin = await listingOr404(db, scope, name);
  const rule = ratingRule(c.env);
  const eligible = await ratingEligibility(db, rule, p.orgId, plugin);
  if (!eligible.ok) throw refusal(plugin.name, rule, eligible);
  const now = Date.now();
  const id = newId("rat");
  await db.batch([
    db
      .insert(ratings)
      .values({
        id,
        pluginId: plugin.id,
        userId: p.userId,
        orgId: p.orgId,
        stars,
        review: review ?? null,
        createdAt: now,
        updatedAt: now,
      })
      .onConflictDoUpdate({
        target: [ratings.pluginId, ratings.userId],
        set: { stars, review: review ?? null, updatedAt: now },
      }),
    summaryStatement(db, plugin.id),
    auditInsert(
      db,
      {
        orgId: p.orgId,
        actor: actorOf(p),
        action: "listing.rated",
        target: plugin.name,
        details: { stars },
        requestId: c.get("requestId"),
      },
      now,
    ),
  ]);
  const [row] = await db
    .select({ r: ratings, author: users.name })
    .from(ratings)
    .innerJoin(users, eq(users.id, ratings.userId))
    .where(and(eq(ratings.pluginId, plugin.id), eq(ratings.userId, p.userId)))
    .limit(1);
  if (!row) throw notFound("The rating");
  return c.json(toReview(row.r, row.author), 200);
});

const RatingEligibility = z
  .object({
    eligible: z.boolean(),
    reason: z
      .enum(["no-user", "own-listing", "no-install", "too-recent", "too-few-calls"])
      .nullable(),
    detail: z.string().nullable().openapi({ description: "Why not, as PUT …/rating would say" }),
  })
  .openapi("RatingEligibility");

export const ratingEligibilityRoute = createRoute({
  method: "get",
  path: "/v1/marketplace/listings/{scope}/{name}/rating/eligibility",
  tags: ["Ratings"],
  summary: "Whether the caller may rate the listing now, and if not why (what PUT …/rating checks)",
  security: AUTHENTICATED,
  request: { params: ListingParams },
  responses: {
    200: {
      description: "The caller's eligibility",
      content: { "application/json": { schema: RatingEligibility } },
    },
    ...problems(400, 401, 403, 404, 429),
  },
});

ratingRoutes.openapi(ratingEligibilityRoute, async (c) => {
  const p = requireScope(c, "installations:read");
  const { scope, name } = c.req.valid("param");
  const db = getDb(c.env.DB);
  const plugin = await listingOr404(db, scope, name);
  if (!p.userId || !p.orgId)
    return c.json(
      {
        eligible: false,
        reason: "no-user" as const,
        detail: "Ratings come from users of an organization.",
      },
      200,
    );
  const rule = ratingRule(c.env);
  const e = await ratingEligibility(db, rule, p.orgId, plugin);
  if (e.ok) return c.json({ eligible: true, reason: null, detail: null }, 200);
  return c.json(
    { eligible: false, reason: e.reason, detail: refusal(plugin.name, rule, e).detail ?? null },
    200,
  );
});

function refusal(
  listing: string,
  rule: RatingRule,
  e: Exclude<Eligibility, { ok: true }>,
): ApiError {
  const needs = `an installation active for ${rule.minHours} h that called it ${rule.minCalls} times`;
  switch (e.reason) {
    case "own-listing":
      return new ApiError({
        status: 403,
        type: "rating-own-listing",
        title: "Forbidden",
        detail: `${listing} is your organization's own listing; its ratings come from the organizations that use it.`,
      });
    case "no-install":
      return new ApiError({
        status: 403,
        type: "rating-needs-install",
        title: "Forbidden",
        detail: `Only users whose organization installed ${listing} can rate it.`,
      });
    case "too-recent":
      return new ApiError({
        status: 403,
        type: "rating-needs-usage",
        title: "Forbidden",
        detail: `A rating of ${listing} needs ${needs}; your installation is ${e.hours ?? 0} h old.`,
      });
    case "too-few-calls":
      return new ApiError({
        status: 403,
        type: "rating-needs-usage",
        title: "Forbidden",
        detail: `A rating of ${listing} needs ${needs}; your organization called it ${e.calls ?? 0} times.`,
      });
  }
}

function toReview(r: typeof ratings.$inferSelect, author: string) {
  return {
    id: r.id,
    stars: r.stars,
    review: r.review,
    author,
    reply: r.reply,
    createdAt: iso(r.createdAt),
    updatedAt: iso(r.updatedAt),
  };
}

export const ratingsListRoute = createRoute(
  publicRoute({
    method: "get",
    path: "/v1/marketplace/listings/{scope}/{name}/ratings",
    tags: ["Ratings"],
    summary:
      "A listing's rating summary (average, count, 1–5 distribution) and its reviews, newest first",
    request: {
      params: ListingParams,
      query: z
        .object({
          limit: z.coerce.number().int().min(1).max(50).default(20),
          cursor: z.coerce.number().int().min(0).max(100_000).optional(),
        })
        .strict(),
    },
    responses: {
      200: {
        description: "Summary and reviews",
        content: {
          "application/json": {
            schema: z
              .object({
                average: z.number().nullable(),
                count: z.number().int(),
                distribution: z.record(z.string(), z.number().int()),
                reviews: z.array(Review),
                nextCursor: z.string().nullable(),
              })
              .openapi("Ratings"),
          },
        },
      },
      ...problems(400, 404, 429),
    },
  }),
);

ratingRoutes.openapi(ratingsListRoute, async (c) => {
  const { scope, name } = c.req.valid("param");
  const { limit, cursor } = c.req.valid("query");
  const db = getDb(c.env.DB);
  const plugin = await listingOr404(db, scope, name);
  const dist = await db.all<{ stars: number; n: number }>(
    sql`SELECT stars, count(*) AS n FROM (${countedRatings(plugin.id)}) GROUP BY stars`,
  );
  const distribution: Record<string, number> = { "1": 0, "2": 0, "3": 0, "4": 0, "5": 0 };
  for (const d of dist) distribution[String(d.stars)] = d.n;
  const offset = cursor ?? 0;
  const rows = await db
    .select({ r: ratings, author: users.name })
    .from(ratings)
    .innerJoin(users, eq(users.id, ratings.userId))
    .where(
      and(
        eq(ratings.pluginId, plugin.id),
        eq(ratings.hidden, false),
        sql`${ratings.review} IS NOT NULL`,
      ),
    )
    .orderBy(desc(ratings.updatedAt), ratings.id)
    .limit(limit + 1)
    .offset(offset);
  return c.json(
    {
      average:
        plugin.ratingCount === 0
          ? null
          : Math.round((plugin.ratingSum / plugin.ratingCount) * 100) / 100,
      count: plugin.ratingCount,
      distribution,
      reviews: rows.slice(0, limit).map((r) => toReview(r.r, r.author)),
      nextCursor: rows.length > limit ? String(offset + limit) : null,
    },
    200,
  );
});

async function ratingOf(db: Db, plugin: PluginRow, ratingId: string) {
  const [r] = await db
    .select()
    .from(ratings)
    .where(and(eq(ratings.id, ratingId), eq(ratings.pluginId, plugin.id)))
    .limit(1);
  if (!r) throw notFound("The review");
  return r;
}

const reply = createRoute({
  method: "post",
  path: "/v1/marketplace/listings/{scope}/{name}/ratings/{ratingId}/reply",
  tags: ["Ratings"],
  summary: "The publisher's reply to a review (once)",
  security: AUTHENTICATED,
  middleware: [...jsonBody],
  request: {
    params: RatingParams,
    body: {
      required: true,
      content: {
        "application/json": {
          schema: z.object({ text: z.string().trim().min(1).max(5000) }).strict(),
        },
      },
    },
  },
  responses: {
    204: { description: "Replied" },
    ...problems(400, 401, 403, 404, 409, 413, 415, 429),
  },
});

ratingRoutes.openapi(reply, async (c) => {
  const p = requireScope(c, "plugins:publish");
  const { scope, name, ratingId } = c.req.valid("param");
  const { text } = c.req.valid("json");
  const db = getDb(c.env.DB);
  const plugin = await listingOr404(db, scope, name);
  if (p.role !== "operator" && plugin.orgId !== p.orgId)
    throw forbidden("Only the listing's publisher replies to its reviews.");
  const r = await ratingOf(db, plugin, ratingId);
  if (r.review === null) throw badRequest("There is no review text to reply to.");
  const now = Date.now();
  const [done] = await db.batch([
    db
      .update(ratings)
      .set({ reply: text, repliedAt: now })
      .where(and(eq(ratings.id, r.id), sql`${ratings.reply} IS NULL`))
      .returning({ id: ratings.id }),
    auditInsert(
      db,
      {
        orgId: plugin.orgId,
        actor: actorOf(p),
        action: "review.replied",
        target: r.id,
        requestId: c.get("requestId"),
      },
      now,
    ),
  ]);
  if (done.length === 0) throw conflict("This review already has a reply.", "already-replied");
  return c.body(null, 204);
});

const report = createRoute({
  method: "post",
  path: "/v1/marketplace/listings/{scope}/{name}/ratings/{ratingId}/report",
  tags: ["Ratings"],
  summary: "Report a review as abusive (once per user)",
  security: AUTHENTICATED,
  middleware: [...jsonBody],
  request: {
    params: RatingParams,
    body: {
      required: true,
      content: {
        "application/json": {
          schema: z.object({ reason: z.string().trim().min(1).max(1000).optional() }).strict(),
        },
      },
    },
  },
  responses: {
    204: { description: "Reported" },
    ...problems(400, 401, 403, 404, 409, 413, 415, 429),
  },
});

ratingRoutes.openapi(report, async (c) => {
  const p = requireScope(c, "org:read");
  if (!p.userId) throw forbidden("Reports come from users.");
  const { scope, name, ratingId } = c.req.valid("param");
  const db = getDb(c.env.DB);
  const plugin = await listingOr404(db, scope, name);
  const r = await ratingOf(db, plugin, ratingId);
  try {
    await db.batch([
      db.insert(ratingReports).values({
        ratingId: r.id,
        userId: p.userId,
        reason: c.req.valid("json").reason ?? null,
        createdAt: Date.now(),
      }),
      db
        .update(ratings)
        .set({ reportCount: sql`${ratings.reportCount} + 1` })
        .where(eq(ratings.id, r.id)),
    ]);
  } catch (err) {
    if (isUniqueViolation(err))
      throw conflict("You already reported this review.", "already-reported");
    throw err;
  }
  return c.body(null, 204);
});

const hide = createRoute({
  method: "put",
  path: "/ratings/{ratingId}/hidden",
  tags: ["Operator"],
  summary: "Hide (or show again) an abusive review; hidden ratings do not count",
  security: AUTHENTICATED,
  middleware: [...jsonBody],
  request: {
    params: z.object({ ratingId: IdParam("ratingId", "rat") }),
    body: {
      required: true,
      content: { "application/json": { schema: z.object({ hidden: z.boolean() }).strict() } },
    },
  },
  responses: { 204: { description: "Done" }, ...problems(400, 401, 403, 404, 413, 415, 429) },
});

ratingsOperatorRoutes.openapi(hide, async (c) => {
  const p = requireOperator(c);
  const { ratingId } = c.req.valid("param");
  const { hidden } = c.req.valid("json");
  const db = getDb(c.env.DB);
  const [r] = await db.select().from(ratings).where(eq(ratings.id, ratingId)).limit(1);
  if (!r) throw notFound("The review");
  await db.batch([
    db.update(ratings).set({ hidden }).where(eq(ratings.id, r.id)),
    summaryStatement(db, r.pluginId),
    auditInsert(db, {
      orgId: r.orgId,
      actor: actorOf(p),
      action: hidden ? "review.hidden" : "review.shown",
      target: r.id,
      requestId: c.get("requestId"),
    }),
  ]);
  return c.body(null, 204);
});
