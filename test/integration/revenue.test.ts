import { env } from "cloudflare:workers";
import { beforeAll, describe, expect, it } from "vitest";
import { OPERATOR_KEY, call, problem, type Account } from "../helpers";
import { installPlugin } from "../plugin-helpers";
import { signStripe } from "../../src/revenue/stripe-signature";
import {
  balanceOf,
  buy,
  buyer,
  ledgerInvariants,
  newKey,
  seller,
  setupPayments,
  stripeFaults,
  stripeState,
  type Seller,
} from "../revenue-helpers";

type Purchase = {
  id: string;
  amount: number;
  currency: string;
  fee: number;
  developerShare: number;
  status: string;
  refunded: number;
  subscription: { id: string; status: string } | null;
};

let dev: Seller;

beforeAll(async () => {
  await setupPayments();
  dev = await seller();
});

describe("POST /v1/purchases", () => {
  it("refuses a paid install before the purchase, then sells a subscription with a 10% fee", async () => {
    const b = await buyer();
    const before = await balanceOf(dev.account);
    const refused = await installPlugin(b, { plugin: dev.subscription, grants: [] });
    expect(refused.status).toBe(402);
    expect((await problem(refused)).type).toMatch(/purchase-required$/);

    const res = await buy(b, dev.subscription);
    expect(res.status).toBe(201);
    const p = (await res.json()) as Purchase;
    expect(p).toMatchObject({
      amount: 2900,
      currency: "USD",
      fee: 290,
      developerShare: 2610,
      status: "succeeded",
    });
    expect(p.subscription?.status).toBe("active");
    expect((await balanceOf(dev.account)).available - before.available).toBe(2610);

    const inst = await installPlugin(b, { plugin: dev.subscription, grants: [] });
    expect(inst.status).toBe(201);
    const { endpoint } = (await inst.json()) as { endpoint: string };
    const stats = await call(`${endpoint}/stats`, {
      method: "POST",
      key: b.apiKey,
      json: { values: [1, 2, 3] },
    });
    expect(stats.status).toBe(200);
  });

  it("sells a one-time listing once", async () => {
    const b = await buyer();
    expect((await buy(b, dev.oneTime)).status).toBe(201);
    const again = await buy(b, dev.oneTime);
    expect(again.status).toBe(409);
    expect((await problem(again)).type).toMatch(/already-purchased$/);
    expect((await installPlugin(b, { plugin: dev.oneTime, grants: ["storage"] })).status).toBe(201);
  });

  it.each([
    ["no Idempotency-Key", null, {}, 400, "idempotency-key-required"],
    ["an unknown listing", "k", { listing: "@nobody-here/nothing" }, 404, "not-found"],
    ["a malformed listing name", "k", { listing: "advanced analytics" }, 400, "validation-failed"],
    ["an unknown field", "k", { extra: 1 }, 400, "validation-failed"],
    [
      "a malformed payment method",
      "k",
      { paymentMethod: "4242 4242 4242 4242" },
      400,
      "validation-failed",
    ],
  ] as const)("refuses %s", async (_what, key, extra, status, type) => {
    const b = await buyer();
    const res = await call("/v1/purchases", {
      method: "POST",
      key: b.apiKey,
      json: { listing: dev.subscription, ...extra },
      headers: key ? { "idempotency-key": newKey() } : {},
    });
    expect(res.status).toBe(status);
    expect((await problem(res)).type).toMatch(new RegExp(`${type}$`));
  });

  it("refuses free listings and a publisher's own listing (no self-purchase)", async () => {
    const b = await buyer();
    const free = await buy(b, dev.free);
    expect(free.status).toBe(400);
    expect((await problem(free)).type).toMatch(/listing-free$/);
    const own = await buy(dev.account, dev.subscription);
    expect(own.status).toBe(403);
    expect((await problem(own)).type).toMatch(/self-purchase$/);
  });

  it("answers a declined card with 402 and replays that answer for the same key", async () => {
    const b = await buyer("declined", "tok_chargeDeclined");
    const key = newKey();
    const first = await buy(b, dev.oneTime, key);
    expect(first.status).toBe(402);
    expect((await problem(first)).type).toMatch(/payment-declined$/);
    const again = await buy(b, dev.oneTime, key);
    expect(again.status).toBe(402);
    expect(again.headers.get("idempotent-replayed")).toBe("true");
    const rows = await env.DB.prepare("SELECT COUNT(*) AS n FROM purchases WHERE buyer_org_id = ?")
      .bind(b.orgId)
      .first<{ n: number }>();
    expect(rows?.n).toBe(0);
  });
});

