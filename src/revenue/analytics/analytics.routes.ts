/** Ecosystem analytics: the report (JSON or CSV) and usage from the gateway's metering. */
import { createRoute, z } from "@hono/zod-openapi";
import { sql } from "drizzle-orm";
import type { Context } from "hono";
import { requireScope } from "../../access/principal";
import { createRouter, type AppEnv } from "../../platform/http/router";
import { getDb } from "../../platform/db/client";
import { badRequest } from "../../platform/http/problem";
import { AUTHENTICATED, problems } from "../../platform/http/schemas";
import { ecosystemReport, reportCsv, type Period } from "./report";

export const analyticsRoutes = createRouter();

const DAY = 86_400_000;
export const MAX_PERIOD_DAYS = 400;

const PeriodQuery = z
  .object({
    from: z.string().datetime({ offset: true }).or(z.string().date()).optional().openapi({
      description: "Start (inclusive), ISO 8601; default 30 days before `to`",
      example: "2026-11-01",
    }),
    to: z
      .string()
      .datetime({ offset: true })
      .or(z.string().date())
      .optional()
      .openapi({ description: "End (exclusive), ISO 8601; default now", example: "2026-12-01" }),
  })
  .strict();

/** Parses and checks a period: from < to, at most MAX_PERIOD_DAYS long. */
export function periodOf(q: z.infer<typeof PeriodQuery>, now = Date.now()): Period {
  const to = q.to ? Date.parse(q.to) : now;
  const from = q.from ? Date.parse(q.from) : to - 30 * DAY;
  if (!(from < to)) throw badRequest("`from` must be before `to`.", "invalid-period");
  if (to - from > MAX_PERIOD_DAYS * DAY)
    throw badRequest(`A report covers at most ${MAX_PERIOD_DAYS} days.`, "invalid-period");
  return { from, to };
}

/** The operator sees the platform; anyone else sees their organization's listings. */
function reportScope(c: Context<AppEnv>): string | null {
  const p = requireScope(c, "billing:read");
  if (p.role === "operator") return null;
  if (!p.orgId) throw badRequest("Only an organization has analytics.");
  return p.orgId;
}

const Money = z.object({
  currency: z.string(),
  gross: z.number().int(),
  refunds: z.number().int(),
  net: z.number().int(),
  platformFees: z.number().int(),
  developerShare: z.number().int(),
});
const Top = z.object({
  listing: z.string(),
  kind: z.string(),
  installs: z.number().int(),
  rating: z.number().nullable(),
  ratingCount: z.number().int(),
  revenue: z.array(z.object({ currency: z.string(), net: z.number().int() })),
});
const Tops = z.object({
  byInstalls: z.array(Top),
  byRevenue: z.array(Top),
  byRating: z.array(Top),
});
const Point = z.object({
  period: z.string(),
  installs: z.number().int(),
  uninstalls: z.number().int(),
  newDevelopers: z.number().int(),
  apiCalls: z.number().int(),
  revenue: z.array(z.object({ currency: z.string(), net: z.number().int() })),
});

export const Report = z
  .object({
    period: z.object({ from: z.string(), to: z.string() }),
    scope: z.enum(["platform", "publisher"]),
    metrics: z.object({
      totalPlugins: z.number().int(),
      totalApps: z.number().int(),
      totalTemplates: z.number().int(),
      totalDevelopers: z.number().int(),
      activeInstalls: z.number().int(),
      installs: z.number().int(),
      uninstalls: z.number().int(),
      newDevelopers: z.number().int(),
      apiCalls: z.number().int(),
      revenue: z.array(Money),
      mrr: z.array(
        z.object({
          currency: z.string(),
          amount: z.number().int(),
          subscriptions: z.number().int(),
        }),
      ),
      churn: z.object({
        subscriptionsAtStart: z.number().int(),
        churned: z.number().int(),
        started: z.number().int(),
        rate: z.number(),
      }),
    }),
    topPlugins: Tops,
    topApps: Tops,
    growthTrends: z.object({ daily: z.array(Point), monthly: z.array(Point) }),
    revenueBreakdown: z.object({
      byCurrency: z.array(Money),
      byCategory: z.array(Money.extend({ category: z.string() })),
      byListing: z.array(Money.extend({ listing: z.string() })),
      byDeveloper: z.array(Money.extend({ developer: z.string() })),
    }),
  })
  .openapi("EcosystemReport");

