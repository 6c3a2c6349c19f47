/**
 * Plans, route classes and the rate-limit headers (pure).
 *
 * Limits belong to the organization (all its API keys and the JWTs minted from them share one
 * budget, see ./quota.ts) and are per route class, in sliding windows (./window.ts). Headers follow
 * the IETF httpapi RateLimit header fields draft (`t`: seconds until quota next comes back):
 *
 *     RateLimit-Policy: "api";q=60;w=60
 *     RateLimit: "api";r=42;t=17
 */
import type { ProblemInit } from "../../platform/http/problem";
import type { Plan } from "../../platform/db/schema";

export type RouteClass =
  | "api"
  | "token"
  | "plugin"
  | "installation"
  | "route"
  | "anonymous"
  | "webhook"
  | "payments-webhook";
export type LimitPlan = Plan | "operator";

export interface Limit {
  /** Requests admitted per window. */
  quota: number;
  windowSec: number;
}

/** The documented plan table (docs/api.md "Rate limits"). */
export const PLANS: Record<LimitPlan, Record<PlanClass, Limit>> = {
  free: {
    api: { quota: 60, windowSec: 60 },
    token: { quota: 10, windowSec: 60 },
    plugin: { quota: 600, windowSec: 60 },
  },
  pro: {
    api: { quota: 1_200, windowSec: 60 },
    token: { quota: 60, windowSec: 60 },
    plugin: { quota: 6_000, windowSec: 60 },
  },
  enterprise: {
    api: { quota: 100_000, windowSec: 60 },
    token: { quota: 600, windowSec: 60 },
    plugin: { quota: 200_000, windowSec: 60 },
  },
  operator: {
    api: { quota: 100_000, windowSec: 60 },
    token: { quota: 600, windowSec: 60 },
    plugin: { quota: 200_000, windowSec: 60 },
  },
};

/** Route classes whose limits come from the plan (the others: per IP, per installation). */
export type PlanClass = "api" | "token" | "plugin";

/** An installation's own limit when its manifest declares none (requests per minute, all callers). */
export const DEFAULT_INSTALLATION_LIMIT: Limit = { quota: 100_000, windowSec: 60 };

/** Calls without a credential (sign-up, token requests) are limited per client IP. */
export const DEFAULT_ANONYMOUS_LIMIT: Limit = { quota: 120, windowSec: 60 };

export function limitFor(plan: LimitPlan, cls: PlanClass): Limit {
  return PLANS[plan][cls];
}

/** Parses `ATOLL_ANON_RATE_LIMIT` ("<quota>/<windowSec>"), falling back to the default. */
export function parseLimit(value: string | undefined, fallback: Limit): Limit {
  const m = value ? /^(\d{1,7})\/(\d{1,5})$/.exec(value.trim()) : null;
  if (!m) return fallback;
  const quota = Number(m[1]);
  const windowSec = Number(m[2]);
  return quota > 0 && windowSec > 0 ? { quota, windowSec } : fallback;
}

export function rateLimitHeaders(
  cls: RouteClass,
  limit: Limit,
  remaining: number,
  resetAt: number,
  now: number,
): Record<string, string> {
  const t = Math.max(0, Math.ceil((resetAt - now) / 1000));
  return {
    "ratelimit-policy": `"${cls}";q=${limit.quota};w=${limit.windowSec}`,
    ratelimit: `"${cls}";r=${Math.max(0, remaining)};t=${t}`,
  };
}

/**
 * The one 429: a `rate-limited` problem with the RateLimit headers and Retry-After (whole seconds,
 * at least 1). `what` completes "The limit of …" (e.g. `60 requests per 60 s for "api"`).
 * Callers on the hot refusal path answer it with problemResponse() instead of throwing it.
 */
export function tooManyRequests(
  cls: RouteClass,
  limit: Limit,
  resetAt: number,
  now: number,
  detail?: string,
): ProblemInit {
  const retryAfter = Math.max(1, Math.ceil((resetAt - now) / 1000));
  return {
    status: 429,
    type: "rate-limited",
    title: "Too many requests",
    detail: `${detail ?? `The limit of ${limit.quota} requests per ${limit.windowSec} s for "${cls}" is reached.`} Retry in ${retryAfter} s.`,
    headers: {
      ...rateLimitHeaders(cls, limit, 0, resetAt, now),
      "retry-after": String(retryAfter),
    },
  };
}
