/**
 * Buying: purchases, subscriptions, refunds and the buyer's payment method. Every money-moving
 * endpoint requires an Idempotency-Key (src/revenue/idempotency.ts).
 */
import { forgetEntitlements } from "./entitlements";
import { createRoute, z } from "@hono/zod-openapi";
import { eq } from "drizzle-orm";
import type { Context } from "hono";
import { actorOf, auditInsert } from "../access/audit";
import { requireScope, type Principal } from "../access/principal";
import { createRouter, type AppEnv } from "../platform/http/router";
import { getDb } from "../platform/db/client";
import {
  organizations,
  plugins,
  type PurchaseRow,
  type RefundRow,
  type SubscriptionRow,
} from "../platform/db/schema";
import { jsonBody } from "../platform/http/middleware";
import { ApiError, badRequest, notFound } from "../platform/http/problem";
import { AUTHENTICATED, IdParam, problems, iso } from "../platform/http/schemas";
import { pluginDeadline, pluginHost } from "../runtime/invoke";
import { IdempotencyHeaders, idempotentResponse } from "./idempotency";
import { format, MAX_AMOUNT } from "./money";
import { PluginProcessor } from "./processor";
import {
  getPurchase,
  listPurchases,
  listSubscriptions,
  paymentMethodOf,
  purchase,
  subscriptionOf,
  type Pricing,
} from "./purchases";
import { refund, refundsOf } from "./refunds";
import { cancelSubscription } from "./subscriptions";
import { emitSubscription } from "./events";
import { dispatchEvent } from "../events/emit";

export const purchaseRoutes = createRouter();

/** The payment capability for this request. */
export function processorFor(c: Context<AppEnv>): PluginProcessor {
  return new PluginProcessor(
    getDb(c.env.DB),
    c.env.ATOLL_SECRET_KEY,
    pluginHost(c),
    c.get("requestId"),
    pluginDeadline(c.env),
  );
}

export const Subscription = z
  .object({
    id: z.string(),
    listing: z.string(),
    billing: z.enum(["month", "year", "usage"]),
    amount: z
      .number()
      .int()
      .openapi({ description: "Minor units per period (usage: per `per` calls)" }),
    currency: z.string(),
    per: z.number().int().nullable(),
    status: z.enum(["active", "past_due", "canceled", "ended"]),
    period: z.number().int(),
    currentPeriodStart: z.string().datetime(),
    currentPeriodEnd: z.string().datetime(),
    cancelAtPeriodEnd: z.boolean(),
    failedAttempts: z.number().int(),
    lastError: z.string().nullable(),
    usage: z.object({ calls: z.number().int(), billed: z.number().int() }).nullable(),
  })
  .openapi("Subscription");

export const Purchase = z
  .object({
    id: z.string(),
    listing: z.string(),
    kind: z.enum(["one_time", "subscription", "usage"]),
    amount: z
      .number()
      .int()
      .openapi({ description: "Charged, in minor units (cents; JPY has none)", example: 2900 }),
    currency: z.string().openapi({ example: "USD" }),
    display: z.string().openapi({ example: "29.00 USD" }),
    status: z.enum(["succeeded", "partially_refunded", "refunded"]),
    feeBps: z.number().int().openapi({ description: "Platform fee in basis points (1000 = 10%)" }),
    fee: z.number().int(),
    developerShare: z.number().int(),
    refunded: z.number().int(),
    subscription: Subscription.nullable(),
    createdAt: z.string().datetime(),
  })
  .openapi("Purchase");

export const Refund = z
  .object({
    id: z.string(),
    purchase: z.string(),
    amount: z.number().int(),
    currency: z.string(),
    fee: z.number().int(),
    developerShare: z.number().int(),
    reason: z.string().nullable(),
    createdAt: z.string().datetime(),
  })
  .openapi("Refund");

/** A refund as its POST answers it: with the purchase it changed (in place of the purchase's id). */
const RefundWithPurchase = Refund.omit({ purchase: true })
  .extend({ purchase: Purchase })
  .openapi("RefundWithPurchase");

export function toSubscription(s: SubscriptionRow, listing: string) {
  return {
    id: s.id,
    listing,
    billing: s.billing,
    amount: s.amount,
    currency: s.currency,
    per: s.per,
    status: s.status,
    period: s.period,
    currentPeriodStart: iso(s.currentPeriodStart),
    currentPeriodEnd: iso(s.currentPeriodEnd),
    cancelAtPeriodEnd: s.cancelAtPeriodEnd,
    failedAttempts: s.failedAttempts,
    lastError: s.lastError,
    usage: s.billing === "usage" ? { calls: s.usageCalls, billed: s.usageBilled } : null,
  };
}

