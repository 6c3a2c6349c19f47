/**
 * The ecosystem report (the sketch's `generate_ecosystem_report`): metrics, top plugins and apps,
 * growth trends (daily and monthly) and the revenue breakdown, for a period — over the whole
 * platform (operator) or one publisher's listings. Everything is read from the tables that hold
 * the facts (listings, installation history, purchases, refunds, subscriptions, usage rollups);
 * money stays in integer minor units, per currency, never summed across currencies.
 */
import { sql, type SQL } from "drizzle-orm";
import type { Db } from "../../platform/db/client";

export interface Period {
  from: number;
  to: number;
}

type Money = {
  currency: string;
  gross: number;
  refunds: number;
  net: number;
  platformFees: number;
  developerShare: number;
};

const DAY = 86_400_000;

/** `AND p.org_id = ?` when the report is one publisher's. */
const scope = (publisherOrgId: string | null, column = sql`p.org_id`): SQL =>
  publisherOrgId ? sql` AND ${column} = ${publisherOrgId}` : sql``;

async function all<T>(db: Db, query: SQL): Promise<T[]> {
  return db.all<T>(query);
}

async function revenueBy(
  db: Db,
  period: Period,
  publisher: string | null,
  dimension: SQL | null,
): Promise<(Money & { key: string })[]> {
  const key = dimension ?? sql`''`;
  const sales = await all<{
    key: string;
    currency: string;
    gross: number;
    fees: number;
    share: number;
  }>(
    db,
    sql`SELECT ${key} AS key, pu.currency AS currency, SUM(pu.amount) AS gross, SUM(pu.fee) AS fees, SUM(pu.share) AS share
        FROM purchases pu JOIN plugins p ON p.id = pu.plugin_id JOIN organizations o ON o.id = p.org_id
        WHERE pu.created_at >= ${period.from} AND pu.created_at < ${period.to} AND pu.amount > 0${scope(publisher)}
        GROUP BY 1, 2`,
  );
  const refunds = await all<{
    key: string;
    currency: string;
    amount: number;
    fee: number;
    share: number;
  }>(
    db,
    sql`SELECT ${key} AS key, r.currency AS currency, SUM(r.amount) AS amount, SUM(r.fee) AS fee, SUM(r.share) AS share
        FROM refunds r JOIN purchases pu ON pu.id = r.purchase_id JOIN plugins p ON p.id = pu.plugin_id JOIN organizations o ON o.id = p.org_id
        WHERE r.status = 'succeeded' AND r.created_at >= ${period.from} AND r.created_at < ${period.to}${scope(publisher)}
        GROUP BY 1, 2`,
  );
  const out = new Map<string, Money & { key: string }>();
  const get = (k: string, currency: string) => {
    const id = `${k}\u0000${currency}`;
    let m = out.get(id);
    if (!m)
      out.set(
        id,
        (m = {
          key: k,
          currency,
          gross: 0,
          refunds: 0,
          net: 0,
          platformFees: 0,
          developerShare: 0,
        }),
      );
    return m;
  };
  for (const s of sales) {
    const m = get(String(s.key), s.currency);
    m.gross += Number(s.gross);
    m.platformFees += Number(s.fees);
    m.developerShare += Number(s.share);
  }
  for (const r of refunds) {
    const m = get(String(r.key), r.currency);
    m.refunds += Number(r.amount);
    m.platformFees -= Number(r.fee);
    m.developerShare -= Number(r.share);
  }
  for (const m of out.values()) m.net = m.gross - m.refunds;
  return [...out.values()].sort((a, b) => b.net - a.net || a.key.localeCompare(b.key));
}

interface TopRow {
  listing: string;
  kind: string;
  installs: number;
  rating: number | null;
  ratingCount: number;
  revenue: { currency: string; net: number }[];
}

