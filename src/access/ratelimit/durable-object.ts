/**
 * RateLimiter: one Durable Object per credential (named by its subject). It owns the sliding-window
 * records of every route class for that credential (./window.ts) and whether it was revoked.
 *
 * Exactness: `acquire` reads and writes its state synchronously (SQLite-backed storage's sync
 * KV API, no `await` in between), so concurrent requests are serialised and never grant more
 * than the limit. Isolates call it for *leases* of several tokens, not once per request.
 */
import { DurableObject } from "cloudflare:workers";
import { grant, readState, type WindowState } from "./window";

export interface AcquireRequest {
  cls: string;
  limit: number;
  windowMs: number;
  want: number;
  /** How long the isolate will spend the lease. */
  leaseMs: number;
  /** The previous lease of this class, handed back: its id and what was left unspent. */
  release?: { id: number; unspent: number } | null;
}

export interface AcquireResponse {
  granted: number;
  leaseId: number;
  remaining: number;
  resetAt: number;
  revoked: boolean;
  /**
   * What an isolate cached about this subject before this time (ms) is stale: the kill switch
   * sets it on `inst:<id>` so that every isolate reloads the installation's spec at its next
   * lease (≤ 1 s). 0: nothing was invalidated.
   */
  staleBefore?: number;
}

const REVOKED_KEY = "revoked";
const STALE_KEY = "stale_before";

export class RateLimiter extends DurableObject<Env> {
  /** Leases granted: `acquire` takes at most `want` tokens, never more than the window allows. */
  acquire(req: AcquireRequest): AcquireResponse {
    const kv = this.ctx.storage.kv;
    if (kv.get(REVOKED_KEY) === true) {
      return { granted: 0, leaseId: 0, remaining: 0, resetAt: 0, revoked: true, staleBefore: 0 };
    }
    const key = `w:${req.cls}`;
    const now = Date.now();
    const prev = readState(kv.get(key), req.limit, req.windowMs, now);
    const result = grant(prev, req, now);
    // Kept even when empty: lease ids never repeat, so a late hand-back cannot end another lease.
    kv.put(key, result.state);
    return {
      granted: result.granted,
      leaseId: result.leaseId,
      remaining: result.remaining,
      resetAt: result.resetAt,
      revoked: false,
      staleBefore: staleBefore(kv.get(STALE_KEY)),
    };
  }

  /** Marks what isolates cached about this subject before `at` stale (never moves back). */
  invalidate(at: number): void {
    const kv = this.ctx.storage.kv;
    if (at > staleBefore(kv.get(STALE_KEY))) kv.put(STALE_KEY, at);
  }

  /** Marks the credential revoked: every later lease request is refused. */
  revoke(): void {
    this.ctx.storage.kv.put(REVOKED_KEY, true);
  }

  /** Current records, for the operator and for tests. */
  inspect(): { revoked: boolean; windows: Record<string, WindowState> } {
    const windows: Record<string, WindowState> = {};
    for (const [k, v] of this.ctx.storage.kv.list({ prefix: "w:" }))
      windows[k.slice(2)] = readState(v, 0, 1, Date.now());
    return { revoked: this.ctx.storage.kv.get(REVOKED_KEY) === true, windows };
  }
}

const staleBefore = (v: unknown): number => (typeof v === "number" && Number.isFinite(v) ? v : 0);
