/**
 * The developer's side of revenue (balances, payout account, payouts and statements) and the
 * operator's controls (payment processor, fees, payout and billing runs).
 */
import { createRoute, z } from "@hono/zod-openapi";
import { eq, like, sql } from "drizzle-orm";
import { actorOf, auditInsert } from "../access/audit";
import { requireOperator, requireScope } from "../access/principal";
import { createRouter, type AppEnv } from "../platform/http/router";
import { getDb } from "../platform/db/client";
import {
  ledgerEntries,
  ledgerTransactions,
  organizations,
  payouts,
  platformSettings,
  plugins,
  type PayoutRow,
} from "../platform/db/schema";
import { jsonBody } from "../platform/http/middleware";
import { ApiError, badRequest, notFound } from "../platform/http/problem";
import { AUTHENTICATED, IdParam, exactlyOneOf, problems, iso } from "../platform/http/schemas";
import { loadSpec } from "../runtime/resolve";
import { IdempotencyHeaders, idempotentResponse } from "./idempotency";
import { BPS, format, isCurrency } from "./money";
import { PAYMENTS_SETTING } from "./processor";
import { MAX_PAYOUT_HOLD_HOURS } from "./recovery";
import {
  getPayout,
  listPayouts,
  payOut,
  payoutMinimum,
  runPayouts,
  statementOf,
  uncoveredPayables,
} from "./payouts";
import { billingPrincipal, processorFor } from "./purchases.routes";
import { renewDue } from "./subscriptions";
import { billUsage } from "./usage-billing";
import { renewalEvents } from "./events";
import type { Context } from "hono";

export const payoutRoutes = createRouter();
/** Its operator routes, mounted under /v1/operator with the other domains' (src/app.ts). */
export const revenueOperatorRoutes = createRouter();

const Balance = z
  .object({
    currency: z.string(),
    available: z.number().int().openapi({
      description:
        "Owed to the developer, past its payout hold and not yet paid out (minor units); negative after refunds of paid-out sales, which blocks payouts until later earnings recover it",
    }),
    held: z.number().int().openapi({
      description: "Earnings still in their payout hold (the refund window), not yet payable",
    }),
    inTransit: z.number().int(),
    paidOut: z.number().int(),
    earned: z.number().int().openapi({ description: "Lifetime share of sales" }),
    refunded: z.number().int().openapi({ description: "Lifetime share given back by refunds" }),
    minimumPayout: z.number().int(),
    display: z.string(),
  })
  .openapi("Balance");

const Payout = z
  .object({
    id: z.string(),
    currency: z.string(),
    amount: z.number().int(),
    display: z.string(),
    status: z.enum(["in_transit", "paid", "failed"]),
    destination: z.string(),
    failureReason: z.string().nullable(),
    createdAt: z.string().datetime(),
    settledAt: z.string().datetime().nullable(),
  })
  .openapi("Payout");

const StatementLine = z
  .object({
    transaction: z.string(),
    kind: z.string(),
    reference: z.string(),
    memo: z.string(),
    amount: z.number().int(),
    at: z.string().datetime(),
  })
  .openapi("StatementLine");

const toPayout = (p: PayoutRow) => ({
  id: p.id,
  currency: p.currency,
  amount: p.amount,
  display: format(p.amount, p.currency),
  status: p.status,
  destination: `${p.destination.slice(0, 8)}…`,
  failureReason: p.failureReason,
  createdAt: iso(p.createdAt),
  settledAt: p.settledAt ? iso(p.settledAt) : null,
});

const developer = (c: Parameters<typeof billingPrincipal>[0], write: boolean) =>
  billingPrincipal(c, write, "Only an organization has a revenue balance.");

export const balance = createRoute({
  method: "get",
  path: "/v1/revenue/balance",
  tags: ["Revenue"],
  summary: "The organization's earnings as a publisher, per currency",
  security: AUTHENTICATED,
  responses: {
    200: {
      description: "Balances",
      content: { "application/json": { schema: z.object({ balances: z.array(Balance) }) } },
    },
    ...problems(400, 401, 403, 429),
  },
});