async function top(
  db: Db,
  period: Period,
  publisher: string | null,
  kind: "plugin" | "app",
  limit = 10,
): Promise<{ byInstalls: TopRow[]; byRevenue: TopRow[]; byRating: TopRow[] }> {
  const rows = await all<{
    id: string;
    name: string;
    kind: string;
    installs: number;
    rating_sum: number;
    rating_count: number;
  }>(
    db,
    sql`SELECT p.id, p.name, p.kind, p.install_count AS installs, p.rating_sum, p.rating_count FROM plugins p WHERE p.kind = ${kind} AND p.latest_version IS NOT NULL${scope(publisher)}`,
  );
  const revenue = await revenueBy(db, period, publisher, sql`p.name`);
  const byListing = new Map<string, { currency: string; net: number }[]>();
  for (const r of revenue)
    byListing.set(r.key, [...(byListing.get(r.key) ?? []), { currency: r.currency, net: r.net }]);
  const list: TopRow[] = rows.map((r) => ({
    listing: r.name,
    kind: r.kind,
    installs: Number(r.installs),
    rating: r.rating_count > 0 ? Math.round((r.rating_sum / r.rating_count) * 100) / 100 : null,
    ratingCount: Number(r.rating_count),
    revenue: byListing.get(r.name) ?? [],
  }));
  // Revenue ranks within the listing's largest currency (currencies are never added together).
  const bestNet = (t: TopRow) => Math.max(0, ...t.revenue.map((x) => x.net));
  return {
    byInstalls: [...list]
      .sort((a, b) => b.installs - a.installs || a.listing.localeCompare(b.listing))
      .slice(0, limit),
    byRevenue: [...list]
      .filter((t) => t.revenue.length > 0)
      .sort((a, b) => bestNet(b) - bestNet(a) || a.listing.localeCompare(b.listing))
      .slice(0, limit),
    byRating: [...list]
      .filter((t) => t.rating !== null)
      .sort((a, b) => (b.rating ?? 0) - (a.rating ?? 0) || b.ratingCount - a.ratingCount)
      .slice(0, limit),
  };
}

type Point = {
  period: string;
  installs: number;
  uninstalls: number;
  newDevelopers: number;
  apiCalls: number;
  revenue: { currency: string; net: number }[];
};

async function series(
  db: Db,
  p: Period,
  publisher: string | null,
  grain: "day" | "month",
): Promise<Point[]> {
  const bucket = (col: SQL) =>
    grain === "day"
      ? sql`strftime('%Y-%m-%d', ${col} / 1000, 'unixepoch')`
      : sql`strftime('%Y-%m', ${col} / 1000, 'unixepoch')`;
  const events = await all<{ b: string; action: string; n: number }>(
    db,
    sql`SELECT ${bucket(sql`e.at`)} AS b, e.action, COUNT(*) AS n FROM installation_events e JOIN installations i ON i.id = e.installation_id JOIN plugins p ON p.id = i.plugin_id
        WHERE e.at >= ${p.from} AND e.at < ${p.to} AND e.action IN ('installed', 'uninstalled')${scope(publisher)} GROUP BY 1, 2`,
  );
  const devs = publisher
    ? []
    : await all<{ b: string; n: number }>(
        db,
        sql`SELECT ${bucket(sql`first`)} AS b, COUNT(*) AS n FROM (SELECT MIN(created_at) AS first FROM plugins GROUP BY org_id) WHERE first >= ${p.from} AND first < ${p.to} GROUP BY 1`,
      );
  const calls = await all<{ b: string; n: number }>(
    db,
    sql`SELECT ${bucket(sql`u.bucket`)} AS b, SUM(u.calls) AS n FROM usage_rollups u JOIN plugins p ON p.id = u.plugin_id WHERE u.granularity = 'day' AND u.bucket >= ${Math.floor(p.from / DAY) * DAY} AND u.bucket < ${p.to}${scope(publisher)} GROUP BY 1`,
  );
  const sales = await all<{ b: string; currency: string; n: number }>(
    db,
    sql`SELECT ${bucket(sql`pu.created_at`)} AS b, pu.currency, SUM(pu.amount) AS n FROM purchases pu JOIN plugins p ON p.id = pu.plugin_id WHERE pu.created_at >= ${p.from} AND pu.created_at < ${p.to}${scope(publisher)} GROUP BY 1, 2`,
  );
  const refunds = await all<{ b: string; currency: string; n: number }>(
    db,
    sql`SELECT ${bucket(sql`r.created_at`)} AS b, r.currency, SUM(r.amount) AS n FROM refunds r JOIN purchases pu ON pu.id = r.purchase_id JOIN plugins p ON p.id = pu.plugin_id WHERE r.status = 'succeeded' AND r.created_at >= ${p.from} AND r.created_at < ${p.to}${scope(publisher)} GROUP BY 1, 2`,
  );
  // Every bucket of the period appears, zeros included, so a chart has no gaps.
  const points = new Map<string, Point>();
  const start = new Date(p.from);
  for (
    let d = Date.UTC(
      start.getUTCFullYear(),
      start.getUTCMonth(),
      grain === "day" ? start.getUTCDate() : 1,
    );
    d < p.to;
  ) {
    const label = new Date(d).toISOString().slice(0, grain === "day" ? 10 : 7);
    points.set(label, {
      period: label,
      installs: 0,
      uninstalls: 0,
      newDevelopers: 0,
      apiCalls: 0,
      revenue: [],
    });
    const next = new Date(d);
    if (grain === "day") next.setUTCDate(next.getUTCDate() + 1);
    else next.setUTCMonth(next.getUTCMonth() + 1);
    d = next.getTime();
  }
  const at = (b: string) => points.get(b);
  for (const e of events) {
    const pt = at(e.b);
    if (pt) pt[e.action === "installed" ? "installs" : "uninstalls"] += Number(e.n);
  }
  for (const d of devs) {
    const pt = at(d.b);
    if (pt) pt.newDevelopers += Number(d.n);
  }
  for (const c of calls) {
    const pt = at(c.b);
    if (pt) pt.apiCalls += Number(c.n);
  }
  const addRevenue = (b: string, currency: string, n: number) => {
    const pt = at(b);
    if (!pt) return;
    const r = pt.revenue.find((x) => x.currency === currency);
    if (r) r.net += n;
    else pt.revenue.push({ currency, net: n });
  };
  for (const s of sales) addRevenue(s.b, s.currency, Number(s.n));
  for (const r of refunds) addRevenue(r.b, r.currency, -Number(r.n));
  return [...points.values()];
}

