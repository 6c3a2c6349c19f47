/**
 * Red-team reproductions against the rate limiter: the pure sliding-window accounting (`grant`)
 * and the isolate-side `LeaseLimiter`, driven with a fake clock and a fake Durable Object built on
 * `grant` (as lease.test.ts does). Tests that pass assert a property an attacker wanted broken;
 * `it.fails` tests demonstrate a hole (the comment says what the attack is and how far it reaches).
 */
import { describe, expect, it } from "vitest";
import { LeaseLimiter, type Remote } from "../../src/access/ratelimit/lease";
import type { AcquireRequest, AcquireResponse } from "../../src/access/ratelimit/durable-object";
import {
  MAX_LEASE_MS,
  MAX_RECORDS,
  grant,
  readState,
  type GrantRequest,
  type WindowState,
} from "../../src/access/ratelimit/window";

/** A seeded generator (the same adversary every run). */
function rng(seed: number): () => number {
  let s = seed;
  return () => (s = (s * 1103515245 + 12345) % 2 ** 31) / 2 ** 31;
}

/** The most admissions in any half-open interval [t, t + windowMs). */
function worstWindow(times: number[], windowMs: number): number {
  const sorted = [...times].sort((a, b) => a - b);
  let worst = 0;
  let lo = 0;
  for (let hi = 0; hi < sorted.length; hi++) {
    while ((sorted[hi] as number) - (sorted[lo] as number) >= windowMs) lo++;
    worst = Math.max(worst, hi - lo + 1);
  }
  return worst;
}

/** One macrotask: the fake clock only moves between macrotasks, so admission times are exact. */
const tick = () => new Promise<void>((resolve) => setTimeout(resolve, 0));

interface FakeDoOptions {
  /** Milliseconds the request takes to reach the DO (the clock moves before `grant`). */
  inbound?: () => number;
  /** Milliseconds the answer takes to come back (the clock moves after `grant`). */
  outbound?: () => number;
  /** Applies the request, then loses the answer (throws) when this says so. */
  loseAnswer?: (req: AcquireRequest) => boolean;
}

/** A stand-in for the RateLimiter DO: `readState` + `grant` on the shared fake clock. */
function fakeDo(clock: { now: number }, opts: FakeDoOptions = {}) {
  const windows = new Map<string, WindowState>();
  let calls = 0;
  const remote: Remote = async (subject, req) => {
    calls += 1;
    await tick();
    clock.now += opts.inbound?.() ?? 0;
    const key = `${subject}:${req.cls}`;
    const r = grant(
      readState(windows.get(key), req.limit, req.windowMs, clock.now),
      req,
      clock.now,
    );
    windows.set(key, r.state);
    if (opts.loseAnswer?.(req)) throw new Error("answer lost after the DO applied the request");
    const out = opts.outbound?.() ?? 0;
    if (out > 0) {
      await tick();
      clock.now += out;
    }
    return {
      granted: r.granted,
      leaseId: r.leaseId,
      remaining: r.remaining,
      resetAt: r.resetAt,
      revoked: false,
    } satisfies AcquireResponse;
  };
  return { remote, calls: () => calls, state: (k: string) => windows.get(k) };
}

/** Takes one token and records the admission time (exact: the clock does not move in between). */
async function takeAt(
  l: LeaseLimiter,
  clock: { now: number },
  admitted: number[],
  subject: string,
  cls: string,
  limit: number,
  windowMs: number,
) {
  const d = await l.take(subject, cls, limit, windowMs);
  if (d.allowed) admitted.push(clock.now);
  return d;
}

// ---------------------------------------------------------------------------------------------
// The pure accounting: an adversary that controls every isolate's wants, lease lengths, spend
// times (always the latest its lease allows) and hand-back moments.
// ---------------------------------------------------------------------------------------------

interface Held {
  count: number;
  spent: number;
  end: number;
}

/**
 * Runs `steps` lease requests chosen by `rnd` and returns every spend time. Each held lease is
 * spent at the latest instant allowed (min(now, its end)), handed back at chosen moments with its
 * true unspent count, sometimes under a forged or already used id.
 */