payoutRoutes.openapi(balance, async (c) => {
  const p = developer(c, false);
  const db = getDb(c.env.DB);
  const now = Date.now();
  const heldSql = sql<number>`CASE WHEN ${ledgerTransactions.availableAt} > ${now} THEN 1 ELSE 0 END`;
  const byKind = await db
    .select({
      account: ledgerEntries.accountId,
      kind: ledgerTransactions.kind,
      held: heldSql,
      sum: sql<number>`SUM(${ledgerEntries.amount})`,
    })
    .from(ledgerEntries)
    .innerJoin(ledgerTransactions, eq(ledgerTransactions.id, ledgerEntries.txnId))
    .where(like(ledgerEntries.accountId, `developer_payable:${p.orgId}:%`))
    .groupBy(ledgerEntries.accountId, ledgerTransactions.kind, heldSql);
  const payoutSums = await db
    .select({
      currency: payouts.currency,
      status: payouts.status,
      sum: sql<number>`SUM(${payouts.amount})`,
    })
    .from(payouts)
    .where(eq(payouts.orgId, p.orgId))
    .groupBy(payouts.currency, payouts.status);
  const out = new Map<string, z.infer<typeof Balance>>();
  const get = (currency: string) => {
    let b = out.get(currency);
    if (!b)
      out.set(
        currency,
        (b = {
          currency,
          available: 0,
          held: 0,
          inTransit: 0,
          paidOut: 0,
          earned: 0,
          refunded: 0,
          minimumPayout: payoutMinimum(currency),
          display: "",
        }),
      );
    return b;
  };
  for (const r of byKind) {
    const b = get(r.account.split(":")[2] ?? "");
    const v = -Number(r.sum);
    if (Number(r.held) === 1) b.held += v;
    else b.available += v;
    if (r.kind === "purchase" || r.kind === "renewal" || r.kind === "usage") b.earned += v;
    if (r.kind === "refund") b.refunded -= v;
  }
  for (const r of payoutSums) {
    const b = get(r.currency);
    if (r.status === "in_transit") b.inTransit += Number(r.sum);
    if (r.status === "paid") b.paidOut += Number(r.sum);
  }
  return c.json(
    {
      balances: [...out.values()].map((b) => ({ ...b, display: format(b.available, b.currency) })),
    },
    200,
  );
});

const account = createRoute({
  method: "put",
  path: "/v1/revenue/payout-account",
  tags: ["Revenue"],
  summary: "Where payouts go: the payment provider's connected-account id",
  security: AUTHENTICATED,
  middleware: [...jsonBody],
  request: {
    body: {
      required: true,
      content: {
        "application/json": {
          schema: z
            .object({
              account: z
                .string()
                .regex(
                  /^acct_[A-Za-z0-9]{4,64}$/,
                  "must be a connected-account id such as acct_1Nv0FGQ9RKHgCVdK",
                ),
            })
            .strict(),
        },
      },
    },
  },
  responses: {
    200: {
      description: "Set",
      content: { "application/json": { schema: z.object({ account: z.string() }) } },
    },
    ...problems(400, 401, 403, 413, 415, 429),
  },
});

payoutRoutes.openapi(account, async (c) => {
  const p = developer(c, true);
  const { account: acct } = c.req.valid("json");
  const db = getDb(c.env.DB);
  await db.batch([
    db.update(organizations).set({ payoutAccount: acct }).where(eq(organizations.id, p.orgId)),
    auditInsert(db, {
      orgId: p.orgId,
      actor: actorOf(p),
      action: "revenue.payout_account_set",
      target: p.orgId,
      details: {},
      requestId: c.get("requestId"),
    }),
  ]);
  return c.json({ account: `${acct.slice(0, 8)}…` }, 200);
});

