import { describe, expect, it } from "vitest";
import { LeaseLimiter, type Remote } from "../../src/access/ratelimit/lease";
import type { AcquireResponse } from "../../src/access/ratelimit/durable-object";
import { grant, readState, type WindowState } from "../../src/access/ratelimit/window";

/** A stand-in for the Durable Object with the same accounting (grant) and a controllable clock. */
function fakeDo(clock: { now: number }) {
  const windows = new Map<string, WindowState>();
  let revoked = false;
  let calls = 0;
  const remote: Remote = async (subject, req) => {
    calls += 1;
    await Promise.resolve();
    if (revoked)
      return {
        granted: 0,
        leaseId: 0,
        remaining: 0,
        resetAt: 0,
        revoked: true,
      } satisfies AcquireResponse;
    const key = `${subject}:${req.cls}`;
    const r = grant(
      readState(windows.get(key), req.limit, req.windowMs, clock.now),
      req,
      clock.now,
    );
    windows.set(key, r.state);
    return {
      granted: r.granted,
      leaseId: r.leaseId,
      remaining: r.remaining,
      resetAt: r.resetAt,
      revoked: false,
    };
  };
  return {
    remote,
    revoke: () => (revoked = true),
    calls: () => calls,
    /** Tokens the DO counts as granted (spent or still held) right now. */
    granted: (k: string) => (windows.get(k)?.records ?? []).reduce((n, r) => n + r.count, 0),
  };
}

