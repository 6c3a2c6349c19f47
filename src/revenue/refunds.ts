/**
 * Refunds, full or partial. The provider refunds first (with an idempotency key derived from
 * the caller's); then one batch records the refund, updates the purchase and posts the reversal:
 * the developer's share and the platform's fee come back in proportion, exactly, so that after
 * a full refund both are back to where they were before the sale.
 */
import { and, asc, eq } from "drizzle-orm";
import { type Batch, type Db, type Statement, isUniqueViolation } from "../platform/db/client";
import {
  ledgerTransactions,
  plugins,
  purchases,
  refunds,
  subscriptions,
  type PurchaseRow,
  type RefundRow,
} from "../platform/db/schema";
import { ApiError, badRequest, conflict } from "../platform/http/problem";
import { auditInsert } from "../access/audit";
import { sha256Hex } from "../platform/crypto/hash";
import { refundJournal } from "./ledger";
import { isGuardRefusal, postStatements, recoverable, recoverableGuard } from "./ledger-store";
import { refundRecovery } from "./recovery";
import { format, splitRefund } from "./money";
import { failureProblem, type PaymentProcessor } from "./processor";
import { purchasePayload, subscriptionPayload } from "./events";
import { eventRecord } from "../events/emit";

export interface RefundInput {
  purchase: PurchaseRow;
  /** Omitted: whatever has not been refunded yet. */
  amount?: number;
  reason?: string;
  /** Who asks (an organization id or `operator`) and their Idempotency-Key. */
  owner: string;
  key: string;
  actor: string;
  requestId?: string;
  now?: number;
  /** The refund already happened at the provider (its webhook told us): record it, do not send it. */
  providerRefundId?: string;
}

/**
 * A refund's outcome; `eventIds`: the platform events its batch recorded (purchase.refunded, and
 * subscription.canceled when it ended the subscription), to queue with dispatchEvent. Empty when
 * this call recorded nothing (the refund was already recorded).
 */
export interface Refunded {
  refund: RefundRow;
  purchase: PurchaseRow;
  eventIds: string[];
}

/** A pending refund older than this is presumed abandoned; any later request finishes it. */
export const PENDING_REFUND_MS = 60_000;

/**
 * Refunds a purchase. The refund row is claimed first (status pending, its number `seq` unique
 * per purchase), so two refunds of one purchase never reach the provider at once; then the
 * provider refunds (idempotent key); then one batch records it, updates the purchase and posts
 * the reversal. A refund left pending by a lost response is finished by the next request.
 */