const requestPayout = createRoute({
  method: "post",
  path: "/v1/revenue/payouts",
  tags: ["Revenue"],
  summary: "Pay out the available balance in one currency now (at or above the minimum)",
  security: AUTHENTICATED,
  middleware: [...jsonBody],
  request: {
    headers: IdempotencyHeaders,
    body: {
      required: true,
      content: {
        "application/json": {
          schema: z
            .object({
              currency: z.string().regex(/^[A-Z]{3}$/, "must be an ISO 4217 code such as USD"),
            })
            .strict(),
        },
      },
    },
  },
  responses: {
    201: {
      description: "Paid, or failed (the money is back in the balance)",
      content: { "application/json": { schema: Payout } },
    },
    ...problems(400, 401, 403, 409, 413, 415, 422, 429, 503),
  },
});

payoutRoutes.openapi(requestPayout, async (c) => {
  const p = developer(c, true);
  const { currency } = c.req.valid("json");
  if (!isCurrency(currency))
    throw badRequest(`${currency} is not an ISO 4217 currency.`, "unknown-currency");
  const db = getDb(c.env.DB);
  return idempotentResponse(c, db, p.orgId, { currency }, async () => {
    const payable = (await uncoveredPayables(db, p.orgId)).find((x) => x.currency === currency) ?? {
      orgId: p.orgId,
      currency,
      accountId: `developer_payable:${p.orgId}:${currency}`,
      amount: 0,
      txnIds: [],
    };
    const outcome = await payOut(db, processorFor(c), payable, { runId: null });
    if (!outcome.payoutId)
      throw new ApiError({
        status: 409,
        type: "payout-in-progress",
        title: "Conflict",
        detail: "Another payout of this balance is in progress.",
      });
    const row = await getPayout(db, outcome.payoutId);
    if (!row) throw notFound("The payout");
    return { status: 201, body: toPayout(row) };
  });
});

export const listRoute = createRoute({
  method: "get",
  path: "/v1/revenue/payouts",
  tags: ["Revenue"],
  summary: "The organization's payouts, newest first",
  security: AUTHENTICATED,
  responses: {
    200: {
      description: "Payouts",
      content: { "application/json": { schema: z.object({ payouts: z.array(Payout) }) } },
    },
    ...problems(400, 401, 403, 429),
  },
});

payoutRoutes.openapi(listRoute, async (c) => {
  const p = developer(c, false);
  return c.json({ payouts: (await listPayouts(getDb(c.env.DB), p.orgId)).map(toPayout) }, 200);
});

export const statement = createRoute({
  method: "get",
  path: "/v1/revenue/payouts/{payoutId}",
  tags: ["Revenue"],
  summary: "A payout with its statement: every transaction it covers",
  security: AUTHENTICATED,
  request: { params: z.object({ payoutId: IdParam("payoutId", "po") }) },
  responses: {
    200: {
      description: "The payout and its statement",
      content: {
        "application/json": {
          schema: Payout.extend({ statement: z.array(StatementLine), total: z.number().int() }),
        },
      },
    },
    ...problems(400, 401, 403, 404, 429),
  },
});

payoutRoutes.openapi(statement, async (c) => {
  const p = requireScope(c, "billing:read");
  const db = getDb(c.env.DB);
  const row = await getPayout(db, c.req.valid("param").payoutId);
  if (!row || (p.role !== "operator" && row.orgId !== p.orgId)) throw notFound("The payout");
  const lines = await statementOf(db, row);
  return c.json(
    {
      ...toPayout(row),
      statement: lines.map((l) => ({
        transaction: l.txnId,
        kind: l.kind,
        reference: l.reference,
        memo: l.memo,
        amount: l.amount,
        at: iso(l.createdAt),
      })),
      total: lines.reduce((s, l) => s + l.amount, 0),
    },
    200,
  );
});

// ---- Operator -------------------------------------------------------------------------------

