/**
 * Rate-limit middleware. Authenticated calls are limited per route class by the organization's
 * plan, one quota shared by all its keys and tokens (./quota.ts); calls without a credential per
 * client IP. Every response carries
 * `RateLimit-Policy` and `RateLimit`; a refusal is a 429 problem with `Retry-After`.
 */
import type { Context, MiddlewareHandler } from "hono";
import { matchedRoutes } from "hono/route";
import type { AppEnv } from "../../platform/http/router";
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

/** Limits the request in `cls` (for authenticated callers) or as anonymous (no principal), per client IP. */
export function rateLimit(cls: PlanClass): MiddlewareHandler<AppEnv> {
  return async (c, next) => {
    if (!matchedRoutes(c).some((r) => r.method !== "ALL")) return next();
    const principal = c.get("principal");
    const anonymous = !principal;
    const routeClass: RouteClass = anonymous ? "anonymous" : cls;
    const limit: Limit = anonymous
      ? parseLimit(c.env.ATOLL_ANON_RATE_LIMIT, DEFAULT_ANONYMOUS_LIMIT)
      : limitFor(principal.plan, cls);
    const subject = anonymous ? `ip:${clientIp(c)}` : principal.subject;
    const limiter = isolateState(c.env).limiter;
    const decision = anonymous
      ? await limiter.take(subject, routeClass, limit.quota, limit.windowSec * 1000)
      : await takePlanQuota(limiter, principal, routeClass, limit);
    const now = Date.now();
    if (!decision.allowed) {
      switch (decision.reason) {
        case "revoked":
          throw unauthorized("The API key behind this credential has been revoked.", "revoked");
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
    for (const [k, v] of Object.entries(headers)) c.res.headers.set(k, v);
  };
}
