/**
 * Payouts: a developer's payable balance in one currency, paid to its connected account through
 * the payment capability. A payout covers exactly the payable transactions no earlier payout
 * covered (payout_items; its primary key makes double coverage impossible), which is also its
 * statement. Posting: payable → in transit, then the provider transfer, then in transit →
 * clearing (paid) or in transit → payable (failed: the money returns). A transfer whose outcome
 * is unknown stays in transit and is retried with the same idempotency key by the next run.
 */
import { and, desc, eq, isNull, like, lte, or, sql } from "drizzle-orm";
import { type Batch, type Db, type Statement, isUniqueViolation } from "../platform/db/client";
import {
  ledgerEntries,
  ledgerTransactions,
  organizations,
  payoutItems,
  payouts,
  type PayoutRow,
} from "../platform/db/schema";
import { ApiError, badRequest } from "../platform/http/problem";
import { newId } from "../platform/crypto/encoding";
import {
  account,
  parseAccount,
  payoutFailedJournal,
  payoutJournal,
  payoutSettledJournal,
} from "./ledger";
import { isGuardRefusal, postStatements, recoverableGuard } from "./ledger-store";
import { format, minimumCharge } from "./money";
import type { PaymentProcessor } from "./processor";

/** The smallest payout: 20 × the smallest charge (10.00 USD, 1,000 JPY, 10.000 KWD). */
export function payoutMinimum(currency: string): number {
  return 20 * minimumCharge(currency);
}

export interface Payable {
  orgId: string;
  currency: string;
  accountId: string;
  /** What the platform owes (positive), not yet covered by a payout. */
  amount: number;
  txnIds: string[];
}

/**
 * Each developer's uncovered payable transactions, per currency (optionally one organization):
 * only those released by `now` (a sale on hold, and a refund of it, wait for its availableAt).
 */
export async function uncoveredPayables(
  db: Db,
  orgId?: string,
  now = Date.now(),
): Promise<Payable[]> {
  const rows = await db
    .select({
      accountId: ledgerEntries.accountId,
      txnId: ledgerEntries.txnId,
      amount: sql<number>`SUM(${ledgerEntries.amount})`,
    })
    .from(ledgerEntries)
    .innerJoin(ledgerTransactions, eq(ledgerTransactions.id, ledgerEntries.txnId))
    .leftJoin(
      payoutItems,
      and(
        eq(payoutItems.txnId, ledgerEntries.txnId),
        eq(payoutItems.accountId, ledgerEntries.accountId),
      ),
    )
    .where(
      and(
        like(
          ledgerEntries.accountId,
          orgId ? `developer_payable:${orgId}:%` : "developer_payable:%",
        ),
        isNull(payoutItems.txnId),
        or(isNull(ledgerTransactions.availableAt), lte(ledgerTransactions.availableAt, now)),
      ),
    )
    .groupBy(ledgerEntries.accountId, ledgerEntries.txnId);
  const byAccount = new Map<string, Payable>();
  for (const r of rows) {
    const a = parseAccount(r.accountId);
    const p = byAccount.get(r.accountId) ?? {
      orgId: a.orgId ?? "",
      currency: a.currency,
      accountId: r.accountId,
      amount: 0,
      txnIds: [],
    };
    // Payable is a credit balance: credits (negative) are what is owed.
    p.amount -= Number(r.amount);
    p.txnIds.push(r.txnId);
    byAccount.set(r.accountId, p);
  }
  return [...byAccount.values()];
}

export type PayoutOutcome = {
  orgId: string;
  currency: string;
  amount: number;
  payoutId?: string;
  status: "paid" | "failed" | "in_transit" | "skipped";
  reason?: string;
};

/**
 * Pays one payable: claims its transactions and posts payable → in transit in one batch, then
 * transfers. Throws ApiError for a caller's mistake (below the minimum, no payout account).
 */
