/**
 * The isolate's side of rate limiting: it spends tokens leased from the credential's Durable
 * Object, so most requests cost no DO round trip, and it never admits a request without a token
 * the DO granted (the limit stays exact).
 *
 * - Concurrent requests for one credential share a single in-flight lease request.
 * - Lease size adapts: it doubles while leases are used up, halves when they expire unused,
 *   and is capped at a tenth of the limit so one isolate cannot hoard a window.
 * - A lease lives at most `leaseTtlMs`, counted from before it was asked for (so it never outlives
 *   what the DO recorded); when renewed, the old lease is handed back with its unspent tokens.
 * - A quota that the DO reported exhausted is answered locally until the DO's reset time.
 * - The DO accounts in sliding windows (./window.ts): no interval of the window's length ever
 *   admits more than the limit, across window boundaries too.
 * - If the DO cannot be reached, the isolate admits only what it already holds, then answers
 *   "unavailable" (fail closed: the limit is never exceeded).
 */
import type { AcquireRequest, AcquireResponse } from "./durable-object";
import { MAX_LEASE_MS } from "./window";

export type Remote = (subject: string, req: AcquireRequest) => Promise<AcquireResponse>;

export type Decision =
  | {
      allowed: true;
      remaining: number;
      resetAt: number;
      /** The subject's invalidation time as of the lease spent (see AcquireResponse). */
      staleBefore?: number;
    }
  | { allowed: false; reason: "limited"; resetAt: number }
  | { allowed: false; reason: "revoked" }
  | { allowed: false; reason: "unavailable" };

interface Entry {
  tokens: number;
  limit: number;
  windowMs: number;
  /** The lease being spent (0: none), handed back on renewal. */
  leaseId: number;
  resetAt: number;
  leaseExpiresAt: number;
  /** What the DO said was left after the last grant (an estimate once other isolates spend). */
  remoteRemaining: number;
  exhausted: boolean;
  revoked: boolean;
  staleBefore: number;
  nextWant: number;
  waiting: number;
  inflight: Promise<"ok" | "failed"> | null;
}

export interface LeaseOptions {
  leaseTtlMs: number;
  /** How long a lease request may take before the caller gives up (fail closed). */
  remoteTimeoutMs: number;
  maxLease: number;
  maxEntries: number;
}

const DEFAULTS: LeaseOptions = {
  leaseTtlMs: 1_000,
  remoteTimeoutMs: 2_000,
  maxLease: 256,
  maxEntries: 50_000,
};

export class LeaseLimiter {
  private readonly entries = new Map<string, Entry>();
  private readonly opts: LeaseOptions;

  constructor(
    private readonly remote: Remote,
    private readonly clock: () => number = Date.now,
    opts: Partial<LeaseOptions> = {},
  ) {
    this.opts = { ...DEFAULTS, ...opts };
    // The Durable Object records a lease for at most MAX_LEASE_MS: never spend one for longer.
    this.opts.leaseTtlMs = Math.min(this.opts.leaseTtlMs, MAX_LEASE_MS);
  }

  /** Takes one token for `subject` in route class `cls`. */
  async take(subject: string, cls: string, limit: number, windowMs: number): Promise<Decision> {
    const key = `${subject}\u0000${cls}`;
    const entry = this.entry(key, limit, windowMs);
    for (;;) {
      const now = this.clock();
      if (entry.revoked) return { allowed: false, reason: "revoked" };
      const same = entry.limit === limit && entry.windowMs === windowMs;
      if (same && now < entry.leaseExpiresAt && entry.tokens > 0) {
        entry.tokens -= 1;
        return {
          allowed: true,
          remaining: entry.tokens + entry.remoteRemaining,
          resetAt: entry.resetAt,
          staleBefore: entry.staleBefore,
        };
      }
      if (same && entry.exhausted && now < entry.resetAt)
        return { allowed: false, reason: "limited", resetAt: entry.resetAt };
      if (!entry.inflight) {
        entry.inflight = this.refill(entry, subject, cls, limit, windowMs, now).finally(() => {
          entry.inflight = null;
        });
      }
      entry.waiting += 1;
      // A lease request belongs to the request that started it; if that request is cancelled the
      // promise may never settle, so nobody waits on it for longer than the remote timeout.
      const outcome = await withTimeout(entry.inflight, this.opts.remoteTimeoutMs);
      entry.waiting -= 1;
      if (outcome === "failed" && !(entry.tokens > 0 && this.clock() < entry.leaseExpiresAt)) {
        return { allowed: false, reason: "unavailable" };
      }
    }
  }

