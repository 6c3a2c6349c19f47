/**
 * The leases a plugin call takes after the caller's own limit: a declared route's limit and the
 * installation's, whichever way the call arrives ({endpoint}/… routes, execute), so the two
 * paths pass the same check. The installation's lease is also the kill switch's path to every
 * isolate: it says when what isolates cached about the installation went stale (a revoked
 * version, a stopped listing, a fallback), and the caller reloads a spec loaded before that.
 */
import { isolateState } from "../credential-cache";
import type { ProblemInit } from "../../platform/http/problem";
import {
  DEFAULT_INSTALLATION_LIMIT,
  rateLimitHeaders,
  tooManyRequests,
  type Limit,
} from "./policy";

export type Lease =
  | { ok: true; headers: Record<string, string>; staleBefore: number }
  | { ok: false; problem: ProblemInit };

/**
 * One request from `subject`'s budget in `cls`: the policy's RateLimit headers and the subject's
 * invalidation time, or the 429 naming the policy (fail closed when the limiter is unreachable).
 */
export async function takeLease(
  env: Env,
  subject: string,
  cls: "route" | "installation",
  limit: Limit,
  detail: string,
): Promise<Lease> {
  const decision = await isolateState(env).limiter.take(
    subject,
    cls,
    limit.quota,
    limit.windowSec * 1000,
  );
  const now = Date.now();
  if (decision.allowed)
    return {
      ok: true,
      headers: rateLimitHeaders(cls, limit, decision.remaining, decision.resetAt, now),
      staleBefore: decision.staleBefore ?? 0,
    };
  const resetAt = decision.reason === "limited" ? decision.resetAt : now + 1000;
  return { ok: false, problem: tooManyRequests(cls, limit, resetAt, now, detail) };
}

/** The installation's lease (`inst:<id>`): its requests-per-minute, else the default. */
export function takeInstallationLease(
  env: Env,
  spec: { installationId: string; plugin: string; requestsPerMinute: number | null },
): Promise<Lease> {
  const limit = spec.requestsPerMinute
    ? { quota: spec.requestsPerMinute, windowSec: 60 }
    : DEFAULT_INSTALLATION_LIMIT;
  return takeLease(
    env,
    `inst:${spec.installationId}`,
    "installation",
    limit,
    `${spec.plugin} accepts ${limit.quota} requests per minute for this installation.`,
  );
}

/** Whether a spec loaded at `loadedAt` predates the installation's invalidation. */
export const isStale = (lease: { staleBefore: number }, loadedAt: number | undefined): boolean =>
  lease.staleBefore > (loadedAt ?? Infinity);
