/**
 * Buying listings: one-time purchases, subscriptions (monthly or yearly, paid up front each
 * period) and usage subscriptions (billed from the gateway's metering). Each function takes `db`
 * and a PaymentProcessor so tests call them directly; every charge carries a provider
 * idempotency key derived from the caller's, and its rows land in one D1 batch.
 */
import { and, desc, eq, inArray, lt, or } from "drizzle-orm";
import { type Db, type Statement, isUniqueViolation } from "../platform/db/client";
import {
  organizations,
  plugins,
  purchases,
  subscriptions,
  type PluginRow,
  type PurchaseRow,
  type SubscriptionRow,
} from "../platform/db/schema";
import { ApiError, badRequest, conflict, forbidden } from "../platform/http/problem";
import { auditInsert } from "../access/audit";
import { newId } from "../platform/crypto/encoding";
import { sha256Hex } from "../platform/crypto/hash";
import { saleJournal } from "./ledger";
import { postStatements } from "./ledger-store";
import { hasEntitlement } from "./entitlements";
import { DEFAULT_FEE_BPS, splitSale } from "./money";
import { failureProblem, type PaymentProcessor } from "./processor";
import { availableAt, payoutHoldHours } from "./recovery";
import { purchasePayload } from "./events";
import { eventRecord } from "../events/emit";

export interface Pricing {
  model: "free" | "one-time" | "subscription" | "usage";
  amount?: number;
  currency?: string;
  interval?: "month" | "year";
  per?: number;
}

/** The platform fee of a listing: its own, else its publisher's, else the default (10%). */
export async function feeBpsFor(
  db: Db,
  listing: Pick<PluginRow, "feeBps" | "orgId">,
): Promise<number> {
  if (listing.feeBps !== null) return listing.feeBps;
  const [org] = await db
    .select({ feeBps: organizations.feeBps })
    .from(organizations)
    .where(eq(organizations.id, listing.orgId));
  return org?.feeBps ?? DEFAULT_FEE_BPS;
}

/** When a sale of the listing made at `now` becomes payable: after its payout hold (src/revenue/recovery.ts). */
export async function saleAvailableAt(db: Db, pluginId: string, now: number): Promise<number> {
  const [row] = await db
    .select({ listing: plugins.payoutHoldHours, publisher: organizations.payoutHoldHours })
    .from(plugins)
    .innerJoin(organizations, eq(organizations.id, plugins.orgId))
    .where(eq(plugins.id, pluginId));
  return availableAt(now, payoutHoldHours(row?.listing ?? null, row?.publisher ?? null));
}

/** Adds one billing interval (calendar month or year, in UTC; the 31st clamps to the month's end). */
export function addInterval(at: number, interval: "month" | "year", n = 1): number {
  const d = new Date(at);
  const months = interval === "year" ? 12 * n : n;
  const target = new Date(
    Date.UTC(
      d.getUTCFullYear(),
      d.getUTCMonth() + months,
      1,
      d.getUTCHours(),
      d.getUTCMinutes(),
      d.getUTCSeconds(),
      d.getUTCMilliseconds(),
    ),
  );
  const lastDay = new Date(
    Date.UTC(target.getUTCFullYear(), target.getUTCMonth() + 1, 0),
  ).getUTCDate();
  target.setUTCDate(Math.min(d.getUTCDate(), lastDay));
  return target.getTime();
}

export interface PurchaseInput {
  buyerOrgId: string;
  listing: PluginRow;
  pricing: Pricing;
  /** The buyer's payment method (provider token); defaults to the organization's. */
  paymentMethod: string | null;
  /** The caller's Idempotency-Key: provider keys derive from it. */
  key: string;
  actor: string;
  requestId?: string;
  now?: number;
}

/** Refusals that need no I/O beyond the listing: free, own, suspended. */
function checkBuyable(input: PurchaseInput): { amount: number; currency: string } {
  const { listing, pricing, buyerOrgId } = input;
  if (listing.suspendedAt !== null || !listing.listed)
    throw forbidden(`${listing.name} is not for sale.`);
  if (pricing.model === "free" || pricing.amount === undefined || !pricing.currency)
    throw badRequest(
      `${listing.name} is free: install it, there is nothing to buy.`,
      "listing-free",
    );
  if (listing.orgId === buyerOrgId)
    throw new ApiError({
      status: 403,
      type: "self-purchase",
      title: "Forbidden",
      detail:
        "A publisher cannot buy its own listing (its installs need no purchase, and self-purchases would inflate revenue).",
    });
  return { amount: pricing.amount, currency: pricing.currency };
}

