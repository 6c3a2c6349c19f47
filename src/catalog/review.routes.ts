/**
 * Review and moderation: the operator's queue and decisions on versions (approve, reject with a
 * reason, suspend), suspending a whole listing, and a publisher yanking a version. Every decision
 * brings the listing in line (listed from the highest published version) in the same D1 batch.
 * Yanked and suspended versions leave browse and new installs; existing installs keep running
 * and their history stays.
 */
import { createRoute, z } from "@hono/zod-openapi";
import { and, desc, eq } from "drizzle-orm";
import { actorOf, auditInsert } from "../access/audit";
import { requireOperator, requireScope } from "../access/principal";
import type { Context } from "hono";
import { createRouter, type AppEnv } from "../platform/http/router";
import { getDb } from "../platform/db/client";
import {
  installations,
  orgNotices,
  pluginVersions,
  plugins,
  type PluginVersionRow,
} from "../platform/db/schema";
import { newId } from "../platform/crypto/encoding";
import { forgetInstallation } from "../runtime/resolve";
import { invalidateInstallations } from "./kill-switch";
import { jsonBody } from "../platform/http/middleware";
import { conflict, notFound } from "../platform/http/problem";
import { AUTHENTICATED, IdParam, ListingParams, problems, iso } from "../platform/http/schemas";
import { findPluginByName, listVersions, listingStatements, recountInstalls } from "./queries";
import { describePermission } from "../contract/permissions";
import { getOrganization } from "../access/queries";
import { signaturesRequired } from "./signing";
import { dispatchEvent, emitPlatformEvent, eventRecord } from "../events/emit";
import { installationPayload, versionPayload } from "../events/topics";

export const reviewRoutes = createRouter();
/** Its operator routes, mounted under /v1/operator with the other domains' (src/app.ts). */
export const reviewOperatorRoutes = createRouter();

type Status = PluginVersionRow["status"];
/** Which decisions may move a version from which state. */
const TRANSITIONS: Record<"approve" | "reject" | "suspend", Status[]> = {
  approve: ["in_review", "suspended"],
  reject: ["in_review"],
  suspend: ["published"],
};
const TARGET: Record<keyof typeof TRANSITIONS, Status> = {
  approve: "published",
  reject: "rejected",
  suspend: "suspended",
};

const QueueItem = z
  .object({
    versionId: z.string(),
    plugin: z.string(),
    version: z.string(),
    kind: z.string(),
    sha256: z.string(),
    size: z.number().int(),
    permissions: z.array(z.object({ permission: z.string(), allows: z.string() })),
    submittedAt: z.string().datetime(),
  })
  .openapi("ReviewQueueItem");

export const queue = createRoute({
  method: "get",
  path: "/review-queue",
  tags: ["Operator"],
  summary: "Versions waiting for review, oldest first",
  security: AUTHENTICATED,
  responses: {
    200: {
      description: "The queue",
      content: { "application/json": { schema: z.object({ versions: z.array(QueueItem) }) } },
    },
    ...problems(401, 403, 429),
  },
});

reviewOperatorRoutes.openapi(queue, async (c) => {
  requireOperator(c);
  const rows = await getDb(c.env.DB)
    .select({ v: pluginVersions, name: plugins.name, kind: plugins.kind })
    .from(pluginVersions)
    .innerJoin(plugins, eq(plugins.id, pluginVersions.pluginId))
    .where(eq(pluginVersions.status, "in_review"))
    .orderBy(pluginVersions.createdAt)
    .limit(200);
  return c.json(
    {
      versions: rows.map((r) => ({
        versionId: r.v.id,
        plugin: r.name,
        version: r.v.version,
        kind: r.kind,
        sha256: r.v.sha256,
        size: r.v.size,
        permissions: r.v.manifest.permissions.map((permission) => ({
          permission,
          allows: describePermission(permission),
        })),
        submittedAt: iso(r.v.createdAt),
      })),
    },
    200,
  );
});

const Decision = z
  .object({
    decision: z.enum(["approve", "reject", "suspend"]),
    reason: z.string().trim().min(1).max(1000).optional(),
  })
  .strict()
  .refine((d) => d.decision === "approve" || d.reason, {
    message: "reject and suspend need a reason",
    path: ["reason"],
  })
  .openapi("ReviewDecision", {
    // The refine above, for clients: reject and suspend need a reason.
    anyOf: [{ properties: { decision: { const: "approve" } } }, { required: ["reason"] }],
    example: { decision: "reject", reason: "The plugin asks for network access it does not use." },
  });

