/** Data syncs between two connections: define, inspect runs, pause, resume, run now, dead letters. */
import { createRoute, z } from "@hono/zod-openapi";
import { and, desc, eq } from "drizzle-orm";
import type { Context } from "hono";
import { actorOf, auditInsert } from "../access/audit";
import { requireScope, type Principal } from "../access/principal";
import { createRouter, type AppEnv } from "../platform/http/router";
import { newId } from "../platform/crypto/encoding";
import { getDb } from "../platform/db/client";
import { syncFailures, syncs, type SyncRow, type SyncRunRow } from "../platform/db/schema";
import { jsonBody } from "../platform/http/middleware";
import { badRequest, conflict, notFound } from "../platform/http/problem";
import { AUTHENTICATED, IdParam, problems, iso } from "../platform/http/schemas";
import { connectorFor } from "./connectors";
import { getConnection } from "./connections.routes";
import { Mapping, checkMapping, type MappingRule } from "./mapping";
import {
  MAX_ATTEMPTS,
  MIN_INTERVAL_SECONDS,
  deletedConnection,
  recentRuns,
  startRun,
  type SyncMessage,
} from "./sync";

export const syncRoutes = createRouter();

const Run = z
  .object({
    id: z.string(),
    trigger: z.enum(["schedule", "manual"]),
    status: z.enum(["running", "succeeded", "failed", "partial"]),
    fetched: z.number().int(),
    created: z.number().int(),
    updated: z.number().int(),
    unchanged: z.number().int(),
    failed: z.number().int(),
    deadLettered: z.number().int(),
    pages: z.number().int(),
    error: z.string().nullable(),
    startedAt: z.string(),
    finishedAt: z.string().nullable(),
  })
  .openapi("SyncRun");
const Sync = z
  .object({
    id: z.string(),
    source: z.string(),
    target: z.string(),
    object: z.string(),
    mapping: z.array(z.record(z.string(), z.unknown())),
    intervalSeconds: z.number().int(),
    status: z.enum(["active", "paused"]),
    pausedReason: z.string().nullable().openapi({
      description:
        "Why the sync is paused: `paused by a user`, or `the source connection con_… (HubSpot) was deleted` (such a sync cannot be resumed); null while active",
    }),
    cursor: z.string().nullable(),
    nextRunAt: z.string(),
    running: z.boolean(),
    createdAt: z.string(),
  })
  .openapi("Sync");

const toRun = (r: SyncRunRow) => ({
  id: r.id,
  trigger: r.trigger,
  status: r.status,
  fetched: r.fetched,
  created: r.created,
  updated: r.updated,
  unchanged: r.unchanged,
  failed: r.failed,
  deadLettered: r.deadLettered,
  pages: r.pages,
  error: r.error,
  startedAt: iso(r.startedAt),
  finishedAt: r.finishedAt ? iso(r.finishedAt) : null,
});
const toSync = (s: SyncRow) => ({
  id: s.id,
  source: s.sourceId,
  target: s.targetId,
  object: s.object,
  mapping: s.mapping as Record<string, unknown>[],
  intervalSeconds: s.intervalSeconds,
  status: s.status,
  pausedReason: s.status === "paused" ? (s.pausedReason ?? "paused by a user") : null,
  cursor: s.cursor,
  nextRunAt: iso(s.nextRunAt),
  running: s.runningRunId !== null,
  createdAt: iso(s.createdAt),
});

async function ownedSync(c: Context<AppEnv>, p: Principal, id: string): Promise<SyncRow> {
  const [row] = await getDb(c.env.DB).select().from(syncs).where(eq(syncs.id, id));
  if (!row || (p.role !== "operator" && row.orgId !== p.orgId)) throw notFound("The sync");
  return row;
}

const CreateSync = z
  .object({
    source: IdParam("source", "con").openapi({ description: "The connection records come from" }),
    target: IdParam("target", "con").openapi({ description: "The connection records go to" }),
    object: z.enum(["contacts"]),
    mapping: Mapping,
    intervalSeconds: z
      .number()
      .int()
      .max(7 * 86_400),
  })
  .strict()
  .openapi("CreateSync", {
    example: {
      source: "con_00000000000000000000",
      target: "con_00000000000000000001",
      object: "contacts",
      mapping: [
        { to: "Email", from: "email", transforms: ["trim", "lowercase"] },
        { to: "FirstName", from: "firstname" },
        { to: "LastName", from: "lastname", default: "Unknown" },
        { to: "Title", from: "jobtitle" },
      ],
      intervalSeconds: 900,
    },
  });