describe("idempotency", () => {
  it("replays the same key and body, refuses the same key with another body (422)", async () => {
    const b = await buyer();
    const key = newKey();
    const first = await buy(b, dev.oneTime, key);
    expect(first.status).toBe(201);
    const body = await first.text();
    const replay = await buy(b, dev.oneTime, key);
    expect(replay.status).toBe(201);
    expect(replay.headers.get("idempotent-replayed")).toBe("true");
    expect(await replay.text()).toBe(body);
    const other = await buy(b, dev.subscription, key);
    expect(other.status).toBe(422);
    expect((await problem(other)).type).toMatch(/idempotency-key-reused$/);
  });

  it("charges once when the same key is sent 20 times at once", async () => {
    const b = await buyer();
    const key = newKey();
    const responses = await Promise.all(Array.from({ length: 20 }, () => buy(b, dev.oneTime, key)));
    const statuses = responses.map((r) => r.status);
    expect(statuses.filter((s) => s === 201).length).toBeGreaterThanOrEqual(1);
    expect(statuses.every((s) => s === 201 || s === 409)).toBe(true);
    const charges = (await stripeState()).charges.filter((c) => c.metadata.atoll_buyer === b.orgId);
    expect(charges).toHaveLength(1);
    const rows = await env.DB.prepare("SELECT COUNT(*) AS n FROM purchases WHERE buyer_org_id = ?")
      .bind(b.orgId)
      .first<{ n: number }>();
    expect(rows?.n).toBe(1);
  });

  it("reconciles a charge whose response was lost: the retry records it, nothing is charged twice", async () => {
    const b = await buyer();
    const key = newKey();
    await stripeFaults({ lose: 1 });
    const lost = await buy(b, dev.oneTime, key);
    expect(lost.status).toBe(503);
    expect((await problem(lost)).type).toMatch(/payments-unavailable$/);
    expect(
      (await stripeState()).charges.filter((c) => c.metadata.atoll_buyer === b.orgId),
    ).toHaveLength(1);
    const rowsBefore = await env.DB.prepare(
      "SELECT COUNT(*) AS n FROM purchases WHERE buyer_org_id = ?",
    )
      .bind(b.orgId)
      .first<{ n: number }>();
    expect(rowsBefore?.n).toBe(0);

    const retry = await buy(b, dev.oneTime, key);
    expect(retry.status).toBe(201);
    expect(
      (await stripeState()).charges.filter((c) => c.metadata.atoll_buyer === b.orgId),
    ).toHaveLength(1);
  });
});

