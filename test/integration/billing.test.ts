import { env, exports } from "cloudflare:workers";
import { beforeAll, describe, expect, it } from "vitest";
import { call } from "../helpers";
import { getDb } from "../../src/platform/db/client";
import { hostFor } from "../../src/runtime/invoke";
import type { HostExports } from "../../src/runtime/loader-host";
import { PluginProcessor } from "../../src/revenue/processor";
import { RETRY_DELAYS_MS, renewDue } from "../../src/revenue/subscriptions";
import { billUsage, SETTLE_MS } from "../../src/revenue/usage-billing";
import { HOUR_MS } from "../../src/revenue/meter";
import { examplePackage, installPlugin, publishZip, publisher, repack } from "../plugin-helpers";
import {
  balanceOf,
  buy,
  buyer,
  ledgerInvariants,
  seller,
  setupPayments,
  type Seller,
} from "../revenue-helpers";

const db = getDb(env.DB);
const processor = () =>
  new PluginProcessor(
    db,
    env.ATOLL_SECRET_KEY,
    hostFor(env, () => exports as unknown as HostExports),
    "test",
    10_000,
  );

type Sub = {
  id: string;
  status: string;
  period: number;
  currentPeriodEnd: string;
  failedAttempts: number;
  usage: { calls: number; billed: number } | null;
};
async function subscription(account: { apiKey: string }, id: string): Promise<Sub> {
  const res = await call("/v1/subscriptions", { key: account.apiKey });
  const subs = ((await res.json()) as { subscriptions: Sub[] }).subscriptions;
  const s = subs.find((x) => x.id === id);
  if (!s) throw new Error("no subscription");
  return s;
}

let dev: Seller;
beforeAll(async () => {
  await setupPayments();
  dev = await seller("renew");
});

describe("subscription renewals (Cron Trigger)", () => {
  it("charges the next period once, even when the job runs twice", async () => {
    const b = await buyer();
    const p = (await (await buy(b, dev.subscription)).json()) as { subscription: Sub };
    const end = Date.parse(p.subscription.currentPeriodEnd);
    await renewDue(db, processor(), end + 1000);
    await renewDue(db, processor(), end + 2000);
    const s = await subscription(b, p.subscription.id);
    expect(s).toMatchObject({ status: "active", period: 2 });
    expect(Date.parse(s.currentPeriodEnd)).toBeGreaterThan(end + 27 * 24 * HOUR_MS);
    const purchases = await env.DB.prepare(
      "SELECT period, amount FROM purchases WHERE subscription_id = ? ORDER BY period",
    )
      .bind(p.subscription.id)
      .all<{ period: number; amount: number }>();
    expect(purchases.results).toEqual([
      { period: 1, amount: 2900 },
      { period: 2, amount: 2900 },
    ]);
  });

  it("goes past due on a declined renewal, keeps access, and cancels after the last retry", async () => {
    const b = await buyer();
    const p = (await (await buy(b, dev.subscription)).json()) as { subscription: Sub };
    await call("/v1/billing/payment-method", {
      method: "PUT",
      key: b.apiKey,
      json: { paymentMethod: "tok_chargeDeclined" },
    });
    let now = Date.parse(p.subscription.currentPeriodEnd) + 1000;
    await renewDue(db, processor(), now);
    expect(await subscription(b, p.subscription.id)).toMatchObject({
      status: "past_due",
      failedAttempts: 1,
    });
    expect((await installPlugin(b, { plugin: dev.subscription, grants: [] })).status).toBe(201);
    for (const delay of RETRY_DELAYS_MS) {
      now += delay + 1000;
      await renewDue(db, processor(), now);
    }
    expect(await subscription(b, p.subscription.id)).toMatchObject({
      status: "canceled",
      failedAttempts: RETRY_DELAYS_MS.length + 1,
    });
  });

  it("ends a cancelled subscription at the end of its paid period", async () => {
    const b = await buyer();
    const p = (await (await buy(b, dev.subscription)).json()) as { subscription: Sub };
    const cancel = await call(`/v1/subscriptions/${p.subscription.id}/cancel`, {
      method: "POST",
      key: b.apiKey,
    });
    expect(cancel.status).toBe(200);
    expect(await cancel.json()).toMatchObject({ status: "active", cancelAtPeriodEnd: true });
    await renewDue(db, processor(), Date.parse(p.subscription.currentPeriodEnd) + 1000);
    expect((await subscription(b, p.subscription.id)).status).toBe("ended");
    expect((await installPlugin(b, { plugin: dev.subscription, grants: [] })).status).toBe(402);
  });
});