const setProcessor = createRoute({
  method: "put",
  path: "/payments",
  tags: ["Operator"],
  summary: "Choose the payment processor: an installation granted the payments permission",
  security: AUTHENTICATED,
  middleware: [...jsonBody],
  request: {
    body: {
      required: true,
      content: {
        "application/json": {
          schema: z.object({ installationId: IdParam("installationId", "ins") }).strict(),
        },
      },
    },
  },
  responses: {
    200: {
      description: "Set",
      content: {
        "application/json": {
          schema: z.object({ installationId: z.string(), plugin: z.string() }),
        },
      },
    },
    ...problems(400, 401, 403, 404, 413, 415, 429),
  },
});

revenueOperatorRoutes.openapi(setProcessor, async (c) => {
  const p = requireOperator(c);
  const { installationId } = c.req.valid("json");
  const db = getDb(c.env.DB);
  const spec = await loadSpec(db, c.env.ATOLL_SECRET_KEY, installationId);
  if (!spec) throw notFound("The installation");
  if (!spec.grants.includes("payments"))
    throw badRequest(
      `${spec.plugin} is not granted the payments permission; install a payment plugin with it.`,
      "not-a-payment-processor",
    );
  const now = Date.now();
  await db.batch([
    db
      .insert(platformSettings)
      .values({ key: PAYMENTS_SETTING, value: installationId, updatedAt: now })
      .onConflictDoUpdate({
        target: platformSettings.key,
        set: { value: installationId, updatedAt: now },
      }),
    auditInsert(db, {
      orgId: null,
      actor: actorOf(p),
      action: "operator.payments_set",
      target: installationId,
      details: { plugin: spec.plugin },
      requestId: c.get("requestId"),
    }),
  ]);
  return c.json({ installationId, plugin: spec.plugin }, 200);
});

const setFee = createRoute({
  method: "put",
  path: "/fees",
  tags: ["Operator"],
  summary:
    "Set the platform fee (basis points) of a listing or of a publisher's listings; null restores the default",
  security: AUTHENTICATED,
  middleware: [...jsonBody],
  request: {
    body: {
      required: true,
      content: {
        "application/json": {
          schema: z
            .object({
              listing: z.string().max(120).optional(),
              organization: IdParam("organization", "org").optional(),
              feeBps: z
                .number()
                .int("must be an integer of basis points")
                .min(0)
                .max(BPS)
                .nullable(),
            })
            .strict()
            .refine(
              (b) => (b.listing === undefined) !== (b.organization === undefined),
              "name exactly one of listing or organization",
            )
            .openapi({
              ...exactlyOneOf("listing", "organization"),
              example: { listing: "@example/analytics", feeBps: 1500 },
            }),
        },
      },
    },
  },
  responses: {
    200: {
      description: "Set",
      content: {
        "application/json": {
          schema: z.object({
            listing: z.string().optional(),
            organization: z.string().optional(),
            feeBps: z.number().int().nullable(),
          }),
        },
      },
    },
    ...problems(400, 401, 403, 404, 413, 415, 429),
  },
});

revenueOperatorRoutes.openapi(setFee, async (c) => {
  const body = c.req.valid("json");
  await setOnListingOrPublisher(c, body, { feeBps: body.feeBps }, "operator.fee_set");
  return c.json(body, 200);
});

const setHold = createRoute({
  method: "put",
  path: "/payout-holds",
  tags: ["Operator"],
  summary:
    "Set how long new sales' earnings of a listing or of a publisher's listings are held before payout (hours); null restores the default (336 = 14 days)",
  description:
    "The hold should cover the refund window: a refund within it is always covered by the sale itself. It applies to sales made after the change.",
  security: AUTHENTICATED,
  middleware: [...jsonBody],
  request: {
    body: {
      required: true,
      content: {
        "application/json": {
          schema: z
            .object({
              listing: z.string().max(120).optional(),
              organization: IdParam("organization", "org").optional(),
              hours: z
                .number()
                .int("must be a whole number of hours")
                .min(0)
                .max(MAX_PAYOUT_HOLD_HOURS)
                .nullable(),
            })
            .strict()
            .refine(
              (b) => (b.listing === undefined) !== (b.organization === undefined),
              "name exactly one of listing or organization",
            )
            .openapi({
              ...exactlyOneOf("listing", "organization"),
              example: { listing: "@example/analytics", hours: 720 },
            }),
        },
      },
    },
  },
  responses: {
    200: {
      description: "Set",
      content: {
        "application/json": {
          schema: z.object({
            listing: z.string().optional(),
            organization: z.string().optional(),
            hours: z.number().int().nullable(),
          }),
        },
      },
    },
    ...problems(400, 401, 403, 404, 413, 415, 429),
  },
});

