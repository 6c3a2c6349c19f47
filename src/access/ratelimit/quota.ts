/**
 * Whose quota is whose. A plan's quota belongs to the organization: every key of the
 * organization, and every token minted from them, draws on one bucket per route class (the
 * Durable Object `org:<orgId>`), so N keys never get N times the plan. Each credential also
 * keeps its own bucket of the same size, which is where revocation is enforced across isolates
 * (its Durable Object refuses leases once revoked); it is drawn first, so a revoked key never
 * spends its organization's quota.
 */
import type { Decision, LeaseLimiter } from "./lease";
import type { Limit } from "./policy";

/** The Durable Object name of an organization's shared quota. */
export const orgQuotaSubject = (orgId: string): string => `org:${orgId}`;

/** Takes one request for `who` in `cls`: from its credential's bucket, then from its organization's. */
export async function takePlanQuota(
  limiter: Pick<LeaseLimiter, "take">,
  who: { subject: string; orgId: string | null },
  cls: string,
  limit: Limit,
): Promise<Decision> {
  const windowMs = limit.windowSec * 1000;
  const own = await limiter.take(who.subject, cls, limit.quota, windowMs);
  if (!own.allowed || who.orgId === null) return own;
  const org = await limiter.take(orgQuotaSubject(who.orgId), cls, limit.quota, windowMs);
  if (!org.allowed) return org;
  return { allowed: true, remaining: Math.min(own.remaining, org.remaining), resetAt: org.resetAt };
}
