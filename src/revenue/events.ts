/**
 * The revenue domain's platform events (src/events/emit.ts): purchase.succeeded|refunded and
 * subscription.renewed|past_due|canceled, to the buyer and the publisher. Purchases, usage charges
 * and refunds record theirs in their own batch (purchases.ts, usage-billing.ts, refunds.ts: the
 * outbox of src/events/emit.ts); renewals and cancellations are emitted after their commit.
 * Payloads hold what both already see in their own purchase and subscription lists.
 */
import { eq } from "drizzle-orm";
import type { Db } from "../platform/db/client";
import {
  plugins,
  subscriptions,
  type PurchaseRow,
  type SubscriptionRow,
} from "../platform/db/schema";
import { emitPlatformEvent } from "../events/emit";
import type { PlatformTopic } from "../events/topics";

const iso = (ms: number | null) => (ms === null ? null : new Date(ms).toISOString());

export function purchasePayload(p: PurchaseRow, listing: string): Record<string, unknown> {
  return {
    purchase: {
      id: p.id,
      listing,
      buyer: p.buyerOrgId,
      publisher: p.publisherOrgId,
      kind: p.kind,
      amount: p.amount,
      currency: p.currency,
      refundedAmount: p.refundedAmount,
      subscription: p.subscriptionId,
      createdAt: iso(p.createdAt),
    },
  };
}

export function subscriptionPayload(s: SubscriptionRow, listing: string): Record<string, unknown> {
  return {
    subscription: {
      id: s.id,
      listing,
      buyer: s.buyerOrgId,
      publisher: s.publisherOrgId,
      status: s.status,
      billing: s.billing,
      amount: s.amount,
      currency: s.currency,
      period: s.period,
      currentPeriodEnd: iso(s.currentPeriodEnd),
      cancelAtPeriodEnd: s.cancelAtPeriodEnd,
    },
  };
}

type Queue = Pick<Env, "EVENTS_QUEUE">;

export async function emitSubscription(
  env: Queue,
  db: Db,
  topic: Extract<PlatformTopic, `subscription.${string}`>,
  s: SubscriptionRow,
  listing: string,
): Promise<void> {
  await emitPlatformEvent(env, db, {
    topic,
    orgIds: [s.buyerOrgId, s.publisherOrgId],
    payload: subscriptionPayload(s, listing),
  });
}

const RENEWAL_TOPICS = {
  renewed: "subscription.renewed",
  past_due: "subscription.past_due",
  canceled: "subscription.canceled",
} as const;

/** The billing job's `onOutcome` (subscriptions.ts renewDue): renewed, past due, canceled by dunning. */
export function renewalEvents(env: Queue, db: Db) {
  return async (before: SubscriptionRow, outcome: string): Promise<void> => {
    if (!Object.hasOwn(RENEWAL_TOPICS, outcome)) return;
    const topic = RENEWAL_TOPICS[outcome as keyof typeof RENEWAL_TOPICS];
    // The renewal is committed: a failure here must not stop the job's other renewals.
    try {
      const [now] = await db.select().from(subscriptions).where(eq(subscriptions.id, before.id));
      const [listing] = await db
        .select({ name: plugins.name })
        .from(plugins)
        .where(eq(plugins.id, before.pluginId));
      await emitSubscription(env, db, topic, now ?? before, listing?.name ?? before.pluginId);
    } catch (err) {
      console.error(
        JSON.stringify({
          level: "error",
          msg: "renewal event not emitted",
          subscriptionId: before.id,
          error: String(err),
        }),
      );
    }
  };
}