export async function refund(
  db: Db,
  processor: PaymentProcessor,
  input: RefundInput,
): Promise<Refunded> {
  const now = input.now ?? Date.now();
  const id = `re_${(await sha256Hex(`${input.owner}\n${input.key}`)).slice(0, 24)}`;
  const mine = (await db.select().from(refunds).where(eq(refunds.id, id)))[0];
  if (mine?.status === "succeeded")
    return {
      refund: mine,
      purchase: (await freshPurchase(db, input.purchase.id)) ?? input.purchase,
      eventIds: [],
    };

  // Finish refunds that an earlier request left pending (its response was lost) before counting.
  for (const stale of await db
    .select()
    .from(refunds)
    .where(and(eq(refunds.purchaseId, input.purchase.id), eq(refunds.status, "pending")))) {
    if (stale.id === id) continue;
    if (now - stale.createdAt < PENDING_REFUND_MS)
      throw conflict(
        "Another refund of this purchase is in progress; retry in a minute.",
        "refund-in-progress",
      );
    await complete(db, processor, stale, input, now);
  }
  const p = (await freshPurchase(db, input.purchase.id)) ?? input.purchase;
  let row = mine;
  if (!row) {
    const left = p.amount - p.refundedAmount;
    if (p.amount === 0 || !p.providerChargeId)
      throw badRequest(
        "Nothing was charged for this purchase, so there is nothing to refund.",
        "nothing-to-refund",
      );
    if (left === 0) throw conflict("This purchase is already fully refunded.", "already-refunded");
    const amount = input.amount ?? left;
    if (amount > left) {
      throw new ApiError({
        status: 422,
        type: "refund-exceeds-payment",
        title: "Refund too large",
        detail: `At most ${format(left, p.currency)} (${left} minor units) of this purchase can still be refunded.`,
        extensions: { refundable: left },
      });
    }
    const split = splitRefund(
      { amount: p.amount, fee: p.fee },
      { amount: p.refundedAmount, fee: p.refundedFee },
      amount,
    );
    // The operator's and the provider's refunds cannot be refused; a publisher's must be covered.
    const forced = input.owner === "operator" || input.owner === "provider";
    const recovery = refundRecovery(
      split.share,
      await recoverable(db, p.publisherOrgId, p.currency),
      forced,
    );
    if (!recovery.ok) throw exceedsBalance(p, split.share, recovery.recoverable);
    const seq =
      (await db.select({ id: refunds.id }).from(refunds).where(eq(refunds.purchaseId, p.id)))
        .length + 1;
    const claimed: RefundRow = {
      id,
      purchaseId: p.id,
      seq,
      amount,
      fee: split.fee,
      share: split.share,
      loss: recovery.loss,
      currency: p.currency,
      status: "pending",
      providerKey: `atoll:refund:${input.owner}:${input.key}`,
      providerRefundId: null,
      reason: input.reason ?? null,
      createdAt: now,
    };
    try {
      // The pending row reserves its share of the balance; the guard refuses it if a concurrent
      // payout or refund spent that balance first.
      await db.batch(
        forced
          ? [db.insert(refunds).values(claimed)]
          : [
              db.insert(refunds).values(claimed),
              recoverableGuard(db, p.publisherOrgId, p.currency),
            ],
      );
    } catch (err) {
      if (isUniqueViolation(err))
        throw conflict(
          "Another refund of this purchase happened at the same time; read the purchase and retry.",
          "refund-in-progress",
        );
      if (isGuardRefusal(err))
        throw exceedsBalance(
          p,
          split.share,
          Math.max(0, await recoverable(db, p.publisherOrgId, p.currency)),
        );
      throw err;
    }
    row = claimed;
  }
  return complete(db, processor, row, input, now);
}

function exceedsBalance(p: PurchaseRow, share: number, recoverableShare: number): ApiError {
  return new ApiError({
    status: 422,
    type: "refund-exceeds-balance",
    title: "Refund exceeds the publisher's balance",
    detail: `This refund takes back ${format(share, p.currency)} of the publisher's earnings, but its balance can cover only ${format(recoverableShare, p.currency)} (the rest was paid out). Refund less, or ask the platform operator to refund it.`,
    extensions: { recoverable: recoverableShare },
  });
}

async function freshPurchase(db: Db, id: string): Promise<PurchaseRow | null> {
  return (await db.select().from(purchases).where(eq(purchases.id, id)))[0] ?? null;
}