const decide = createRoute({
  method: "post",
  path: "/versions/{versionId}/decision",
  tags: ["Operator"],
  summary: "Approve, reject (with a reason) or suspend a version",
  security: AUTHENTICATED,
  middleware: [...jsonBody],
  request: {
    params: z.object({ versionId: IdParam("versionId", "ver") }),
    body: { required: true, content: { "application/json": { schema: Decision } } },
  },
  responses: {
    200: {
      description: "The version's new status",
      content: {
        "application/json": {
          schema: z.object({
            plugin: z.string(),
            version: z.string(),
            status: z.string(),
            reviewNote: z.string().nullable(),
          }),
        },
      },
    },
    ...problems(400, 401, 403, 404, 409, 413, 415, 429),
  },
});

reviewOperatorRoutes.openapi(decide, async (c) => {
  const p = requireOperator(c);
  const { versionId } = c.req.valid("param");
  const { decision, reason } = c.req.valid("json");
  const db = getDb(c.env.DB);
  const [row] = await db
    .select({ v: pluginVersions, plugin: plugins })
    .from(pluginVersions)
    .innerJoin(plugins, eq(plugins.id, pluginVersions.pluginId))
    .where(eq(pluginVersions.id, versionId))
    .limit(1);
  if (!row) throw notFound("The version");
  if (!TRANSITIONS[decision].includes(row.v.status))
    throw conflict(`A ${row.v.status} version cannot be ${decision}d.`, "invalid-transition");
  // The operator's signature requirement holds at approval too: a version submitted unsigned
  // before the publisher had to sign is not published unsigned now.
  if (decision === "approve" && !row.v.signerKeyId) {
    const org = await getOrganization(db, row.plugin.orgId);
    if (org && (await signaturesRequired(db, org)))
      throw conflict(
        `${row.plugin.name}@${row.v.version} is unsigned and ${org.slug} must sign its packages: reject it; the publisher publishes a signed version.`,
        "signature-required",
      );
  }
  const now = Date.now();
  const status = TARGET[decision];
  const versions = (await listVersions(db, row.plugin.id)).map((v) =>
    v.id === versionId ? { ...v, status } : v,
  );
  // The guarded update makes a concurrent decision on the same version a no-op.
  const [changed] = await db.batch([
    db
      .update(pluginVersions)
      .set({ status, reviewNote: reason ?? null, reviewedAt: now })
      .where(and(eq(pluginVersions.id, versionId), eq(pluginVersions.status, row.v.status)))
      .returning({ id: pluginVersions.id }),
    ...listingStatements(db, row.plugin, versions, now),
    auditInsert(
      db,
      {
        orgId: row.plugin.orgId,
        actor: actorOf(p),
        action: `plugin.version_${status}`,
        target: `${row.plugin.name}@${row.v.version}`,
        details: reason ? { reason } : {},
        requestId: c.get("requestId"),
      },
      now,
    ),
  ]);
  if (changed.length > 0 && status === "published" && row.v.status === "in_review")
    await emitPlatformEvent(c.env, db, {
      topic: "version.published",
      orgIds: [row.plugin.orgId],
      payload: versionPayload({
        plugin: row.plugin.name,
        version: row.v.version,
        sha256: row.v.sha256,
      }),
    });
  return c.json(
    { plugin: row.plugin.name, version: row.v.version, status, reviewNote: reason ?? null },
    200,
  );
});

const suspendListing = createRoute({
  method: "put",
  path: "/listings/{scope}/{name}/suspension",
  tags: ["Operator"],
  summary:
    'Suspend a listing ("hide": hidden, no new installs; "stop": running installs stop too) or lift the suspension',
  security: AUTHENTICATED,
  middleware: [...jsonBody],
  request: {
    params: ListingParams,
    body: {
      required: true,
      content: {
        "application/json": {
          schema: z
            .object({
              suspended: z.boolean(),
              reason: z.string().trim().min(1).max(1000).optional(),
              mode: z.enum(["hide", "stop"]).optional().openapi({
                description:
                  'What the suspension does: "hide" (the default: gone from browse and new installs, running installs keep running) or "stop" (also every running installation answers 503 within seconds)',
              }),
            })
            .strict()
            .openapi("Suspension"),
        },
      },
    },
  },
  responses: {
    200: {
      description: "The listing's state",
      content: {
        "application/json": {
          schema: z.object({
            name: z.string(),
            suspended: z.boolean(),
            mode: z.enum(["hide", "stop"]).nullable(),
            listed: z.boolean(),
          }),
        },
      },
    },
    ...problems(400, 401, 403, 404, 413, 415, 429),
  },
});

