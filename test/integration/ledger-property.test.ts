/**
 * Property test: 10,000 random operations — purchases (some retried with the same key, some
 * declined, some whose provider response is lost and then retried), refunds by the publisher
 * (partial, full, too large, beyond what its balance can recover) and forced by the operator,
 * renewals (some declined), payouts (some to accounts the provider refuses), and the collusion
 * sequence (buy, pay out at once, refund in full) — with three payout holds (none, a day, the
 * default 14 days), against the
 * real D1 ledger. The payment provider is an in-process stand-in of the processor interface with
 * its own books and Stripe's idempotency semantics, so that 10,000 operations run in seconds.
 * Afterwards: every transaction balances, the ledger sums to zero, no balance is negative where
 * it must not be, and the ledger's clearing account equals the provider's own net balance; no
 * developer ever owes the platform, no payout covers earnings still on hold, and refund_losses
 * holds exactly the forced refunds' unrecovered shares.
 */
import { env } from "cloudflare:workers";
import { beforeAll, describe, expect, it } from "vitest";
import { OPERATOR_KEY, call, type Account } from "../helpers";
import { getDb } from "../../src/platform/db/client";
import {
  organizations,
  plugins,
  subscriptions,
  type PluginRow,
} from "../../src/platform/db/schema";
import { ApiError } from "../../src/platform/http/problem";
import { balances } from "../../src/revenue/ledger-store";
import type {
  ChargeRequest,
  PaymentProcessor,
  RefundRequest,
  Result,
  TransferRequest,
} from "../../src/revenue/processor";
import { getPurchase, purchase, type Pricing } from "../../src/revenue/purchases";
import { refund } from "../../src/revenue/refunds";
import { cancelSubscription, renewDue } from "../../src/revenue/subscriptions";
import { runPayouts } from "../../src/revenue/payouts";
import { eq, inArray } from "drizzle-orm";
import { examplePackage, publishZip, publisher, repack } from "../plugin-helpers";

// 3,000 in `npm test` (the suite's time budget); LEDGER_PROPERTY_OPERATIONS=10000 npm test runs the
// full 10,000 (about 5 minutes on this 2-core machine).
const OPERATIONS = Number(Reflect.get(env, "LEDGER_PROPERTY_OPERATIONS") ?? 10_000) || 10_000;
const SEED = Number(process.env.ATOLL_PROPERTY_SEED ?? 20261125);

function mulberry32(seed: number) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** The provider: its own books, Stripe-like idempotency, and injectable faults. */
class ProviderStandIn implements PaymentProcessor {
  net = new Map<string, number>();
  charged = new Map<string, { amount: number; refunded: number; currency: string }>();
  private seen = new Map<string, Result<{ id: string }>>();
  private n = 0;
  fault: "none" | "decline" | "lose" | "down" | "invalid" = "none";

  private once(key: string, run: () => Result<{ id: string }>): Result<{ id: string }> {
    const mode = this.fault;
    this.fault = "none";
    if (mode === "down") return { ok: false, reason: "unavailable", message: "provider down" };
    const prior = this.seen.get(key);
    if (prior) return prior;
    const result =
      mode === "decline"
        ? ({ ok: false, reason: "declined", message: "card declined" } as const)
        : mode === "invalid"
          ? ({ ok: false, reason: "invalid", message: "no such destination" } as const)
          : run();
    this.seen.set(key, result);
    // Lost: it happened at the provider, but the answer never arrives.
    return mode === "lose"
      ? { ok: false, reason: "unavailable", message: "response lost" }
      : result;
  }
  private move(currency: string, delta: number) {
    this.net.set(currency, (this.net.get(currency) ?? 0) + delta);
  }
  async charge(r: ChargeRequest) {
    return this.once(r.idempotencyKey, () => {
      const id = `ch_${++this.n}`;
      this.charged.set(id, { amount: r.amount, refunded: 0, currency: r.currency });
      this.move(r.currency, r.amount);
      return { ok: true, value: { id } };
    });
  }
  async refund(r: RefundRequest) {
    return this.once(r.idempotencyKey, () => {
      const c = this.charged.get(r.charge);
      if (!c || c.refunded + r.amount > c.amount)
        return { ok: false, reason: "invalid", message: "refund exceeds charge" };
      c.refunded += r.amount;
      this.move(c.currency, -r.amount);
      return { ok: true, value: { id: `re_${++this.n}` } };
    });
  }
  async transfer(r: TransferRequest) {
    return this.once(r.idempotencyKey, () => {
      this.move(r.currency, -r.amount);
      return { ok: true, value: { id: `tr_${++this.n}` } };
    });
  }
}

