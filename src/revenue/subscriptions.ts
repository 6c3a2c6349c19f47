/**
 * Subscription renewals (run by the Cron Trigger): each due period is charged with a provider
 * idempotency key made of the subscription and period number, and recorded with a unique
 * (subscription, period) purchase row, so a job that runs twice, or two jobs at once, charge and
 * record a period once. A declined renewal makes the subscription past_due (access continues)
 * and is retried after RETRY_DELAYS_MS; after the last retry it is canceled. A subscription
 * cancelled by its buyer ends at the end of the period it paid for.
 */
import { type Statement, type Db, isUniqueViolation } from "../platform/db/client";
import { and, asc, eq, inArray, lte, or } from "drizzle-orm";
import {
  plugins,
  purchases,
  subscriptions,
  type PurchaseRow,
  type SubscriptionRow,
} from "../platform/db/schema";
import { conflict } from "../platform/http/problem";
import { auditInsert } from "../access/audit";
import { saleJournal } from "./ledger";
import { postStatements } from "./ledger-store";
import { splitSale } from "./money";
import type { PaymentProcessor } from "./processor";
import { addInterval, paymentMethodOf, saleAvailableAt } from "./purchases";

/** Delays before the 2nd, 3rd and 4th attempt of a declined renewal (Stripe-like dunning). */
export const RETRY_DELAYS_MS = [24 * 3_600_000, 3 * 24 * 3_600_000, 5 * 24 * 3_600_000];

export type RenewalOutcome =
  "renewed" | "ended" | "past_due" | "canceled" | "retry_later" | "already_renewed";

export interface RenewalReport {
  checked: number;
  outcomes: Record<RenewalOutcome, number>;
}

/**
 * Renews (or ends) every period-billed subscription due at `now`; at most `limit` per run.
 * `onOutcome` hears each outcome after it is committed (the billing job emits platform events).
 */
export async function renewDue(
  db: Db,
  processor: PaymentProcessor,
  now = Date.now(),
  limit = 200,
  onOutcome: (sub: SubscriptionRow, outcome: RenewalOutcome) => Promise<void> = async () => {},
): Promise<RenewalReport> {
  const due = await db
    .select()
    .from(subscriptions)
    .where(
      and(
        inArray(subscriptions.billing, ["month", "year"]),
        or(
          and(eq(subscriptions.status, "active"), lte(subscriptions.currentPeriodEnd, now)),
          and(eq(subscriptions.status, "past_due"), lte(subscriptions.nextAttemptAt, now)),
        ),
      ),
    )
    .orderBy(asc(subscriptions.currentPeriodEnd))
    .limit(limit);
  const outcomes: Record<RenewalOutcome, number> = {
    renewed: 0,
    ended: 0,
    past_due: 0,
    canceled: 0,
    retry_later: 0,
    already_renewed: 0,
  };
  for (const sub of due) {
    const outcome = await renewOne(db, processor, sub, now);
    outcomes[outcome] += 1;
    await onOutcome(sub, outcome);
  }
  return { checked: due.length, outcomes };
}