describe("usage metering and billing", () => {
  it("counts plugin calls off the request path and bills them from the hourly rollups", async () => {
    const d = await publisher("meter");
    const zip = repack(examplePackage("advanced-analytics", d.slug), (m) => ({
      ...m,
      name: `@${d.slug}/metered`,
      pricing: { model: "usage", amount: 100, currency: "USD", per: 10 },
    }));
    expect((await publishZip(d, zip)).status).toBe(201);
    await call("/v1/revenue/payout-account", {
      method: "PUT",
      key: d.apiKey,
      json: { account: "acct_metered0001" },
    });
    const b = await buyer();
    const bought = await buy(b, `@${d.slug}/metered`);
    expect(bought.status).toBe(201);
    const sub = ((await bought.json()) as { amount: number; subscription: Sub }).subscription;
    const inst = (await (
      await installPlugin(b, { plugin: `@${d.slug}/metered`, grants: [] })
    ).json()) as { id: string; endpoint: string };

    const statuses = [];
    for (let i = 0; i < 12; i++)
      statuses.push(
        (
          await call(`${inst.endpoint}/stats`, {
            method: "POST",
            key: b.apiKey,
            json: { values: [i, 2] },
          })
        ).status,
      );
    statuses.push(
      (
        await call(`${inst.endpoint}/stats`, {
          method: "POST",
          key: b.apiKey,
          json: { values: [] }, // passes the route's schema; the plugin answers 400 (metered)
        })
      ).status,
    );
    expect(statuses.slice(0, 12).every((s) => s === 200)).toBe(true);

    // The flush runs after the responses (waitUntil); wait for the rollups.
    let rows: { granularity: string; calls: number; client_errors: number }[] = [];
    for (let i = 0; i < 50; i++) {
      rows = (
        await env.DB.prepare(
          "SELECT granularity, calls, client_errors FROM usage_rollups WHERE installation_id = ? ORDER BY granularity",
        )
          .bind(inst.id)
          .all<{ granularity: string; calls: number; client_errors: number }>()
      ).results;
      if (rows.length === 2 && rows[0]?.calls === 13) break;
      await new Promise((r) => setTimeout(r, 100));
    }
    expect(rows).toEqual([
      { granularity: "day", calls: 13, client_errors: statuses[12] === 400 ? 1 : 0 },
      { granularity: "hour", calls: 13, client_errors: statuses[12] === 400 ? 1 : 0 },
    ]);

    // Bill once the hour has settled: 13 calls at 1.00 USD per 10 calls → 1.30 USD.
    const later = Math.floor(Date.now() / HOUR_MS) * HOUR_MS + HOUR_MS + SETTLE_MS + 1000;
    const first = await billUsage(db, processor(), later);
    expect(first.find((o) => o.subscriptionId === sub.id)).toMatchObject({
      status: "charged",
      charged: 130,
      calls: 13,
    });
    const again = await billUsage(db, processor(), later);
    expect(again.find((o) => o.subscriptionId === sub.id)).toBeUndefined();
    expect((await subscription(b, sub.id)).usage).toEqual({ calls: 13, billed: 130 });
    // Earned, and on the default payout hold (this publisher has no hold of its own).
    expect(await balanceOf(d)).toMatchObject({ available: 0, held: 117 });
    const inv = await ledgerInvariants();
    expect(inv).toMatchObject({ unbalanced: 0, total: 0 });
  });

  it("refuses a paid plugin's calls once its subscription has ended", async () => {
    const b = await buyer();
    const p = (await (await buy(b, dev.subscription)).json()) as { subscription: Sub };
    const inst = (await (
      await installPlugin(b, { plugin: dev.subscription, grants: [] })
    ).json()) as { endpoint: string };
    expect(
      (
        await call(`${inst.endpoint}/stats`, {
          method: "POST",
          key: b.apiKey,
          json: { values: [1] },
        })
      ).status,
    ).toBe(200);
    await call(`/v1/subscriptions/${p.subscription.id}/cancel`, { method: "POST", key: b.apiKey });
    await renewDue(db, processor(), Date.parse(p.subscription.currentPeriodEnd) + 1);
    // The cancel cleared this isolate's cached entitlement; the ended subscription no longer counts.
    const res = await call(`${inst.endpoint}/stats`, {
      method: "POST",
      key: b.apiKey,
      json: { values: [1] },
    });
    expect(res.status).toBe(402);
  });
});

describe("manifest pricing", () => {
  it.each([
    [{ model: "one-time", amount: 1000, currency: "XYZ" }, /ISO 4217/],
    [{ model: "one-time", amount: 10, currency: "USD" }, /smallest charge/],
    [{ model: "one-time", amount: 9.99, currency: "USD" }, /integer|int/i],
    [{ model: "one-time", amount: -100, currency: "USD" }, /0|negative|>=/],
    [{ model: "usage", amount: 0, currency: "USD" }, /positive price/],
  ])("refuses %j at publish", async (pricing, message) => {
    const d = await publisher("price");
    const res = await publishZip(
      d,
      repack(examplePackage("hello", d.slug), (m) => ({ ...m, pricing })),
    );
    expect(res.status).toBe(400);
    expect(JSON.stringify(await res.json())).toMatch(message);
  });

  it("sells JPY without multiplying by 100", async () => {
    const d = await seller("yen", { amount: 500, currency: "JPY" });
    const p = (await (await buy(await buyer(), d.oneTime)).json()) as {
      amount: number;
      currency: string;
      display: string;
      fee: number;
    };
    expect(p).toMatchObject({ amount: 500, currency: "JPY", display: "500 JPY", fee: 50 });
  });
});