/** Sends a claimed refund to the provider and records the outcome. */
async function complete(
  db: Db,
  processor: PaymentProcessor,
  row: RefundRow,
  input: RefundInput,
  now: number,
): Promise<Refunded> {
  const p = (await freshPurchase(db, row.purchaseId)) ?? input.purchase;
  const result = input.providerRefundId
    ? ({ ok: true, value: { id: input.providerRefundId } } as const)
    : await processor.refund({
        charge: p.providerChargeId ?? "",
        amount: row.amount,
        idempotencyKey: row.providerKey,
      });
  if (!result.ok) {
    // Refused by the provider: nothing moved, so the claim goes (an outage keeps it pending).
    if (result.reason !== "unavailable")
      await db.delete(refunds).where(and(eq(refunds.id, row.id), eq(refunds.status, "pending")));
    throw failureProblem(result, "refund");
  }
  const done: RefundRow = { ...row, status: "succeeded", providerRefundId: result.value.id };
  const refunded = p.refundedAmount + row.amount;
  const updated: PurchaseRow = {
    ...p,
    refundedAmount: refunded,
    refundedFee: p.refundedFee + row.fee,
    status: refunded === p.amount ? "refunded" : "partially_refunded",
  };
  // A refund of a sale still on hold is released with it (so the two net out, never blocking other earnings).
  const [sale] = await db
    .select({ availableAt: ledgerTransactions.availableAt })
    .from(ledgerTransactions)
    .where(eq(ledgerTransactions.id, `txn_${p.id}`));
  const held =
    sale?.availableAt != null && sale.availableAt > now ? { availableAt: sale.availableAt } : {};
  const journal = refundJournal(
    {
      id: row.id,
      currency: row.currency,
      amount: row.amount,
      fee: row.fee,
      share: row.share,
      loss: row.loss,
      developerOrgId: p.publisherOrgId,
      ...held,
    },
    `refund of ${p.id}${row.reason ? `: ${row.reason}` : ""}`.slice(0, 300),
  );
  const statements: Statement[] = [
    db
      .update(refunds)
      .set({ status: "succeeded", providerRefundId: result.value.id })
      .where(and(eq(refunds.id, row.id), eq(refunds.status, "pending"))),
    // Guarded on what we read; the ledger txn id is the refund's, so it is posted at most once.
    db
      .update(purchases)
      .set({
        refundedAmount: updated.refundedAmount,
        refundedFee: updated.refundedFee,
        status: updated.status,
      })
      .where(and(eq(purchases.id, p.id), eq(purchases.refundedAmount, p.refundedAmount))),
    ...postStatements(db, journal, now, `txn_${row.id}`).statements,
    auditInsert(
      db,
      {
        orgId: p.buyerOrgId,
        actor: input.actor,
        action: "purchase.refunded",
        target: p.id,
        details: { refund: row.id, amount: row.amount, currency: row.currency },
        ...(input.requestId ? { requestId: input.requestId } : {}),
      },
      now,
    ),
  ];
  // Its events are recorded with it (an outbox): provider-initiated refunds and pending ones
  // finished by a later request included, each once.
  const [listing] = await db
    .select({ name: plugins.name })
    .from(plugins)
    .where(eq(plugins.id, p.pluginId));
  const listingName = listing?.name ?? p.pluginId;
  const refundedEvent = eventRecord(
    db,
    {
      topic: "purchase.refunded",
      orgIds: [p.buyerOrgId, p.publisherOrgId],
      payload: {
        ...purchasePayload(updated, listingName),
        refund: { id: row.id, amount: row.amount },
      },
    },
    { now },
  );
  statements.push(refundedEvent.statement);
  const eventIds = [refundedEvent.id];
  // A fully refunded subscription period ends the subscription at once.
  if (updated.status === "refunded" && p.subscriptionId) {
    statements.push(
      db
        .update(subscriptions)
        .set({ status: "canceled", endedAt: now, lastError: "refunded" })
        .where(
          and(eq(subscriptions.id, p.subscriptionId), eq(subscriptions.period, p.period ?? -1)),
        ),
    );
    const [sub] = await db
      .select()
      .from(subscriptions)
      .where(eq(subscriptions.id, p.subscriptionId));
    if (sub) {
      // Guarded on the cancellation above: recorded only if the refund ended this period.
      const canceled = eventRecord(
        db,
        {
          topic: "subscription.canceled",
          orgIds: [sub.buyerOrgId, sub.publisherOrgId],
          payload: subscriptionPayload(
            { ...sub, status: "canceled", endedAt: now, lastError: "refunded" },
            listingName,
          ),
        },
        { guarded: true, now },
      );
      statements.push(canceled.statement);
      eventIds.push(canceled.id);
    }
  }
  try {
    await db.batch(statements as Batch);
  } catch (err) {
    // Recorded by a concurrent request finishing the same refund: answer with what is stored.
    const [existing] = await db.select().from(refunds).where(eq(refunds.id, row.id));
    if (existing?.status === "succeeded")
      return {
        refund: existing,
        purchase: (await freshPurchase(db, p.id)) ?? updated,
        eventIds: [],
      };
    throw err;
  }
  return { refund: done, purchase: updated, eventIds };
}

export async function refundsOf(db: Db, purchaseId: string): Promise<RefundRow[]> {
  return db
    .select()
    .from(refunds)
    .where(and(eq(refunds.purchaseId, purchaseId), eq(refunds.status, "succeeded")))
    .orderBy(asc(refunds.seq));
}
