/**
 * Refunds after payouts, as a colluding seller and buyer would try them: earnings are held for
 * the refund window before they can be paid out, a publisher cannot refund beyond what its
 * balance can recover, a negative balance blocks payouts until later earnings recover it, and an
 * operator-forced refund beyond the balance is booked to refund_losses.
 */
import { env } from "cloudflare:workers";
import { beforeAll, describe, expect, it } from "vitest";
import { OPERATOR_KEY, call, problem, type Account } from "../helpers";
import {
  balanceOf,
  buy,
  buyer,
  ledgerInvariants,
  newKey,
  seller,
  setupPayments,
  stripeState,
} from "../revenue-helpers";

type Purchase = { id: string; developerShare: number };

const payoutNow = (a: Account) =>
  call("/v1/revenue/payouts", {
    method: "POST",
    key: a.apiKey,
    json: { currency: "USD" },
    headers: { "idempotency-key": newKey() },
  });
const refundCall = (key: string, purchaseId: string, json: Record<string, unknown> = {}) =>
  call(`/v1/purchases/${purchaseId}/refunds`, {
    method: "POST",
    key,
    json,
    headers: { "idempotency-key": newKey() },
  });
const transfersTo = async (a: Account) =>
  (await stripeState()).transfers.filter(
    (t) => t.destination === `acct_${a.slug.replace(/[^a-z0-9]/g, "")}`,
  );
const setHold = (json: Record<string, unknown>) =>
  call("/v1/operator/payout-holds", { method: "PUT", key: OPERATOR_KEY, json });
const losses = async () =>
  (
    await env.DB.prepare(
      "SELECT COALESCE(SUM(amount), 0) AS s FROM ledger_entries WHERE account_id = 'refund_losses:USD'",
    ).first<{ s: number }>()
  )?.s ?? 0;

beforeAll(async () => {
  await setupPayments();
});