const db = getDb(env.DB);
/** Developer accounts with a debit balance: a developer owing the platform. */
const OWING =
  "SELECT account_id FROM ledger_entries WHERE account_id LIKE 'developer_payable:%' GROUP BY account_id HAVING SUM(amount) > 0";
let listings: PluginRow[] = [];
let buyers: (typeof organizations.$inferInsert & { id: string })[] = [];

beforeAll(async () => {
  const sellers = [await publisher("ps"), await publisher("ps"), await publisher("ps")];
  const specs: [number, Pricing][] = [
    [0, { model: "one-time", amount: 999, currency: "USD" }],
    [0, { model: "subscription", amount: 2900, currency: "USD", interval: "month" }],
    [1, { model: "one-time", amount: 777, currency: "JPY" }],
    [1, { model: "subscription", amount: 1234, currency: "KWD", interval: "month" }],
    [2, { model: "one-time", amount: 51, currency: "USD" }],
    [2, { model: "subscription", amount: 5000, currency: "EUR", interval: "year" }],
  ];
  for (const [i, [s, pricing]] of specs.entries()) {
    const seller = sellers[s] as Account;
    const res = await publishZip(
      seller,
      repack(examplePackage("hello", seller.slug), (m) => ({
        ...m,
        name: `@${seller.slug}/prop-${i}`,
        pricing,
      })),
    );
    if (res.status !== 201) throw new Error(await res.text());
  }
  // Uneven fees make rounding matter.
  await call("/v1/operator/fees", {
    method: "PUT",
    key: OPERATOR_KEY,
    json: { organization: sellers[1]?.orgId, feeBps: 3333 },
  });
  await call("/v1/operator/fees", {
    method: "PUT",
    key: OPERATOR_KEY,
    json: { listing: `@${sellers[2]?.slug}/prop-4`, feeBps: 1 },
  });
  for (const [i, s] of sellers.entries())
    await db
      .update(organizations)
      .set({ payoutAccount: i === 2 ? "acct_flaky" : `acct_${i}` })
      .where(eq(organizations.id, s.orgId));
  // Payout holds: none, a day, and the platform's default (14 days).
  await call("/v1/operator/payout-holds", {
    method: "PUT",
    key: OPERATOR_KEY,
    json: { organization: sellers[0]?.orgId, hours: 0 },
  });
  await call("/v1/operator/payout-holds", {
    method: "PUT",
    key: OPERATOR_KEY,
    json: { organization: sellers[1]?.orgId, hours: 24 },
  });
  listings = await db
    .select()
    .from(plugins)
    .where(
      inArray(
        plugins.orgId,
        sellers.map((s) => s.orgId),
      ),
    );
  // Buyers are plain organization rows with a payment method (the purchase functions are called directly).
  buyers = Array.from({ length: 300 }, (_, i) => ({
    id: `org_propbuyer${i}`,
    slug: `prop-buyer-${i}`,
    name: `Buyer ${i}`,
    plan: "free" as const,
    createdAt: 0,
    paymentMethod: "tok_visa",
  }));
  for (let i = 0; i < buyers.length; i += 10)
    await db.insert(organizations).values(buyers.slice(i, i + 10));
}, 60_000);

