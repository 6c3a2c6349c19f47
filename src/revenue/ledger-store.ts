/**
 * The ledger in D1: posting journals as batch statements and reading balances. Balances are
 * derived from the entries (an indexed SUM), so they cannot drift from them.
 */
import { eq, like, sql } from "drizzle-orm";
import { newId } from "../platform/crypto/encoding";
import type { Db, Statement } from "../platform/db/client";
import {
  ledgerAccounts,
  ledgerEntries,
  ledgerGuard,
  ledgerTransactions,
} from "../platform/db/schema";
import { account, parseAccount, type Journal } from "./ledger";

/**
 * The statements that post a journal: its accounts (created on first use), its entries, then
 * its header, which the database refuses unless the entries balance. Run them inside the same
 * `db.batch()` as the business rows they account for, so both land or neither does.
 */
export function postStatements(
  db: Db,
  j: Journal,
  now: number,
  txnId = newId("txn"),
): { txnId: string; statements: Statement[] } {
  const accounts = [...new Set(j.entries.map((e) => e.account))].map((id) => {
    const a = parseAccount(id);
    return { id, kind: a.kind, orgId: a.orgId, currency: a.currency, createdAt: now };
  });
  return {
    txnId,
    statements: [
      db.insert(ledgerAccounts).values(accounts).onConflictDoNothing(),
      db.insert(ledgerEntries).values(
        j.entries.map((e) => ({
          txnId,
          accountId: e.account,
          amount: e.amount,
          currency: j.currency,
          createdAt: now,
        })),
      ),
      db.insert(ledgerTransactions).values({
        id: txnId,
        kind: j.kind,
        currency: j.currency,
        reference: j.reference,
        memo: j.memo,
        createdAt: now,
        availableAt: j.availableAt ?? null,
      }),
    ],
  };
}

/** The balance of each account (signed: debit > 0), optionally only accounts with a prefix. */
export async function balances(db: Db, prefix?: string): Promise<Map<string, number>> {
  const rows = await db
    .select({
      account: ledgerEntries.accountId,
      balance: sql<number>`SUM(${ledgerEntries.amount})`,
    })
    .from(ledgerEntries)
    .where(prefix ? like(ledgerEntries.accountId, `${prefix}%`) : undefined)
    .groupBy(ledgerEntries.accountId);
  return new Map(rows.map((r) => [r.account, Number(r.balance)]));
}

/** One account's balance (0 when it has no entries). */
export async function balanceOf(db: Db, accountId: string): Promise<number> {
  const [row] = await db
    .select({ balance: sql<number>`COALESCE(SUM(${ledgerEntries.amount}), 0)` })
    .from(ledgerEntries)
    .where(eq(ledgerEntries.accountId, accountId));
  return Number(row?.balance ?? 0);
}

/**
 * What a developer's balance can still give back, as SQL: what the platform owes it (held or
 * available, not yet in a payout) less the developer's part of refunds in progress.
 */
function recoverableSql(orgId: string, currency: string) {
  return sql`((SELECT -COALESCE(SUM(amount), 0) FROM ledger_entries WHERE account_id = ${account.developerPayable(orgId, currency)})
    - (SELECT COALESCE(SUM(r.share - r.loss), 0) FROM refunds r JOIN purchases p ON p.id = r.purchase_id WHERE r.status = 'pending' AND p.publisher_org_id = ${orgId} AND r.currency = ${currency}))`;
}

/** The developer's recoverable balance in one currency (negative: it owes the platform). */
export async function recoverable(db: Db, orgId: string, currency: string): Promise<number> {
  const [row] = await db.all<{ v: number }>(sql`SELECT ${recoverableSql(orgId, currency)} AS v`);
  return Number(row?.v ?? 0);
}

/**
 * A batch item that aborts its batch unless, after the batch's earlier statements, the
 * developer's recoverable balance is still ≥ 0: put it last in a payout's or a publisher's
 * refund's batch, so a concurrent payout and refund cannot both spend the same balance.
 */
export function recoverableGuard(db: Db, orgId: string, currency: string): Statement {
  return db
    .insert(ledgerGuard)
    .select(sql`SELECT NULL AS refused WHERE ${recoverableSql(orgId, currency)} < 0`);
}

/** Whether a batch failed on recoverableGuard. */
export function isGuardRefusal(err: unknown): boolean {
  const text = err instanceof Error ? `${err.message} ${String(err.cause ?? "")}` : String(err);
  return /NOT NULL constraint failed: ledger_guard/.test(text);
}
