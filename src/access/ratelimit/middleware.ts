/**
 * Rate-limit middleware. Authenticated calls are limited per route class by the organization's
 * plan, one quota shared by all its keys and tokens (./quota.ts), on every route, public ones
 * included; calls without a credential, and calls refused for theirs (chargeRefusal, called by
 * authenticate()), per client IP. Every response carries
 * `RateLimit-Policy` and `RateLimit`; a refusal is a 429 problem with `Retry-After`.
 */
import type { Context, MiddlewareHandler } from "hono";
import { routeFactsOf, type AppEnv } from "../../platform/http/router";
import { isolateState } from "../credential-cache";
import { ApiError, problemResponse, unauthorized } from "../../platform/http/problem";
import { clientAddress } from "./client-ip";
import { takePlanQuota } from "./quota";
import {
  DEFAULT_ANONYMOUS_LIMIT,
  limitFor,
  parseLimit,
  rateLimitHeaders,
  tooManyRequests,
  type Limit,
  type PlanClass,
  type RouteClass,
} from "./policy";

/** The address anonymous calls are limited by: only what Cloudflare set, or locally the socket's (./client-ip.ts). */
export function clientIp(c: Context<AppEnv>): string {
  return clientAddress(c.req.raw.headers, c.env);
}

/** The per-IP limit of calls without a valid credential (`ATOLL_ANON_RATE_LIMIT`). */
const anonymousLimit = (env: Env): Limit =>
  parseLimit(env.ATOLL_ANON_RATE_LIMIT, DEFAULT_ANONYMOUS_LIMIT);

/**
 * A call refused for its credential (none where one is needed, malformed, unknown, expired,
 * revoked, forged) spends one request of the client IP's anonymous budget — the one calls
 * without a credential draw on — and never the budget of whoever the credential names: someone
 * guessing keys from one address is limited like any anonymous caller there, and a wrong key
 * costs its supposed owner nothing. Returns what to throw: the 401 with the address's RateLimit
 * headers, or a 429 once that budget is spent. Anything but a 401 is returned as it is.
 */
export async function chargeRefusal(c: Context<AppEnv>, err: unknown): Promise<unknown> {
  if (!(err instanceof ApiError) || err.status !== 401) return err;
  const limit = anonymousLimit(c.env);
  const decision = await isolateState(c.env).limiter.take(
    `ip:${clientIp(c)}`,
    "anonymous",
    limit.quota,
    limit.windowSec * 1000,
  );
  const now = Date.now();
  if (decision.allowed) {
    Object.assign(
      err.extraHeaders,
      rateLimitHeaders("anonymous", limit, decision.remaining, decision.resetAt, now),
    );
    return err;
  }
  // The limiter unreachable: the call is refused anyway, with the reason it was refused for.
  if (decision.reason !== "limited") return err;
  return new ApiError(tooManyRequests("anonymous", limit, decision.resetAt, now));
}

/** Limits the request in `cls` (for authenticated callers) or as anonymous (no principal), per client IP. */
export function rateLimit(cls: PlanClass): MiddlewareHandler<AppEnv> {
  return async (c, next) => {
    if (!routeFactsOf(c).hasHandler) return next();
    const principal = c.get("principal");
    const anonymous = !principal;
    const routeClass: RouteClass = anonymous ? "anonymous" : cls;
    const limit: Limit = anonymous ? anonymousLimit(c.env) : limitFor(principal.plan, cls);
    const subject = anonymous ? `ip:${clientIp(c)}` : principal.subject;
    const limiter = isolateState(c.env).limiter;
    const decision = anonymous
      ? await limiter.take(subject, routeClass, limit.quota, limit.windowSec * 1000)
      : await takePlanQuota(limiter, principal, routeClass, limit);
    const now = Date.now();
    if (!decision.allowed) {
      switch (decision.reason) {
        case "revoked":
          throw await chargeRefusal(
            c,
            unauthorized("The API key behind this credential has been revoked.", "revoked"),
          );
        case "unavailable":
          throw new ApiError({
            status: 503,
            type: "rate-limiter-unavailable",
            title: "Service unavailable",
            detail: "The rate limiter could not be reached; try again shortly.",
            headers: { "retry-after": "1" },
          });
        case "limited": {
          // The refusal path is hot under abuse: answer directly, without throwing.
          return problemResponse(
            tooManyRequests(routeClass, limit, decision.resetAt, now),
            c.get("requestId"),
            c.req.path,
          );
        }
      }
    }
    await next();
    const headers = rateLimitHeaders(routeClass, limit, decision.remaining, decision.resetAt, now);
    // A policy already on the answer (a plugin route's own limit) stays, after the plan's.
    for (const [k, v] of Object.entries(headers)) {
      const prev = c.res.headers.get(k);
      c.res.headers.set(k, prev ? `${v}, ${prev}` : v);
    }
  };
}
