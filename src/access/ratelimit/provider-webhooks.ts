/**
 * Rate-limit classes of the provider deliveries (docs/api.md "Rate limits"). Slack, HubSpot and Stripe
 * deliver from shared addresses, so these routes are not under the anonymous per-IP limit: each
 * connection's webhook has its own budget (`webhook`, subject `con:<id>`) and the payments webhook
 * one of its own (`payments-webhook`, subject `payments`). The budget is taken after the
 * signature check, so a caller without the provider's secret cannot spend a tenant's budget.
 */
import type { Context, MiddlewareHandler } from "hono";
import type { AppEnv } from "../../platform/http/router";
import { isolateState } from "../credential-cache";
import { ApiError } from "../../platform/http/problem";
import { rateLimitHeaders, tooManyRequests, type Limit } from "./policy";

/** Per connection: bursts of a busy Slack workspace or a HubSpot batch fit comfortably. */
export const PROVIDER_WEBHOOK_LIMIT: Limit = { quota: 1_200, windowSec: 60 };
/** The payment provider's one endpoint, for the whole platform. */
export const PAYMENTS_WEBHOOK_LIMIT: Limit = { quota: 3_000, windowSec: 60 };

/** Routes that take their budget themselves, after their signature check. */
const OWN_CLASS = /^\/v1\/(?:webhooks\/[^/]+|payments\/webhook)\/?$/;

/** A provider delivery: POST to one of the two receivers (they prove themselves by a signature). */
export const isProviderDelivery = (c: Context<AppEnv>): boolean =>
  c.req.method === "POST" && OWN_CLASS.test(c.req.path);

/** Runs `inner` (the general limiter) except on the provider-delivery routes. */
export function exceptProviderDeliveries(
  inner: MiddlewareHandler<AppEnv>,
): MiddlewareHandler<AppEnv> {
  return (c, next) => (isProviderDelivery(c) ? next() : inner(c, next));
}

/**
 * Spends one request of `subject`'s budget in `cls`: sets the RateLimit headers on the answer, or
 * throws 429 (with Retry-After) / 503 when the limiter is unreachable.
 */
export async function takeDeliveryBudget(
  c: Context<AppEnv>,
  cls: "webhook" | "payments-webhook",
  subject: string,
  limit: Limit,
): Promise<void> {
  const decision = await isolateState(c.env).limiter.take(
    subject,
    cls,
    limit.quota,
    limit.windowSec * 1000,
  );
  const now = Date.now();
  if (decision.allowed) {
    for (const [k, v] of Object.entries(
      rateLimitHeaders(cls, limit, decision.remaining, decision.resetAt, now),
    ))
      c.header(k, v);
    return;
  }
  if (decision.reason !== "limited")
    throw new ApiError({
      status: 503,
      type: "rate-limiter-unavailable",
      title: "Service unavailable",
      detail: "The rate limiter could not be reached; try again shortly.",
      headers: { "retry-after": "1" },
    });
  throw new ApiError(
    tooManyRequests(
      cls,
      limit,
      decision.resetAt,
      now,
      `The limit of ${limit.quota} deliveries per ${limit.windowSec} s for "${cls}" is reached.`,
    ),
  );
}