/** Renews one subscription whose period has ended. */
export async function renewOne(
  db: Db,
  processor: PaymentProcessor,
  sub: SubscriptionRow,
  now: number,
): Promise<RenewalOutcome> {
  const guard = and(
    eq(subscriptions.id, sub.id),
    eq(subscriptions.period, sub.period),
    eq(subscriptions.status, sub.status),
  );
  if (sub.cancelAtPeriodEnd) {
    await db
      .update(subscriptions)
      .set({ status: "ended", endedAt: sub.currentPeriodEnd })
      .where(guard);
    return "ended";
  }
  const next = sub.period + 1;
  const [listing] = await db
    .select({ name: plugins.name })
    .from(plugins)
    .where(eq(plugins.id, sub.pluginId));
  const source = await paymentMethodOf(db, sub.buyerOrgId);
  const result = source
    ? await processor.charge({
        amount: sub.amount,
        currency: sub.currency,
        source,
        description: `${listing?.name ?? sub.pluginId} (period ${next})`,
        metadata: {
          atoll_buyer: sub.buyerOrgId,
          atoll_subscription: sub.id,
          atoll_period: String(next),
        },
        idempotencyKey: `atoll:renewal:${sub.id}:${next}`,
      })
    : ({ ok: false, reason: "declined", message: "no payment method on file" } as const);

  if (!result.ok) {
    if (result.reason === "unavailable") return "retry_later";
    const attempts = sub.failedAttempts + 1;
    const last = attempts > RETRY_DELAYS_MS.length;
    await db.batch([
      db
        .update(subscriptions)
        .set(
          last
            ? {
                status: "canceled",
                endedAt: now,
                failedAttempts: attempts,
                lastError: result.message.slice(0, 300),
                nextAttemptAt: null,
              }
            : {
                status: "past_due",
                failedAttempts: attempts,
                lastError: result.message.slice(0, 300),
                nextAttemptAt: now + (RETRY_DELAYS_MS[attempts - 1] ?? 0),
              },
        )
        .where(guard),
      auditInsert(
        db,
        {
          orgId: sub.buyerOrgId,
          actor: "system",
          action: last ? "subscription.canceled" : "subscription.past_due",
          target: sub.id,
          details: { attempt: attempts, reason: result.message.slice(0, 200) },
        },
        now,
      ),
    ]);
    return last ? "canceled" : "past_due";
  }

  const split = splitSale(sub.amount, sub.feeBps);
  const purchaseId = `pur_${sub.id.slice(4)}r${next}`;
  const row: PurchaseRow = {
    id: purchaseId,
    buyerOrgId: sub.buyerOrgId,
    pluginId: sub.pluginId,
    publisherOrgId: sub.publisherOrgId,
    kind: "subscription",
    subscriptionId: sub.id,
    period: next,
    amount: sub.amount,
    currency: sub.currency,
    feeBps: sub.feeBps,
    fee: split.fee,
    share: split.share,
    refundedAmount: 0,
    refundedFee: 0,
    status: "succeeded",
    providerChargeId: result.value.id,
    createdAt: now,
  };
  // The new period starts where the last ended (a late run does not shift the calendar).
  const start = sub.currentPeriodEnd;
  const interval = sub.billing === "year" ? "year" : "month";
  const journal = saleJournal(
    "renewal",
    {
      id: purchaseId,
      currency: sub.currency,
      amount: sub.amount,
      fee: split.fee,
      share: split.share,
      developerOrgId: sub.publisherOrgId,
      availableAt: await saleAvailableAt(db, sub.pluginId, now),
    },
    `${listing?.name ?? sub.pluginId} period ${next}`,
  );
  const statements: Statement[] = [
    db.insert(purchases).values(row),
    db
      .update(subscriptions)
      .set({
        status: "active",
        period: next,
        currentPeriodStart: start,
        currentPeriodEnd: addInterval(start, interval),
        failedAttempts: 0,
        nextAttemptAt: null,
        lastError: null,
      })
      .where(guard),
    ...postStatements(db, journal, now, `txn_${purchaseId}`).statements,
  ];
  try {
    await db.batch(statements as [Statement, ...Statement[]]);
  } catch (err) {
    if (isUniqueViolation(err)) return "already_renewed";
    throw err;
  }
  return "renewed";
}

/** The buyer cancels: access continues to the end of the paid period, then the subscription ends. */
export async function cancelSubscription(
  db: Db,
  sub: SubscriptionRow,
  actor: string,
  now = Date.now(),
): Promise<SubscriptionRow> {
  if (sub.status === "ended" || sub.status === "canceled")
    throw conflict("This subscription has already ended.", "subscription-ended");
  // Usage subscriptions end at once (the last metered calls are still billed by the next run).
  const immediate = sub.billing === "usage" || sub.status === "past_due";
  const patch = immediate
    ? { status: "ended" as const, endedAt: now, cancelAtPeriodEnd: true }
    : { cancelAtPeriodEnd: true };
  await db.batch([
    db.update(subscriptions).set(patch).where(eq(subscriptions.id, sub.id)),
    auditInsert(
      db,
      {
        orgId: sub.buyerOrgId,
        actor,
        action: "subscription.cancel",
        target: sub.id,
        details: { immediate },
      },
      now,
    ),
  ]);
  return { ...sub, ...patch };
}
