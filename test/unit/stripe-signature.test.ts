import { describe, expect, it } from "vitest";
import { signStripe, verifyStripe } from "../../src/revenue/stripe-signature";

const SECRET = "whsec_test_secret";
const BODY =
  '{"id":"evt_1","type":"charge.refunded","data":{"object":{"id":"ch_1","amount_refunded":100}}}';
const NOW = 1_764_000_000;

describe("Stripe-Signature", () => {
  it('matches an independently computed HMAC-SHA256 of "<t>.<body>"', async () => {
    // Python: hmac.new(b"whsec_test_secret", b"1764000000." + BODY, hashlib.sha256).hexdigest()
    expect(await signStripe(SECRET, NOW, BODY)).toBe(
      "d897a1a31b69e4ef504cff74c281224962fd3e2e90ce40edbb8a4e7ba1278944",
    );
  });

  it("accepts a valid signature, also among several v1 values (secret rotation)", async () => {
    const sig = await signStripe(SECRET, NOW, BODY);
    expect(await verifyStripe(SECRET, `t=${NOW},v1=${sig}`, BODY, NOW)).toEqual({
      ok: true,
      timestamp: NOW,
    });
    expect(
      (await verifyStripe(SECRET, `t=${NOW},v1=${"0".repeat(64)},v1=${sig}`, BODY, NOW)).ok,
    ).toBe(true);
  });

  it.each([
    ["one changed byte of the body", (b: string) => b.replace("100", "101")],
    ["a re-serialised body", (b: string) => JSON.stringify(JSON.parse(b), null, 1)],
  ])("refuses %s", async (_what, change) => {
    const sig = await signStripe(SECRET, NOW, BODY);
    expect(await verifyStripe(SECRET, `t=${NOW},v1=${sig}`, change(BODY), NOW)).toEqual({
      ok: false,
      reason: "mismatch",
    });
  });

  it.each([
    [299, true],
    [-299, true],
    [301, false],
    [-301, false],
  ])("with the clock %i s off: accepted = %s", async (skew, ok) => {
    const sig = await signStripe(SECRET, NOW, BODY);
    const r = await verifyStripe(SECRET, `t=${NOW},v1=${sig}`, BODY, NOW + skew);
    expect(r.ok).toBe(ok);
    if (!r.ok) expect(r.reason).toBe("outside-window");
  });

  it.each([
    [undefined, "missing"],
    ["", "missing"],
    ["t=abc,v1=zz", "malformed"],
    [`t=${NOW}`, "malformed"],
    [`v1=${"a".repeat(64)}`, "malformed"],
  ])("refuses the header %j (%s)", async (header, reason) => {
    expect(await verifyStripe(SECRET, header, BODY, NOW)).toEqual({ ok: false, reason });
  });
});
