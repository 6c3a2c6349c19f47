import { describe, expect, it } from "vitest";
import { displaySkeleton } from "../../src/catalog/listing";

describe("displaySkeleton", () => {
  it.each([
    ["Advanced Analytics", "ADVANCED-ANALYTICS"],
    ["Advanced Analytics", "Advanced  Analyt1cs"],
    ["Advanced Analytics", "Аdvаnced Αnalytics"], // Cyrillic а, Greek Α
    ["Advanced Analytics", "Ádvanced Anályticś"],
    ["Advanced Analytics", "Ａｄｖａｎｃｅｄ Analytics"], // full-width
    ["Modem", "Rnodern"],
  ])("folds %s and %s together", (a, b) => {
    expect(displaySkeleton(b)).toBe(displaySkeleton(a));
  });

  it("keeps different names apart and gives no skeleton to a name without letters", () => {
    expect(displaySkeleton("Advanced Analytics")).not.toBe(displaySkeleton("Advanced Analysis"));
    expect(displaySkeleton("!!! ---")).toBe("");
  });
});
