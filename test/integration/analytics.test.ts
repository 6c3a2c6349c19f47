import { beforeAll, describe, expect, it } from "vitest";
import { OPERATOR_KEY, call, problem } from "../helpers";
import { installPlugin } from "../plugin-helpers";
import { buy, buyer, newKey, seller, setupPayments, type Seller } from "../revenue-helpers";

type Report = {
  scope: string;
  metrics: {
    totalPlugins: number;
    totalDevelopers: number;
    activeInstalls: number;
    installs: number;
    apiCalls: number;
    revenue: {
      currency: string;
      gross: number;
      refunds: number;
      net: number;
      platformFees: number;
      developerShare: number;
    }[];
    mrr: { currency: string; amount: number }[];
    churn: { rate: number };
  };
  topPlugins: {
    byInstalls: { listing: string; installs: number }[];
    byRevenue: { listing: string }[];
  };
  growthTrends: {
    daily: { period: string; installs: number; revenue: { currency: string; net: number }[] }[];
    monthly: { period: string }[];
  };
  revenueBreakdown: {
    byCategory: { category: string; net: number }[];
    byListing: { listing: string; net: number; currency: string }[];
    byDeveloper: { developer: string; net: number }[];
  };
};

let dev: Seller;
let other: Seller;
beforeAll(async () => {
  await setupPayments();
  dev = await seller("ana");
  other = await seller("oth");
  const b1 = await buyer();
  const b2 = await buyer();
  const sub = (await (await buy(b1, dev.subscription)).json()) as { id: string };
  expect((await buy(b2, dev.oneTime)).status).toBe(201);
  expect((await buy(b2, other.oneTime)).status).toBe(201);
  expect((await installPlugin(b1, { plugin: dev.subscription, grants: [] })).status).toBe(201);
  const r = await call(`/v1/purchases/${sub.id}/refunds`, {
    method: "POST",
    key: dev.account.apiKey,
    json: { amount: 900 },
    headers: { "idempotency-key": newKey() },
  });
  expect(r.status).toBe(201);
});

const today = () => new Date().toISOString().slice(0, 10);

describe("GET /v1/analytics/report", () => {
  it("reports the platform's totals, revenue, top plugins and trends to the operator", async () => {
    const res = await call("/v1/analytics/report", { key: OPERATOR_KEY });
    expect(res.status).toBe(200);
    const r = (await res.json()) as Report;
    expect(r.scope).toBe("platform");
    const usd = r.metrics.revenue.find((m) => m.currency === "USD");
    // 2900 + 1000 + 1000 sold, 900 refunded.
    expect(usd).toMatchObject({
      gross: 4900,
      refunds: 900,
      net: 4000,
      platformFees: 490 - 90,
      developerShare: 4410 - 810,
    });
    expect(r.metrics.totalDevelopers).toBeGreaterThanOrEqual(3);
    expect(r.metrics.mrr.find((m) => m.currency === "USD")?.amount).toBeGreaterThanOrEqual(2900);
    expect(r.topPlugins.byInstalls.find((t) => t.listing === dev.subscription)?.installs).toBe(1);
    const day = r.growthTrends.daily.find((d) => d.period === today());
    expect(day?.installs).toBeGreaterThanOrEqual(2);
    expect(day?.revenue.find((x) => x.currency === "USD")?.net).toBe(4000);
    // 30 days back from now: 29 whole days and the two partial ones at the ends.
    expect(r.growthTrends.daily).toHaveLength(31);
    expect(r.revenueBreakdown.byCategory.find((x) => x.category === "analytics")?.net).toBe(2000);
    expect(
      r.revenueBreakdown.byDeveloper.find((x) => x.developer === other.account.slug)?.net,
    ).toBe(1000);
  });

  it("shows a publisher only its own listings", async () => {
    const r = (await (
      await call("/v1/analytics/report", { key: other.account.apiKey })
    ).json()) as Report;
    expect(r.scope).toBe("publisher");
    expect(r.metrics.revenue).toEqual([
      {
        currency: "USD",
        gross: 1000,
        refunds: 0,
        net: 1000,
        platformFees: 100,
        developerShare: 900,
      },
    ]);
    expect(r.revenueBreakdown.byListing.map((x) => x.listing)).toEqual([other.oneTime]);
  });

  it("returns the same report as CSV", async () => {
    const res = await call(`/v1/analytics/report?from=${today()}`, {
      key: OPERATOR_KEY,
      headers: { accept: "text/csv" },
    });
    expect(res.status).toBe(200);
    expect(res.headers.get("content-type")).toMatch(/^text\/csv/);
    const lines = (await res.text()).trim().split("\r\n");
    expect(lines[0]).toBe("section,dimension,metric,currency,value");
    expect(lines).toContain("revenue,,net,USD,4000");
    expect(lines).toContain(`revenue_by_listing,${dev.subscription},net,USD,2000`);
    expect(lines.every((l) => !l.startsWith("="))).toBe(true);
  });

  it.each([
    ["from after to", "?from=2026-12-01&to=2026-11-01"],
    ["a period over 400 days", "?from=2020-01-01&to=2026-01-01"],
    ["a date that is not a date", "?from=yesterday"],
  ])("refuses %s", async (_what, query) => {
    const res = await call(`/v1/analytics/report${query}`, { key: OPERATOR_KEY });
    expect(res.status).toBe(400);
    await problem(res);
  });
});