function adversary(p: {
  seed: number;
  steps: number;
  limit: () => number;
  windowMs: () => number;
  leaseMs: () => number;
  gap: () => number;
  maxWant: number;
  releaseProb: number;
}) {
  const rnd = rng(p.seed);
  let state: WindowState | null = null;
  const spends: number[] = [];
  const held = new Map<number, Held>();
  const usedIds: number[] = [];
  let now = 7 * 86_400_000 + 123;
  let merges = 0;
  let lostReleases = 0;
  let maxRecords = 0;
  for (let i = 0; i < p.steps; i++) {
    now += p.gap();
    for (const [id, h] of held) {
      const k = Math.floor(rnd() * (h.count - h.spent + 1));
      for (let j = 0; j < k; j++) spends.push(Math.min(now, h.end));
      h.spent += k;
      if (now >= h.end) held.delete(id);
    }
    let release: GrantRequest["release"] = null;
    const ids = [...held.keys()];
    if (ids.length > 0 && rnd() < p.releaseProb) {
      const id = ids[Math.floor(rnd() * ids.length)] as number;
      const h = held.get(id) as Held;
      // Spend everything it will spend right now, then hand the rest back.
      const k = Math.floor(rnd() * (h.count - h.spent + 1));
      for (let j = 0; j < k; j++) spends.push(Math.min(now, h.end));
      h.spent += k;
      release = { id, unspent: h.count - h.spent };
      held.delete(id);
      if (!state?.records.some((r) => r.id === id)) lostReleases += 1;
    } else if (usedIds.length > 0 && rnd() < 0.2) {
      // A stale id (already handed back, merged away, or expired) with a large unspent claim.
      // Never the id of a lease another holder is still spending: `grant` trusts the isolate
      // that hands a lease back to be the one holding it (see the last test of this block).
      const id = usedIds[Math.floor(rnd() * usedIds.length)] as number;
      if (!held.has(id)) release = { id, unspent: 1_000 };
    }
    const leaseMs = p.leaseMs();
    const before = state?.records.length ?? 0;
    const r = grant(
      state,
      {
        limit: p.limit(),
        windowMs: p.windowMs(),
        want: 1 + Math.floor(rnd() * p.maxWant),
        leaseMs,
        release,
      },
      now,
    );
    if (before >= MAX_RECORDS && r.granted > 0) merges += 1;
    state = r.state;
    maxRecords = Math.max(maxRecords, state.records.length);
    if (r.granted > 0) {
      const effective = Math.min(MAX_LEASE_MS, Math.max(0, leaseMs));
      held.set(r.leaseId, { count: r.granted, spent: 0, end: now + effective });
      usedIds.push(r.leaseId);
    }
  }
  return { spends, merges, lostReleases, maxRecords, state, usedIds, end: now };
}

