/**
 * Billing usage-priced listings from the gateway's hourly rollups. Each run takes the complete
 * hours since the subscription was last billed (an hour is complete once SETTLE_MS have passed,
 * so late flushes are in), adds their calls to the running total, and charges the difference
 * between what that total costs (money.usageOwed, floor) and what was billed before — when the
 * difference reaches the provider's minimum charge; smaller amounts wait for the next run, so no
 * fraction is lost (what is still below the minimum when a subscription ends is waived). The charge's idempotency key and the purchase row are keyed by the
 * subscription and the hour billed through, so a run repeated or run twice bills once. A charge's
 * `purchase.succeeded` event is recorded in the same batch as the purchase (src/events/emit.ts,
 * outbox), so it exists exactly when the charge is booked, and is queued after it.
 */
import { type Statement, type Db, isUniqueViolation } from "../platform/db/client";
import { and, eq, gte, inArray, lt, or, sql } from "drizzle-orm";
import {
  plugins,
  purchases,
  subscriptions,
  usageRollups,
  type PurchaseRow,
  type SubscriptionRow,
} from "../platform/db/schema";
import { HOUR_MS } from "./meter";
import { saleJournal } from "./ledger";
import { postStatements } from "./ledger-store";
import { minimumCharge, splitSale, usageOwed } from "./money";
import type { PaymentProcessor } from "./processor";
import { paymentMethodOf, saleAvailableAt } from "./purchases";
import { dispatchEvent, eventRecord } from "../events/emit";
import { purchasePayload } from "./events";

/** An hour is billed once this long has passed after its end (isolates flush within seconds). */
export const SETTLE_MS = 5 * 60_000;

export type UsageOutcome = {
  subscriptionId: string;
  calls: number;
  charged: number;
  status: "charged" | "accrued" | "failed" | "retry_later" | "already_billed";
  reason?: string;
};

/** `queue`: where the charges' purchase.succeeded events are queued (else the minutely cron queues them). */
export async function billUsage(
  db: Db,
  processor: PaymentProcessor,
  now = Date.now(),
  queue?: Pick<Env, "EVENTS_QUEUE">,
): Promise<UsageOutcome[]> {
  const through = Math.floor((now - SETTLE_MS) / HOUR_MS) * HOUR_MS;
  const subs = await db
    .select()
    .from(subscriptions)
    .where(
      and(
        eq(subscriptions.billing, "usage"),
        or(
          inArray(subscriptions.status, ["active", "past_due"]),
          and(
            eq(subscriptions.status, "ended"),
            sql`${subscriptions.usageThrough} < ${subscriptions.endedAt}`,
          ),
        ),
        lt(subscriptions.usageThrough, through),
      ),
    )
    .limit(500);
  const out: UsageOutcome[] = [];
  for (const sub of subs) {
    const { outcome, eventId } = await billOne(db, processor, sub, through);
    out.push(outcome);
    if (eventId && queue) await dispatchEvent(queue, db, eventId);
  }
  return out;
}

