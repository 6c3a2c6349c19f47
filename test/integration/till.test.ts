/**
 * The till: execute, the plugin's routes and events pass the same paid-listing check and the
 * same meter. A refunded plugin stops running everywhere; every call of a usage-priced plugin
 * is counted, whichever way it came in.
 */
import { forgetEntitlements } from "../../src/revenue/entitlements";
import { env, exports } from "cloudflare:workers";
import { beforeAll, describe, expect, it } from "vitest";
import { call, type Account } from "../helpers";
import { deliverEvent } from "../../src/integrations/events";
import type { HostExports } from "../../src/runtime/loader-host";
import {
  examplePackage,
  installPlugin,
  publishZip,
  publisher,
  rawPackage,
  repack,
} from "../plugin-helpers";
import { buy, buyer, newKey, setupPayments } from "../revenue-helpers";

beforeAll(async () => {
  await setupPayments();
});

async function paidListing(
  pricing: Record<string, unknown>,
  zip?: (a: Account) => Uint8Array<ArrayBuffer>,
) {
  const d = await publisher("till");
  const name = `@${d.slug}/paid-${Math.random().toString(36).slice(2, 8)}`;
  const pkg = zip
    ? repack(zip(d), (m) => ({ ...m, name, pricing }))
    : repack(examplePackage("advanced-analytics", d.slug), (m) => ({ ...m, name, pricing }));
  const res = await publishZip(d, pkg);
  expect(res.status).toBe(201);
  return { d, name };
}

const execute = (a: Account, id: string) =>
  call(`/v1/installations/${id}/execute`, {
    method: "POST",
    key: a.apiKey,
    json: { input: { values: [1, 2, 3] } },
  });

async function rollupCalls(installationId: string, expected: number): Promise<number> {
  let calls = 0;
  for (let i = 0; i < 60; i++) {
    const row = await env.DB.prepare(
      "SELECT calls FROM usage_rollups WHERE installation_id = ? AND granularity = 'day'",
    )
      .bind(installationId)
      .first<{ calls: number }>();
    calls = row?.calls ?? 0;
    if (calls >= expected) break;
    await new Promise((r) => setTimeout(r, 100));
  }
  return calls;
}

describe("POST /v1/installations/{id}/execute passes the till", () => {
  it("meters every call of a usage-priced plugin, execute and routes alike", async () => {
    const { name } = await paidListing({ model: "usage", amount: 100, currency: "USD", per: 10 });
    const b = await buyer();
    expect((await buy(b, name)).status).toBe(201);
    const inst = (await (await installPlugin(b, { plugin: name, grants: [] })).json()) as {
      id: string;
      endpoint: string;
    };
    for (let i = 0; i < 4; i++) expect((await execute(b, inst.id)).status).toBe(200);
    for (let i = 0; i < 2; i++)
      expect(
        (
          await call(`${inst.endpoint}/stats`, {
            method: "POST",
            key: b.apiKey,
            json: { values: [i, 2] },
          })
        ).status,
      ).toBe(200);
    expect(await rollupCalls(inst.id, 6)).toBe(6);
  });

  it("refuses execute and routes alike once a one-time purchase is refunded", async () => {
    const { d, name } = await paidListing({ model: "one-time", amount: 1500, currency: "USD" });
    const b = await buyer();
    const bought = (await (await buy(b, name)).json()) as { id: string };
    const inst = (await (await installPlugin(b, { plugin: name, grants: [] })).json()) as {
      id: string;
      endpoint: string;
    };
    expect((await execute(b, inst.id)).status).toBe(200);
    const refund = await call(`/v1/purchases/${bought.id}/refunds`, {
      method: "POST",
      key: d.apiKey,
      json: {},
      headers: { "idempotency-key": newKey() },
    });
    expect(refund.status).toBe(201);
    const refused = await execute(b, inst.id);
    expect(refused.status).toBe(402);
    expect(((await refused.json()) as { type: string }).type).toMatch(/purchase-required$/);
    expect(
      (
        await call(`${inst.endpoint}/stats`, {
          method: "POST",
          key: b.apiKey,
          json: { values: [1] },
        })
      ).status,
    ).toBe(402);
  });

  it("stops delivering events to a paid plugin once its subscription is cancelled and over", async () => {
    const topic = `till.t${Date.now().toString(36)}`;
    const source = `export default { async fetch(req) { return Response.json({ ok: true, path: new URL(req.url).pathname }); } };`;
    const { name } = await paidListing(
      { model: "subscription", amount: 900, currency: "USD", interval: "month" },
      (a) => rawPackage(a.slug, source, { permissions: [`events:${topic}`] }),
    );
    const b = await buyer();
    const sub = ((await (await buy(b, name)).json()) as { subscription: { id: string } })
      .subscription;
    const inst = (await (
      await installPlugin(b, {
        plugin: name,
        grants: [`events:${topic}`],
        environment: "production",
      })
    ).json()) as { id: string };
    const host = () => exports as unknown as HostExports;
    const event = async (n: number) => {
      const id = `evt_till${n}${Date.now()}`;
      await env.DB.prepare(
        "INSERT INTO integration_events (id, org_id, environment, connection_id, topic, payload, created_at) VALUES (?, ?, 'production', NULL, ?, '{}', ?)",
      )
        .bind(id, b.orgId, topic, Date.now())
        .run();
      return deliverEvent(env, host, id, true);
    };
    expect((await event(1)).delivered).toEqual([`ins:${inst.id}`]);
    // The subscription ends (cancelled, its period over): events stop, and are not retried.
    await env.DB.prepare("UPDATE subscriptions SET status = 'ended' WHERE id = ?")
      .bind(sub.id)
      .run();
    forgetEntitlements(env, b.orgId);
    expect(await event(2)).toEqual({ delivered: [], failed: [] });
  });
});