export function toPurchase(p: PurchaseRow, listing: string, sub: SubscriptionRow | null) {
  return {
    id: p.id,
    listing,
    kind: p.kind,
    amount: p.amount,
    currency: p.currency,
    display: format(p.amount, p.currency),
    status: p.status,
    feeBps: p.feeBps,
    fee: p.fee,
    developerShare: p.share,
    refunded: p.refundedAmount,
    subscription: sub ? toSubscription(sub, listing) : null,
    createdAt: iso(p.createdAt),
  };
}

const toRefund = (r: RefundRow) => ({
  id: r.id,
  purchase: r.purchaseId,
  amount: r.amount,
  currency: r.currency,
  fee: r.fee,
  developerShare: r.share,
  reason: r.reason,
  createdAt: iso(r.createdAt),
});

/** The caller, acting for its organization with billing:read (or billing:write). */
export function billingPrincipal(
  c: Context<AppEnv>,
  write: boolean,
  refusal = "Only an organization buys and sells listings.",
): Principal & { orgId: string } {
  const p = requireScope(c, write ? "billing:write" : "billing:read");
  if (!p.orgId) throw badRequest(refusal);
  return p as Principal & { orgId: string };
}
const buyer = (c: Context<AppEnv>, write: boolean) => billingPrincipal(c, write);

const PurchaseRequest = z
  .object({
    listing: z
      .string()
      .regex(
        /^@[a-z0-9-]{3,39}\/[a-z0-9][a-z0-9._-]{0,63}$/,
        "must be a listing name such as @example/analytics",
      ),
    paymentMethod: z
      .string()
      .regex(
        /^(tok|pm|src|card)_[A-Za-z0-9_]{1,100}$/,
        "must be a payment-method token such as tok_visa",
      )
      .optional()
      .openapi({ description: "Defaults to the organization's payment method" }),
  })
  .strict()
  .openapi("PurchaseRequest", { example: { listing: "@example/analytics" } });

const create = createRoute({
  method: "post",
  path: "/v1/purchases",
  tags: ["Revenue"],
  summary:
    "Buy a listing (one-time, or start a subscription); charges through the payment capability",
  description:
    "Requires an Idempotency-Key. One-time listings are owned after the purchase; subscriptions charge the first period now and renew on schedule; usage-priced listings charge nothing now and are billed from metered calls.",
  security: AUTHENTICATED,
  middleware: [...jsonBody],
  request: {
    headers: IdempotencyHeaders,
    body: { required: true, content: { "application/json": { schema: PurchaseRequest } } },
  },
  responses: {
    201: { description: "Bought", content: { "application/json": { schema: Purchase } } },
    ...problems(400, 401, 402, 403, 404, 409, 413, 415, 422, 429, 503),
  },
});

purchaseRoutes.openapi(create, async (c) => {
  const p = buyer(c, true);
  const body = c.req.valid("json");
  const db = getDb(c.env.DB);
  return idempotentResponse(c, db, p.orgId, body, async (key) => {
    const [listing] = await db.select().from(plugins).where(eq(plugins.name, body.listing));
    if (!listing || !listing.listed) throw notFound(`The listing ${body.listing}`);
    const result = await purchase(db, processorFor(c), {
      buyerOrgId: p.orgId,
      listing,
      pricing: JSON.parse(listing.pricing) as Pricing,
      paymentMethod: body.paymentMethod ?? null,
      key,
      actor: actorOf(p),
      requestId: c.get("requestId"),
    });
    forgetEntitlements(c.env, p.orgId);
    if (result.eventId) await dispatchEvent(c.env, db, result.eventId);
    return { status: 201, body: toPurchase(result.purchase, listing.name, result.subscription) };
  });
});

export const listPurchasesRoute = createRoute({
  method: "get",
  path: "/v1/purchases",
  tags: ["Revenue"],
  summary: "Purchases: what the organization bought, or (role=publisher) what it sold",
  security: AUTHENTICATED,
  request: {
    query: z
      .object({
        role: z.enum(["buyer", "publisher"]).default("buyer"),
        limit: z.coerce.number().int().min(1).max(100).default(50),
        before: z.string().datetime({ offset: true }).optional(),
      })
      .strict(),
  },
  responses: {
    200: {
      description: "Newest first",
      content: {
        "application/json": {
          schema: z.object({ purchases: z.array(Purchase), next: z.string().nullable() }),
        },
      },
    },
    ...problems(400, 401, 403, 429),
  },
});

