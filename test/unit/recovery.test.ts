import { describe, expect, it } from "vitest";
import {
  DEFAULT_PAYOUT_HOLD_HOURS,
  availableAt,
  payoutHoldHours,
  refundRecovery,
} from "../../src/revenue/recovery";
import { refundJournal } from "../../src/revenue/ledger";

describe("refund recovery", () => {
  it.each([
    [2610, 2610, false, { ok: true, recovered: 2610, loss: 0 }],
    [2610, 900, false, { ok: false, reason: "exceeds-balance", recoverable: 900 }],
    [2610, -450, false, { ok: false, reason: "exceeds-balance", recoverable: 0 }],
    [2610, 900, true, { ok: true, recovered: 900, loss: 1710 }],
    [2610, -450, true, { ok: true, recovered: 0, loss: 2610 }],
    [0, 0, false, { ok: true, recovered: 0, loss: 0 }],
  ] as const)(
    "a share of %i against %i recoverable (forced: %s)",
    (share, recoverable, forced, expected) => {
      expect(refundRecovery(share, recoverable, forced)).toEqual(expected);
    },
  );

  it("takes the listing's hold, else the publisher's, else 14 days", () => {
    expect(payoutHoldHours(0, 48)).toBe(0);
    expect(payoutHoldHours(null, 48)).toBe(48);
    expect(payoutHoldHours(null, null)).toBe(DEFAULT_PAYOUT_HOLD_HOURS);
    expect(DEFAULT_PAYOUT_HOLD_HOURS).toBe(336);
    expect(availableAt(1_000, 2)).toBe(1_000 + 7_200_000);
  });

  it("books a forced refund's unrecoverable share to refund_losses and still balances", () => {
    const j = refundJournal(
      {
        id: "re_1",
        currency: "USD",
        amount: 2900,
        fee: 290,
        share: 2610,
        loss: 1710,
        developerOrgId: "org_a",
      },
      "x",
    );
    expect(j.entries).toEqual([
      { account: "buyer_clearing:USD", amount: -2900 },
      { account: "refunds:USD", amount: 290 },
      { account: "developer_payable:org_a:USD", amount: 900 },
      { account: "refund_losses:USD", amount: 1710 },
    ]);
    expect(() =>
      refundJournal(
        {
          id: "re_2",
          currency: "USD",
          amount: 2900,
          fee: 290,
          share: 2610,
          loss: 2611,
          developerOrgId: "org_a",
        },
        "x",
      ),
    ).toThrow(/loss/);
  });
});