/**
 * Buys a listing. Returns the purchase (and the subscription it started, if any), and the id of its
 * purchase.succeeded event, recorded in the purchase's batch: queue it (dispatchEvent) after.
 */
export async function purchase(
  db: Db,
  processor: PaymentProcessor,
  input: PurchaseInput,
): Promise<{
  purchase: PurchaseRow;
  subscription: SubscriptionRow | null;
  replayed: boolean;
  eventId: string | null;
}> {
  const now = input.now ?? Date.now();
  const { amount, currency } = checkBuyable(input);
  const { listing, pricing, buyerOrgId } = input;
  const kind =
    pricing.model === "one-time"
      ? "one_time"
      : pricing.model === "subscription"
        ? "subscription"
        : "usage";

  if (kind === "one_time" && (await hasEntitlement(db, buyerOrgId, listing, now)))
    throw conflict(`Your organization already owns ${listing.name}.`, "already-purchased");
  if (kind !== "one_time") {
    const [live] = await db
      .select({ id: subscriptions.id })
      .from(subscriptions)
      .where(
        and(
          eq(subscriptions.buyerOrgId, buyerOrgId),
          eq(subscriptions.pluginId, listing.id),
          inArray(subscriptions.status, ["active", "past_due"]),
        ),
      );
    if (live)
      throw conflict(
        `Your organization already subscribes to ${listing.name} (${live.id}).`,
        "already-subscribed",
      );
  }

  const feeBps = await feeBpsFor(db, listing);
  // Derived from the caller's key: a retry sends the provider exactly the same request.
  const purchaseId = `pur_${(await sha256Hex(`${buyerOrgId}\n${input.key}`)).slice(0, 24)}`;
  const subscriptionId = kind === "one_time" ? null : newId("sub");
  const sub: SubscriptionRow | null = subscriptionId
    ? {
        id: subscriptionId,
        buyerOrgId,
        pluginId: listing.id,
        publisherOrgId: listing.orgId,
        billing: kind === "usage" ? "usage" : (pricing.interval ?? "month"),
        amount,
        currency,
        per: kind === "usage" ? (pricing.per ?? 1000) : null,
        feeBps,
        status: "active",
        period: kind === "usage" ? 0 : 1,
        currentPeriodStart: now,
        currentPeriodEnd: kind === "usage" ? now : addInterval(now, pricing.interval ?? "month"),
        cancelAtPeriodEnd: false,
        failedAttempts: 0,
        nextAttemptAt: null,
        lastError: null,
        usageCalls: 0,
        usageBilled: 0,
        usageThrough: kind === "usage" ? Math.floor(now / 3_600_000) * 3_600_000 : null,
        createdAt: now,
        endedAt: null,
      }
    : null;

  // Usage subscriptions charge nothing now: the gateway meters calls and the bills follow.
  const charged = kind === "usage" ? 0 : amount;
  let chargeId: string | null = null;
  if (charged > 0) {
    const source = input.paymentMethod ?? (await paymentMethodOf(db, buyerOrgId));
    if (!source)
      throw badRequest(
        "Your organization has no payment method; set one with PUT /v1/billing/payment-method or pass paymentMethod.",
        "payment-method-required",
      );
    const result = await processor.charge({
      amount: charged,
      currency,
      source,
      description: `${listing.name}${kind === "subscription" ? " (first period)" : ""}`,
      metadata: {
        atoll_buyer: buyerOrgId,
        atoll_listing: listing.name,
        atoll_purchase: purchaseId,
      },
      idempotencyKey: `atoll:purchase:${buyerOrgId}:${input.key}`,
    });
    if (!result.ok) throw failureProblem(result, "charge");
    chargeId = result.value.id;
    // The provider replayed a charge we already recorded (a retry after a lost response).
    const [existing] = await db
      .select()
      .from(purchases)
      .where(eq(purchases.providerChargeId, chargeId));
    if (existing)
      return {
        purchase: existing,
        subscription: await subscriptionOf(db, existing.subscriptionId),
        replayed: true,
        eventId: null,
      };
  }

  const split = splitSale(charged, feeBps);
  const row: PurchaseRow = {
    id: purchaseId,
    buyerOrgId,
    pluginId: listing.id,
    publisherOrgId: listing.orgId,
    kind,
    subscriptionId,
    period: sub ? sub.period : null,
    amount: charged,
    currency,
    feeBps,
    fee: split.fee,
    share: split.share,
    refundedAmount: 0,
    refundedFee: 0,
    status: "succeeded",
    providerChargeId: chargeId,
    createdAt: now,
  };
  const statements: Statement[] = [];
  if (sub) statements.push(db.insert(subscriptions).values(sub));
  statements.push(db.insert(purchases).values(row));
  if (charged > 0) {
    const journal = saleJournal(
      "purchase",
      {
        id: purchaseId,
        currency,
        amount: charged,
        fee: split.fee,
        share: split.share,
        developerOrgId: listing.orgId,
        availableAt: await saleAvailableAt(db, listing.id, now),
      },
      `${listing.name} bought by ${buyerOrgId}`,
    );
    statements.push(...postStatements(db, journal, now, `txn_${purchaseId}`).statements);
  }
  statements.push(
    auditInsert(
      db,
      {
        orgId: buyerOrgId,
        actor: input.actor,
        action: "purchase.created",
        target: purchaseId,
        details: { listing: listing.name, amount: charged, currency, kind },
        ...(input.requestId ? { requestId: input.requestId } : {}),
      },
      now,
    ),
  );
  const event = eventRecord(
    db,
    {
      topic: "purchase.succeeded",
      orgIds: [row.buyerOrgId, row.publisherOrgId],
      payload: purchasePayload(row, listing.name),
    },
    { now },
  );
  statements.push(event.statement);
  try {
    await db.batch(statements as [Statement, ...Statement[]]);
  } catch (err) {
    // The charge happened but the purchase cannot be recorded (a concurrent purchase of the same
    // listing with another key won): give the money back rather than keep it unaccounted.
    if (chargeId)
      await processor.refund({
        charge: chargeId,
        amount: charged,
        idempotencyKey: `atoll:void:${chargeId}`,
      });
    if (isUniqueViolation(err))
      throw conflict(`Your organization already has ${listing.name}.`, "already-subscribed");
    throw err;
  }
  return { purchase: row, subscription: sub, replayed: false, eventId: event.id };
}

