/**
 * The double-entry ledger's rules, pure. An entry's amount is signed: positive debits, negative
 * credits; every transaction's entries sum to zero in one currency, so the sum over all accounts
 * is always zero. Accounts (one per currency):
 *
 * | account                         | normal | holds                                            |
 * | ------------------------------- | ------ | ------------------------------------------------ |
 * | `buyer_clearing:CUR`            | debit  | money collected from buyers at the provider      |
 * | `platform_revenue:CUR`          | credit | the platform's fees (gross, never debited)       |
 * | `refunds:CUR`                   | debit  | fees given back by refunds (contra-revenue)      |
 * | `developer_payable:ORG:CUR`     | credit | what the platform owes a developer               |
 * | `payouts_in_transit:CUR`        | credit | payouts sent to the provider, not yet settled    |
 * | `refund_losses:CUR`             | debit  | developer shares the platform refunded and could |
 * |                                 |        | not recover (operator- or provider-forced)       |
 *
 * A sale's transaction carries `availableAt`: its earnings are payable from then on (the payout
 * hold, src/revenue/recovery.ts); a refund of a sale still on hold carries the sale's, so the two
 * are released together.
 *
 * Corrections never edit entries: they are new transactions (the database refuses UPDATE and
 * DELETE of entries and transactions, and refuses an unbalanced transaction).
 */

export type AccountKind =
  | "buyer_clearing"
  | "platform_revenue"
  | "refunds"
  | "developer_payable"
  | "payouts_in_transit"
  | "refund_losses";

export interface Entry {
  account: string;
  /** Signed minor units: debit > 0, credit < 0. */
  amount: number;
}

export type TransactionKind =
  "purchase" | "renewal" | "usage" | "refund" | "payout" | "payout_settled" | "payout_failed";

export interface Journal {
  kind: TransactionKind;
  currency: string;
  /** The purchase, refund or payout the transaction records. */
  reference: string;
  memo: string;
  entries: Entry[];
  /** When the developer's part becomes payable (epoch ms); absent: at once. */
  availableAt?: number;
}

export const account = {
  buyerClearing: (currency: string) => `buyer_clearing:${currency}`,
  platformRevenue: (currency: string) => `platform_revenue:${currency}`,
  refunds: (currency: string) => `refunds:${currency}`,
  developerPayable: (orgId: string, currency: string) => `developer_payable:${orgId}:${currency}`,
  payoutsInTransit: (currency: string) => `payouts_in_transit:${currency}`,
  refundLosses: (currency: string) => `refund_losses:${currency}`,
} as const;

/** The kind, owner and currency of an account id. */
export function parseAccount(id: string): {
  kind: AccountKind;
  orgId: string | null;
  currency: string;
} {
  const parts = id.split(":");
  if (parts[0] === "developer_payable" && parts.length === 3)
    return { kind: "developer_payable", orgId: parts[1] ?? null, currency: parts[2] ?? "" };
  return { kind: parts[0] as AccountKind, orgId: null, currency: parts[1] ?? "" };
}

/** Throws unless the journal is a valid double-entry transaction (the database checks it again). */
export function assertBalanced(j: Journal): Journal {
  if (j.entries.length < 2) throw new Error(`ledger: ${j.kind} needs at least two entries`);
  let sum = 0;
  for (const e of j.entries) {
    if (!Number.isSafeInteger(e.amount))
      throw new Error(`ledger: ${j.kind} has a non-integer amount`);
    if (!e.account.endsWith(`:${j.currency}`))
      throw new Error(`ledger: ${j.kind} mixes currencies`);
    sum += e.amount;
  }
  if (sum !== 0) throw new Error(`ledger: ${j.kind} does not balance (off by ${sum})`);
  return j;
}

/** Drops zero entries (a 1-cent sale has a zero fee) while keeping the transaction balanced. */
function journal(
  kind: TransactionKind,
  currency: string,
  reference: string,
  memo: string,
  entries: Entry[],
  availableAt?: number,
): Journal {
  return assertBalanced({
    kind,
    currency,
    reference,
    memo,
    entries: entries.filter((e) => e.amount !== 0),
    ...(availableAt !== undefined ? { availableAt } : {}),
  });
}

/** A sale: the buyer's money arrives in clearing, split between the fee and the developer (payable from `availableAt`). */
export function saleJournal(
  kind: "purchase" | "renewal" | "usage",
  sale: {
    id: string;
    currency: string;
    amount: number;
    fee: number;
    share: number;
    developerOrgId: string;
    availableAt?: number;
  },
  memo: string,
): Journal {
  return journal(
    kind,
    sale.currency,
    sale.id,
    memo,
    [
      { account: account.buyerClearing(sale.currency), amount: sale.amount },
      { account: account.platformRevenue(sale.currency), amount: -sale.fee },
      {
        account: account.developerPayable(sale.developerOrgId, sale.currency),
        amount: -sale.share,
      },
    ],
    sale.availableAt,
  );
}

/**
 * A refund: money leaves clearing; the platform's fee and the developer's share come back — the
 * part of the share the developer's balance could not cover (`loss`, only on a forced refund)
 * is booked to refund_losses instead.
 */
export function refundJournal(
  refund: {
    id: string;
    currency: string;
    amount: number;
    fee: number;
    share: number;
    loss?: number;
    developerOrgId: string;
    availableAt?: number;
  },
  memo: string,
): Journal {
  const loss = refund.loss ?? 0;
  if (!Number.isSafeInteger(loss) || loss < 0 || loss > refund.share)
    throw new Error("ledger: a refund's loss is part of its share");
  return journal(
    "refund",
    refund.currency,
    refund.id,
    memo,
    [
      { account: account.buyerClearing(refund.currency), amount: -refund.amount },
      { account: account.refunds(refund.currency), amount: refund.fee },
      {
        account: account.developerPayable(refund.developerOrgId, refund.currency),
        amount: refund.share - loss,
      },
      { account: account.refundLosses(refund.currency), amount: loss },
    ],
    refund.availableAt,
  );
}

/** A payout leaves the developer's payable for the provider. */
export function payoutJournal(payout: {
  id: string;
  currency: string;
  amount: number;
  developerOrgId: string;
}): Journal {
  return journal("payout", payout.currency, payout.id, `payout ${payout.id}`, [
    {
      account: account.developerPayable(payout.developerOrgId, payout.currency),
      amount: payout.amount,
    },
    { account: account.payoutsInTransit(payout.currency), amount: -payout.amount },
  ]);
}

/** The provider paid it: the money leaves the platform's clearing balance. */
export function payoutSettledJournal(payout: {
  id: string;
  currency: string;
  amount: number;
}): Journal {
  return journal("payout_settled", payout.currency, payout.id, `payout ${payout.id} paid`, [
    { account: account.payoutsInTransit(payout.currency), amount: payout.amount },
    { account: account.buyerClearing(payout.currency), amount: -payout.amount },
  ]);
}

/** The provider refused it: the money goes back to the developer's payable. */
export function payoutFailedJournal(
  payout: { id: string; currency: string; amount: number; developerOrgId: string },
  reason: string,
): Journal {
  return journal(
    "payout_failed",
    payout.currency,
    payout.id,
    `payout ${payout.id} failed: ${reason}`.slice(0, 300),
    [
      { account: account.payoutsInTransit(payout.currency), amount: payout.amount },
      {
        account: account.developerPayable(payout.developerOrgId, payout.currency),
        amount: -payout.amount,
      },
    ],
  );
}
