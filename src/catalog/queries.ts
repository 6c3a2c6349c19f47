/** Data access for marketplace listings (the plugins table) and their full-text index. */
import { and, desc, eq, sql, type SQL } from "drizzle-orm";
import semver from "semver";
import type { Db } from "../platform/db/client";
import { previousChangedOne } from "../platform/db/guard";
import {
  pluginVersions,
  plugins,
  publisherKeys,
  type PluginRow,
  type PluginVersionRow,
} from "../platform/db/schema";
import type { Manifest } from "../contract/manifest";
import { ApiError } from "../platform/http/problem";
import { listingsFts } from "./fts";
import { displaySkeleton, listingFields } from "./listing";

/**
 * A development version (`1.2.0-dev.3`, what `atoll dev` publishes) is its publisher's own: it
 * needs no review because nobody else can run it — never listed, searched, shown in another
 * organization's version list, installed or upgraded to by anyone but the publisher.
 */
export function isDevVersion(version: string): boolean {
  return semver.prerelease(version)?.[0] === "dev";
}

/** Whether `orgId` (null: anonymous) may see and install this version of a plugin. */
export function versionVisibleTo(
  version: { version: string; status: string },
  plugin: { orgId: string },
  orgId: string | null,
  operator = false,
): boolean {
  if (version.status !== "published") return false;
  return !isDevVersion(version.version) || operator || orgId === plugin.orgId;
}

/** Statements that refresh a listing and its search entry; run them in the publish batch. */
export function refreshListingStatements(
  db: Db,
  pluginId: string,
  manifest: Manifest,
  readme: string | null,
  now: number,
) {
  const f = listingFields(manifest, readme);
  return [
    db
      .update(plugins)
      .set({
        ...f,
        displaySkeleton: displaySkeleton(f.displayName),
        latestVersion: manifest.version,
        listed: true,
        updatedAt: now,
      })
      .where(eq(plugins.id, pluginId)),
    db.delete(listingsFts).where(eq(listingsFts.pluginId, pluginId)),
    db.insert(listingsFts).values({
      pluginId,
      name: manifest.name,
      displayName: f.displayName,
      summary: f.summary,
      description: f.description,
      keywords: f.keywords,
    }),
  ] as const;
}

/** Statements that take a listing out of browse and search (nothing published, or suspended). */
export function unlistStatements(db: Db, pluginId: string, now: number) {
  return [
    db
      .update(plugins)
      .set({ listed: false, latestVersion: null, updatedAt: now })
      .where(eq(plugins.id, pluginId)),
    db.delete(listingsFts).where(eq(listingsFts.pluginId, pluginId)),
  ] as const;
}

/**
 * The statements that bring a listing in line with its versions after `changed` takes effect:
 * listed from the highest published version, or unlisted when none is (or it is suspended).
 */
export function listingStatements(
  db: Db,
  plugin: PluginRow,
  versions: { version: string; status: string; manifest: Manifest; readme: string | null }[],
  now: number,
) {
  const published = versions
    .filter((v) => v.status === "published" && !isDevVersion(v.version))
    .sort((a, b) => semver.rcompare(a.version, b.version))[0];
  if (!published || plugin.suspendedAt !== null) return unlistStatements(db, plugin.id, now);
  return refreshListingStatements(db, plugin.id, published.manifest, published.readme, now);
}

/**
 * Moves a listing's install count. `guarded`: only if the previous statement of the batch changed
 * one row (the installation row that justifies it; src/platform/db/guard.ts).
 */
export function installCountStatement(db: Db, pluginId: string, delta: 1 | -1, guarded = false) {
  return db
    .update(plugins)
    .set({ installCount: sql`max(0, ${plugins.installCount} + ${delta})` })
    .where(
      guarded ? and(eq(plugins.id, pluginId), previousChangedOne()) : eq(plugins.id, pluginId),
    );
}

/**
 * Recomputes every listing's install count from the active installations (the operator's repair
 * for counters that drifted); returns the listings it corrected.
 */
export async function recountInstalls(
  db: Db,
): Promise<{ plugin: string; from: number; to: number }[]> {
  const actual = sql`(SELECT COUNT(*) FROM installations i WHERE i.plugin_id = ${plugins.id} AND i.status = 'active')`;
  const drifted = await db
    .select({
      id: plugins.id,
      plugin: plugins.name,
      from: plugins.installCount,
      to: sql<number>`${actual}`,
    })
    .from(plugins)
    .where(sql`${plugins.installCount} <> ${actual}`);
  if (drifted.length === 0) return [];
  // One statement sets every count from the table itself, so an install racing the repair is counted.
  await db
    .update(plugins)
    .set({ installCount: sql`${actual}` })
    .where(sql`${plugins.installCount} <> ${actual}`);
  return drifted.map((d) => ({ plugin: d.plugin, from: d.from, to: Number(d.to) }));
}

export type Sort = "relevance" | "installs" | "rating" | "newest";

export interface SearchParams {
  match: string | null;
  kind?: PluginRow["kind"];
  category?: string;
  pricing?: "free" | "paid" | "one-time" | "subscription" | "usage";
  minRating?: number;
  sort: Sort;
  limit: number;
  offset: number;
}

export interface ListingRow {
  id: string;
  name: string;
  kind: PluginRow["kind"];
  display_name: string;
  summary: string;
  category: string;
  icon: string | null;
  pricing: string;
  latest_version: string | null;
  install_count: number;
  rating_count: number;
  rating_sum: number;
  created_at: number;
  org_slug: string;
  org_verified: number;
}