const report = createRoute({
  method: "get",
  path: "/report",
  tags: ["Analytics"],
  summary:
    "The ecosystem report for a period (operator: the platform; a publisher: its own listings)",
  description:
    "JSON by default; `Accept: text/csv` returns the same report as one CSV table (section, dimension, metric, currency, value). Money is integer minor units per currency.",
  security: AUTHENTICATED,
  request: { query: PeriodQuery },
  responses: {
    200: {
      description: "The report",
      content: { "application/json": { schema: Report }, "text/csv": { schema: z.string() } },
    },
    ...problems(400, 401, 403, 429),
  },
});

analyticsRoutes.openapi(report, async (c) => {
  const publisher = reportScope(c);
  const period = periodOf(c.req.valid("query"));
  const r = await ecosystemReport(getDb(c.env.DB), period, publisher);
  if ((c.req.header("accept") ?? "").includes("text/csv")) {
    return c.body(reportCsv(r), 200, {
      "content-type": "text/csv; charset=utf-8",
      "content-disposition": `attachment; filename="atoll-report-${r.period.from.slice(0, 10)}-${r.period.to.slice(0, 10)}.csv"`,
    }) as never;
  }
  return c.json(r, 200);
});

const Usage = z
  .object({
    plugin: z.string(),
    organization: z.string(),
    installationId: z.string(),
    calls: z.number().int(),
    clientErrors: z.number().int(),
    serverErrors: z.number().int(),
    avgLatencyMs: z.number(),
    maxLatencyMs: z.number().int(),
  })
  .openapi("Usage");

const usage = createRoute({
  method: "get",
  path: "/usage",
  tags: ["Analytics"],
  summary:
    "Plugin calls per installation from the gateway's metering: a tenant's own installations, or (role=publisher) calls to its listings",
  security: AUTHENTICATED,
  request: {
    query: PeriodQuery.extend({ role: z.enum(["tenant", "publisher"]).default("tenant") }),
  },
  responses: {
    200: {
      description: "Usage",
      content: { "application/json": { schema: z.object({ usage: z.array(Usage) }) } },
    },
    ...problems(400, 401, 403, 429),
  },
});

analyticsRoutes.openapi(usage, async (c) => {
  const p = requireScope(c, "billing:read");
  const q = c.req.valid("query");
  const period = periodOf(q);
  const who =
    p.role === "operator"
      ? sql``
      : q.role === "publisher"
        ? sql` AND p.org_id = ${p.orgId}`
        : sql` AND u.org_id = ${p.orgId}`;
  const rows = await getDb(c.env.DB).all<{
    plugin: string;
    organization: string;
    installation_id: string;
    calls: number;
    client_errors: number;
    server_errors: number;
    latency: number;
    max: number;
  }>(
    sql`SELECT p.name AS plugin, o.slug AS organization, u.installation_id, SUM(u.calls) AS calls, SUM(u.client_errors) AS client_errors, SUM(u.server_errors) AS server_errors, SUM(u.latency_ms_sum) AS latency, MAX(u.latency_ms_max) AS max
        FROM usage_rollups u JOIN plugins p ON p.id = u.plugin_id JOIN organizations o ON o.id = u.org_id
        WHERE u.granularity = 'hour' AND u.bucket >= ${Math.floor(period.from / 3_600_000) * 3_600_000} AND u.bucket < ${period.to}${who}
        GROUP BY u.installation_id ORDER BY calls DESC LIMIT 500`,
  );
  return c.json(
    {
      usage: rows.map((r) => ({
        plugin: r.plugin,
        organization: r.organization,
        installationId: r.installation_id,
        calls: Number(r.calls),
        clientErrors: Number(r.client_errors),
        serverErrors: Number(r.server_errors),
        avgLatencyMs: r.calls > 0 ? Math.round((Number(r.latency) / Number(r.calls)) * 10) / 10 : 0,
        maxLatencyMs: Number(r.max),
      })),
    },
    200,
  );
});