reviewOperatorRoutes.openapi(suspendListing, async (c) => {
  const p = requireOperator(c);
  const { scope, name } = c.req.valid("param");
  const { suspended, reason } = c.req.valid("json");
  const mode = suspended ? (c.req.valid("json").mode ?? "hide") : null;
  const db = getDb(c.env.DB);
  const plugin = await findPluginByName(db, `${scope}/${name}`);
  if (!plugin) throw notFound(`The listing ${scope}/${name}`);
  const now = Date.now();
  const updated = { ...plugin, suspendedAt: suspended ? now : null, suspensionMode: mode };
  const versions = await listVersions(db, plugin.id);
  // Stopping (or lifting a stop) changes what running installations do: every isolate reloads.
  const affects = mode === "stop" || plugin.suspensionMode === "stop";
  const running = affects
    ? await db
        .select({
          id: installations.id,
          orgId: installations.orgId,
          environment: installations.environment,
          version: pluginVersions.version,
        })
        .from(installations)
        .innerJoin(pluginVersions, eq(pluginVersions.id, installations.versionId))
        .where(and(eq(installations.pluginId, plugin.id), eq(installations.status, "active")))
        .limit(5000)
    : [];
  // Each running installation's tenant and the publisher hear of it (recorded with the change).
  const events = running.map((r) =>
    eventRecord(
      db,
      {
        topic: "installation.updated",
        orgIds: [r.orgId, plugin.orgId],
        environment: r.environment,
        payload: {
          ...installationPayload({ ...r, plugin: plugin.name }),
          change: mode === "stop" ? "stopped" : "resumed",
          previousVersion: r.version,
          reason: mode === "stop" ? "listing-stopped" : "listing-resumed",
        },
      },
      { now },
    ),
  );
  await db.batch([
    db
      .update(plugins)
      .set({ suspendedAt: updated.suspendedAt, suspensionMode: mode })
      .where(eq(plugins.id, plugin.id)),
    ...[...new Set(running.map((r) => r.orgId))].map((orgId) =>
      db.insert(orgNotices).values({
        id: newId("ntc"),
        orgId,
        kind: mode === "stop" ? "listing_stopped" : "listing_resumed",
        target: plugin.name,
        message:
          mode === "stop"
            ? `${plugin.name} is suspended by the platform operator${reason ? ` (${reason})` : ""}: its installations answer 503 until the suspension is lifted.`
            : `The suspension of ${plugin.name} is lifted: its installations are served again.`,
        createdAt: now,
      }),
    ),
    ...listingStatements(db, updated, versions, now),
    auditInsert(
      db,
      {
        orgId: plugin.orgId,
        actor: actorOf(p),
        action: suspended ? "listing.suspended" : "listing.reinstated",
        target: plugin.name,
        details: { ...(reason ? { reason } : {}), ...(mode ? { mode } : {}) },
        requestId: c.get("requestId"),
      },
      now,
    ),
    ...events.map((e) => e.statement),
  ]);
  for (const r of running) forgetInstallation(c.env, r.id);
  await invalidateInstallations(
    c.env.RATE_LIMITER,
    running.map((r) => r.id),
  );
  for (const e of events) await dispatchEvent(c.env, db, e.id);
  const listed = !suspended && versions.some((v) => v.status === "published");
  return c.json({ name: plugin.name, suspended, mode, listed }, 200);
});

const VersionParams = ListingParams.extend({
  version: z
    .string()
    .max(64)
    .openapi({ param: { name: "version", in: "path" }, example: "1.0.0" }),
});

const yank = createRoute({
  method: "post",
  path: "/v1/plugins/{scope}/{name}/versions/{version}/yank",
  tags: ["Plugins"],
  summary:
    "Yank a published version: gone from browse and new installs; existing installs keep working",
  security: AUTHENTICATED,
  request: { params: VersionParams },
  responses: {
    200: {
      description: "Yanked",
      content: {
        "application/json": {
          schema: z.object({
            plugin: z.string(),
            version: z.string(),
            status: z.literal("yanked"),
          }),
        },
      },
    },
    ...problems(400, 401, 403, 404, 409, 429),
  },
});

