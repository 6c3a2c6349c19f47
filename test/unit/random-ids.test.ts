/** Random identifiers: the right length and alphabet, and no character favoured (no modulo bias). */
import { describe, expect, it } from "vitest";
import { newId, randomBase62 } from "../../src/platform/crypto/encoding";

describe("randomBase62", () => {
  it("gives exactly the asked length, in base62 only", () => {
    for (const n of [0, 1, 16, 22, 64, 200]) {
      const s = randomBase62(n);
      expect(s).toHaveLength(n);
      expect(s).toMatch(/^[0-9A-Za-z]*$/);
    }
    expect(newId("usr")).toMatch(/^usr_[0-9A-Za-z]{20}$/);
  });

  it("spreads evenly over the 62 characters", () => {
    const counts = new Map<string, number>();
    const sample = randomBase62(62_000);
    for (const ch of sample) counts.set(ch, (counts.get(ch) ?? 0) + 1);
    expect(counts.size).toBe(62);
    // 1,000 expected each; a biased generator (b % 62 over 0..255) gives 0-3 about 25% more.
    for (const n of counts.values()) expect(Math.abs(n - 1000)).toBeLessThan(160);
  });

  it("does not repeat", () => {
    const seen = new Set(Array.from({ length: 10_000 }, () => randomBase62(16)));
    expect(seen.size).toBe(10_000);
  });
});