/** Monthly recurring revenue at `at` (yearly plans count a twelfth), and churn over the period. */
async function subscriptionsHealth(db: Db, p: Period, publisher: string | null) {
  const mrr = await all<{ currency: string; n: number; subs: number }>(
    db,
    sql`SELECT s.currency, SUM(CASE s.billing WHEN 'year' THEN s.amount / 12 ELSE s.amount END) AS n, COUNT(*) AS subs FROM subscriptions s JOIN plugins p ON p.id = s.plugin_id
        WHERE s.billing IN ('month', 'year') AND s.created_at < ${p.to} AND (s.ended_at IS NULL OR s.ended_at >= ${p.to}) AND s.status IN ('active', 'past_due') AND s.cancel_at_period_end = 0${scope(publisher)} GROUP BY 1`,
  );
  const [counts] = await all<{ at_start: number; churned: number; started: number }>(
    db,
    sql`SELECT
          SUM(CASE WHEN s.created_at < ${p.from} AND (s.ended_at IS NULL OR s.ended_at >= ${p.from}) THEN 1 ELSE 0 END) AS at_start,
          SUM(CASE WHEN s.ended_at >= ${p.from} AND s.ended_at < ${p.to} AND s.created_at < ${p.from} THEN 1 ELSE 0 END) AS churned,
          SUM(CASE WHEN s.created_at >= ${p.from} AND s.created_at < ${p.to} THEN 1 ELSE 0 END) AS started
        FROM subscriptions s JOIN plugins p ON p.id = s.plugin_id WHERE s.billing IN ('month', 'year')${scope(publisher)}`,
  );
  const atStart = Number(counts?.at_start ?? 0);
  const churned = Number(counts?.churned ?? 0);
  return {
    mrr: mrr.map((m) => ({
      currency: m.currency,
      amount: Number(m.n),
      subscriptions: Number(m.subs),
    })),
    churn: {
      subscriptionsAtStart: atStart,
      churned,
      started: Number(counts?.started ?? 0),
      rate: atStart > 0 ? Math.round((churned / atStart) * 10_000) / 10_000 : 0,
    },
  };
}

/** The whole report. `publisherOrgId` limits it to one publisher's listings. */
export async function ecosystemReport(
  db: Db,
  period: Period,
  publisherOrgId: string | null = null,
) {
  const [counts] = await all<{
    plugins: number;
    apps: number;
    templates: number;
    developers: number;
  }>(
    db,
    sql`SELECT SUM(CASE WHEN p.kind = 'plugin' THEN 1 ELSE 0 END) AS plugins, SUM(CASE WHEN p.kind = 'app' THEN 1 ELSE 0 END) AS apps, SUM(CASE WHEN p.kind = 'template' THEN 1 ELSE 0 END) AS templates, COUNT(DISTINCT p.org_id) AS developers
        FROM plugins p WHERE p.latest_version IS NOT NULL${scope(publisherOrgId)}`,
  );
  const [installs] = await all<{ n: number }>(
    db,
    sql`SELECT COUNT(*) AS n FROM installations i JOIN plugins p ON p.id = i.plugin_id WHERE i.status = 'active'${scope(publisherOrgId)}`,
  );
  const daily = await series(db, period, publisherOrgId, "day");
  const monthly = await series(db, period, publisherOrgId, "month");
  const byCurrency = await revenueBy(db, period, publisherOrgId, null);
  const health = await subscriptionsHealth(db, period, publisherOrgId);
  const sum = (k: "installs" | "uninstalls" | "newDevelopers" | "apiCalls") =>
    daily.reduce((s, p) => s + p[k], 0);
  return {
    period: { from: new Date(period.from).toISOString(), to: new Date(period.to).toISOString() },
    scope: publisherOrgId ? "publisher" : "platform",
    metrics: {
      totalPlugins: Number(counts?.plugins ?? 0),
      totalApps: Number(counts?.apps ?? 0),
      totalTemplates: Number(counts?.templates ?? 0),
      totalDevelopers: Number(counts?.developers ?? 0),
      activeInstalls: Number(installs?.n ?? 0),
      installs: sum("installs"),
      uninstalls: sum("uninstalls"),
      newDevelopers: sum("newDevelopers"),
      apiCalls: sum("apiCalls"),
      revenue: byCurrency.map(({ key: _key, ...m }) => m),
      mrr: health.mrr,
      churn: health.churn,
    },
    topPlugins: await top(db, period, publisherOrgId, "plugin"),
    topApps: await top(db, period, publisherOrgId, "app"),
    growthTrends: { daily, monthly },
    revenueBreakdown: {
      byCurrency: byCurrency.map(({ key: _key, ...m }) => m),
      byCategory: (await revenueBy(db, period, publisherOrgId, sql`p.category`)).map(
        ({ key, ...m }) => ({ category: key, ...m }),
      ),
      byListing: (await revenueBy(db, period, publisherOrgId, sql`p.name`)).map(
        ({ key, ...m }) => ({ listing: key, ...m }),
      ),
      byDeveloper: (await revenueBy(db, period, publisherOrgId, sql`o.slug`)).map(
        ({ key, ...m }) => ({ developer: key, ...m }),
      ),
    },
  };
}

