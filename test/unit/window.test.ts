import { describe, expect, it } from "vitest";
import { grant, type WindowState } from "../../src/access/ratelimit/window";

const W = 60_000;
const req = (want: number, extra: Partial<Parameters<typeof grant>[1]> = {}) => ({
  limit: 10,
  windowMs: W,
  want,
  ...extra,
});

describe("fixed-window grants", () => {
  it("grants what is asked while the window has room, then only the rest, then nothing", () => {
    let state: WindowState | null = null;
    const t = 5 * W + 1_000;
    const a = grant(state, req(4), t);
    state = a.state;
    expect([a.granted, a.remaining, a.resetAt]).toEqual([4, 6, 6 * W]);
    const b = grant(state, req(8), t + 10);
    state = b.state;
    expect([b.granted, b.remaining]).toEqual([6, 0]);
    const c = grant(state, req(1), t + 20);
    expect([c.granted, c.remaining]).toEqual([0, 0]);
  });

  it("starts a fresh window at the boundary", () => {
    const full = grant(null, req(10), 7 * W + 59_999).state;
    expect(grant(full, req(1), 7 * W + 59_999).granted).toBe(0);
    const next = grant(full, req(3), 8 * W);
    expect([next.granted, next.remaining, next.windowStart]).toEqual([3, 7, 8 * W]);
  });

  it("takes back unspent tokens of the same window, and ignores those of an old window", () => {
    const t = 3 * W + 5;
    const full = grant(null, req(10), t).state;
    const back = grant(full, req(2, { release: 5, releaseWindow: 3 * W }), t + 1);
    expect([back.granted, back.remaining]).toEqual([2, 3]);
    const stale = grant(full, req(2, { release: 5, releaseWindow: 2 * W }), t + 1);
    expect(stale.granted).toBe(0);
  });

  it("never grants more than the limit, whatever is asked or released", () => {
    let state: WindowState | null = null;
    let total = 0;
    for (let i = 0; i < 1000; i++) {
      const r = grant(
        state,
        req((i % 7) + 1, { release: i % 3 === 0 ? 100 : 0, releaseWindow: -1 }),
        1_000 + i,
      );
      state = r.state;
      total += r.granted;
    }
    expect(total).toBe(10);
  });
});