  /** Marks every entry of `subject` revoked in this isolate (the DO is told separately). */
  markRevoked(subject: string): void {
    for (const [key, entry] of this.entries) {
      if (key.startsWith(`${subject}\u0000`)) {
        entry.revoked = true;
        entry.tokens = 0;
      }
    }
  }

  private entry(key: string, limit: number, windowMs: number): Entry {
    let entry = this.entries.get(key);
    if (!entry) {
      if (this.entries.size >= this.opts.maxEntries) this.evict();
      entry = {
        tokens: 0,
        limit,
        windowMs,
        leaseId: 0,
        resetAt: 0,
        leaseExpiresAt: 0,
        remoteRemaining: 0,
        exhausted: false,
        revoked: false,
        staleBefore: 0,
        nextWant: 1,
        waiting: 0,
        inflight: null,
      };
      this.entries.set(key, entry);
    }
    return entry;
  }

  private evict(): void {
    const now = this.clock();
    for (const [key, entry] of this.entries) {
      if (!entry.inflight && now >= entry.leaseExpiresAt && now >= entry.resetAt)
        this.entries.delete(key);
    }
    // Still full: drop the oldest half (Map iterates in insertion order).
    if (this.entries.size >= this.opts.maxEntries) {
      let n = Math.floor(this.entries.size / 2);
      for (const [key, entry] of this.entries) {
        if (n-- <= 0) break;
        if (!entry.inflight) this.entries.delete(key);
      }
    }
  }

  private async refill(
    entry: Entry,
    subject: string,
    cls: string,
    limit: number,
    windowMs: number,
    now: number,
  ): Promise<"ok" | "failed"> {
    // Hand the old lease back (its unspent tokens return to the quota) while asking for more.
    const release = entry.leaseId > 0 ? { id: entry.leaseId, unspent: entry.tokens } : null;
    const usedUp = entry.tokens === 0;
    const hadLease = entry.leaseId > 0;
    entry.tokens = 0;
    entry.leaseId = 0;
    const cap = Math.max(1, Math.min(this.opts.maxLease, Math.floor(limit / 10)));
    if (hadLease) entry.nextWant = usedUp ? entry.nextWant * 2 : Math.ceil(entry.nextWant / 2);
    entry.nextWant = Math.min(cap, Math.max(1, entry.nextWant));
    const want = Math.min(cap, Math.max(entry.nextWant, entry.waiting + 1));
    let res: AcquireResponse | "failed";
    try {
      res = await withTimeout(
        this.remote(subject, {
          cls,
          limit,
          windowMs,
          want,
          leaseMs: this.opts.leaseTtlMs,
          release,
        }),
        this.opts.remoteTimeoutMs,
      );
      if (res === "failed") return "failed";
    } catch {
      return "failed";
    }
    if (res.revoked) {
      entry.revoked = true;
      return "ok";
    }
    entry.limit = limit;
    entry.windowMs = windowMs;
    entry.staleBefore = Math.max(entry.staleBefore, res.staleBefore ?? 0);
    entry.leaseId = res.leaseId;
    entry.resetAt = res.resetAt;
    entry.tokens = res.granted;
    entry.remoteRemaining = res.remaining;
    entry.exhausted = res.granted === 0;
    // From `now`, taken before the request was sent: the DO's record ends no earlier than this.
    entry.leaseExpiresAt = res.granted > 0 ? now + this.opts.leaseTtlMs : 0;
    return "ok";
  }
}

/** Resolves to the promise's value, or to "failed" after `ms`. */
function withTimeout<T>(promise: Promise<T>, ms: number): Promise<T | "failed"> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timeout = new Promise<"failed">((resolve) => {
    timer = setTimeout(() => resolve("failed"), ms);
  });
  return Promise.race([promise, timeout]).finally(() => {
    if (timer !== undefined) clearTimeout(timer);
  });
}