export type EcosystemReport = Awaited<ReturnType<typeof ecosystemReport>>;

/** One CSV field (RFC 4180), with spreadsheet formulas neutralised. */
function field(v: unknown): string {
  let s = v === null || v === undefined ? "" : String(v);
  // Listing names (@scope/name) and numbers are safe; anything else that a spreadsheet would run is quoted.
  if (
    /^[=+\-@\t\r]/.test(s) &&
    !/^-?\d+(\.\d+)?$/.test(s) &&
    !/^@[a-z0-9-]+\/[a-z0-9._-]+$/.test(s)
  )
    s = `'${s}`;
  return /[",\r\n]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
}

/** The report as one long CSV table: section, dimension, metric, currency, value. */
export function reportCsv(r: EcosystemReport): string {
  const rows: unknown[][] = [["section", "dimension", "metric", "currency", "value"]];
  const m = r.metrics;
  for (const k of [
    "totalPlugins",
    "totalApps",
    "totalTemplates",
    "totalDevelopers",
    "activeInstalls",
    "installs",
    "uninstalls",
    "newDevelopers",
    "apiCalls",
  ] as const)
    rows.push(["metrics", "", k, "", m[k]]);
  for (const x of m.revenue)
    for (const k of ["gross", "refunds", "net", "platformFees", "developerShare"] as const)
      rows.push(["revenue", "", k, x.currency, x[k]]);
  for (const x of m.mrr) rows.push(["mrr", "", "mrr", x.currency, x.amount]);
  rows.push(
    ["churn", "", "rate", "", m.churn.rate],
    ["churn", "", "churned", "", m.churn.churned],
    ["churn", "", "subscriptionsAtStart", "", m.churn.subscriptionsAtStart],
  );
  for (const [section, t] of [
    ["topPlugins", r.topPlugins],
    ["topApps", r.topApps],
  ] as const) {
    for (const x of t.byInstalls) rows.push([section, x.listing, "installs", "", x.installs]);
    for (const x of t.byRating) rows.push([section, x.listing, "rating", "", x.rating]);
    for (const x of t.byRevenue)
      for (const v of x.revenue) rows.push([section, x.listing, "revenue", v.currency, v.net]);
  }
  for (const [grain, points] of [
    ["daily", r.growthTrends.daily],
    ["monthly", r.growthTrends.monthly],
  ] as const) {
    for (const p of points) {
      for (const k of ["installs", "uninstalls", "newDevelopers", "apiCalls"] as const)
        rows.push([`growth_${grain}`, p.period, k, "", p[k]]);
      for (const v of p.revenue)
        rows.push([`growth_${grain}`, p.period, "revenue", v.currency, v.net]);
    }
  }
  for (const x of r.revenueBreakdown.byCategory)
    rows.push(["revenue_by_category", x.category, "net", x.currency, x.net]);
  for (const x of r.revenueBreakdown.byListing)
    rows.push(["revenue_by_listing", x.listing, "net", x.currency, x.net]);
  for (const x of r.revenueBreakdown.byDeveloper)
    rows.push(["revenue_by_developer", x.developer, "net", x.currency, x.net]);
  return rows.map((row) => row.map(field).join(",")).join("\r\n") + "\r\n";
}