describe("red team: sliding-window grants (pure)", () => {
  it("holds against leases longer than the window, zero and out-of-range lease lengths", () => {
    // Windows shorter than a lease (a 2 s route window, 10 s leases) and leases asked for with
    // negative, zero, huge and infinite lengths: each spent at its last allowed instant.
    const lengths = [-5_000, 0, 1, 999, 1_000, 9_999, 10_000, 10_001, 1e12, Infinity];
    for (const windowMs of [1, 2_000, 10_000, 60_000]) {
      const rnd = rng(windowMs);
      const run = adversary({
        seed: 11 + windowMs,
        steps: 3_000,
        limit: () => 25,
        windowMs: () => windowMs,
        leaseMs: () => lengths[Math.floor(rnd() * lengths.length)] as number,
        gap: () => Math.floor(rnd() * (windowMs / 4 + 50)),
        maxWant: 10,
        releaseProb: 0.4,
      });
      expect(worstWindow(run.spends, windowMs)).toBeLessThanOrEqual(25);
      expect(run.spends.length).toBeGreaterThan(100);
    }
  });

  it("caps every record's end at MAX_LEASE_MS, whatever leaseMs says", () => {
    const t = 1_000_000;
    for (const leaseMs of [1e15, Infinity, MAX_LEASE_MS + 1]) {
      const r = grant(null, { limit: 5, windowMs: 1_000, want: 5, leaseMs }, t);
      expect(r.state.records[0]!.end).toBe(t + MAX_LEASE_MS);
      // The tokens count until their last possible spend is a window old, and no earlier.
      expect(
        grant(r.state, { limit: 5, windowMs: 1_000, want: 1, leaseMs: 0 }, t + MAX_LEASE_MS + 999)
          .granted,
      ).toBe(0);
      expect(
        grant(r.state, { limit: 5, windowMs: 1_000, want: 1, leaseMs: 0 }, t + MAX_LEASE_MS + 1_000)
          .granted,
      ).toBe(1);
    }
    for (const leaseMs of [-1, -Infinity, 0]) {
      const r = grant(null, { limit: 5, windowMs: 1_000, want: 5, leaseMs }, t);
      expect(r.state.records[0]!.end).toBe(t);
    }
  });

  it("holds when 100 isolates hold live leases at once and merges fold live leases together", () => {
    // Many small live leases force merges past MAX_RECORDS of leases still being spent; their
    // holders' hand-backs then find nothing (the record was renamed), which may only over-count.
    const rnd = rng(99);
    const run = adversary({
      seed: 5,
      steps: 6_000,
      limit: () => 400,
      windowMs: () => 5_000,
      leaseMs: () => 500 + Math.floor(rnd() * 9_500),
      gap: () => Math.floor(rnd() * 30),
      maxWant: 3,
      releaseProb: 0.3,
    });
    expect(run.maxRecords).toBe(MAX_RECORDS);
    expect(run.merges).toBeGreaterThan(100);
    expect(run.lostReleases).toBeGreaterThan(10);
    expect(worstWindow(run.spends, 5_000)).toBeLessThanOrEqual(400);
  });

  it("holds at clock edges: a lease spent at its last millisecond, grants one ms either side", () => {
    const W = 60_000;
    const t = 10 * W - 1;
    const r = grant(null, { limit: 3, windowMs: W, want: 3, leaseMs: 1_000 }, t);
    // Spent (and handed back with nothing left) at the last instant of the lease.
    const back = grant(
      r.state,
      { limit: 3, windowMs: W, want: 0, leaseMs: 0, release: { id: r.leaseId, unspent: 0 } },
      t + 1_000,
    );
    const at = (now: number) =>
      grant(back.state, { limit: 3, windowMs: W, want: 3, leaseMs: 0 }, now).granted;
    expect(at(t + 1_000 + W - 1)).toBe(0);
    expect(at(t + 1_000 + W)).toBe(3);
    // Handing back early ends the record at the hand-back (not the lease's end).
    const early = grant(
      r.state,
      { limit: 3, windowMs: W, want: 0, leaseMs: 0, release: { id: r.leaseId, unspent: 1 } },
      t + 10,
    );
    const at2 = (now: number) =>
      grant(early.state, { limit: 3, windowMs: W, want: 3, leaseMs: 0 }, now).granted;
    expect(at2(t + 10 + W - 1)).toBe(1);
    expect(at2(t + 10 + W)).toBe(3);
  });

  it("never reissues an id: hand-backs of used, merged or forged ids end nobody else's lease", () => {
    const run = adversary({
      seed: 3,
      steps: 4_000,
      limit: () => 300,
      windowMs: () => 3_000,
      leaseMs: () => 2_000,
      gap: () => 7,
      maxWant: 2,
      releaseProb: 0.3,
    });
    expect(new Set(run.usedIds).size).toBe(run.usedIds.length);
    // Every id in the state was issued once; the state's counter is above all of them.
    for (const r of run.state!.records) expect(r.id).toBeLessThanOrEqual(run.state!.seq);
    expect(Math.max(...run.usedIds)).toBeLessThanOrEqual(run.state!.seq);
    // After an unreadable row, ids restart at the clock's millisecond: above every old id.
    const reset = readState({ broken: true }, 300, 3_000, run.end);
    const fresh = grant(
      reset,
      { limit: 300, windowMs: 3_000, want: 1, leaseMs: 0 },
      run.end + 3_000,
    );
    expect(fresh.leaseId).toBeGreaterThan(Math.max(...run.usedIds));
    // Handing back each old id with a huge unspent count frees nothing held by the new lease.
    let s: WindowState = fresh.state;
    for (const id of run.usedIds.slice(-200))
      s = grant(
        s,
        { limit: 300, windowMs: 3_000, want: 0, leaseMs: 0, release: { id, unspent: 1e9 } },
        run.end + 3_001,
      ).state;
    expect(s.records.find((r) => r.id === fresh.leaseId)).toMatchObject({ count: 1 });
  });

  it("enforces a lowered limit on the first grant made under it", () => {
    // A plan downgrade (or a smaller route limit in a new version): what was granted under the
    // old limit keeps counting, so the first grant under the new one sees the window as full.
    const W = 60_000;
    const t = 5_000_000;
    let s = grant(null, { limit: 1_000, windowMs: W, want: 100, leaseMs: 1_000 }, t).state;
    s = grant(s, { limit: 1_000, windowMs: W, want: 100, leaseMs: 1_000 }, t + 1).state;
    const low = grant(s, { limit: 60, windowMs: W, want: 10, leaseMs: 1_000 }, t + 2);
    expect([low.granted, low.remaining]).toEqual([0, 0]);
    expect(low.resetAt).toBe(t + 1_000 + W);
  });

  it("reads a state row with NaN ends (a NaN lease length stored) as corrupt, failing closed", () => {
    const t = 2_000_000;
    const r = grant(null, { limit: 5, windowMs: 1_000, want: 5, leaseMs: Number.NaN }, t);
    // The DO stores this row and reads it back through readState on the next call.
    const next = readState(structuredClone(r.state), 5, 1_000, t + 1);
    expect(grant(next, { limit: 5, windowMs: 1_000, want: 5, leaseMs: 0 }, t + 1).granted).toBe(0);
  });

  // FIXED (was a hole, low; reachable only when one (subject, class) is asked with different windows: records now keep the window they were granted under).
  // `grant` drops every record with `end <= now - windowMs` *from the stored state*, using the
  // window of the request in hand. One call with a short window therefore erases history that a
  // longer window still has to count, and the next call with the long window sees a fresh quota.
  // In Atoll the window of a (subject, class) is fixed for plan classes, but a plugin route's
  // bucket `route:<installation>:<route index>:<org>` is asked with whatever `limit.window` the
  // installation's current manifest says: an organization that upgrades/downgrades between two
  // versions whose route #i declares different windows (or, while isolates' cached specs
  // disagree, calls both) resets the long-window budget with one short-window call.
  // (See also the report: the bucket is keyed by the route's *index*, so a version in which the
  // route moved gives a fresh bucket outright.)
  it("does not let a call with a shorter window erase what a longer window counts", () => {
    const long = 86_400_000; // { requests: 10, window: 86400 }
    const short = 1_000; // { requests: 10, window: 1 }
    const t = 40 * long;
    const day = grant(null, { limit: 10, windowMs: long, want: 10, leaseMs: 0 }, t);
    expect(day.granted).toBe(10); // the day's 10, spent at t
    const purge = grant(day.state, { limit: 10, windowMs: short, want: 0, leaseMs: 0 }, t + 2_000);
    const again = grant(
      purge.state,
      { limit: 10, windowMs: long, want: 10, leaseMs: 0 },
      t + 3_000,
    );
    // 20 calls within 3 s under a policy of 10 a day.
    expect(again.granted).toBe(0);
  });
});

