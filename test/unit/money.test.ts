import { describe, expect, it } from "vitest";
import { exponent, format, isCurrency, minimumCharge } from "../../src/contract/currency";
import { DEFAULT_FEE_BPS, splitRefund, splitSale, usageOwed } from "../../src/revenue/money";
import { assertBalanced, refundJournal, saleJournal } from "../../src/revenue/ledger";

describe("currencies", () => {
  it.each([
    ["JPY", 0],
    ["USD", 2],
    ["EUR", 2],
    ["KWD", 3],
    ["BHD", 3],
    ["CLF", 4],
  ])("%s has %i decimals", (code, e) => {
    expect(exponent(code)).toBe(e);
  });

  it("refuses codes that are not ISO 4217", () => {
    expect(isCurrency("XYZ")).toBe(false);
    expect(isCurrency("usd")).toBe(false);
    expect(() => exponent("ABC")).toThrow(/unknown currency/);
  });

  it("formats minor units without ever multiplying JPY by 100", () => {
    expect(format(2900, "USD")).toBe("29.00 USD");
    expect(format(500, "JPY")).toBe("500 JPY");
    expect(format(1250, "KWD")).toBe("1.250 KWD");
    expect(format(-7, "USD")).toBe("-0.07 USD");
  });

  it("knows the provider's smallest charge per currency", () => {
    expect(minimumCharge("USD")).toBe(50);
    expect(minimumCharge("JPY")).toBe(50);
    expect(minimumCharge("KWD")).toBe(500);
  });
});

describe("revenue split", () => {
  it("takes 10% by default (the sketch's revenue_share 0.1)", () => {
    expect(splitSale(2900, DEFAULT_FEE_BPS)).toEqual({ fee: 290, share: 2610 });
  });

  describe.each(["JPY", "USD", "KWD"])("in %s", (currency) => {
    it.each([1, 3, 7])("a sale of %i minor units conserves the total at every fee", (amount) => {
      for (const bps of [0, 1, 250, 333, 1000, 1500, 3333, 5000, 6667, 9999, 10000]) {
        const s = splitSale(amount, bps);
        expect(s.fee + s.share).toBe(amount);
        expect(s.fee).toBeGreaterThanOrEqual(0);
        expect(s.share).toBeGreaterThanOrEqual(0);
        expect(Number.isInteger(s.fee)).toBe(true);
        // The journal of that sale balances to the minor unit.
        const j = saleJournal(
          "purchase",
          { id: "pur_x", currency, amount, fee: s.fee, share: s.share, developerOrgId: "org_dev" },
          "t",
        );
        expect(j.entries.reduce((sum, e) => sum + e.amount, 0)).toBe(0);
      }
    });
  });

  it("rounds half up, deterministically", () => {
    expect(splitSale(5, 1000).fee).toBe(1); // 0.5 → 1
    expect(splitSale(4, 1000).fee).toBe(0); // 0.4 → 0
    expect(splitSale(15, 1000).fee).toBe(2); // 1.5 → 2
  });

  it("refuses amounts that are not non-negative integers and fees outside 0..10000", () => {
    expect(() => splitSale(-1, 1000)).toThrow();
    expect(() => splitSale(1.5, 1000)).toThrow();
    expect(() => splitSale(100, 10001)).toThrow();
    expect(() => splitSale(100, 10.5)).toThrow();
  });
});

describe("refund split", () => {
  it("partial refunds add up to exactly the fee and share of a full refund", () => {
    for (const [amount, bps] of [
      [2900, 1000],
      [7, 3333],
      [1, 1000],
      [999, 1234],
      [50, 5000],
    ] as const) {
      const sale = { amount, ...splitSale(amount, bps) };
      let before = { amount: 0, fee: 0 };
      let share = 0;
      // Refund in uneven chunks until nothing is left.
      let left = amount;
      let step = 1;
      while (left > 0) {
        const r = Math.min(left, step);
        const s = splitRefund(sale, before, r);
        expect(s.fee + s.share).toBe(r);
        expect(s.fee).toBeGreaterThanOrEqual(0);
        before = { amount: before.amount + r, fee: before.fee + s.fee };
        share += s.share;
        left -= r;
        step = step * 2 + 1;
      }
      expect(before.fee).toBe(sale.fee);
      expect(share).toBe(sale.share);
    }
  });

  it("refuses a refund larger than what is left", () => {
    expect(() => splitRefund({ amount: 100, fee: 10 }, { amount: 60, fee: 6 }, 41)).toThrow(
      /exceed/,
    );
  });

  it("builds a balanced reversal", () => {
    const j = refundJournal(
      { id: "re_1", currency: "USD", amount: 1000, fee: 100, share: 900, developerOrgId: "org_d" },
      "r",
    );
    expect(j.entries.reduce((s, e) => s + e.amount, 0)).toBe(0);
  });
});

describe("ledger rules", () => {
  it("refuses an unbalanced or mixed-currency journal", () => {
    expect(() =>
      assertBalanced({
        kind: "purchase",
        currency: "USD",
        reference: "x",
        memo: "",
        entries: [
          { account: "buyer_clearing:USD", amount: 10 },
          { account: "platform_revenue:USD", amount: -9 },
        ],
      }),
    ).toThrow(/balance/);
    expect(() =>
      assertBalanced({
        kind: "purchase",
        currency: "USD",
        reference: "x",
        memo: "",
        entries: [
          { account: "buyer_clearing:USD", amount: 10 },
          { account: "platform_revenue:EUR", amount: -10 },
        ],
      }),
    ).toThrow(/currenc/);
    expect(() =>
      assertBalanced({
        kind: "purchase",
        currency: "USD",
        reference: "x",
        memo: "",
        entries: [{ account: "buyer_clearing:USD", amount: 0 }],
      }),
    ).toThrow(/two entries/);
  });
});

describe("usage pricing", () => {
  it("bills cumulatively so fractions are never lost or doubled", () => {
    // 100 (= 1.00 USD) per 1000 calls: 1 call costs 0.1 minor units.
    let billed = 0;
    let calls = 0;
    for (let hour = 0; hour < 100; hour++) {
      calls += 7;
      const owed = usageOwed(calls, 100, 1000);
      expect(owed).toBeGreaterThanOrEqual(billed);
      billed = owed;
    }
    expect(billed).toBe(Math.floor((700 * 100) / 1000));
    expect(usageOwed(2 ** 40, 1_000_000, 3)).toBe(Number((2n ** 40n * 1_000_000n) / 3n));
  });
});
