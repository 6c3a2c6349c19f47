/** Helpers for revenue tests: a platform payment processor, a seller with paid listings, a buyer. */
import { env } from "cloudflare:workers";
import { OPERATOR_KEY, call, signup, type Account } from "./helpers";
import { examplePackage, publishAndInstall, publishZip, publisher, repack } from "./plugin-helpers";

/** The Stripe stand-in the plugin reaches (through the egress override). */
export function stripeUrl(): string {
  return (JSON.parse(env.ATOLL_EGRESS_OVERRIDES) as Record<string, string>)["api.stripe.com"] ?? "";
}

export async function stripeState(): Promise<{
  charges: {
    id: string;
    amount: number;
    currency: string;
    metadata: Record<string, string>;
    amount_refunded: number;
  }[];
  refunds: { id: string; amount: number; charge: string }[];
  transfers: { id: string; amount: number; destination: string }[];
}> {
  return (await fetch(`${stripeUrl()}/__standin/state`)).json();
}

export async function stripeFaults(faults: { lose?: number; fail?: number }): Promise<void> {
  await fetch(`${stripeUrl()}/__standin/faults`, { method: "POST", body: JSON.stringify(faults) });
}

/** Installs the payment-gateway plugin (granted payments) and makes it the platform's processor. */
export async function setupPayments(): Promise<Account> {
  const platform = await publisher("pay");
  const inst = await publishAndInstall(platform, examplePackage("payment-gateway", platform.slug), {
    environment: "production",
    secrets: { PAYMENT_API_KEY: "sk_test_atollplatform" },
  });
  const res = await call("/v1/operator/payments", {
    method: "PUT",
    key: OPERATOR_KEY,
    json: { installationId: inst.id },
  });
  if (res.status !== 200) throw new Error(`payments: ${res.status} ${await res.text()}`);
  return platform;
}

export interface Seller {
  account: Account;
  /** advanced-analytics: a 29.00 USD monthly subscription. */
  subscription: string;
  /** A one-time listing (10.00 USD). */
  oneTime: string;
  /** A free listing. */
  free: string;
}

/**
 * A developer selling a subscription, a one-time and a free listing, with a payout account. Its
 * payout hold is `holdHours` (default 0, set by the operator, so that tests of payouts need not
 * wait 14 days; null keeps the platform's default hold).
 */
export async function seller(
  prefix = "dev",
  oneTime: { amount: number; currency: string } = { amount: 1000, currency: "USD" },
  holdHours: number | null = 0,
): Promise<Seller> {
  const account = await publisher(prefix);
  if (holdHours !== null) {
    const hold = await call("/v1/operator/payout-holds", {
      method: "PUT",
      key: OPERATOR_KEY,
      json: { organization: account.orgId, hours: holdHours },
    });
    if (hold.status !== 200) throw new Error(`payout hold: ${await hold.text()}`);
  }
  const sub = examplePackage("advanced-analytics", account.slug);
  const pub = await publishZip(account, sub);
  if (pub.status !== 201) throw new Error(`publish: ${await pub.text()}`);
  const one = repack(examplePackage("hello", account.slug), (m) => ({
    ...m,
    name: `@${account.slug}/report-pack`,
    pricing: { model: "one-time", ...oneTime },
  }));
  const pub2 = await publishZip(account, one);
  if (pub2.status !== 201) throw new Error(`publish: ${await pub2.text()}`);
  const free = await publishZip(account, examplePackage("hello", account.slug));
  if (free.status !== 201) throw new Error(`publish: ${await free.text()}`);
  const acct = await call("/v1/revenue/payout-account", {
    method: "PUT",
    key: account.apiKey,
    json: { account: `acct_${account.slug.replace(/[^a-z0-9]/g, "")}` },
  });
  if (acct.status !== 200) throw new Error(`payout account: ${await acct.text()}`);
  return {
    account,
    subscription: `@${account.slug}/advanced-analytics`,
    oneTime: `@${account.slug}/report-pack`,
    free: `@${account.slug}/hello`,
  };
}

export async function buyer(prefix = "buy", paymentMethod = "tok_visa"): Promise<Account> {
  const a = await publisher(prefix);
  const res = await call("/v1/billing/payment-method", {
    method: "PUT",
    key: a.apiKey,
    json: { paymentMethod },
  });
  if (res.status !== 200) throw new Error(`payment method: ${await res.text()}`);
  return a;
}

let keys = 0;
export const newKey = () =>
  `test-key-${Date.now()}-${++keys}-${Math.random().toString(36).slice(2)}`;

export function buy(
  account: Account,
  listing: string,
  key: string | null = newKey(),
  extra: Record<string, unknown> = {},
): Promise<Response> {
  return call("/v1/purchases", {
    method: "POST",
    key: account.apiKey,
    json: { listing, ...extra },
    headers: key ? { "idempotency-key": key } : {},
  });
}

export async function balanceOf(
  account: Account,
  currency = "USD",
): Promise<{
  available: number;
  held: number;
  inTransit: number;
  paidOut: number;
  earned: number;
  refunded: number;
}> {
  const res = await call("/v1/revenue/balance", { key: account.apiKey });
  const body = (await res.json()) as {
    balances: {
      currency: string;
      available: number;
      held: number;
      inTransit: number;
      paidOut: number;
      earned: number;
      refunded: number;
    }[];
  };
  return (
    body.balances.find((b) => b.currency === currency) ?? {
      available: 0,
      held: 0,
      inTransit: 0,
      paidOut: 0,
      earned: 0,
      refunded: 0,
    }
  );
}

/** Every ledger invariant: each transaction balances, the whole ledger sums to zero. */
export async function ledgerInvariants(): Promise<{
  transactions: number;
  unbalanced: number;
  total: number;
}> {
  const txns = await env.DB.prepare(
    "SELECT t.id, COALESCE(SUM(e.amount), 0) AS s, COUNT(e.id) AS n FROM ledger_transactions t LEFT JOIN ledger_entries e ON e.txn_id = t.id GROUP BY t.id",
  ).all<{ id: string; s: number; n: number }>();
  const orphan = await env.DB.prepare(
    "SELECT COUNT(*) AS n FROM ledger_entries e LEFT JOIN ledger_transactions t ON t.id = e.txn_id WHERE t.id IS NULL",
  ).first<{ n: number }>();
  const total = await env.DB.prepare(
    "SELECT COALESCE(SUM(amount), 0) AS s FROM ledger_entries",
  ).first<{ s: number }>();
  return {
    transactions: txns.results.length,
    unbalanced: txns.results.filter((t) => t.s !== 0 || t.n < 2).length + (orphan?.n ?? 0),
    total: total?.s ?? 0,
  };
}

export { signup };
