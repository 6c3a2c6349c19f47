/**
 * Provider deliveries have their own rate-limit classes: per connection for /v1/webhooks/{id},
 * one for the payments webhook — not the anonymous per-IP bucket, which Slack's and Stripe's
 * shared addresses would exhaust for everyone. Signature checks stay first.
 */
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { awayFromWindowEdge, call } from "../helpers";
import { publisher } from "../plugin-helpers";
import { CREDENTIALS, connected } from "../integration-helpers";
import { slackSignature } from "../../src/integrations/signatures";
import { signStripe } from "../../src/revenue/stripe-signature";

async function handshake(
  connectionId: string,
  ip: string,
  secret: string = CREDENTIALS.slack.signingSecret,
): Promise<Response> {
  const raw = JSON.stringify({ type: "url_verification", challenge: `c${Math.random()}` });
  const ts = String(Math.floor(Date.now() / 1000));
  return call(`/v1/webhooks/${connectionId}`, {
    method: "POST",
    body: raw,
    headers: {
      "content-type": "application/json",
      "cf-connecting-ip": ip,
      "x-slack-signature": await slackSignature(secret, ts, raw),
      "x-slack-request-timestamp": ts,
    },
  });
}

async function paymentsEvent(ip: string): Promise<Response> {
  const raw = JSON.stringify({
    id: `evt_limits${Date.now()}${Math.floor(Math.random() * 1e6)}`,
    type: "customer.created",
    data: { object: {} },
  });
  const ts = Math.floor(Date.now() / 1000);
  return call("/v1/payments/webhook", {
    method: "POST",
    body: raw,
    headers: {
      "content-type": "application/json",
      "cf-connecting-ip": ip,
      "stripe-signature": `t=${ts},v1=${await signStripe(env.ATOLL_PAYMENTS_WEBHOOK_SECRET, ts, raw)}`,
    },
  });
}

async function burst(n: number, one: () => Promise<Response>, concurrency = 40): Promise<number[]> {
  const statuses: number[] = [];
  for (let i = 0; i < n; i += concurrency) {
    const batch = await Promise.all(Array.from({ length: Math.min(concurrency, n - i) }, one));
    for (const r of batch) {
      statuses.push(r.status);
      await r.body?.cancel();
    }
  }
  return statuses;
}

describe("provider delivery rate limits", () => {
  it("one tenant's burst of valid webhooks leaves another tenant's webhooks and the payments webhook alone", async () => {
    await awayFromWindowEdge();
    const ip = "198.51.100.20";
    const a = await connected(await publisher("wha"), "slack");
    const b = await connected(await publisher("whb"), "slack");
    const statuses = await burst(130, () => handshake(a.id, ip));
    expect(statuses.filter((s) => s === 200)).toHaveLength(130);
    const other = await handshake(b.id, ip);
    expect(other.status).toBe(200);
    expect(other.headers.get("ratelimit-policy")).toBe('"webhook";q=1200;w=60');
    const pay = await paymentsEvent(ip);
    expect(pay.status).toBe(200);
    expect(pay.headers.get("ratelimit-policy")).toBe('"payments-webhook";q=3000;w=60');
    // Sign-up from that address still has its anonymous budget: deliveries did not spend it.
    const anon = await call("/v1/signup", {
      method: "POST",
      json: {},
      headers: { "cf-connecting-ip": ip },
    });
    expect(anon.status).not.toBe(429);
  }, 30_000);

  it("admits exactly the connection's budget under concurrency, then answers 429 with Retry-After", async () => {
    await awayFromWindowEdge(60_000, 20_000);
    const c = await connected(await publisher("whx"), "slack");
    const statuses = await burst(
      1_210,
      () => handshake(c.id, `203.0.113.${Math.floor(Math.random() * 250)}`),
      60,
    );
    expect(statuses.filter((s) => s === 200)).toHaveLength(1_200);
    expect(statuses.filter((s) => s === 429)).toHaveLength(10);
    const refused = await handshake(c.id, "203.0.113.1");
    expect(refused.status).toBe(429);
    expect(Number(refused.headers.get("retry-after"))).toBeGreaterThan(0);
  }, 90_000);

  it("checks the signature first: forged deliveries are refused and spend nothing of the connection's budget", async () => {
    await awayFromWindowEdge();
    const c = await connected(await publisher("whf"), "slack");
    const forged = await burst(50, () =>
      handshake(c.id, "192.0.2.50", "not-the-signing-secret-at-all"),
    );
    expect(forged.every((s) => s === 401)).toBe(true);
    const ok = await handshake(c.id, "192.0.2.50");
    expect(ok.status).toBe(200);
    expect(ok.headers.get("ratelimit")).toMatch(/^"webhook";r=1199;/);
  }, 30_000);
});