const unyank = createRoute({
  method: "delete",
  path: "/v1/plugins/{scope}/{name}/versions/{version}/yank",
  tags: ["Plugins"],
  summary: "Undo a yank: the version is published again (as `cargo yank --undo`)",
  security: AUTHENTICATED,
  request: { params: VersionParams },
  responses: {
    200: {
      description: "Published again",
      content: {
        "application/json": {
          schema: z.object({
            plugin: z.string(),
            version: z.string(),
            status: z.literal("published"),
          }),
        },
      },
    },
    ...problems(400, 401, 403, 404, 409, 429),
  },
});

/**
 * Moves one version between published and yanked (the publisher's own, or any for the operator),
 * guarded on the status it read; the listing and the audit log change in the same batch.
 */
async function setYanked(
  c: Context<AppEnv>,
  params: { scope: string; name: string; version: string },
  yanked: boolean,
): Promise<{ plugin: string; version: string }> {
  const p = requireScope(c, "plugins:publish");
  const { scope, name, version } = params;
  const db = getDb(c.env.DB);
  const plugin = await findPluginByName(db, `${scope}/${name}`);
  if (!plugin || (p.role !== "operator" && plugin.orgId !== p.orgId))
    throw notFound(`The plugin ${scope}/${name}`);
  const all = await db
    .select()
    .from(pluginVersions)
    .where(eq(pluginVersions.pluginId, plugin.id))
    .orderBy(desc(pluginVersions.createdAt));
  const target = all.find((v) => v.version === version);
  if (!target) throw notFound(`${plugin.name}@${version}`);
  const from = yanked ? "published" : "yanked";
  const to = yanked ? "yanked" : "published";
  if (target.status !== from)
    throw conflict(
      yanked
        ? `Only a published version can be yanked; ${version} is ${target.status}.`
        : `Only a yanked version can be published again; ${version} is ${target.status}.`,
      "invalid-transition",
    );
  const now = Date.now();
  const versions = all.map((v) => (v.id === target.id ? { ...v, status: to } : v));
  await db.batch([
    db
      .update(pluginVersions)
      .set({ status: to })
      .where(and(eq(pluginVersions.id, target.id), eq(pluginVersions.status, from))),
    ...listingStatements(db, plugin, versions, now),
    auditInsert(
      db,
      {
        orgId: plugin.orgId,
        actor: actorOf(p),
        action: yanked ? "plugin.version_yanked" : "plugin.version_unyanked",
        target: `${plugin.name}@${version}`,
        requestId: c.get("requestId"),
      },
      now,
    ),
  ]);
  return { plugin: plugin.name, version };
}

reviewRoutes.openapi(yank, async (c) => {
  const done = await setYanked(c, c.req.valid("param"), true);
  return c.json({ ...done, status: "yanked" as const }, 200);
});

reviewRoutes.openapi(unyank, async (c) => {
  const done = await setYanked(c, c.req.valid("param"), false);
  return c.json({ ...done, status: "published" as const }, 200);
});

const recount = createRoute({
  method: "post",
  path: "/install-counts/recount",
  tags: ["Operator"],
  summary: "Recompute every listing's public install count from the active installations",
  description:
    "Counters move only in the guarded batch of the install or uninstall that justifies them; this repairs any that drifted (e.g. before that guard) and lists what it corrected.",
  security: AUTHENTICATED,
  responses: {
    200: {
      description: "Recounted",
      content: {
        "application/json": {
          schema: z.object({
            corrected: z.array(
              z.object({ plugin: z.string(), from: z.number().int(), to: z.number().int() }),
            ),
          }),
        },
      },
    },
    ...problems(401, 403, 429),
  },
});

reviewOperatorRoutes.openapi(recount, async (c) => {
  const p = requireOperator(c);
  const db = getDb(c.env.DB);
  const corrected = await recountInstalls(db);
  if (corrected.length > 0)
    await db.batch([
      auditInsert(db, {
        orgId: null,
        actor: actorOf(p),
        action: "install_counts.recounted",
        details: { corrected: corrected.slice(0, 50) },
        requestId: c.get("requestId"),
      }),
    ]);
  return c.json({ corrected }, 200);
});