describe("refunds", () => {
  async function sold(): Promise<{ b: Account; p: Purchase }> {
    const b = await buyer();
    const res = await buy(b, dev.subscription);
    return { b, p: (await res.json()) as Purchase };
  }
  const refundCall = (
    who: Account | string,
    id: string,
    json: Record<string, unknown>,
    key: string | null = newKey(),
  ) =>
    call(`/v1/purchases/${id}/refunds`, {
      method: "POST",
      key: typeof who === "string" ? who : who.apiKey,
      json,
      headers: key ? { "idempotency-key": key } : {},
    });

  it("reverses a partial and then the rest, fee included, and ends the access", async () => {
    const { b, p } = await sold();
    const before = await balanceOf(dev.account);
    const part = await refundCall(dev.account, p.id, { amount: 1000, reason: "partial" });
    expect(part.status).toBe(201);
    expect(await part.json()).toMatchObject({
      amount: 1000,
      fee: 100,
      developerShare: 900,
      purchase: { status: "partially_refunded", refunded: 1000 },
    });
    expect((await balanceOf(dev.account)).available).toBe(before.available - 900);

    const tooMuch = await refundCall(dev.account, p.id, { amount: 1901 });
    expect(tooMuch.status).toBe(422);
    expect(await problem(tooMuch)).toMatchObject({ refundable: 1900 });

    const rest = await refundCall(dev.account, p.id, {});
    expect(rest.status).toBe(201);
    expect(await rest.json()).toMatchObject({
      amount: 1900,
      fee: 190,
      developerShare: 1710,
      purchase: { status: "refunded" },
    });
    expect((await balanceOf(dev.account)).available).toBe(before.available - 2610);

    const none = await refundCall(dev.account, p.id, {});
    expect(none.status).toBe(409);
    expect((await installPlugin(b, { plugin: dev.subscription, grants: [] })).status).toBe(402);
    const charge = (await stripeState()).charges.find((c) => c.metadata.atoll_buyer === b.orgId);
    expect(charge?.amount_refunded).toBe(2900);
  });

  it.each([
    [{ amount: -5 }, 400],
    [{ amount: 10.5 }, 400],
    [{ amount: 0 }, 400],
    [{ amount: "100" }, 400],
  ])("refuses %j", async (json, status) => {
    const { p } = await sold();
    const res = await refundCall(dev.account, p.id, json);
    expect(res.status).toBe(status);
    await problem(res);
  });

  it("is the publisher's or the operator's to give, not the buyer's, and needs a key", async () => {
    const { b, p } = await sold();
    expect((await refundCall(b, p.id, {})).status).toBe(403);
    const noKey = await refundCall(dev.account, p.id, {}, null);
    expect(noKey.status).toBe(400);
    expect((await problem(noKey)).type).toMatch(/idempotency-key-required$/);
    const stranger = await buyer();
    expect((await refundCall(stranger, p.id, {})).status).toBe(404);
    expect((await refundCall(OPERATOR_KEY, p.id, { amount: 100 })).status).toBe(201);
  });
});

describe("payouts", () => {
  it("refuses a payout below the minimum, then pays the balance with a statement", async () => {
    const d = await seller("payee");
    const small = await buyer();
    // 10.00 USD one-time: developer share 9.00 < 10.00 minimum.
    expect((await buy(small, d.oneTime)).status).toBe(201);
    const below = await call("/v1/revenue/payouts", {
      method: "POST",
      key: d.account.apiKey,
      json: { currency: "USD" },
      headers: { "idempotency-key": newKey() },
    });
    expect(below.status).toBe(422);
    expect((await problem(below)).type).toMatch(/payout-below-minimum$/);

    const big = await buyer();
    expect((await buy(big, d.subscription)).status).toBe(201);
    expect((await balanceOf(d.account)).available).toBe(900 + 2610);
    const run = await call("/v1/operator/payouts/run", {
      method: "POST",
      key: OPERATOR_KEY,
      headers: { "idempotency-key": newKey() },
    });
    expect(run.status).toBe(200);
    const report = (await run.json()) as {
      paid: { orgId: string; amount: number; payoutId: string; status: string }[];
    };
    const mine = report.paid.find((x) => x.orgId === d.account.orgId);
    expect(mine).toMatchObject({ amount: 3510, status: "paid" });

    const after = await balanceOf(d.account);
    expect(after).toMatchObject({ available: 0, paidOut: 3510, inTransit: 0 });
    const stmt = await call(`/v1/revenue/payouts/${mine?.payoutId}`, { key: d.account.apiKey });
    const body = (await stmt.json()) as {
      status: string;
      statement: { kind: string; amount: number }[];
      total: number;
    };
    expect(body.status).toBe("paid");
    expect(
      body.statement
        .filter((l) => l.kind !== "payout")
        .map((l) => l.amount)
        .sort(),
    ).toEqual([2610, 900].sort());
    expect(body.statement.find((l) => l.kind === "payout")?.amount).toBe(-3510);
    expect(body.total).toBe(0);
    expect((await stripeState()).transfers.some((t) => t.amount === 3510)).toBe(true);
  });

  it("returns a failed payout to the payable balance", async () => {
    const d = await seller("badacct");
    await call("/v1/revenue/payout-account", {
      method: "PUT",
      key: d.account.apiKey,
      json: { account: "acct_invalid0001" },
    });
    expect((await buy(await buyer(), d.subscription)).status).toBe(201);
    const res = await call("/v1/revenue/payouts", {
      method: "POST",
      key: d.account.apiKey,
      json: { currency: "USD" },
      headers: { "idempotency-key": newKey() },
    });
    expect(res.status).toBe(201);
    expect(await res.json()).toMatchObject({ status: "failed", amount: 2610 });
    expect(await balanceOf(d.account)).toMatchObject({ available: 2610, inTransit: 0, paidOut: 0 });
  });
});