export async function paymentMethodOf(db: Db, orgId: string): Promise<string | null> {
  const [org] = await db
    .select({ paymentMethod: organizations.paymentMethod })
    .from(organizations)
    .where(eq(organizations.id, orgId));
  return org?.paymentMethod ?? null;
}

export async function subscriptionOf(db: Db, id: string | null): Promise<SubscriptionRow | null> {
  if (!id) return null;
  const [row] = await db.select().from(subscriptions).where(eq(subscriptions.id, id));
  return row ?? null;
}

export async function getPurchase(db: Db, id: string): Promise<PurchaseRow | null> {
  const [row] = await db.select().from(purchases).where(eq(purchases.id, id));
  return row ?? null;
}

/** Purchases an organization made (as buyer) or received (as publisher), newest first. */
export async function listPurchases(
  db: Db,
  orgId: string,
  role: "buyer" | "publisher",
  limit: number,
  before?: number,
) {
  const who =
    role === "buyer" ? eq(purchases.buyerOrgId, orgId) : eq(purchases.publisherOrgId, orgId);
  return db
    .select({ purchase: purchases, listing: plugins.name })
    .from(purchases)
    .innerJoin(plugins, eq(plugins.id, purchases.pluginId))
    .where(before ? and(who, lt(purchases.createdAt, before)) : who)
    .orderBy(desc(purchases.createdAt), desc(purchases.id))
    .limit(limit);
}

export async function listSubscriptions(db: Db, orgId: string) {
  return db
    .select({ subscription: subscriptions, listing: plugins.name })
    .from(subscriptions)
    .innerJoin(plugins, eq(plugins.id, subscriptions.pluginId))
    .where(or(eq(subscriptions.buyerOrgId, orgId), eq(subscriptions.publisherOrgId, orgId)))
    .orderBy(desc(subscriptions.createdAt))
    .limit(200);
}
