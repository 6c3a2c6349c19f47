/**
 * The revenue walkthrough of docs/revenue.md against the running platform (npm start's processes and
 * seed): a tenant buys the paid advanced-analytics plugin, the developer's payable grows by the
 * price minus the 10% fee, a refund reverses it, a payout run pays the developer with a
 * statement, and the analytics report shows it. Payments go through the payment-gateway plugin
 * to the Stripe stand-in.
 */
import { randomUUID } from "node:crypto";
import { readFileSync } from "node:fs";
import { describe, expect, inject, it } from "vitest";

const base = inject("baseUrl");
const creds = JSON.parse(readFileSync(inject("credentialsPath"), "utf8")) as {
  apiKey: string;
  operatorKey: string;
  tenant: { apiKey: string };
};
const as = (key: string, extra: Record<string, string> = {}) => ({
  "x-api-key": key,
  "content-type": "application/json",
  ...extra,
});
const money = (key: string) => as(key, { "idempotency-key": randomUUID() });

async function balance(): Promise<{ available: number; paidOut: number }> {
  const body = (await (
    await fetch(`${base}/v1/revenue/balance`, { headers: as(creds.apiKey) })
  ).json()) as { balances: { currency: string; available: number; paidOut: number }[] };
  return body.balances.find((b) => b.currency === "USD") ?? { available: 0, paidOut: 0 };
}

describe("revenue, as docs/revenue.md walks it", () => {
  it("buys, refunds, pays out with a statement, and reports it", async () => {
    const start = await balance();

    const bought = await fetch(`${base}/v1/purchases`, {
      method: "POST",
      headers: money(creds.tenant.apiKey),
      body: JSON.stringify({ listing: "@demo/advanced-analytics" }),
    });
    expect(bought.status).toBe(201);
    const purchase = (await bought.json()) as {
      id: string;
      amount: number;
      fee: number;
      developerShare: number;
    };
    expect(purchase).toMatchObject({ amount: 2900, fee: 290, developerShare: 2610 });
    expect((await balance()).available).toBe(start.available + 2610);

    // The tenant can now install and call it.
    const inst = await fetch(`${base}/v1/installations`, {
      method: "POST",
      headers: as(creds.tenant.apiKey),
      body: JSON.stringify({
        plugin: "@demo/advanced-analytics",
        environment: "production",
        grants: [],
      }),
    });
    expect(inst.status).toBe(201);
    const { endpoint } = (await inst.json()) as { endpoint: string };
    expect(
      (
        await fetch(`${base}${endpoint}/stats`, {
          method: "POST",
          headers: { ...as(creds.tenant.apiKey), "content-type": "application/json" },
          body: JSON.stringify({ values: [3, 1, 2] }),
        })
      ).status,
    ).toBe(200);

    const refunded = await fetch(`${base}/v1/purchases/${purchase.id}/refunds`, {
      method: "POST",
      headers: money(creds.apiKey),
      body: JSON.stringify({ reason: "customer changed their mind" }),
    });
    expect(refunded.status).toBe(201);
    const refund = (await refunded.json()) as { id: string };
    expect((await balance()).available).toBe(start.available);

    const run = await fetch(`${base}/v1/operator/payouts/run`, {
      method: "POST",
      headers: money(creds.operatorKey),
    });
    expect(run.status).toBe(200);
    const report = (await run.json()) as {
      paid: { payoutId: string; amount: number; status: string }[];
    };
    // The seed's own sale (acme bought the plugin) is what remains to pay.
    const payout = report.paid.find((p) => p.amount === start.available);
    expect(payout?.status).toBe("paid");
    const after = await balance();
    expect(after.available).toBe(0);
    expect(after.paidOut).toBe(start.paidOut + start.available);

    const statement = (await (
      await fetch(`${base}/v1/revenue/payouts/${payout?.payoutId}`, { headers: as(creds.apiKey) })
    ).json()) as {
      statement: { kind: string; reference: string; amount: number }[];
      total: number;
    };
    expect(statement.statement.find((l) => l.reference === purchase.id)).toMatchObject({
      kind: "purchase",
      amount: 2610,
    });
    // Other files' sales and refunds of the demo's listings may be on the same statement.
    expect(statement.statement.find((l) => l.reference === refund.id)).toMatchObject({
      kind: "refund",
      amount: -2610,
    });
    expect(statement.total).toBe(0);

    const csv = await (
      await fetch(`${base}/v1/analytics/report`, {
        headers: as(creds.operatorKey, { accept: "text/csv" }),
      })
    ).text();
    // At least this refund (other files may have refunded demo sales too).
    expect(Number(/^revenue,,refunds,USD,(\d+)$/m.exec(csv)?.[1])).toBeGreaterThanOrEqual(2900);
    const json = (await (
      await fetch(`${base}/v1/analytics/report`, { headers: as(creds.operatorKey) })
    ).json()) as {
      metrics: { revenue: { currency: string; gross: number }[] };
      topPlugins: { byRevenue: { listing: string }[] };
    };
    expect(json.metrics.revenue.find((r) => r.currency === "USD")?.gross).toBeGreaterThanOrEqual(
      5800,
    );
    expect(json.topPlugins.byRevenue[0]?.listing).toBe("@demo/advanced-analytics");
  });
});