revenueOperatorRoutes.openapi(setHold, async (c) => {
  const body = c.req.valid("json");
  await setOnListingOrPublisher(
    c,
    body,
    { payoutHoldHours: body.hours },
    "operator.payout_hold_set",
    { hours: body.hours },
  );
  return c.json(body, 200);
});

/**
 * Sets an operator setting on one listing or on a publisher (all its listings), audited in the
 * same batch; 404 when neither exists.
 */
async function setOnListingOrPublisher(
  c: Context<AppEnv>,
  target: { listing?: string | undefined; organization?: string | undefined },
  set: { feeBps: number | null } | { payoutHoldHours: number | null },
  action: string,
  details: Record<string, unknown> = set,
): Promise<void> {
  const p = requireOperator(c);
  const db = getDb(c.env.DB);
  const update = target.listing
    ? db
        .update(plugins)
        .set(set)
        .where(eq(plugins.name, target.listing))
        .returning({ id: plugins.id })
    : db
        .update(organizations)
        .set(set)
        .where(eq(organizations.id, target.organization ?? ""))
        .returning({ id: organizations.id });
  const [rows] = await db.batch([
    update,
    auditInsert(db, {
      orgId: null,
      actor: actorOf(p),
      action,
      target: target.listing ?? target.organization ?? null,
      details,
      requestId: c.get("requestId"),
    }),
  ]);
  if (rows.length === 0)
    throw notFound(target.listing ? `The listing ${target.listing}` : "The organization");
}

const payoutRun = createRoute({
  method: "post",
  path: "/payouts/run",
  tags: ["Operator"],
  summary: "Run payouts now (the daily Cron Trigger does the same)",
  security: AUTHENTICATED,
  request: { headers: IdempotencyHeaders },
  responses: {
    200: {
      description: "The run",
      content: {
        "application/json": {
          schema: z.object({
            runId: z.string(),
            paid: z.array(z.record(z.string(), z.unknown())),
            skipped: z.array(z.record(z.string(), z.unknown())),
            retried: z.array(z.record(z.string(), z.unknown())),
          }),
        },
      },
    },
    ...problems(400, 401, 403, 409, 422, 429, 503),
  },
});

revenueOperatorRoutes.openapi(payoutRun, async (c) => {
  requireOperator(c);
  const db = getDb(c.env.DB);
  return idempotentResponse(c, db, "operator", {}, async () => ({
    status: 200,
    body: await runPayouts(db, processorFor(c)),
  }));
});

const billingRun = createRoute({
  method: "post",
  path: "/billing/run",
  tags: ["Operator"],
  summary:
    "Run subscription renewals and usage billing now (the hourly Cron Trigger does the same)",
  security: AUTHENTICATED,
  request: { headers: IdempotencyHeaders },
  responses: {
    200: {
      description: "The run",
      content: {
        "application/json": {
          schema: z.object({
            renewals: z.record(z.string(), z.unknown()),
            usage: z.array(z.record(z.string(), z.unknown())),
          }),
        },
      },
    },
    ...problems(400, 401, 403, 409, 422, 429, 503),
  },
});

revenueOperatorRoutes.openapi(billingRun, async (c) => {
  requireOperator(c);
  const db = getDb(c.env.DB);
  return idempotentResponse(c, db, "operator", {}, async () => {
    const processor = processorFor(c);
    return {
      status: 200,
      body: {
        // The same events as the hourly job's run.
        renewals: await renewDue(db, processor, Date.now(), 200, renewalEvents(c.env, db)),
        usage: await billUsage(db, processor, Date.now(), c.env),
      },
    };
  });
});