export async function payOut(
  db: Db,
  processor: PaymentProcessor,
  p: Payable,
  opts: { runId: string | null; now?: number; minimum?: number },
): Promise<PayoutOutcome> {
  const now = opts.now ?? Date.now();
  const minimum = opts.minimum ?? payoutMinimum(p.currency);
  if (p.amount < minimum) {
    // Earnings on hold are not in p.amount; a negative balance (refunds of paid-out sales) is
    // recovered from later earnings before anything is paid again.
    const why =
      p.amount < 0
        ? " (negative: refunds of sales already paid out are recovered from later earnings first)"
        : "";
    throw new ApiError({
      status: 422,
      type: "payout-below-minimum",
      title: "Payout below the minimum",
      detail: `The available balance is ${format(p.amount, p.currency)}${why}; payouts start at ${format(minimum, p.currency)}. Earnings become available when their payout hold ends.`,
      extensions: { balance: p.amount, minimum },
    });
  }
  const [org] = await db
    .select({ payoutAccount: organizations.payoutAccount })
    .from(organizations)
    .where(eq(organizations.id, p.orgId));
  if (!org?.payoutAccount)
    throw badRequest(
      "The organization has no payout account; set one with PUT /v1/revenue/payout-account.",
      "payout-account-required",
    );

  const id = newId("po");
  const txnId = `txn_${id}`;
  const row: PayoutRow = {
    id,
    orgId: p.orgId,
    currency: p.currency,
    amount: p.amount,
    status: "in_transit",
    destination: org.payoutAccount,
    providerTransferId: null,
    failureReason: null,
    runId: opts.runId,
    createdAt: now,
    settledAt: null,
  };
  const journal = payoutJournal({
    id,
    currency: p.currency,
    amount: p.amount,
    developerOrgId: p.orgId,
  });
  const statements: Statement[] = [
    db.insert(payouts).values(row),
    // D1 binds at most 100 parameters per statement: 33 rows of 3 per insert.
    ...chunk([...p.txnIds, txnId], 33).map((ids) =>
      db
        .insert(payoutItems)
        .values(ids.map((t) => ({ txnId: t, accountId: p.accountId, payoutId: id }))),
    ),
    ...postStatements(db, journal, now, txnId).statements,
    // Refunds in progress have reserved part of the balance: never pay that out.
    recoverableGuard(db, p.orgId, p.currency),
  ];
  try {
    await db.batch(statements as Batch);
  } catch (err) {
    if (isUniqueViolation(err))
      return {
        orgId: p.orgId,
        currency: p.currency,
        amount: p.amount,
        status: "skipped",
        reason: "covered by a concurrent payout",
      };
    if (isGuardRefusal(err))
      return {
        orgId: p.orgId,
        currency: p.currency,
        amount: p.amount,
        status: "skipped",
        reason: "a refund in progress has reserved part of the balance; retried by the next run",
      };
    throw err;
  }
  return settle(db, processor, row, now);
}

/** Transfers an in-transit payout and records the outcome (once: the closing txn id is fixed). */
export async function settle(
  db: Db,
  processor: PaymentProcessor,
  row: PayoutRow,
  now = Date.now(),
): Promise<PayoutOutcome> {
  const base = { orgId: row.orgId, currency: row.currency, amount: row.amount, payoutId: row.id };
  const result = await processor.transfer({
    amount: row.amount,
    currency: row.currency,
    destination: row.destination,
    description: `Atoll payout ${row.id}`,
    idempotencyKey: `atoll:payout:${row.id}`,
  });
  if (!result.ok && result.reason === "unavailable")
    return {
      ...base,
      status: "in_transit",
      reason: "the provider did not confirm; retried by the next run",
    };
  const closing = `txn_${row.id}_close`;
  const statements: Statement[] = result.ok
    ? [
        db
          .update(payouts)
          .set({ status: "paid", providerTransferId: result.value.id, settledAt: now })
          .where(and(eq(payouts.id, row.id), eq(payouts.status, "in_transit"))),
        ...postStatements(db, payoutSettledJournal(row), now, closing).statements,
      ]
    : [
        db
          .update(payouts)
          .set({ status: "failed", failureReason: result.message.slice(0, 300), settledAt: now })
          .where(and(eq(payouts.id, row.id), eq(payouts.status, "in_transit"))),
        ...postStatements(
          db,
          payoutFailedJournal({ ...row, developerOrgId: row.orgId }, result.message),
          now,
          closing,
        ).statements,
      ];
  try {
    await db.batch(statements as Batch);
  } catch (err) {
    // Another run closed it first (the closing transaction id is unique).
    if (
      !/UNIQUE|PRIMARY/.test(
        String(err instanceof Error ? `${err.message} ${String(err.cause ?? "")}` : err),
      )
    )
      throw err;
  }
  return result.ok
    ? { ...base, status: "paid" }
    : { ...base, status: "failed", reason: result.message };
}