describe(`the ledger under ${OPERATIONS.toLocaleString("en")} random operations`, () => {
  it("balances every transaction, sums to zero, keeps balances in range and matches the provider", async () => {
    const rnd = mulberry32(SEED);
    const pick = <T>(xs: T[]): T => xs[Math.floor(rnd() * xs.length)] as T;
    const provider = new ProviderStandIn();
    const purchaseIds: string[] = [];
    const counts: Record<string, number> = {};
    const count = (k: string) => (counts[k] = (counts[k] ?? 0) + 1);
    let now = Date.UTC(2026, 0, 1);
    let keyN = 0;

    for (let op = 0; op < OPERATIONS; op++) {
      now += Math.floor(rnd() * 6 * 3_600_000);
      const r = rnd();
      try {
        if (r < 0.02) {
          // Collusion: buy, pay out at once, then the seller refunds the buyer in full.
          const listing = pick(listings);
          provider.fault = "none";
          const res = await purchase(db, provider, {
            buyerOrgId: pick(buyers).id,
            listing,
            pricing: JSON.parse(listing.pricing) as Pricing,
            paymentMethod: null,
            key: `c${++keyN}`,
            actor: "test",
            now,
          });
          purchaseIds.push(res.purchase.id);
          count("purchase");
          await runPayouts(db, provider, { now, staleMs: 0 });
          count("payout-run");
          await refund(db, provider, {
            purchase: res.purchase,
            owner: res.purchase.publisherOrgId,
            key: `cr${++keyN}`,
            actor: "test",
            now,
          });
          count("collusion-refunded");
        } else if (r < 0.4) {
          const b = pick(buyers);
          const listing = pick(listings);
          const key = `k${++keyN}`;
          const fault = rnd();
          provider.fault =
            fault < 0.05 ? "decline" : fault < 0.1 ? "lose" : fault < 0.13 ? "down" : "none";
          const attempt = () =>
            purchase(db, provider, {
              buyerOrgId: b.id,
              listing,
              pricing: JSON.parse(listing.pricing) as Pricing,
              paymentMethod: null,
              key,
              actor: "test",
              now,
            });
          let res;
          try {
            res = await attempt();
          } catch (e) {
            // A client retries an outage with the same key (as the API tells it to).
            if (e instanceof ApiError && e.status === 503) res = await attempt();
            else throw e;
          }
          purchaseIds.push(res.purchase.id);
          count("purchase");
          if (rnd() < 0.1) {
            const replay = await attempt();
            expect(replay.replayed || replay.purchase.id === res.purchase.id).toBe(true);
            count("purchase-replay");
          }
        } else if (r < 0.7 && purchaseIds.length > 0) {
          const p = await getPurchase(db, pick(purchaseIds));
          if (!p) throw new Error("purchase vanished");
          const left = p.amount - p.refundedAmount;
          const amount = rnd() < 0.3 ? undefined : 1 + Math.floor(rnd() * Math.max(1, left + 2));
          provider.fault = rnd() < 0.05 ? "lose" : "none";
          const key = `r${++keyN}`;
          // Mostly the publisher's; now and then forced by the operator (a chargeback, say).
          const owner = rnd() < 0.15 ? "operator" : p.publisherOrgId;
          const attempt = () =>
            refund(db, provider, {
              purchase: p,
              ...(amount !== undefined ? { amount } : {}),
              owner,
              key,
              actor: "test",
              now,
            });
          try {
            await attempt();
          } catch (e) {
            if (e instanceof ApiError && e.status === 503) await attempt();
            else throw e;
          }
          count(owner === "operator" ? "refund-forced" : "refund");
        } else if (r < 0.75) {
          const [sub] = await db
            .select()
            .from(subscriptions)
            .where(inArray(subscriptions.status, ["active", "past_due"]))
            .limit(1)
            .offset(Math.floor(rnd() * 20));
          if (sub) await cancelSubscription(db, sub, "test", now);
          count("cancel");
        } else if (r < 0.95) {
          provider.fault = rnd() < 0.2 ? "decline" : "none";
          await renewDue(db, provider, now);
          count("renewal-run");
        } else {
          // acct_flaky's transfers fail now and then; an outage leaves payouts in transit for the next run.
          provider.fault = rnd() < 0.2 ? "invalid" : rnd() < 0.1 ? "down" : "none";
          await runPayouts(db, provider, { now, staleMs: 0 });
          count("payout-run");
        }
      } catch (e) {
        if (!(e instanceof ApiError) || e.status >= 500) throw e;
        count(`refused-${e.status}${e.type.endsWith("refund-exceeds-balance") ? "-balance" : ""}`);
      }
      // No developer ever owes the platform: refunds beyond the balance were refused or forced.
      if (op % 250 === 0) expect((await env.DB.prepare(OWING).all()).results).toEqual([]);
    }
    // Settle whatever an outage left in transit.
    await runPayouts(db, provider, { now: now + 1, staleMs: 0 });
    console.log(JSON.stringify({ seed: SEED, operations: OPERATIONS, counts }));

    // 1. Every transaction balances; the ledger sums to zero.
    const unbalanced = await env.DB.prepare(
      "SELECT t.id FROM ledger_transactions t JOIN ledger_entries e ON e.txn_id = t.id GROUP BY t.id HAVING SUM(e.amount) != 0 OR COUNT(*) < 2",
    ).all();
    expect(unbalanced.results).toEqual([]);
    const orphans = await env.DB.prepare(
      "SELECT COUNT(*) AS n FROM ledger_entries e LEFT JOIN ledger_transactions t ON t.id = e.txn_id WHERE t.id IS NULL",
    ).first<{ n: number }>();
    expect(orphans?.n).toBe(0);
    const all = await balances(db);
    const byCurrency = new Map<string, number>();
    for (const [acct, v] of all)
      byCurrency.set(
        acct.split(":").at(-1) ?? "",
        (byCurrency.get(acct.split(":").at(-1) ?? "") ?? 0) + v,
      );
    for (const [, total] of byCurrency) expect(total).toBe(0);

    // 2. Balances stay on their side: revenue credit, refunds debit, nothing left in transit.
    for (const [acct, v] of all) {
      if (acct.startsWith("platform_revenue:")) expect(v).toBeLessThanOrEqual(0);
      if (acct.startsWith("refunds:")) expect(v).toBeGreaterThanOrEqual(0);
      if (acct.startsWith("payouts_in_transit:")) expect(v).toBe(0);
    }
    // A platform never gives back more fee than it took, per currency.
    for (const [acct, v] of all)
      if (acct.startsWith("refunds:"))
        expect(v).toBeLessThanOrEqual(
          -(all.get(acct.replace("refunds:", "platform_revenue:")) ?? 0),
        );

    // 3. The ledger's clearing account is exactly the provider's balance, per currency.
    for (const [currency, net] of provider.net)
      expect(all.get(`buyer_clearing:${currency}`) ?? 0).toBe(net);

    // 4. Purchases agree with their refunds; no refund exceeds its purchase.
    const mismatched = await env.DB.prepare(
      "SELECT p.id FROM purchases p LEFT JOIN refunds r ON r.purchase_id = p.id AND r.status = 'succeeded' GROUP BY p.id HAVING COALESCE(SUM(r.amount), 0) != p.refunded_amount OR p.refunded_amount > p.amount",
    ).all();
    expect(mismatched.results).toEqual([]);
    // 5. Holds and recovery: nobody owes the platform; no payout covered earnings still on hold;
    // refund_losses is exactly the forced refunds' unrecovered shares (and never negative).
    expect((await env.DB.prepare(OWING).all()).results).toEqual([]);
    const early = await env.DB.prepare(
      "SELECT i.txn_id FROM payout_items i JOIN ledger_transactions t ON t.id = i.txn_id JOIN payouts p ON p.id = i.payout_id WHERE t.available_at > p.created_at",
    ).all();
    expect(early.results).toEqual([]);
    const lost = await env.DB.prepare(
      "SELECT currency, SUM(loss) AS loss FROM refunds WHERE status = 'succeeded' GROUP BY currency",
    ).all<{ currency: string; loss: number }>();
    for (const { currency, loss } of lost.results)
      expect(all.get(`refund_losses:${currency}`) ?? 0).toBe(loss);
    for (const [acct, v] of all)
      if (acct.startsWith("refund_losses:")) expect(v).toBeGreaterThanOrEqual(0);

    // The run exercised every path, not just refusals.
    expect(counts.purchase ?? 0).toBeGreaterThan(OPERATIONS / 5);
    expect(counts.refund ?? 0).toBeGreaterThan(OPERATIONS / 10);
    expect(counts["payout-run"] ?? 0).toBeGreaterThan(OPERATIONS * 0.03);
    expect(counts["collusion-refunded"] ?? 0).toBeGreaterThan(OPERATIONS / 200);
    expect(counts["refund-forced"] ?? 0).toBeGreaterThan(OPERATIONS / 100);
    expect(counts["refused-422-balance"] ?? 0).toBeGreaterThan(OPERATIONS / 1000);
    expect([...lost.results].some((l) => l.loss > 0)).toBe(true);
  }, 480_000);
});