const create = createRoute({
  method: "post",
  path: "/",
  tags: ["Integrations"],
  summary:
    "Define a sync: records of `object` flow from source to target through the mapping, every intervalSeconds",
  security: AUTHENTICATED,
  middleware: [...jsonBody],
  request: { body: { required: true, content: { "application/json": { schema: CreateSync } } } },
  responses: {
    201: {
      description: "Created (first run at once)",
      content: { "application/json": { schema: Sync } },
    },
    ...problems(400, 401, 403, 404, 413, 415, 429),
  },
});

syncRoutes.openapi(create, async (c) => {
  const p = requireScope(c, "integrations:write");
  if (!p.orgId) throw badRequest("Only an organization defines syncs.");
  const body = c.req.valid("json");
  if (body.intervalSeconds < MIN_INTERVAL_SECONDS)
    throw badRequest(
      `intervalSeconds must be at least ${MIN_INTERVAL_SECONDS}.`,
      "validation-failed",
      {
        errors: [{ path: "intervalSeconds", message: `must be at least ${MIN_INTERVAL_SECONDS}` }],
      },
    );
  if (body.source === body.target)
    throw badRequest("source and target must be different connections.");
  const db = getDb(c.env.DB);
  const [source, target] = [
    await getConnection(db, body.source),
    await getConnection(db, body.target),
  ];
  if (!source || source.orgId !== p.orgId || source.status === "revoked")
    throw notFound("The source connection");
  if (!target || target.orgId !== p.orgId || target.status === "revoked")
    throw notFound("The target connection");
  const from = connectorFor(source.provider);
  const to = connectorFor(target.provider);
  const sObj = from?.objects[body.object];
  const tObj = to?.objects[body.object];
  if (!from?.fetchChanged || !sObj?.source)
    throw badRequest(
      `${from?.label ?? source.provider} cannot be the source of ${body.object}.`,
      "validation-failed",
      { errors: [{ path: "source", message: "not a source of this object" }] },
    );
  if (!to?.upsert || !tObj?.target)
    throw badRequest(
      `${to?.label ?? target.provider} cannot be the target of ${body.object}.`,
      "validation-failed",
      { errors: [{ path: "target", message: "not a target of this object" }] },
    );
  const errors = checkMapping(
    body.mapping as MappingRule[],
    sObj.fields,
    tObj.fields,
    tObj.required ?? [],
  );
  if (errors.length > 0)
    throw badRequest(
      `The mapping is invalid: ${errors.map((e) => `${e.path}: ${e.message}`).join("; ")}`,
      "validation-failed",
      { errors },
    );
  const now = Date.now();
  const row: SyncRow = {
    id: newId("syn"),
    orgId: p.orgId,
    sourceId: source.id,
    targetId: target.id,
    object: body.object,
    mapping: body.mapping,
    intervalSeconds: body.intervalSeconds,
    status: "active",
    pausedReason: null,
    cursor: null,
    nextRunAt: now,
    runningRunId: null,
    createdAt: now,
    updatedAt: now,
  };
  await db.batch([
    db.insert(syncs).values(row),
    auditInsert(
      db,
      {
        orgId: p.orgId,
        actor: actorOf(p),
        action: "sync.created",
        target: row.id,
        details: { source: source.provider, target: target.provider, object: body.object },
        requestId: c.get("requestId"),
      },
      now,
    ),
  ]);
  return c.json(toSync(row), 201);
});

const list = createRoute({
  method: "get",
  path: "/",
  tags: ["Integrations"],
  summary: "The organization's syncs",
  security: AUTHENTICATED,
  responses: {
    200: {
      description: "Syncs",
      content: { "application/json": { schema: z.object({ syncs: z.array(Sync) }) } },
    },
    ...problems(401, 403, 429),
  },
});

syncRoutes.openapi(list, async (c) => {
  const p = requireScope(c, "integrations:read");
  const rows = p.orgId
    ? await getDb(c.env.DB)
        .select()
        .from(syncs)
        .where(eq(syncs.orgId, p.orgId))
        .orderBy(desc(syncs.createdAt))
        .limit(200)
    : [];
  return c.json({ syncs: rows.map(toSync) }, 200);
});

const Params = z.object({ syncId: IdParam("syncId", "syn") });

const getOne = createRoute({
  method: "get",
  path: "/{syncId}",
  tags: ["Integrations"],
  summary: "A sync with its recent runs (counts and errors)",
  security: AUTHENTICATED,
  request: { params: Params },
  responses: {
    200: {
      description: "The sync",
      content: { "application/json": { schema: Sync.extend({ runs: z.array(Run) }) } },
    },
    ...problems(400, 401, 403, 404, 429),
  },
});

