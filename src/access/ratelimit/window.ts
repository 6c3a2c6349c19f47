/**
 * Fixed-window token accounting (pure). The Durable Object holds one `WindowState` per
 * route class and calls `grant` for each lease request; nothing else decides how many requests
 * are admitted, so the count is exact however many isolates ask at once.
 *
 * A lease request asks for `want` tokens and may hand back `release` unspent tokens of a lease
 * from the same window (an isolate whose lease expired), which become grantable again.
 */
export interface WindowState {
  windowStart: number;
  granted: number;
}

export interface GrantRequest {
  limit: number;
  windowMs: number;
  want: number;
  /** Unspent tokens being returned, valid only if `releaseWindow` is the current window. */
  release?: number;
  releaseWindow?: number | null;
}

export interface GrantResult {
  state: WindowState;
  granted: number;
  /** Tokens still grantable in this window after this grant. */
  remaining: number;
  windowStart: number;
  resetAt: number;
}

export function windowStartOf(now: number, windowMs: number): number {
  return Math.floor(now / windowMs) * windowMs;
}

export function grant(prev: WindowState | null, req: GrantRequest, now: number): GrantResult {
  const windowStart = windowStartOf(now, req.windowMs);
  let granted = prev && prev.windowStart === windowStart ? prev.granted : 0;
  if (req.release && req.release > 0 && req.releaseWindow === windowStart) {
    granted = Math.max(0, granted - Math.floor(req.release));
  }
  const available = Math.max(0, req.limit - granted);
  const give = Math.min(available, Math.max(0, Math.floor(req.want)));
  const state = { windowStart, granted: granted + give };
  return {
    state,
    granted: give,
    remaining: available - give,
    windowStart,
    resetAt: windowStart + req.windowMs,
  };
}
