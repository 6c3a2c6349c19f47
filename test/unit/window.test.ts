import { describe, expect, it } from "vitest";
import {
  MAX_RECORDS,
  grant,
  readState,
  type GrantRequest,
  type WindowState,
} from "../../src/access/ratelimit/window";

const W = 60_000;
const req = (want: number, extra: Partial<GrantRequest> = {}): GrantRequest => ({
  limit: 10,
  windowMs: W,
  want,
  leaseMs: 1_000,
  ...extra,
});

/** Spends every granted token at the latest instant its lease allows (the adversary's best). */
function admittedIn(spends: number[], from: number, to: number): number {
  return spends.filter((t) => t >= from && t < to).length;
}

describe("sliding-window grants", () => {
  it("grants what is asked while there is room, then only the rest, then nothing", () => {
    const t = 5 * W + 1_000;
    const a = grant(null, req(4), t);
    expect([a.granted, a.remaining, a.resetAt]).toEqual([4, 6, t + 1_000 + W]);
    const b = grant(a.state, req(8), t + 10);
    expect([b.granted, b.remaining]).toEqual([6, 0]);
    const c = grant(b.state, req(1), t + 20);
    expect([c.granted, c.remaining]).toEqual([0, 0]);
    // Quota returns when the first lease's last possible spend is a window old.
    expect(c.resetAt).toBe(t + 1_000 + W);
    expect(grant(b.state, req(1), t + 1_000 + W - 1).granted).toBe(0);
    expect(grant(b.state, req(10), t + 1_000 + W).granted).toBe(4);
  });

  it("admits no burst across an aligned window boundary (the fixed-window hole)", () => {
    // The whole quota at the very end of one minute...
    const full = grant(null, req(10, { leaseMs: 0 }), 8 * W - 1);
    expect(full.granted).toBe(10);
    // ...and nothing at the start of the next: the minute since has already seen 10.
    expect(grant(full.state, req(10), 8 * W).granted).toBe(0);
    expect(grant(full.state, req(10), 8 * W + W / 2).granted).toBe(0);
    expect(grant(full.state, req(10), 9 * W - 2).granted).toBe(0);
    expect(grant(full.state, req(10), 9 * W - 1).granted).toBe(10);
  });

  it("takes back the unspent tokens of a handed-back lease, once, and ends it", () => {
    const t = 3 * W + 5;
    const first = grant(null, req(10), t);
    const back = grant(
      first.state,
      req(2, { release: { id: first.leaseId, unspent: 5 } }),
      t + 100,
    );
    expect([back.granted, back.remaining]).toEqual([2, 3]);
    // The handed-back lease now ends at t + 100, not t + 1,000.
    expect(back.state.records.find((r) => r.end === t + 100)).toMatchObject({ count: 5 });
    expect(back.state.records.map((r) => r.id)).not.toContain(first.leaseId);
    // Handing the same lease back again, or an unknown one, gives nothing more.
    const again = grant(
      back.state,
      req(10, { release: { id: first.leaseId, unspent: 5 } }),
      t + 200,
    );
    expect(again.granted).toBe(3);
    const unknown = grant(first.state, req(2, { release: { id: 999, unspent: 10 } }), t + 1);
    expect(unknown.granted).toBe(0);
  });

  it("never admits more than the limit in any window, whatever is asked, released or merged", () => {
    // A seeded random adversary: many isolates, random wants, releases of real and forged ids,
    // leases spent at their last possible instant; checked over every window position.
    let seed = 7;
    const rnd = () => (seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31;
    const limit = 50;
    const windowMs = 10_000;
    let state: WindowState | null = null;
    const spends: number[] = [];
    const held = new Map<number, { count: number; end: number; spent: number }>();
    let now = 1_000_000;
    for (let i = 0; i < 5_000; i++) {
      now += Math.floor(rnd() * 400);
      // Spend held leases: some tokens, each at the latest moment not after now and its end.
      for (const [id, h] of held) {
        const k = Math.floor(rnd() * (h.count - h.spent + 1));
        for (let j = 0; j < k; j++) spends.push(Math.min(now, h.end));
        h.spent += k;
        if (now >= h.end) held.delete(id);
      }
      const ids = [...held.keys()];
      const pick = ids.length && rnd() < 0.5 ? ids[Math.floor(rnd() * ids.length)] : undefined;
      let release: GrantRequest["release"] = null;
      if (pick !== undefined) {
        const h = held.get(pick)!;
        release = { id: pick, unspent: h.count - h.spent };
        held.delete(pick);
      } else if (rnd() < 0.1) {
        release = { id: 1_000_000_000 + Math.floor(rnd() * 10_000), unspent: 100 };
      }
      const r = grant(
        state,
        { limit, windowMs, want: 1 + Math.floor(rnd() * 12), leaseMs: 1_000, release },
        now,
      );
      state = r.state;
      expect(state.records.length).toBeLessThanOrEqual(MAX_RECORDS);
      if (r.granted > 0) held.set(r.leaseId, { count: r.granted, end: now + 1_000, spent: 0 });
    }
    spends.sort((a, b) => a - b);
    let worst = 0;
    for (const s of spends) worst = Math.max(worst, admittedIn(spends, s, s + windowMs));
    expect(worst).toBeLessThanOrEqual(limit);
    // And the quota is actually used, not starved by over-counting.
    expect(spends.length).toBeGreaterThan(((now - 1_000_000) / windowMs) * limit * 0.5);
  });

  it("keeps at most MAX_RECORDS records, merging under a fresh id nobody holds", () => {
    let state: WindowState | null = null;
    const ids: number[] = [];
    for (let i = 0; i < MAX_RECORDS + 10; i++) {
      const r = grant(state, req(1, { limit: 1_000 }), 1_000 + i);
      state = r.state;
      ids.push(r.leaseId);
    }
    expect(state!.records).toHaveLength(MAX_RECORDS);
    expect(state!.records.reduce((n, r) => n + r.count, 0)).toBe(MAX_RECORDS + 10);
    // Handing back a lease that was merged cannot end the other leases in its record.
    const merged = state!.records[0]!;
    expect(ids).not.toContain(merged.id);
    const back = grant(
      state,
      req(0, { limit: 1_000, release: { id: ids[0]!, unspent: 1 } }),
      1_200,
    );
    expect(back.state.records.reduce((n, r) => n + r.count, 0)).toBe(MAX_RECORDS + 10);
  });

  it("reads stored state strictly: legacy counters keep counting, anything else fails closed", () => {
    expect(readState(undefined, 10, W, 0)).toEqual({ seq: 0, records: [] });
    const legacy = readState({ windowStart: 2 * W, granted: 7 }, 10, W, 2 * W + 5);
    expect(grant(legacy, req(10), 2 * W + 10).granted).toBe(3);
    const corrupt = readState({ seq: "x", records: "y" }, 10, W, 5 * W);
    expect(grant(corrupt, req(10), 5 * W + 1).granted).toBe(0);
    expect(grant(corrupt, req(10), 6 * W).granted).toBe(10);
    // Ids after a reset of the state are above any an old lease could hold.
    expect(grant(corrupt, req(1), 6 * W).leaseId).toBeGreaterThanOrEqual(5 * W);
  });
});