syncRoutes.openapi(getOne, async (c) => {
  const p = requireScope(c, "integrations:read");
  const s = await ownedSync(c, p, c.req.valid("param").syncId);
  return c.json({ ...toSync(s), runs: (await recentRuns(getDb(c.env.DB), s.id)).map(toRun) }, 200);
});

for (const action of ["pause", "resume"] as const) {
  const route = createRoute({
    method: "post",
    path: `/{syncId}/${action}`,
    tags: ["Integrations"],
    summary:
      action === "pause"
        ? "Pause: no new runs; a running one stops after its current page"
        : "Resume a paused sync (it runs at once); 409 when a connection of it was deleted",
    security: AUTHENTICATED,
    request: { params: Params },
    responses: {
      200: { description: "Done", content: { "application/json": { schema: Sync } } },
      ...problems(400, 401, 403, 404, 409, 429),
    },
  });
  syncRoutes.openapi(route, async (c) => {
    const p = requireScope(c, "integrations:write");
    const s = await ownedSync(c, p, c.req.valid("param").syncId);
    const db = getDb(c.env.DB);
    const now = Date.now();
    if (action === "resume") {
      const gone = deletedConnection(
        s,
        await getConnection(db, s.sourceId),
        await getConnection(db, s.targetId),
      );
      if (gone)
        throw conflict(
          `The sync cannot be resumed: ${gone}. Define a new sync with a current connection.`,
          "sync-connection-deleted",
        );
    }
    const patch =
      action === "pause"
        ? {
            status: "paused" as const,
            // A deletion's reason stays: it says why resuming is refused.
            pausedReason:
              s.status === "paused" && s.pausedReason ? s.pausedReason : "paused by a user",
            updatedAt: now,
          }
        : { status: "active" as const, pausedReason: null, nextRunAt: now, updatedAt: now };
    await db.update(syncs).set(patch).where(eq(syncs.id, s.id));
    return c.json(toSync({ ...s, ...patch }), 200);
  });
}

const runNow = createRoute({
  method: "post",
  path: "/{syncId}/run",
  tags: ["Integrations"],
  summary: "Run now (queued; 409 while a run is in progress)",
  security: AUTHENTICATED,
  request: { params: Params },
  responses: {
    202: { description: "Queued", content: { "application/json": { schema: Run } } },
    ...problems(400, 401, 403, 404, 409, 429),
  },
});

syncRoutes.openapi(runNow, async (c) => {
  const p = requireScope(c, "integrations:write");
  const s = await ownedSync(c, p, c.req.valid("param").syncId);
  if (s.status === "paused")
    throw conflict(
      `The sync is paused (${s.pausedReason ?? "paused by a user"}); resume it first.`,
      "sync-paused",
    );
  const run = await startRun(getDb(c.env.DB), s, "manual");
  if (!run) throw conflict("A run of this sync is in progress.", "sync-running");
  await c.env.SYNC_QUEUE.send({ syncId: s.id, runId: run.id } satisfies SyncMessage);
  return c.json(toRun(run), 202);
});

const dead = createRoute({
  method: "get",
  path: "/{syncId}/dead-letters",
  tags: ["Integrations"],
  summary: `Records that failed ${MAX_ATTEMPTS} times and are no longer retried, with their last error`,
  security: AUTHENTICATED,
  request: { params: Params },
  responses: {
    200: {
      description: "Dead letters",
      content: {
        "application/json": {
          schema: z.object({
            deadLetters: z.array(
              z.object({
                sourceRecordId: z.string(),
                attempts: z.number().int(),
                error: z.string(),
                updatedAt: z.string(),
              }),
            ),
          }),
        },
      },
    },
    ...problems(400, 401, 403, 404, 429),
  },
});

syncRoutes.openapi(dead, async (c) => {
  const p = requireScope(c, "integrations:read");
  const s = await ownedSync(c, p, c.req.valid("param").syncId);
  const rows = await getDb(c.env.DB)
    .select()
    .from(syncFailures)
    .where(and(eq(syncFailures.syncId, s.id), eq(syncFailures.dead, true)))
    .limit(200);
  return c.json(
    {
      deadLetters: rows.map((r) => ({
        sourceRecordId: r.sourceRecordId,
        attempts: r.attempts,
        error: r.error,
        updatedAt: iso(r.updatedAt),
      })),
    },
    200,
  );
});
