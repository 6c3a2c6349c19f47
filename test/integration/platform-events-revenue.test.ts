/**
 * The revenue domain's platform events: purchase.succeeded|refunded and
 * subscription.renewed|past_due|canceled reach the buyer's and the publisher's webhook endpoints,
 * signed (verified by the Node receiver stand-in).
 */
import { env, exports } from "cloudflare:workers";
import { beforeAll, describe, expect, it } from "vitest";
import { call, type Account } from "../helpers";
import { saas, standin, until } from "../integration-helpers";
import { getDb } from "../../src/platform/db/client";
import { hostFor } from "../../src/runtime/invoke";
import type { HostExports } from "../../src/runtime/loader-host";
import { PluginProcessor } from "../../src/revenue/processor";
import { renewDue } from "../../src/revenue/subscriptions";
import { renewalEvents } from "../../src/revenue/events";
import { HOUR_MS } from "../../src/revenue/meter";
import { SETTLE_MS, billUsage } from "../../src/revenue/usage-billing";
import { usageRollups } from "../../src/platform/db/schema";
import { buy, buyer, seller, setupPayments, type Seller } from "../revenue-helpers";
import {
  examplePackage,
  installPlugin,
  publishAndInstall,
  publishZip,
  publisher,
  rawPackage,
  repack,
} from "../plugin-helpers";

/** Records each event it receives; GET anything lists them. */
const RECORDER = `
export default {
  async fetch(request, env) {
    const url = new URL(request.url);
    if (url.pathname === "/__atoll/event") {
      const e = await request.json();
      await env.STORAGE.put("ev:" + e.id, JSON.stringify(e));
      return Response.json({ ok: true });
    }
    if (url.pathname.startsWith("/__atoll/")) return Response.json({ ok: true });
    const events = [];
    for (const k of await env.STORAGE.list("ev:", 1000)) events.push(JSON.parse(await env.STORAGE.get(k)));
    return Response.json({ events });
  },
};`;

const db = getDb(env.DB);
const processor = () =>
  new PluginProcessor(
    db,
    env.ATOLL_SECRET_KEY,
    hostFor(env, () => exports as unknown as HostExports),
    "test",
    10_000,
  );

const TOPICS = [
  "purchase.succeeded",
  "purchase.refunded",
  "subscription.renewed",
  "subscription.past_due",
  "subscription.canceled",
];

interface Got {
  topic: string;
  id?: string;
  payload: Record<
    string,
    {
      id: string;
      listing: string;
      buyer: string;
      status?: string;
      kind?: string;
      amount?: number;
      subscription?: string | null;
    }
  >;
}

async function receiver(a: Account): Promise<() => Promise<Got[]>> {
  const name = `rev${Date.now()}${Math.random().toString(36).slice(2, 8)}`;
  const res = await call("/v1/webhook-endpoints", {
    method: "POST",
    key: a.apiKey,
    json: { url: `${saas()}/receiver/${name}`, topics: TOPICS },
  });
  expect(res.status).toBe(201);
  const { secret } = (await res.json()) as { secret: string };
  await standin("/__standin/receiver/secrets", { name, secret });
  return async () => {
    const { deliveries } = await standin<{ deliveries: { raw: string; verified: boolean }[] }>(
      `/__standin/receiver/${name}`,
    );
    expect(deliveries.every((d) => d.verified)).toBe(true);
    return deliveries.map((d) => JSON.parse(d.raw) as Got);
  };
}

const arrived = (inbox: () => Promise<Got[]>, topic: string, id: string) =>
  until(async () => {
    const all = await inbox();
    return all.find(
      (e) =>
        e.topic === topic && (e.payload.purchase?.id === id || e.payload.subscription?.id === id),
    );
  }, 10_000);

let dev: Seller;
beforeAll(async () => {
  await setupPayments();
  dev = await seller("evrev");
});