export interface PayoutRun {
  runId: string;
  paid: PayoutOutcome[];
  skipped: PayoutOutcome[];
  retried: PayoutOutcome[];
}

/** The scheduled payout run: every payable at or above its minimum, plus a retry of payouts left in transit. */
export async function runPayouts(
  db: Db,
  processor: PaymentProcessor,
  opts: { now?: number; runId?: string; staleMs?: number } = {},
): Promise<PayoutRun> {
  const now = opts.now ?? Date.now();
  const runId = opts.runId ?? newId("run");
  const retried: PayoutOutcome[] = [];
  const stuck = await db
    .select()
    .from(payouts)
    .where(
      and(
        eq(payouts.status, "in_transit"),
        sql`${payouts.createdAt} <= ${now - (opts.staleMs ?? 60_000)}`,
      ),
    )
    .limit(100);
  for (const row of stuck) retried.push(await settle(db, processor, row, now));

  const paid: PayoutOutcome[] = [];
  const skipped: PayoutOutcome[] = [];
  for (const p of await uncoveredPayables(db, undefined, now)) {
    if (p.amount < payoutMinimum(p.currency)) {
      if (p.amount !== 0)
        skipped.push({
          orgId: p.orgId,
          currency: p.currency,
          amount: p.amount,
          status: "skipped",
          reason: `below the minimum of ${format(payoutMinimum(p.currency), p.currency)}`,
        });
      continue;
    }
    try {
      const outcome = await payOut(db, processor, p, { runId, now });
      (outcome.status === "skipped" ? skipped : paid).push(outcome);
    } catch (err) {
      if (!(err instanceof ApiError) || err.status >= 500) throw err;
      skipped.push({
        orgId: p.orgId,
        currency: p.currency,
        amount: p.amount,
        status: "skipped",
        reason: err.detail ?? err.title,
      });
    }
  }
  return { runId, paid, skipped, retried };
}

export async function listPayouts(db: Db, orgId: string, limit = 100): Promise<PayoutRow[]> {
  return db
    .select()
    .from(payouts)
    .where(eq(payouts.orgId, orgId))
    .orderBy(desc(payouts.createdAt))
    .limit(limit);
}

export async function getPayout(db: Db, id: string): Promise<PayoutRow | null> {
  return (await db.select().from(payouts).where(eq(payouts.id, id)))[0] ?? null;
}

/** The statement of a payout: every transaction it covers, as the developer saw it. */
export async function statementOf(db: Db, payout: PayoutRow) {
  const accountId = account.developerPayable(payout.orgId, payout.currency);
  const rows = await db
    .select({
      txnId: ledgerTransactions.id,
      kind: ledgerTransactions.kind,
      reference: ledgerTransactions.reference,
      memo: ledgerTransactions.memo,
      createdAt: ledgerTransactions.createdAt,
      amount: ledgerEntries.amount,
    })
    .from(payoutItems)
    .innerJoin(
      ledgerEntries,
      and(
        eq(ledgerEntries.txnId, payoutItems.txnId),
        eq(ledgerEntries.accountId, payoutItems.accountId),
      ),
    )
    .innerJoin(ledgerTransactions, eq(ledgerTransactions.id, ledgerEntries.txnId))
    .where(and(eq(payoutItems.payoutId, payout.id), eq(payoutItems.accountId, accountId)))
    .orderBy(ledgerEntries.id);
  // Earnings positive, deductions (refunds, the payout itself) negative, as a statement reads.
  return rows.map((r) => ({ ...r, amount: -r.amount }));
}

function chunk<T>(items: T[], size: number): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < items.length; i += size) out.push(items.slice(i, i + size));
  return out;
}