describe("the collusion attack: buy, pay out at once, refund in full", () => {
  it("cannot cash out a sale before its hold ends, and the refund leaves the seller at zero", async () => {
    // The platform's default hold (14 days): the seller keeps it.
    const s = await seller("coll", undefined, null);
    const accomplice = await buyer("acc");
    const bought = (await (await buy(accomplice, s.subscription)).json()) as Purchase;
    expect(await balanceOf(s.account)).toMatchObject({ available: 0, held: 2610 });

    const payout = await payoutNow(s.account);
    expect(payout.status).toBe(422);
    expect((await problem(payout)).type).toMatch(/payout-below-minimum$/);
    const run = (await (
      await call("/v1/operator/payouts/run", {
        method: "POST",
        key: OPERATOR_KEY,
        headers: { "idempotency-key": newKey() },
      })
    ).json()) as { paid: { orgId: string }[] };
    expect(run.paid.some((p) => p.orgId === s.account.orgId)).toBe(false);

    expect((await refundCall(s.account.apiKey, bought.id, { reason: "collusion" })).status).toBe(
      201,
    );
    const after = await balanceOf(s.account);
    expect(after).toMatchObject({ available: 0, held: 0, paidOut: 0 });
    expect(await transfersTo(s.account)).toEqual([]);
    expect(await ledgerInvariants()).toMatchObject({ unbalanced: 0, total: 0 });
  });

  it("after the hold: a publisher cannot refund what it was paid; the operator can, at the platform's loss", async () => {
    const s = await seller("paid", undefined, null);
    expect((await setHold({ listing: s.subscription, hours: 0 })).status).toBe(200);
    const b = await buyer();
    const bought = (await (await buy(b, s.subscription)).json()) as Purchase;
    const payout = await payoutNow(s.account);
    expect(payout.status).toBe(201);
    expect(await payout.json()).toMatchObject({ status: "paid", amount: 2610 });

    const refused = await refundCall(s.account.apiKey, bought.id);
    expect(refused.status).toBe(422);
    const p = await problem(refused);
    expect(p).toMatchObject({ recoverable: 0 });
    expect(p.type).toMatch(/refund-exceeds-balance$/);
    expect(await balanceOf(s.account)).toMatchObject({ available: 0, held: 0, paidOut: 2610 });

    const lossBefore = await losses();
    const forced = await refundCall(OPERATOR_KEY, bought.id, { reason: "chargeback" });
    expect(forced.status).toBe(201);
    expect(await forced.json()).toMatchObject({
      amount: 2900,
      developerShare: 2610,
      purchase: { status: "refunded" },
    });
    // The seller keeps nothing it can be paid again, and is not pushed negative; the platform books the loss.
    expect(await balanceOf(s.account)).toMatchObject({ available: 0, held: 0 });
    expect((await losses()) - lossBefore).toBe(2610);
    expect(await ledgerInvariants()).toMatchObject({ unbalanced: 0, total: 0 });
  });

  it("recovers a refund of a paid-out sale from held earnings, blocks payouts while negative, and pays again once recovered", async () => {
    const s = await seller("neg", undefined, null);
    expect((await setHold({ listing: s.subscription, hours: 0 })).status).toBe(200);
    const first = (await (await buy(await buyer(), s.subscription)).json()) as Purchase;
    expect((await payoutNow(s.account)).status).toBe(201);
    // A one-time sale on the default hold: 9.00 held.
    expect((await buy(await buyer(), s.oneTime)).status).toBe(201);
    expect(await balanceOf(s.account)).toMatchObject({ available: 0, held: 900 });

    // More than the held 9.00 cannot be recovered; 5.00 (4.50 of the share) can.
    const tooMuch = await refundCall(s.account.apiKey, first.id, { amount: 1100 });
    expect(tooMuch.status).toBe(422);
    expect(await problem(tooMuch)).toMatchObject({ recoverable: 900 });
    expect((await refundCall(s.account.apiKey, first.id, { amount: 500 })).status).toBe(201);
    expect(await balanceOf(s.account)).toMatchObject({ available: -450, held: 900 });
    const blocked = await payoutNow(s.account);
    expect(blocked.status).toBe(422);
    expect((await problem(blocked)).detail).toMatch(/negative/);

    // A later sale recovers it: only the difference is paid.
    expect((await buy(await buyer(), s.subscription)).status).toBe(201);
    expect(await balanceOf(s.account)).toMatchObject({ available: 2160, held: 900 });
    const paid = await payoutNow(s.account);
    expect(paid.status).toBe(201);
    expect(await paid.json()).toMatchObject({ status: "paid", amount: 2160 });
    expect(await balanceOf(s.account)).toMatchObject({
      available: 0,
      held: 900,
      paidOut: 2610 + 2160,
    });
  });

  it("lets two refunds racing for one balance take it only once", async () => {
    const s = await seller("race", undefined, null);
    expect((await setHold({ listing: s.subscription, hours: 0 })).status).toBe(200);
    const a = (await (await buy(await buyer(), s.subscription)).json()) as Purchase;
    const b = (await (await buy(await buyer(), s.subscription)).json()) as Purchase;
    expect((await payoutNow(s.account)).status).toBe(201);
    // 9.00 held is all that can be recovered; two refunds of 9.00 of share each race for it.
    expect((await buy(await buyer(), s.oneTime)).status).toBe(201);
    const [r1, r2] = await Promise.all([
      refundCall(s.account.apiKey, a.id, { amount: 1000 }),
      refundCall(s.account.apiKey, b.id, { amount: 1000 }),
    ]);
    expect([r1.status, r2.status].sort()).toEqual([201, 422]);
    expect(await balanceOf(s.account)).toMatchObject({ available: -900, held: 900 });
  });

  it("lets only the operator set holds, within 0 to a year", async () => {
    const s = await seller("hold", undefined, null);
    expect(
      (
        await call("/v1/operator/payout-holds", {
          method: "PUT",
          key: s.account.apiKey,
          json: { listing: s.subscription, hours: 0 },
        })
      ).status,
    ).toBe(403);
    for (const hours of [-1, 1.5, 9000])
      expect((await setHold({ listing: s.subscription, hours })).status).toBe(400);
    expect(
      (await setHold({ listing: s.subscription, organization: s.account.orgId, hours: 1 })).status,
    ).toBe(400);
    expect((await setHold({ listing: "@nobody-here/nothing", hours: 1 })).status).toBe(404);
    expect((await setHold({ organization: s.account.orgId, hours: null })).status).toBe(200);
  });
});