describe("revenue events", { timeout: 40_000 }, () => {
  it("a purchase and its refund reach the buyer's and the publisher's endpoints, and the buyer's plugin granted events:purchase.succeeded", async () => {
    const b = await buyer("evbuy");
    const recorder = await publishAndInstall(
      b,
      rawPackage(b.slug, RECORDER, { permissions: ["storage", "events:purchase.succeeded"] }),
    );
    const buyerInbox = await receiver(b);
    const sellerInbox = await receiver(dev.account);
    const res = await buy(b, dev.oneTime);
    expect(res.status).toBe(201);
    const { id } = (await res.json()) as { id: string };
    const atBuyer = await arrived(buyerInbox, "purchase.succeeded", id);
    await arrived(sellerInbox, "purchase.succeeded", id);
    expect(atBuyer.payload.purchase).toMatchObject({ listing: dev.oneTime, buyer: b.orgId });
    const seen = await until(async () => {
      const res = await call(`${recorder.endpoint}/events`, { key: b.apiKey });
      const { events } = (await res.json()) as { events: Got[] };
      return events.find((e) => e.payload.purchase?.id === id);
    }, 10_000);
    expect(seen.topic).toBe("purchase.succeeded");

    const refund = await call(`/v1/purchases/${id}/refunds`, {
      method: "POST",
      key: dev.account.apiKey,
      json: { reason: "requested by customer" },
      headers: { "idempotency-key": `evref-${id}` },
    });
    expect(refund.status).toBe(201);
    await arrived(buyerInbox, "purchase.refunded", id);
    await arrived(sellerInbox, "purchase.refunded", id);
  });

  it("a renewal, a declined renewal and a cancellation each reach the endpoints", async () => {
    const b = await buyer("evsub");
    const inbox = await receiver(b);
    const sellerInbox = await receiver(dev.account);
    const p = (await (await buy(b, dev.subscription)).json()) as {
      subscription: { id: string; currentPeriodEnd: string };
    };
    const sub = p.subscription.id;
    let now = Date.parse(p.subscription.currentPeriodEnd) + 1000;
    await renewDue(db, processor(), now, 200, renewalEvents(env, db));
    const renewed = await arrived(inbox, "subscription.renewed", sub);
    expect(renewed.payload.subscription).toMatchObject({ status: "active" });
    await arrived(sellerInbox, "subscription.renewed", sub);

    await call("/v1/billing/payment-method", {
      method: "PUT",
      key: b.apiKey,
      json: { paymentMethod: "tok_chargeDeclined" },
    });
    const [row] = await env.DB.prepare(
      "SELECT current_period_end AS e FROM subscriptions WHERE id = ?",
    )
      .bind(sub)
      .all<{ e: number }>()
      .then((r) => r.results);
    now = row!.e + 1000;
    await renewDue(db, processor(), now, 200, renewalEvents(env, db));
    const pastDue = await arrived(inbox, "subscription.past_due", sub);
    expect(pastDue.payload.subscription).toMatchObject({ status: "past_due" });

    const cancel = await call(`/v1/subscriptions/${sub}/cancel`, { method: "POST", key: b.apiKey });
    expect(cancel.status).toBe(200);
    await arrived(inbox, "subscription.canceled", sub);
    await arrived(sellerInbox, "subscription.canceled", sub);
  });

  it("a usage charge emits purchase.succeeded (kind usage) once, recorded with the charge", async () => {
    const d = await publisher("evusage");
    const listing = `@${d.slug}/metered`;
    const zip = repack(examplePackage("advanced-analytics", d.slug), (m) => ({
      ...m,
      name: listing,
      pricing: { model: "usage", amount: 100, currency: "USD", per: 10 },
    }));
    expect((await publishZip(d, zip)).status).toBe(201);
    await call("/v1/revenue/payout-account", {
      method: "PUT",
      key: d.apiKey,
      json: { account: "acct_evusage0001" },
    });
    const b = await buyer("evusb");
    const bought = await buy(b, listing);
    expect(bought.status).toBe(201);
    const sub = ((await bought.json()) as { subscription: { id: string } }).subscription.id;
    const inst = (await (await installPlugin(b, { plugin: listing, grants: [] })).json()) as {
      id: string;
    };
    const buyerInbox = await receiver(b);
    const sellerInbox = await receiver(d);
    // The gateway's metering wrote this hour's rollup: 25 calls at 1.00 USD per 10 → 2.50 USD.
    const hour = Math.floor(Date.now() / HOUR_MS) * HOUR_MS;
    const [{ pluginId } = { pluginId: "" }] = await env.DB.prepare(
      "SELECT plugin_id AS pluginId FROM subscriptions WHERE id = ?",
    )
      .bind(sub)
      .all<{ pluginId: string }>()
      .then((r) => r.results);
    await db.insert(usageRollups).values({
      installationId: inst.id,
      orgId: b.orgId,
      pluginId,
      granularity: "hour",
      bucket: hour,
      calls: 25,
    });
    const later = hour + HOUR_MS + SETTLE_MS + 1000;
    const [charged] = (await billUsage(db, processor(), later, env)).filter(
      (o) => o.subscriptionId === sub,
    );
    expect(charged).toMatchObject({ status: "charged", charged: 250 });
    const got = await until(async () => {
      const all = await buyerInbox();
      // (The sign-up itself was a purchase of 0: the charge is the one with an amount.)
      return all.find(
        (e) =>
          e.topic === "purchase.succeeded" &&
          e.payload.purchase?.subscription === sub &&
          (e.payload.purchase.amount ?? 0) > 0,
      );
    }, 10_000);
    expect(got.payload.purchase).toMatchObject({
      kind: "usage",
      amount: 250,
      buyer: b.orgId,
      listing,
    });
    const atSeller = await until(async () => {
      const all = await sellerInbox();
      return all.find((e) => e.payload.purchase?.id === got.payload.purchase!.id);
    }, 10_000);
    expect(atSeller.topic).toBe("purchase.succeeded");
    // Billing the same hours again charges nothing and emits nothing.
    expect(
      (await billUsage(db, processor(), later, env)).filter((o) => o.subscriptionId === sub),
    ).toEqual([]);
    const events = await env.DB.prepare(
      "SELECT COUNT(*) AS n FROM platform_events WHERE topic = 'purchase.succeeded' AND payload LIKE ?",
    )
      .bind(`%${got.payload.purchase!.id}%`)
      .all<{ n: number }>();
    expect(events.results[0]?.n).toBe(1);
  });
});