purchaseRoutes.openapi(listPurchasesRoute, async (c) => {
  const p = buyer(c, false);
  const q = c.req.valid("query");
  const db = getDb(c.env.DB);
  const rows = await listPurchases(
    db,
    p.orgId,
    q.role,
    q.limit,
    q.before ? Date.parse(q.before) : undefined,
  );
  const subs = new Map<string, SubscriptionRow | null>();
  for (const r of rows)
    if (r.purchase.subscriptionId && !subs.has(r.purchase.subscriptionId))
      subs.set(r.purchase.subscriptionId, await subscriptionOf(db, r.purchase.subscriptionId));
  const last = rows.at(-1);
  return c.json(
    {
      purchases: rows.map((r) =>
        toPurchase(
          r.purchase,
          r.listing,
          r.purchase.subscriptionId ? (subs.get(r.purchase.subscriptionId) ?? null) : null,
        ),
      ),
      next: rows.length === q.limit && last ? iso(last.purchase.createdAt) : null,
    },
    200,
  );
});

const PurchaseParams = z.object({ purchaseId: IdParam("purchaseId", "pur") });

/** A purchase the caller bought or sold (others' are 404). */
async function visiblePurchase(c: Context<AppEnv>, p: Principal, id: string) {
  const db = getDb(c.env.DB);
  const row = await getPurchase(db, id);
  if (
    !row ||
    (p.role !== "operator" && row.buyerOrgId !== p.orgId && row.publisherOrgId !== p.orgId)
  )
    throw notFound("The purchase");
  const [listing] = await db
    .select({ name: plugins.name })
    .from(plugins)
    .where(eq(plugins.id, row.pluginId));
  return { row, listing: listing?.name ?? row.pluginId };
}

const getOne = createRoute({
  method: "get",
  path: "/v1/purchases/{purchaseId}",
  tags: ["Revenue"],
  summary: "A purchase with its refunds",
  security: AUTHENTICATED,
  request: { params: PurchaseParams },
  responses: {
    200: {
      description: "The purchase",
      content: { "application/json": { schema: Purchase.extend({ refunds: z.array(Refund) }) } },
    },
    ...problems(400, 401, 403, 404, 429),
  },
});

purchaseRoutes.openapi(getOne, async (c) => {
  const p = requireScope(c, "billing:read");
  const { row, listing } = await visiblePurchase(c, p, c.req.valid("param").purchaseId);
  const db = getDb(c.env.DB);
  return c.json(
    {
      ...toPurchase(row, listing, await subscriptionOf(db, row.subscriptionId)),
      refunds: (await refundsOf(db, row.id)).map(toRefund),
    },
    200,
  );
});

const RefundRequest = z
  .object({
    amount: z
      .number()
      .int("must be an integer number of minor units (cents)")
      .positive("must be positive")
      .max(MAX_AMOUNT)
      .optional()
      .openapi({ description: "Minor units; omitted: everything not yet refunded" }),
    reason: z.string().min(1).max(300).optional(),
  })
  .strict()
  .openapi("RefundRequest", { example: { amount: 1000, reason: "requested by customer" } });

const refundRoute = createRoute({
  method: "post",
  path: "/v1/purchases/{purchaseId}/refunds",
  tags: ["Revenue"],
  summary: "Refund a purchase, fully or partly (its publisher or the operator)",
  description:
    "Requires an Idempotency-Key. The developer's share and the platform's fee are reversed in proportion; a full refund ends the access (and a subscription).",
  security: AUTHENTICATED,
  middleware: [...jsonBody],
  request: {
    params: PurchaseParams,
    headers: IdempotencyHeaders,
    body: { required: true, content: { "application/json": { schema: RefundRequest } } },
  },
  responses: {
    201: {
      description: "Refunded",
      content: { "application/json": { schema: RefundWithPurchase } },
    },
    ...problems(400, 401, 402, 403, 404, 409, 413, 415, 422, 429, 503),
  },
});

purchaseRoutes.openapi(refundRoute, async (c) => {
  const p = requireScope(c, "billing:write");
  const body = c.req.valid("json");
  const { row, listing } = await visiblePurchase(c, p, c.req.valid("param").purchaseId);
  if (p.role !== "operator" && row.publisherOrgId !== p.orgId)
    throw new ApiError({
      status: 403,
      type: "refund-not-allowed",
      title: "Forbidden",
      detail:
        "Refunds are issued by the listing's publisher or the platform operator; ask the publisher.",
    });
  const db = getDb(c.env.DB);
  const owner = p.role === "operator" ? "operator" : (p.orgId ?? "");
  return idempotentResponse(c, db, owner, { purchase: row.id, ...body }, async (key) => {
    const result = await refund(db, processorFor(c), {
      purchase: row,
      ...(body.amount !== undefined ? { amount: body.amount } : {}),
      ...(body.reason ? { reason: body.reason } : {}),
      owner,
      key,
      actor: actorOf(p),
      requestId: c.get("requestId"),
    });
    forgetEntitlements(c.env, row.buyerOrgId);
    const sub = await subscriptionOf(db, row.subscriptionId);
    for (const id of result.eventIds) await dispatchEvent(c.env, db, id);
    return {
      status: 201,
      body: {
        ...toRefund(result.refund),
        purchase: toPurchase(result.purchase, listing, sub),
      },
    };
  });
});