async function billOne(
  db: Db,
  processor: PaymentProcessor,
  sub: SubscriptionRow,
  through: number,
): Promise<{ outcome: UsageOutcome; eventId?: string }> {
  const from = sub.usageThrough ?? Math.floor(sub.createdAt / HOUR_MS) * HOUR_MS;
  const [row] = await db
    .select({ calls: sql<number>`COALESCE(SUM(${usageRollups.calls}), 0)` })
    .from(usageRollups)
    .where(
      and(
        eq(usageRollups.orgId, sub.buyerOrgId),
        eq(usageRollups.pluginId, sub.pluginId),
        eq(usageRollups.granularity, "hour"),
        gte(usageRollups.bucket, from),
        lt(usageRollups.bucket, through),
      ),
    );
  const calls = Number(row?.calls ?? 0);
  const totalCalls = sub.usageCalls + calls;
  const due = usageOwed(totalCalls, sub.amount, sub.per ?? 1000) - sub.usageBilled;
  const guard = and(eq(subscriptions.id, sub.id), eq(subscriptions.usageThrough, from));
  const ended = sub.status === "ended";
  // Below the provider's minimum the amount waits for more calls (after the end it is waived).
  if (due < minimumCharge(sub.currency)) {
    await db
      .update(subscriptions)
      .set({ usageCalls: totalCalls, usageThrough: through })
      .where(guard);
    return { outcome: { subscriptionId: sub.id, calls, charged: 0, status: "accrued" } };
  }
  const [listing] = await db
    .select({ name: plugins.name })
    .from(plugins)
    .where(eq(plugins.id, sub.pluginId));
  const source = await paymentMethodOf(db, sub.buyerOrgId);
  const result = source
    ? await processor.charge({
        amount: due,
        currency: sub.currency,
        source,
        description: `${listing?.name ?? sub.pluginId} usage: ${totalCalls} calls`,
        metadata: { atoll_subscription: sub.id, atoll_through: String(through) },
        idempotencyKey: `atoll:usage:${sub.id}:${through}`,
      })
    : ({ ok: false, reason: "declined", message: "no payment method on file" } as const);
  if (!result.ok) {
    if (result.reason === "unavailable")
      return {
        outcome: {
          subscriptionId: sub.id,
          calls,
          charged: 0,
          status: "retry_later",
          reason: result.message,
        },
      };
    // Not billed: the calls stay unbilled (usageThrough unchanged) and the subscription goes past due.
    await db
      .update(subscriptions)
      .set({
        status: ended ? "ended" : "past_due",
        lastError: result.message.slice(0, 300),
        failedAttempts: sub.failedAttempts + 1,
      })
      .where(eq(subscriptions.id, sub.id));
    return {
      outcome: {
        subscriptionId: sub.id,
        calls,
        charged: 0,
        status: "failed",
        reason: result.message,
      },
    };
  }
  const amount = due;
  const split = splitSale(amount, sub.feeBps);
  const id = `pur_${sub.id.slice(4)}u${through}`;
  const purchase: PurchaseRow = {
    id,
    buyerOrgId: sub.buyerOrgId,
    pluginId: sub.pluginId,
    publisherOrgId: sub.publisherOrgId,
    kind: "usage",
    subscriptionId: sub.id,
    period: through,
    amount,
    currency: sub.currency,
    feeBps: sub.feeBps,
    fee: split.fee,
    share: split.share,
    refundedAmount: 0,
    refundedFee: 0,
    status: "succeeded",
    providerChargeId: result.value.id,
    createdAt: Date.now(),
  };
  const journal = saleJournal(
    "usage",
    {
      id,
      currency: sub.currency,
      amount,
      fee: split.fee,
      share: split.share,
      developerOrgId: sub.publisherOrgId,
      availableAt: await saleAvailableAt(db, sub.pluginId, purchase.createdAt),
    },
    `${listing?.name ?? sub.pluginId} usage through ${new Date(through).toISOString()}`,
  );
  const statements: Statement[] = [
    db.insert(purchases).values(purchase),
    db
      .update(subscriptions)
      .set({
        usageCalls: totalCalls,
        usageBilled: sub.usageBilled + amount,
        usageThrough: through,
        status: ended ? "ended" : "active",
        failedAttempts: 0,
        lastError: null,
      })
      .where(guard),
    ...postStatements(db, journal, purchase.createdAt, `txn_${id}`).statements,
  ];
  const event = eventRecord(
    db,
    {
      topic: "purchase.succeeded",
      orgIds: [purchase.buyerOrgId, purchase.publisherOrgId],
      payload: purchasePayload(purchase, listing?.name ?? sub.pluginId),
    },
    { now: purchase.createdAt },
  );
  statements.push(event.statement);
  try {
    await db.batch(statements as [Statement, ...Statement[]]);
  } catch (err) {
    if (isUniqueViolation(err))
      return { outcome: { subscriptionId: sub.id, calls, charged: 0, status: "already_billed" } };
    throw err;
  }
  return {
    outcome: { subscriptionId: sub.id, calls, charged: amount, status: "charged" },
    eventId: event.id,
  };
}