describe("operator fees", () => {
  it("applies a listing's own fee to new sales and refuses fees outside 0..10000", async () => {
    const d = await seller("feed");
    expect(
      (
        await call("/v1/operator/fees", {
          method: "PUT",
          key: OPERATOR_KEY,
          json: { listing: d.oneTime, feeBps: 2500 },
        })
      ).status,
    ).toBe(200);
    const p = (await (await buy(await buyer(), d.oneTime)).json()) as Purchase;
    expect(p).toMatchObject({ fee: 250, developerShare: 750 });
    for (const feeBps of [-1, 10001, 12.5]) {
      expect(
        (
          await call("/v1/operator/fees", {
            method: "PUT",
            key: OPERATOR_KEY,
            json: { listing: d.oneTime, feeBps },
          })
        ).status,
      ).toBe(400);
    }
    expect(
      (
        await call("/v1/operator/fees", {
          method: "PUT",
          key: d.account.apiKey,
          json: { listing: d.oneTime, feeBps: 0 },
        })
      ).status,
    ).toBe(403);
  });
});

describe("the ledger", () => {
  it("balances every transaction and sums to zero", async () => {
    const inv = await ledgerInvariants();
    expect(inv.transactions).toBeGreaterThan(5);
    expect(inv.unbalanced).toBe(0);
    expect(inv.total).toBe(0);
  });

  it("refuses UPDATE and DELETE of entries and transactions, and an unbalanced transaction", async () => {
    await expect(
      env.DB.prepare("UPDATE ledger_entries SET amount = amount + 1").run(),
    ).rejects.toThrow(/append-only/);
    await expect(env.DB.prepare("DELETE FROM ledger_entries").run()).rejects.toThrow(/append-only/);
    await expect(env.DB.prepare("DELETE FROM ledger_transactions").run()).rejects.toThrow(
      /append-only/,
    );
    await expect(
      env.DB.batch([
        env.DB.prepare(
          "INSERT INTO ledger_entries (txn_id, account_id, amount, currency, created_at) VALUES ('txn_bad', 'buyer_clearing:USD', 100, 'USD', 0)",
        ),
        env.DB.prepare(
          "INSERT INTO ledger_entries (txn_id, account_id, amount, currency, created_at) VALUES ('txn_bad', 'platform_revenue:USD', -99, 'USD', 0)",
        ),
        env.DB.prepare(
          "INSERT INTO ledger_transactions (id, kind, currency, reference, memo, created_at) VALUES ('txn_bad', 'purchase', 'USD', 'x', 'x', 0)",
        ),
      ]),
    ).rejects.toThrow(/unbalanced/);
    const left = await env.DB.prepare(
      "SELECT COUNT(*) AS n FROM ledger_entries WHERE txn_id = 'txn_bad'",
    ).first<{ n: number }>();
    expect(left?.n).toBe(0);
  });
});

