/**
 * RateLimiter: one Durable Object per credential (named by its subject). It owns the window
 * counters of every route class for that credential and whether the credential was revoked.
 *
 * Exactness: `acquire` reads and writes its state synchronously (SQLite-backed storage's sync
 * KV API, no `await` in between), so concurrent requests are serialised and never grant more
 * than the limit. Isolates call it for *leases* of several tokens, not once per request.
 */
import { DurableObject } from "cloudflare:workers";
import { grant, type WindowState } from "./window";

export interface AcquireRequest {
  cls: string;
  limit: number;
  windowMs: number;
  want: number;
  release?: number;
  releaseWindow?: number | null;
}

export interface AcquireResponse {
  granted: number;
  remaining: number;
  windowStart: number;
  resetAt: number;
  revoked: boolean;
}

const REVOKED_KEY = "revoked";

export class RateLimiter extends DurableObject<Env> {
  /** Leases granted: `acquire` takes at most `want` tokens, never more than the window allows. */
  acquire(req: AcquireRequest): AcquireResponse {
    const kv = this.ctx.storage.kv;
    if (kv.get(REVOKED_KEY) === true) {
      return { granted: 0, remaining: 0, windowStart: 0, resetAt: 0, revoked: true };
    }
    const key = `w:${req.cls}`;
    const prev = (kv.get(key) as WindowState | undefined) ?? null;
    const result = grant(prev, req, Date.now());
    kv.put(key, result.state);
    return {
      granted: result.granted,
      remaining: result.remaining,
      windowStart: result.windowStart,
      resetAt: result.resetAt,
      revoked: false,
    };
  }

  /** Marks the credential revoked: every later lease request is refused. */
  revoke(): void {
    this.ctx.storage.kv.put(REVOKED_KEY, true);
  }

  /** Current counters, for the operator and for tests. */
  inspect(): { revoked: boolean; windows: Record<string, WindowState> } {
    const windows: Record<string, WindowState> = {};
    for (const [k, v] of this.ctx.storage.kv.list({ prefix: "w:" }))
      windows[k.slice(2)] = v as WindowState;
    return { revoked: this.ctx.storage.kv.get(REVOKED_KEY) === true, windows };
  }
}
