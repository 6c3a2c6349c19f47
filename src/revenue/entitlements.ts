/**
 * Entitlements: whether an organization may install and run a listing — free, its own, bought,
 * or subscribed to. The run-time check is cached per isolate (60 s, like specs' records); a
 * purchase, refund or cancellation in this isolate forgets the organization's entries at once.
 */
import { and, eq, inArray, or, sql } from "drizzle-orm";
import { TtlCache, perBinding } from "../platform/cache";
import { getDb, type Db } from "../platform/db/client";
import { plugins, purchases, subscriptions, type PluginRow } from "../platform/db/schema";
import { ApiError } from "../platform/http/problem";
import type { PluginSpec } from "../runtime/spec";

/** Whether the organization may install and call a listing: free, its own, or paid for. */
export async function hasEntitlement(
  db: Db,
  orgId: string,
  listing: Pick<PluginRow, "id" | "orgId" | "pricingModel">,
  now = Date.now(),
): Promise<boolean> {
  if (listing.pricingModel === "free" || listing.orgId === orgId) return true;
  const [owned] = await db
    .select({ id: purchases.id })
    .from(purchases)
    .where(
      and(
        eq(purchases.buyerOrgId, orgId),
        eq(purchases.pluginId, listing.id),
        eq(purchases.kind, "one_time"),
        inArray(purchases.status, ["succeeded", "partially_refunded"]),
      ),
    )
    .limit(1);
  if (owned) return true;
  const [sub] = await db
    .select({ id: subscriptions.id })
    .from(subscriptions)
    .where(
      and(
        eq(subscriptions.buyerOrgId, orgId),
        eq(subscriptions.pluginId, listing.id),
        // past_due keeps access while the renewal is retried (a grace period).
        or(
          eq(subscriptions.status, "past_due"),
          and(
            eq(subscriptions.status, "active"),
            or(eq(subscriptions.billing, "usage"), sql`${subscriptions.currentPeriodEnd} > ${now}`),
          ),
        ),
      ),
    )
    .limit(1);
  return Boolean(sub);
}

export const paymentRequired = (listing: string) =>
  new ApiError({
    status: 402,
    type: "purchase-required",
    title: "Payment required",
    detail: `${listing} is a paid listing; buy it first with POST /v1/purchases {"listing":"${listing}"}.`,
  });

const entitledCache = (env: Env) =>
  perBinding(env.DB, "entitlements", () => new TtlCache<true>(60_000));

/** Whether the installation's organization may run its listing now (a paid listing must be owned, subscribed or its own). */
export async function entitledToRun(
  env: Env,
  spec: Pick<PluginSpec, "paid" | "orgId" | "pluginId">,
): Promise<boolean> {
  if (!spec.paid) return true;
  const cache = entitledCache(env);
  const key = `${spec.orgId}:${spec.pluginId}`;
  if (cache.get(key)) return true;
  const db = getDb(env.DB);
  const [listing] = await db
    .select({ id: plugins.id, orgId: plugins.orgId, pricingModel: plugins.pricingModel })
    .from(plugins)
    .where(eq(plugins.id, spec.pluginId));
  const ok = Boolean(listing && (await hasEntitlement(db, spec.orgId, listing)));
  if (ok) cache.set(key, true);
  return ok;
}

/** Forgets an organization's cached entitlements (a purchase, refund or cancellation here). */
export function forgetEntitlements(env: Env, orgId: string): void {
  entitledCache(env).deleteWhere((_v, k) => k.startsWith(`${orgId}:`));
}