describe("POST /v1/payments/webhook", () => {
  const SECRET = "whsec_test_only_secret";
  let n = 0;
  async function deliver(
    event: Record<string, unknown>,
    opts: { secret?: string; skew?: number; tamper?: boolean } = {},
  ): Promise<Response> {
    const body = JSON.stringify(event);
    const t = Math.floor(Date.now() / 1000) + (opts.skew ?? 0);
    const sig = await signStripe(opts.secret ?? SECRET, t, body);
    return call("/v1/payments/webhook", {
      method: "POST",
      body: opts.tamper ? body.replace("charge", "chargf") : body,
      headers: { "content-type": "application/json", "stripe-signature": `t=${t},v1=${sig}` },
    });
  }
  const refunded = (charge: string, amount: number) => ({
    id: `evt_test${Date.now()}${++n}`,
    type: "charge.refunded",
    data: {
      object: {
        id: charge,
        object: "charge",
        amount_refunded: amount,
        refunds: { data: [{ id: `re_ext${n}` }] },
      },
    },
  });

  it("records a refund made at the provider once, whatever the order or repetition of events", async () => {
    const b = await buyer();
    const p = (await (await buy(b, dev.subscription)).json()) as Purchase;
    const chargeId =
      (
        await env.DB.prepare("SELECT provider_charge_id AS c FROM purchases WHERE id = ?")
          .bind(p.id)
          .first<{ c: string }>()
      )?.c ?? "";
    const before = await balanceOf(dev.account);

    const first = refunded(chargeId, 1000);
    expect(await (await deliver(first)).json()).toMatchObject({ applied: true });
    expect(await (await deliver(first)).json()).toMatchObject({ duplicate: true });
    // An older event (less refunded) arriving late changes nothing; a newer one adds the difference.
    expect(await (await deliver(refunded(chargeId, 500))).json()).toMatchObject({ applied: false });
    expect(await (await deliver(refunded(chargeId, 2900))).json()).toMatchObject({ applied: true });
    expect(await (await deliver(refunded(chargeId, 1000))).json()).toMatchObject({
      applied: false,
    });

    const row = await env.DB.prepare(
      "SELECT refunded_amount AS r, status FROM purchases WHERE id = ?",
    )
      .bind(p.id)
      .first<{ r: number; status: string }>();
    expect(row).toEqual({ r: 2900, status: "refunded" });
    expect((await balanceOf(dev.account)).available).toBe(before.available - 2610);
    expect(await ledgerInvariants()).toMatchObject({ unbalanced: 0, total: 0 });
    // Each refund recorded its purchase.refunded, once, queued; the last ended the subscription.
    const events = await env.DB.prepare(
      "SELECT topic, payload, dispatched_at AS d FROM platform_events WHERE payload LIKE ? ORDER BY created_at",
    )
      .bind(`%${p.id}%`)
      .all<{ topic: string; payload: string; d: number | null }>();
    const refundsSeen = events.results.filter((e) => e.topic === "purchase.refunded");
    expect(
      refundsSeen.map(
        (e) => (JSON.parse(e.payload) as { refund: { amount: number } }).refund.amount,
      ),
    ).toEqual([1000, 1900]);
    expect(refundsSeen.every((e) => e.d !== null)).toBe(true);
    const canceled = await env.DB.prepare(
      "SELECT COUNT(*) AS n FROM platform_events WHERE topic = 'subscription.canceled' AND payload LIKE ?",
    )
      .bind(`%${p.subscription?.id ?? "none"}%`)
      .first<{ n: number }>();
    expect(canceled?.n).toBe(1);
  });

  it.each([
    ["a wrong secret", { secret: "whsec_wrong" }],
    ["a tampered body", { tamper: true }],
    ["a timestamp 301 s old", { skew: -301 }],
    ["a timestamp 301 s ahead", { skew: 301 }],
  ])("refuses %s with 400 and applies nothing", async (_what, opts) => {
    const res = await deliver(refunded("ch_nothing", 100), opts);
    expect(res.status).toBe(400);
    expect((await problem(res)).type).toMatch(/signature-invalid$/);
  });

  it("refuses a signed body that is not an event", async () => {
    const res = await deliver({ hello: "world" });
    expect(res.status).toBe(400);
  });
});
