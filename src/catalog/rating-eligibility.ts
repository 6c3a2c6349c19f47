/**
 * Who may rate a listing, and which ratings count toward its average (against rating stuffing):
 * - never the listing's own publisher;
 * - only an organization with an installation of the listing that has been active for at least
 *   `minHours` and through which the listing was called at least `minCalls` times (metered
 *   calls: routes, apps, execute, events) — by default a day and 3 calls;
 * - any eligible member may rate and review, but one rating per organization counts: its
 *   earliest visible one (hidden ratings and the publisher's never count).
 */
import { and, eq, sql } from "drizzle-orm";
import type { Db } from "../platform/db/client";
import { installations, usageRollups } from "../platform/db/schema";
import type { NoFields, Result } from "../contract/result";

export interface RatingRule {
  minHours: number;
  minCalls: number;
}

export const DEFAULT_RATING_RULE: RatingRule = { minHours: 24, minCalls: 3 };

/** The rule from the environment (ATOLL_RATING_MIN_HOURS, ATOLL_RATING_MIN_CALLS); a missing or malformed value keeps the default. */
export function ratingRule(env: {
  ATOLL_RATING_MIN_HOURS?: string;
  ATOLL_RATING_MIN_CALLS?: string;
}): RatingRule {
  const n = (v: string | undefined, d: number) =>
    v !== undefined && /^\d{1,6}$/.test(v) ? Number(v) : d;
  return {
    minHours: n(env.ATOLL_RATING_MIN_HOURS, DEFAULT_RATING_RULE.minHours),
    minCalls: n(env.ATOLL_RATING_MIN_CALLS, DEFAULT_RATING_RULE.minCalls),
  };
}

export type Eligibility = Result<
  NoFields,
  {
    reason: "own-listing" | "no-install" | "too-recent" | "too-few-calls";
    hours?: number;
    calls?: number;
  }
>;

/** Pure: the decision from what the organization did. */
export function decide(
  rule: RatingRule,
  facts: { ownListing: boolean; installedAt: number | null; calls: number; now: number },
): Eligibility {
  if (facts.ownListing) return { ok: false, reason: "own-listing" };
  if (facts.installedAt === null) return { ok: false, reason: "no-install" };
  const hours = Math.floor((facts.now - facts.installedAt) / 3_600_000);
  if (facts.now - facts.installedAt < rule.minHours * 3_600_000)
    return { ok: false, reason: "too-recent", hours };
  if (facts.calls < rule.minCalls)
    return { ok: false, reason: "too-few-calls", calls: facts.calls };
  return { ok: true };
}

/** Whether `orgId` may rate the listing now. */
export async function ratingEligibility(
  db: Db,
  rule: RatingRule,
  orgId: string,
  listing: { id: string; orgId: string },
  now = Date.now(),
): Promise<Eligibility> {
  if (listing.orgId === orgId)
    return decide(rule, { ownListing: true, installedAt: null, calls: 0, now });
  const [inst] = await db
    .select({ at: sql<number | null>`MIN(${installations.createdAt})` })
    .from(installations)
    .where(
      and(
        eq(installations.orgId, orgId),
        eq(installations.pluginId, listing.id),
        eq(installations.status, "active"),
      ),
    );
  const [used] = await db
    .select({ calls: sql<number>`COALESCE(SUM(${usageRollups.calls}), 0)` })
    .from(usageRollups)
    .where(
      and(
        eq(usageRollups.orgId, orgId),
        eq(usageRollups.pluginId, listing.id),
        eq(usageRollups.granularity, "day"),
      ),
    );
  return decide(rule, {
    ownListing: false,
    installedAt: inst?.at ?? null,
    calls: Number(used?.calls ?? 0),
    now,
  });
}

/**
 * The ratings that count toward a listing's average, as SQL: one per organization (its earliest
 * visible rating), never the publisher's own.
 */
export function countedRatings(pluginId: string) {
  return sql`SELECT r.stars FROM ratings r WHERE r.plugin_id = ${pluginId} AND r.hidden = 0
    AND r.org_id != (SELECT org_id FROM plugins WHERE id = ${pluginId})
    AND r.id = (SELECT r2.id FROM ratings r2 WHERE r2.plugin_id = ${pluginId} AND r2.org_id = r.org_id AND r2.hidden = 0 ORDER BY r2.created_at, r2.id LIMIT 1)`;
}