export const subsRoute = createRoute({
  method: "get",
  path: "/v1/subscriptions",
  tags: ["Revenue"],
  summary: "Subscriptions the organization holds or (as publisher) sells",
  security: AUTHENTICATED,
  responses: {
    200: {
      description: "Subscriptions",
      content: {
        "application/json": { schema: z.object({ subscriptions: z.array(Subscription) }) },
      },
    },
    ...problems(400, 401, 403, 429),
  },
});

purchaseRoutes.openapi(subsRoute, async (c) => {
  const p = buyer(c, false);
  const rows = await listSubscriptions(getDb(c.env.DB), p.orgId);
  return c.json({ subscriptions: rows.map((r) => toSubscription(r.subscription, r.listing)) }, 200);
});

const cancel = createRoute({
  method: "post",
  path: "/v1/subscriptions/{subscriptionId}/cancel",
  tags: ["Revenue"],
  summary: "Cancel a subscription: access continues to the end of the paid period",
  security: AUTHENTICATED,
  request: { params: z.object({ subscriptionId: IdParam("subscriptionId", "sub") }) },
  responses: {
    200: { description: "Cancelled", content: { "application/json": { schema: Subscription } } },
    ...problems(400, 401, 403, 404, 409, 429),
  },
});

purchaseRoutes.openapi(cancel, async (c) => {
  const p = buyer(c, true);
  const db = getDb(c.env.DB);
  const sub = await subscriptionOf(db, c.req.valid("param").subscriptionId);
  if (!sub || sub.buyerOrgId !== p.orgId) throw notFound("The subscription");
  const updated = await cancelSubscription(db, sub, actorOf(p));
  forgetEntitlements(c.env, p.orgId);
  const [listing] = await db
    .select({ name: plugins.name })
    .from(plugins)
    .where(eq(plugins.id, sub.pluginId));
  await emitSubscription(
    c.env,
    db,
    "subscription.canceled",
    updated,
    listing?.name ?? sub.pluginId,
  );
  return c.json(toSubscription(updated, listing?.name ?? sub.pluginId), 200);
});

/** A payment-method token as the API shows it: masked. */
const masked = (pm: string) => `${pm.slice(0, 4)}…${pm.slice(-4)}`;

export const getMethodRoute = createRoute({
  method: "get",
  path: "/v1/billing/payment-method",
  tags: ["Revenue"],
  summary: "The payment method on file (masked), or null",
  security: AUTHENTICATED,
  responses: {
    200: {
      description: "The card on file",
      content: {
        "application/json": { schema: z.object({ paymentMethod: z.string().nullable() }) },
      },
    },
    ...problems(400, 401, 403, 429),
  },
});

purchaseRoutes.openapi(getMethodRoute, async (c) => {
  const p = buyer(c, false);
  const pm = await paymentMethodOf(getDb(c.env.DB), p.orgId);
  return c.json({ paymentMethod: pm ? masked(pm) : null }, 200);
});

const setMethod = createRoute({
  method: "put",
  path: "/v1/billing/payment-method",
  tags: ["Revenue"],
  summary: "Set the payment method purchases and renewals are charged to (a provider token)",
  security: AUTHENTICATED,
  middleware: [...jsonBody],
  request: {
    body: {
      required: true,
      content: {
        "application/json": {
          schema: z
            .object({ paymentMethod: PurchaseRequest.shape.paymentMethod.unwrap() })
            .strict(),
        },
      },
    },
  },
  responses: {
    200: {
      description: "Set",
      content: { "application/json": { schema: z.object({ paymentMethod: z.string() }) } },
    },
    ...problems(400, 401, 403, 413, 415, 429),
  },
});

purchaseRoutes.openapi(setMethod, async (c) => {
  const p = buyer(c, true);
  const { paymentMethod } = c.req.valid("json");
  const db = getDb(c.env.DB);
  await db.batch([
    db.update(organizations).set({ paymentMethod }).where(eq(organizations.id, p.orgId)),
    auditInsert(db, {
      orgId: p.orgId,
      actor: actorOf(p),
      action: "billing.payment_method_set",
      target: p.orgId,
      details: {},
      requestId: c.get("requestId"),
    }),
  ]);
  // A token is a reference, but it is still only shown masked.
  return c.json({ paymentMethod: masked(paymentMethod) }, 200);
});