// ---------------------------------------------------------------------------------------------
// The isolate side: several LeaseLimiters sharing one fake DO, with latency, expiry, failures.
// ---------------------------------------------------------------------------------------------

/** The victim's calls admitted in 40 s (60 a minute), with or without a subject flood between. */
async function victimUnderFlood(floodPerCycle: number): Promise<number> {
  const clock = { now: 8_000_000 };
  const d = fakeDo(clock);
  const l = new LeaseLimiter(d.remote, () => clock.now, { maxEntries: 4, leaseTtlMs: 1_000 });
  let victim = 0;
  let flood = 0;
  const start = clock.now;
  while (clock.now < start + 40_000) {
    // The victim's ordinary traffic: a few calls (its lease grows to 4 tokens)...
    for (let j = 0; j < 4; j++) if ((await l.take("victim", "api", 60, 60_000)).allowed) victim++;
    // ...then the attacker: requests from new client addresses fill the table.
    for (let j = 0; j < floodPerCycle; j++)
      await l.take(`ip:2001:db8::${flood++}`, "anonymous", 120, 60_000);
    clock.now += 500;
  }
  // All within one minute of the victim's first call: it should have had its 60.
  return victim;
}

describe("red team: lease limiter", () => {
  it("admits no more than the limit in any window: 6 isolates, random bursts, latency, expiry", async () => {
    const clock = { now: 20 * 60_000 - 3_000 };
    const rnd = rng(2026);
    const d = fakeDo(clock, {
      inbound: () => Math.floor(rnd() * 400),
      outbound: () => Math.floor(rnd() * 400),
    });
    const isolates = Array.from(
      { length: 6 },
      () => new LeaseLimiter(d.remote, () => clock.now, { leaseTtlMs: 1_000 }),
    );
    const W = 5_000;
    const limit = 40;
    const admitted: number[] = [];
    const end = clock.now + 6 * W;
    while (clock.now < end) {
      const burst: Promise<unknown>[] = [];
      for (const l of isolates) {
        const n = rnd() < 0.5 ? 0 : Math.floor(rnd() * 25);
        for (let i = 0; i < n; i++) burst.push(takeAt(l, clock, admitted, "k", "api", limit, W));
      }
      await Promise.all(burst);
      // Pauses chosen to land leases' expiry and hand-backs on either side of window edges.
      clock.now += [0, 1, 999, 1_000, 1_001, 2_500, W - 1][Math.floor(rnd() * 7)] as number;
    }
    expect(worstWindow(admitted, W)).toBeLessThanOrEqual(limit);
    expect(admitted.length).toBeGreaterThan(2 * limit);
  });

  it("enforces a lowered limit for every window that starts a lease after the change", async () => {
    // Isolates alternate between two limits (a plan change rolling out: some isolates see the
    // old plan), then all use the lower one. No window admits more than the higher limit, and no
    // window starting a lease length (plus latency) after the switch admits more than the lower.
    const clock = { now: 3_000_000 };
    const rnd = rng(8);
    const d = fakeDo(clock, { inbound: () => Math.floor(rnd() * 50) });
    const isolates = Array.from(
      { length: 4 },
      () => new LeaseLimiter(d.remote, () => clock.now, { leaseTtlMs: 1_000 }),
    );
    const W = 4_000;
    const admitted: number[] = [];
    const after: number[] = [];
    let switchedAt = 0;
    for (let round = 0; round < 120; round++) {
      const lowOnly = round >= 60;
      if (round === 60) switchedAt = clock.now;
      const burst: Promise<unknown>[] = [];
      for (const l of isolates)
        for (let i = 0; i < 8; i++) {
          const limit = lowOnly || rnd() < 0.5 ? 10 : 100;
          burst.push(takeAt(l, clock, lowOnly ? after : admitted, "k", "api", limit, W));
        }
      await Promise.all(burst);
      clock.now += Math.floor(rnd() * 300);
    }
    expect(worstWindow([...admitted, ...after], W)).toBeLessThanOrEqual(100);
    const settled = after.filter((t) => t >= switchedAt + 1_000 + 200);
    expect(worstWindow(settled, W)).toBeLessThanOrEqual(10);
    expect(after.length).toBeGreaterThan(10);
  });

  it("never over-admits when the DO applies a request and the answer is lost", async () => {
    // The adversary makes the DO unreachable at chosen moments *after* it applied a hand-back and
    // a grant (the isolate never learns the new lease, and its old one is already handed back).
    const clock = { now: 9_000_000 };
    const rnd = rng(77);
    const d = fakeDo(clock, {
      inbound: () => Math.floor(rnd() * 100),
      loseAnswer: () => rnd() < 0.3,
    });
    const isolates = Array.from(
      { length: 3 },
      () => new LeaseLimiter(d.remote, () => clock.now, { leaseTtlMs: 1_000 }),
    );
    const W = 3_000;
    const admitted: number[] = [];
    let unavailable = 0;
    for (let round = 0; round < 150; round++) {
      const burst: Promise<{ allowed: boolean; reason?: string }>[] = [];
      for (const l of isolates)
        for (let i = 0; i < 6; i++) burst.push(takeAt(l, clock, admitted, "k", "api", 30, W));
      for (const r of await Promise.all(burst)) if (r.reason === "unavailable") unavailable++;
      clock.now += Math.floor(rnd() * 400);
    }
    expect(unavailable).toBeGreaterThan(0);
    expect(worstWindow(admitted, W)).toBeLessThanOrEqual(30);
  });

  it("keeps buckets of different subjects and classes apart (route × installation × org)", async () => {
    const clock = { now: 1_000 };
    const d = fakeDo(clock);
    const l = new LeaseLimiter(d.remote, () => clock.now);
    const count = async (subject: string, cls: string, limit: number) => {
      let n = 0;
      while ((await l.take(subject, cls, limit, 60_000)).allowed) n++;
      return n;
    };
    expect(await count("route:ins_a:0:org_1", "route", 3)).toBe(3);
    expect(await count("route:ins_a:1:org_1", "route", 5)).toBe(5);
    expect(await count("route:ins_a:0:org_2", "route", 3)).toBe(3);
    expect(await count("route:ins_b:0:org_1", "route", 3)).toBe(3);
    expect(await count("inst:ins_a", "installation", 7)).toBe(7);
    // Exhausting one does not refuse another that is still fresh; the spent one stays spent.
    expect((await l.take("route:ins_a:0:org_1", "route", 3, 60_000)).allowed).toBe(false);
    expect((await l.take("route:ins_c:0:org_1", "route", 3, 60_000)).allowed).toBe(true);
  });

  it("hands back only leases it was granted, once, for the same subject and class", async () => {
    // `grant` trusts a hand-back's id (a hand-back naming a lease another isolate still spends
    // would end it). So the isolate must never name one it was not granted: checked across many
    // isolates, subjects, limit changes, expiry, lost answers and entry eviction.
    const clock = { now: 4_000_000 };
    const rnd = rng(31);
    const d = fakeDo(clock, {
      inbound: () => Math.floor(rnd() * 200),
      loseAnswer: () => rnd() < 0.1,
    });
    const granted = new Map<string, Set<number>>();
    const released = new Set<string>();
    const bad: string[] = [];
    const isolates = Array.from({ length: 4 }, (_, n) => {
      const remote: Remote = async (subject, req) => {
        const mine = `${n}|${subject}|${req.cls}`;
        if (req.release) {
          const tag = `${subject}|${req.cls}|${req.release.id}`;
          if (!granted.get(mine)?.has(req.release.id) || released.has(tag)) bad.push(tag);
          released.add(tag);
        }
        const res = await d.remote(subject, req);
        if (res.granted > 0) {
          const set = granted.get(mine) ?? new Set<number>();
          set.add(res.leaseId);
          granted.set(mine, set);
        }
        return res;
      };
      return new LeaseLimiter(remote, () => clock.now, { leaseTtlMs: 1_000, maxEntries: 3 });
    });
    let releases = 0;
    for (let round = 0; round < 60; round++) {
      const burst: Promise<unknown>[] = [];
      for (const l of isolates)
        for (let i = 0; i < 6; i++) {
          const subject = `k${Math.floor(rnd() * 5)}`;
          burst.push(l.take(subject, rnd() < 0.5 ? "api" : "plugin", rnd() < 0.8 ? 50 : 20, 5_000));
        }
      await Promise.all(burst);
      clock.now += Math.floor(rnd() * 700);
      releases = released.size;
    }
    expect(releases).toBeGreaterThan(30);
    expect(bad).toEqual([]);
  }, 30_000);

  it("admits nothing from an answer that arrives after the remote timeout", async () => {
    const clock = { now: 6_000_000 };
    const d = fakeDo(clock);
    let late = true;
    const remote: Remote = async (s, r) => {
      const res = await d.remote(s, r); // applied by the DO...
      if (late) await new Promise((resolve) => setTimeout(resolve, 60)); // ...answered too late
      return res;
    };
    const l = new LeaseLimiter(remote, () => clock.now, { remoteTimeoutMs: 20 });
    expect(await l.take("k", "api", 3, 60_000)).toEqual({ allowed: false, reason: "unavailable" });
    await new Promise((resolve) => setTimeout(resolve, 80));
    // The late lease is counted by the DO (over-counting) and never spent by the isolate.
    late = false;
    let n = 0;
    while ((await l.take("k", "api", 3, 60_000)).allowed) n++;
    expect(n).toBe(2);
  });

  // HOLE (denial of service, low). When the isolate's table is full (maxEntries, 50,000), it
  // drops the oldest half of its entries, including ones holding live leases. Their tokens are
  // never spent and never handed back, so the DO counts them for a whole window after the lease.
  // Subjects are cheap for an attacker (each client IP of an anonymous call is one: an IPv6 /64
  // is 2^64 of them), so flooding one isolate with new subjects makes another tenant's leases
  // vanish; each eviction costs the victim up to a lease (a tenth of its limit, at most 256).
  // Here: maxEntries 4 stands in for 50,000; the victim (60 a minute) is left short of 60.
  it("gives a tenant its whole quota when no one floods the isolate (control for the next)", async () => {
    expect(await victimUnderFlood(0)).toBe(60);
  });

  it.fails("does not cost another tenant quota when the isolate's table overflows", async () => {
    const victim = await victimUnderFlood(4);
    expect(victim).toBe(60);
  });

  // FIXED (was latent: the limiter now caps its lease TTL at MAX_LEASE_MS).
  // The isolate spends a lease until `now + leaseTtlMs` by its own option, while the DO silently
  // caps the record's end at MAX_LEASE_MS (10 s). A LeaseLimiter built with a longer TTL keeps
  // spending after the DO's record has ended, so those spends are not counted by later grants:
  // a single isolate admits twice the limit in one window. Nothing ties the two constants or
  // tells the isolate how long the DO actually recorded (AcquireResponse has no end).
  it("keeps within the limit when the isolate's lease TTL is longer than MAX_LEASE_MS", async () => {
    const clock = { now: 50_000_000 };
    const d = fakeDo(clock);
    const l = new LeaseLimiter(d.remote, () => clock.now, { leaseTtlMs: 30_000 });
    const W = 15_000;
    const limit = 20; // cap = 2 tokens a lease
    const admitted: number[] = [];
    // A lease of one, then one of two (spent one now, one at the end of its isolate-side life).
    await takeAt(l, clock, admitted, "k", "api", limit, W);
    await takeAt(l, clock, admitted, "k", "api", limit, W);
    clock.now += 29_000; // the DO's record ended at +10 s; it stops counting at +25 s
    await takeAt(l, clock, admitted, "k", "api", limit, W);
    for (let i = 0; i < 40; i++) await takeAt(l, clock, admitted, "k", "api", limit, W);
    expect(worstWindow(admitted, W)).toBeLessThanOrEqual(limit);
  });

  // HOLE (availability / load amplification). When the DO answers slower than the lease TTL but
  // faster than the remote timeout (1 s < latency < 2 s with the defaults), every lease arrives
  // already expired by the isolate's clock (it counts from before the request was sent), so
  // `take` hands it straight back and asks again, forever: one request turns into an unbounded
  // series of DO calls and never answers (no 503). A DO slowed by load (a tenant can load its own
  // organization's DO, or an installation's, or an IP's) is thus hit harder by every waiting
  // request in every isolate — a retry storm that keeps it slow. Bounded here by a remote that
  // fails after 25 calls; the expectation is that take gives up (503) after a few.
  it.fails(
    "answers (even if only 503) after a bounded number of DO calls when the DO is slow",
    async () => {
      const clock = { now: 1_000_000 };
      const d = fakeDo(clock, { inbound: () => 600, outbound: () => 900 });
      let calls = 0;
      const remote: Remote = async (s, r) => {
        calls += 1;
        if (calls > 25) throw new Error("stop the loop");
        return d.remote(s, r);
      };
      const l = new LeaseLimiter(remote, () => clock.now);
      await l.take("k", "api", 100, 60_000);
      expect(calls).toBeLessThanOrEqual(3);
    },
  );

  // HOLE (header accuracy, low; the code calls `remaining` "an estimate once other isolates
  // spend"). `RateLimit: r=` is the isolate's tokens plus what the DO said was left at the last
  // grant. Another isolate (or a colluding key of the same organization) spending the rest does
  // not change it, so an isolate keeps advertising r≈limit while the quota is gone: the next
  // call past its own lease is a 429 right after a response that said plenty was left.
  it.fails("never advertises more remaining calls than the quota has left", async () => {
    const clock = { now: 7_000_000 };
    const d = fakeDo(clock);
    const a = new LeaseLimiter(d.remote, () => clock.now);
    const b = new LeaseLimiter(d.remote, () => clock.now);
    const W = 60_000;
    // A warms up to a lease of 10 (1 + 2 + 4 + 8 spent, then a lease of 10 with 9 left).
    for (let i = 0; i < 16; i++) expect((await a.take("k", "api", 100, W)).allowed).toBe(true);
    // B spends all that is left.
    while ((await b.take("k", "api", 100, W)).allowed);
    const said = await a.take("k", "api", 100, W);
    let really = 0;
    while ((await a.take("k", "api", 100, W)).allowed) really++;
    expect(said.allowed).toBe(true);
    expect(said.allowed && said.remaining).toBeLessThanOrEqual(really);
  });
});