describe("lease limiter", () => {
  it("admits exactly the limit when 1,000 requests arrive at once", async () => {
    const clock = { now: 1_000_000 };
    const d = fakeDo(clock);
    const limiter = new LeaseLimiter(d.remote, () => clock.now);
    const results = await Promise.all(
      Array.from({ length: 1000 }, () => limiter.take("key_a", "api", 100, 60_000)),
    );
    expect(results.filter((r) => r.allowed)).toHaveLength(100);
    expect(results.filter((r) => !r.allowed && r.reason === "limited")).toHaveLength(900);
    // Leases, not one DO call per request.
    expect(d.calls()).toBeLessThan(40);
  });

  it("admits exactly the limit across several isolates sharing one Durable Object", async () => {
    const clock = { now: 5_000_000 };
    const d = fakeDo(clock);
    const isolates = Array.from({ length: 4 }, () => new LeaseLimiter(d.remote, () => clock.now));
    const all = await Promise.all(
      isolates.flatMap((l) =>
        Array.from({ length: 250 }, () => l.take("key_b", "api", 100, 60_000)),
      ),
    );
    expect(all.filter((r) => r.allowed)).toHaveLength(100);
  });

  it("refills a window after the first spend and reports that time while limited", async () => {
    const start = 60_000 * 10 + 30_000;
    const clock = { now: start };
    const d = fakeDo(clock);
    const limiter = new LeaseLimiter(d.remote, () => clock.now, { leaseTtlMs: 1_000 });
    for (let i = 0; i < 5; i++)
      expect((await limiter.take("k", "api", 5, 60_000)).allowed).toBe(true);
    const denied = await limiter.take("k", "api", 5, 60_000);
    // Every lease was used up and handed back at `start`: the spends leave the window a minute on.
    expect(denied).toEqual({ allowed: false, reason: "limited", resetAt: start + 60_000 });
    // No refill at the next aligned minute (a fixed window would reset at 60_000 * 11)...
    clock.now = 60_000 * 11;
    expect((await limiter.take("k", "api", 5, 60_000)).allowed).toBe(false);
    // ...only when the sliding window has moved past the spends.
    clock.now = start + 61_000;
    expect((await limiter.take("k", "api", 5, 60_000)).allowed).toBe(true);
  });

  it("admits no more than the quota in any minute when a client bursts at a window boundary", async () => {
    const clock = { now: 60_000 * 20 - 500 };
    const d = fakeDo(clock);
    const isolates = Array.from({ length: 3 }, () => new LeaseLimiter(d.remote, () => clock.now));
    const admittedAt: number[] = [];
    // Bursts every 250 ms from half a second before an aligned minute to 1.5 minutes after.
    while (clock.now < 60_000 * 21 + 30_000) {
      const burst = await Promise.all(
        isolates.flatMap((l) => Array.from({ length: 40 }, () => l.take("k", "api", 100, 60_000))),
      );
      for (const r of burst) if (r.allowed) admittedAt.push(clock.now);
      clock.now += 250;
    }
    let worst = 0;
    for (const t of admittedAt)
      worst = Math.max(worst, admittedAt.filter((u) => u >= t && u < t + 60_000).length);
    expect(worst).toBeLessThanOrEqual(100);
    // Twice the quota over the run (a fixed window would have allowed 200 around the boundary).
    expect(admittedAt.length).toBeGreaterThanOrEqual(100);
  });

  it("hands unspent tokens of an expired lease back to the Durable Object", async () => {
    const clock = { now: 0 };
    const d = fakeDo(clock);
    const a = new LeaseLimiter(d.remote, () => clock.now, { leaseTtlMs: 1_000 });
    const b = new LeaseLimiter(d.remote, () => clock.now, { leaseTtlMs: 1_000 });
    // Isolate A warms up to a lease of several tokens, then goes quiet.
    for (let i = 0; i < 30; i++) await a.take("k", "api", 100, 60_000);
    const held = d.granted("k:api") - 30;
    expect(held).toBeGreaterThan(0);
    // B uses the rest of the window; the tokens A holds are not available to it.
    let bAdmitted = 0;
    while ((await b.take("k", "api", 100, 60_000)).allowed) bAdmitted++;
    expect(30 + bAdmitted + held).toBe(100);
    // A's lease expires; its next request hands the tokens back before asking again.
    clock.now += 1_500;
    await a.take("k", "api", 100, 60_000);
    expect(d.granted("k:api")).toBeLessThanOrEqual(100);
    let total = 30 + bAdmitted + 1;
    while ((await b.take("k", "api", 100, 60_000)).allowed) total++;
    while ((await a.take("k", "api", 100, 60_000)).allowed) total++;
    expect(total).toBe(100);
  });

  it("refuses a credential the Durable Object reports revoked, and one revoked locally at once", async () => {
    const clock = { now: 0 };
    const d = fakeDo(clock);
    const limiter = new LeaseLimiter(d.remote, () => clock.now);
    expect((await limiter.take("k", "api", 100, 60_000)).allowed).toBe(true);
    limiter.markRevoked("k");
    expect(await limiter.take("k", "api", 100, 60_000)).toEqual({
      allowed: false,
      reason: "revoked",
    });
    d.revoke();
    const other = new LeaseLimiter(d.remote, () => clock.now);
    expect(await other.take("k", "api", 100, 60_000)).toEqual({
      allowed: false,
      reason: "revoked",
    });
  });

  it("fails closed when the Durable Object is unreachable, after spending what it holds", async () => {
    const clock = { now: 0 };
    let up = true;
    const d = fakeDo(clock);
    const limiter = new LeaseLimiter(
      async (s, r) => {
        if (!up) throw new Error("DO unreachable");
        return d.remote(s, r);
      },
      () => clock.now,
    );
    for (let i = 0; i < 20; i++) await limiter.take("k", "api", 100, 60_000);
    up = false;
    const results = [];
    for (let i = 0; i < 50; i++) results.push(await limiter.take("k", "api", 100, 60_000));
    const admitted = results.filter((r) => r.allowed).length;
    expect(admitted).toBeLessThanOrEqual(d.granted("k:api") - 20);
    expect(results.at(-1)).toEqual({ allowed: false, reason: "unavailable" });
  });

  it("gives up on a Durable Object that does not answer within the timeout", async () => {
    const limiter = new LeaseLimiter(() => new Promise(() => {}), Date.now, {
      remoteTimeoutMs: 50,
    });
    expect(await limiter.take("k", "api", 100, 60_000)).toEqual({
      allowed: false,
      reason: "unavailable",
    });
  });
});