/** One page of listings (limit + 1 rows are read to know whether another page follows). */
export async function searchListings(db: Db, p: SearchParams): Promise<ListingRow[]> {
  const where: SQL[] = [sql`p.listed = 1`];
  if (p.kind) where.push(sql`p.kind = ${p.kind}`);
  if (p.category) where.push(sql`p.category = ${p.category}`);
  if (p.pricing === "paid") where.push(sql`p.pricing_model != 'free'`);
  else if (p.pricing) where.push(sql`p.pricing_model = ${p.pricing}`);
  if (p.minRating !== undefined)
    where.push(sql`p.rating_count > 0 AND p.rating_sum >= ${p.minRating} * p.rating_count`);
  const order =
    p.sort === "relevance" && p.match
      ? sql`rank, p.id`
      : p.sort === "rating"
        ? sql`(CASE WHEN p.rating_count = 0 THEN 0 ELSE p.rating_sum * 1.0 / p.rating_count END) DESC, p.rating_count DESC, p.id`
        : p.sort === "newest"
          ? sql`p.created_at DESC, p.id`
          : sql`p.install_count DESC, p.id`;
  const columns = sql`p.id, p.name, p.kind, p.display_name, p.summary, p.category, p.icon, p.pricing, p.latest_version, p.install_count, p.rating_count, p.rating_sum, p.created_at, o.slug AS org_slug, o.verified AS org_verified`;
  const query = p.match
    ? sql`SELECT ${columns}, bm25(listings_fts, 0.0, 10.0, 8.0, 4.0, 1.0, 3.0) AS rank
          FROM listings_fts JOIN plugins p ON p.id = listings_fts.plugin_id JOIN organizations o ON o.id = p.org_id
          WHERE listings_fts MATCH ${p.match} AND ${sql.join(where, sql` AND `)}
          ORDER BY ${order} LIMIT ${p.limit + 1} OFFSET ${p.offset}`
    : sql`SELECT ${columns} FROM plugins p JOIN organizations o ON o.id = p.org_id
          WHERE ${sql.join(where, sql` AND `)}
          ORDER BY ${order} LIMIT ${p.limit + 1} OFFSET ${p.offset}`;
  return db.all<ListingRow>(query);
}

export async function categoryCounts(db: Db): Promise<Record<string, number>> {
  const rows = await db.all<{ category: string; n: number }>(
    sql`SELECT category, count(*) AS n FROM plugins WHERE listed = 1 GROUP BY category`,
  );
  return Object.fromEntries(rows.map((r) => [r.category, r.n]));
}

export async function findListedPlugin(db: Db, name: string): Promise<PluginRow | null> {
  const [row] = await db
    .select()
    .from(plugins)
    .where(and(eq(plugins.name, name), eq(plugins.listed, true)))
    .limit(1);
  return row ?? null;
}

/** Active installs per version of one listing. */
export async function installsPerVersion(
  db: Db,
  pluginId: string,
): Promise<Record<string, number>> {
  const rows = await db.all<{ version: string; n: number }>(sql`
    SELECT v.version AS version, count(i.id) AS n FROM plugin_versions v
    LEFT JOIN installations i ON i.version_id = v.id AND i.status = 'active'
    WHERE v.plugin_id = ${pluginId} GROUP BY v.id`);
  return Object.fromEntries(rows.map((r) => [r.version, r.n]));
}

export async function findPluginByName(db: Db, name: string): Promise<PluginRow | null> {
  const [row] = await db.select().from(plugins).where(eq(plugins.name, name)).limit(1);
  return row ?? null;
}

export async function listVersions(db: Db, pluginId: string): Promise<PluginVersionRow[]> {
  return db
    .select()
    .from(pluginVersions)
    .where(eq(pluginVersions.pluginId, pluginId))
    .orderBy(desc(pluginVersions.createdAt))
    .limit(500);
}

/** The organization that publishes a plugin (null: no such plugin). */
export async function findPluginOwner(db: Db, pluginId: string): Promise<string | null> {
  const [row] = await db
    .select({ orgId: plugins.orgId })
    .from(plugins)
    .where(eq(plugins.id, pluginId))
    .limit(1);
  return row?.orgId ?? null;
}

export async function findVersion(
  db: Db,
  pluginId: string,
  version: string,
): Promise<PluginVersionRow | null> {
  const [row] = await db
    .select()
    .from(pluginVersions)
    .where(and(eq(pluginVersions.pluginId, pluginId), eq(pluginVersions.version, version)))
    .limit(1);
  return row ?? null;
}

/**
 * The refusal of a version signed only by a key its publisher has since revoked (declared
 * compromised): no new installation or move onto it; those running it keep running until the
 * operator (or the publisher, with the kill switch) decides. Null when the version may be taken.
 */
export async function revokedSignerProblem(
  db: Db,
  plugin: string,
  version: Pick<PluginVersionRow, "version" | "signerKeyId">,
): Promise<ApiError | null> {
  if (!version.signerKeyId) return null;
  const [key] = await db
    .select({ revokedAt: publisherKeys.revokedAt, fingerprint: publisherKeys.fingerprint })
    .from(publisherKeys)
    .where(eq(publisherKeys.id, version.signerKeyId))
    .limit(1);
  if (!key || key.revokedAt === null) return null;
  return new ApiError({
    status: 409,
    type: "version-key-revoked",
    title: "Version signed with a revoked key",
    detail: `${plugin}@${version.version} was signed with ${key.fingerprint}, which its publisher has revoked: it cannot be installed or moved to. Choose another version.`,
  });
}
