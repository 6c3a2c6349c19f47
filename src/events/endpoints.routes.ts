/**
 * Outbound webhook endpoints: an organization (as a tenant or as a publisher) registers URLs that
 * receive its platform events, signed (src/contract/webhook-signature.ts). `/v1/webhook-endpoints`:
 * register (the signing secret is in that answer only), list, read, change, delete, rotate the
 * secret (the old one keeps signing for a grace period the caller chooses, 0 to end it at once),
 * the delivery log, and replay of a delivery. Another organization's endpoint or delivery is 404.
 *
 * The URL passes the integrations egress policy (https, a public DNS name, no IP literal, no
 * internal name, default port, no credentials) when it is saved and again at every delivery.
 */
import { createRoute, z } from "@hono/zod-openapi";
import type { Context } from "hono";
import { and, desc, eq, lt } from "drizzle-orm";
import { requireScope } from "../access/principal";
import { actorOf, auditInsert } from "../access/audit";
import { createRouter, type AppEnv } from "../platform/http/router";
import { encryptString } from "../platform/crypto/aead";
import { newId, toBase64Url } from "../platform/crypto/encoding";
import { getDb, type Db } from "../platform/db/client";
import {
  webhookDeliveries,
  webhookEndpoints,
  type WebhookDeliveryRow,
  type WebhookEndpointRow,
} from "../platform/db/schema";
import { jsonBody } from "../platform/http/middleware";
import { badRequest, conflict, notFound } from "../platform/http/problem";
import { AUTHENTICATED, IdParam, iso, problems } from "../platform/http/schemas";
import { checkEgressUrl, egressOptions } from "../integrations/egress-policy";
import type { PlatformMessage } from "./emit";
import { PLATFORM_TOPICS, PlatformTopicSchema } from "./topics";

export const webhookEndpointRoutes = createRouter();

/** Endpoints per organization (each event is one request per endpoint). */
export const MAX_ENDPOINTS = 20;
export const MAX_URL_LENGTH = 2048;
/** The longest grace period of a rotated secret: 7 days. */
export const MAX_GRACE_SECONDS = 7 * 24 * 3600;
export const DEFAULT_GRACE_SECONDS = 24 * 3600;

const Topics = z
  .array(PlatformTopicSchema)
  .min(1)
  .max(PLATFORM_TOPICS.length)
  .refine((t) => new Set(t).size === t.length, "topics must not repeat")
  .openapi({ example: ["installation.created", "installation.deleted"] });

const EndpointInput = z
  .object({
    url: z
      .string()
      .min(1)
      .max(MAX_URL_LENGTH)
      .openapi({ example: "https://hooks.example.com/atoll" }),
    topics: Topics,
    description: z.string().max(200).default(""),
  })
  .strict()
  .openapi("WebhookEndpointInput");

const EndpointPatch = EndpointInput.partial()
  .extend({
    enabled: z
      .boolean()
      .optional()
      .openapi({ description: "true re-enables a disabled endpoint (its failure count restarts)" }),
  })
  .strict()
  .openapi("WebhookEndpointPatch");

const Endpoint = z
  .object({
    id: z.string(),
    url: z.string(),
    topics: z.array(z.string()),
    description: z.string(),
    status: z.enum(["enabled", "disabled"]),
    consecutiveFailures: z.number().int(),
    disabledReason: z.string().nullable(),
    disabledAt: z.string().nullable(),
    previousSecretExpiresAt: z.string().nullable().openapi({
      description:
        "Until then deliveries carry a second v1 signature, by the secret before the last rotation",
    }),
    createdAt: z.string(),
    updatedAt: z.string(),
  })
  .openapi("WebhookEndpoint");

const EndpointWithSecret = Endpoint.extend({
  secret: z.string().openapi({
    description: "The signing secret (whsec_…): shown in this answer only. See docs/events.md.",
  }),
}).openapi("WebhookEndpointWithSecret");

const Delivery = z
  .object({
    id: z.string(),
    endpointId: z.string(),
    eventId: z.string(),
    topic: z.string(),
    status: z.enum(["pending", "succeeded", "failed"]),
    attempts: z.number().int(),
    nextAttemptAt: z.string().nullable(),
    lastStatus: z.number().int().nullable().openapi({ description: "The receiver's HTTP status" }),
    lastError: z.string().nullable(),
    replayOf: z.string().nullable(),
    createdAt: z.string(),
    deliveredAt: z.string().nullable(),
  })
  .openapi("WebhookDelivery");

const EndpointParams = z.object({ endpointId: IdParam("endpointId", "whe") });
const DeliveryParams = EndpointParams.extend({ deliveryId: IdParam("deliveryId", "whd") });

const isoOrNull = (ms: number | null) => (ms === null ? null : iso(ms));

function toEndpoint(r: WebhookEndpointRow, now = Date.now()): z.infer<typeof Endpoint> {
  return {
    id: r.id,
    url: r.url,
    topics: r.topics,
    description: r.description,
    status: r.status,
    consecutiveFailures: r.consecutiveFailures,
    disabledReason: r.disabledReason,
    disabledAt: isoOrNull(r.disabledAt),
    previousSecretExpiresAt:
      r.previousSecretEnc && (r.previousExpiresAt ?? 0) > now
        ? isoOrNull(r.previousExpiresAt)
        : null,
    createdAt: iso(r.createdAt),
    updatedAt: iso(r.updatedAt),
  };
}

function toDelivery(d: WebhookDeliveryRow): z.infer<typeof Delivery> {
  return {
    id: d.id,
    endpointId: d.endpointId,
    eventId: d.eventId,
    topic: d.topic,
    status: d.status,
    attempts: d.attempts,
    nextAttemptAt: isoOrNull(d.nextAttemptAt),
    lastStatus: d.lastStatus,
    lastError: d.lastError,
    replayOf: d.replayOf,
    createdAt: iso(d.createdAt),
    deliveredAt: isoOrNull(d.deliveredAt),
  };
}

/** A fresh signing secret: `whsec_` and 32 random bytes. */
export function newSecret(): string {
  return `whsec_${toBase64Url(crypto.getRandomValues(new Uint8Array(32)))}`;
}

const sealSecret = (env: Env, endpointId: string, secret: string) =>
  encryptString(env.ATOLL_SECRET_KEY, secret, `webhook-endpoint:${endpointId}:secret`);

/** The URL, checked by the egress policy and canonicalized, or a 400 naming why not. */
export function checkedUrl(
  raw: string,
  env: Pick<Env, "ATOLL_INTEGRATIONS_ALLOW_HTTP" | "ATOLL_ENV">,
) {
  const verdict = checkEgressUrl(raw, egressOptions(env));
  if (!verdict.ok)
    throw badRequest(`url ${verdict.message}.`, "validation-failed", {
      errors: [{ path: "url", message: verdict.message }],
    });
  return verdict.url.href;
}

function orgOf(c: Context<AppEnv>, scope: "webhooks:read" | "webhooks:write") {
  const p = requireScope(c, scope);
  if (!p.orgId) throw badRequest("Webhook endpoints belong to an organization.");
  return { p, orgId: p.orgId };
}

/** The caller's own endpoint, or 404 (another organization's endpoint does not exist for it). */
export async function ownedEndpoint(
  db: Db,
  orgId: string,
  id: string,
): Promise<WebhookEndpointRow> {
  const [row] = await db.select().from(webhookEndpoints).where(eq(webhookEndpoints.id, id));
  if (!row || row.orgId !== orgId) throw notFound("The webhook endpoint");
  return row;
}

const json = <T extends z.ZodTypeAny>(schema: T, description: string) => ({
  description,
  content: { "application/json": { schema } },
});

const TAGS = ["Webhooks"];

const create = createRoute({
  method: "post",
  path: "/",
  tags: TAGS,
  summary: "Register a webhook endpoint for platform events (the signing secret is shown once)",
  security: AUTHENTICATED,
  middleware: [...jsonBody],
  request: { body: { required: true, content: { "application/json": { schema: EndpointInput } } } },
  responses: {
    201: json(EndpointWithSecret, "Registered"),
    ...problems(400, 401, 403, 409, 413, 415, 429),
  },
});

webhookEndpointRoutes.openapi(create, async (c) => {
  const { p, orgId } = orgOf(c, "webhooks:write");
  const body = c.req.valid("json");
  const url = checkedUrl(body.url, c.env);
  const db = getDb(c.env.DB);
  const count = await db.$count(webhookEndpoints, eq(webhookEndpoints.orgId, orgId));
  if (count >= MAX_ENDPOINTS)
    throw conflict(
      `An organization has at most ${MAX_ENDPOINTS} webhook endpoints.`,
      "limit-reached",
    );
  const now = Date.now();
  const id = newId("whe");
  const secret = newSecret();
  const row: WebhookEndpointRow = {
    id,
    orgId,
    url,
    topics: body.topics,
    description: body.description,
    secretEnc: await sealSecret(c.env, id, secret),
    previousSecretEnc: null,
    previousExpiresAt: null,
    status: "enabled",
    consecutiveFailures: 0,
    disabledReason: null,
    disabledAt: null,
    createdAt: now,
    updatedAt: now,
  };
  await db.batch([
    db.insert(webhookEndpoints).values(row),
    auditInsert(
      db,
      {
        orgId,
        actor: actorOf(p),
        action: "webhook_endpoint.created",
        target: id,
        // The host only: a receiver's path or query may hold a token of its own.
        details: { host: new URL(url).host, topics: body.topics },
        requestId: c.get("requestId"),
      },
      now,
    ),
  ]);
  return c.json({ ...toEndpoint(row, now), secret }, 201);
});

const list = createRoute({
  method: "get",
  path: "/",
  tags: TAGS,
  summary: "The organization's webhook endpoints",
  security: AUTHENTICATED,
  responses: {
    200: json(z.object({ endpoints: z.array(Endpoint) }), "Endpoints, newest first"),
    ...problems(400, 401, 403, 429),
  },
});

webhookEndpointRoutes.openapi(list, async (c) => {
  const { orgId } = orgOf(c, "webhooks:read");
  const rows = await getDb(c.env.DB)
    .select()
    .from(webhookEndpoints)
    .where(eq(webhookEndpoints.orgId, orgId))
    .orderBy(desc(webhookEndpoints.createdAt));
  return c.json({ endpoints: rows.map((r) => toEndpoint(r)) }, 200);
});

const get = createRoute({
  method: "get",
  path: "/{endpointId}",
  tags: TAGS,
  summary: "One webhook endpoint",
  security: AUTHENTICATED,
  request: { params: EndpointParams },
  responses: { 200: json(Endpoint, "The endpoint"), ...problems(400, 401, 403, 404, 429) },
});

webhookEndpointRoutes.openapi(get, async (c) => {
  const { orgId } = orgOf(c, "webhooks:read");
  const row = await ownedEndpoint(getDb(c.env.DB), orgId, c.req.valid("param").endpointId);
  return c.json(toEndpoint(row), 200);
});

const update = createRoute({
  method: "patch",
  path: "/{endpointId}",
  tags: TAGS,
  summary: "Change an endpoint's URL, topics or description, or enable it again",
  security: AUTHENTICATED,
  middleware: [...jsonBody],
  request: {
    params: EndpointParams,
    body: { required: true, content: { "application/json": { schema: EndpointPatch } } },
  },
  responses: {
    200: json(Endpoint, "The endpoint"),
    ...problems(400, 401, 403, 404, 413, 415, 429),
  },
});

webhookEndpointRoutes.openapi(update, async (c) => {
  const { p, orgId } = orgOf(c, "webhooks:write");
  const body = c.req.valid("json");
  const db = getDb(c.env.DB);
  const row = await ownedEndpoint(db, orgId, c.req.valid("param").endpointId);
  const now = Date.now();
  const patch: Partial<WebhookEndpointRow> = { updatedAt: now };
  if (body.url !== undefined) patch.url = checkedUrl(body.url, c.env);
  if (body.topics !== undefined) patch.topics = body.topics;
  if (body.description !== undefined) patch.description = body.description;
  if (body.enabled === true)
    Object.assign(patch, {
      status: "enabled",
      consecutiveFailures: 0,
      disabledReason: null,
      disabledAt: null,
    });
  if (body.enabled === false)
    Object.assign(patch, {
      status: "disabled",
      disabledReason: "disabled by a user",
      disabledAt: now,
    });
  const [[updated]] = await db.batch([
    db.update(webhookEndpoints).set(patch).where(eq(webhookEndpoints.id, row.id)).returning(),
    auditInsert(
      db,
      {
        orgId,
        actor: actorOf(p),
        action: "webhook_endpoint.updated",
        target: row.id,
        details: { fields: Object.keys(body) },
        requestId: c.get("requestId"),
      },
      now,
    ),
  ]);
  if (!updated) throw notFound("The webhook endpoint");
  return c.json(toEndpoint(updated, now), 200);
});

const remove = createRoute({
  method: "delete",
  path: "/{endpointId}",
  tags: TAGS,
  summary: "Delete an endpoint and its delivery log",
  security: AUTHENTICATED,
  request: { params: EndpointParams },
  responses: { 204: { description: "Deleted" }, ...problems(400, 401, 403, 404, 429) },
});

webhookEndpointRoutes.openapi(remove, async (c) => {
  const { p, orgId } = orgOf(c, "webhooks:write");
  const db = getDb(c.env.DB);
  const row = await ownedEndpoint(db, orgId, c.req.valid("param").endpointId);
  await db.batch([
    db.delete(webhookEndpoints).where(eq(webhookEndpoints.id, row.id)),
    auditInsert(db, {
      orgId,
      actor: actorOf(p),
      action: "webhook_endpoint.deleted",
      target: row.id,
      requestId: c.get("requestId"),
    }),
  ]);
  return c.body(null, 204);
});

const rotate = createRoute({
  method: "post",
  path: "/{endpointId}/rotate-secret",
  tags: TAGS,
  summary:
    "Rotate the signing secret (the new one is shown once; the old one signs for a grace period)",
  security: AUTHENTICATED,
  middleware: [...jsonBody],
  request: {
    params: EndpointParams,
    body: {
      required: true,
      content: {
        "application/json": {
          schema: z
            .object({
              graceSeconds: z
                .number()
                .int()
                .min(0)
                .max(MAX_GRACE_SECONDS)
                .default(DEFAULT_GRACE_SECONDS)
                .openapi({
                  description:
                    "How long deliveries are also signed with the old secret (default 24 h, at most 7 days; 0 ends it now)",
                }),
            })
            .strict(),
        },
      },
    },
  },
  responses: {
    200: json(EndpointWithSecret, "Rotated"),
    ...problems(400, 401, 403, 404, 413, 415, 429),
  },
});

webhookEndpointRoutes.openapi(rotate, async (c) => {
  const { p, orgId } = orgOf(c, "webhooks:write");
  const { graceSeconds } = c.req.valid("json");
  const db = getDb(c.env.DB);
  const row = await ownedEndpoint(db, orgId, c.req.valid("param").endpointId);
  const now = Date.now();
  const secret = newSecret();
  const [[updated]] = await db.batch([
    db
      .update(webhookEndpoints)
      .set({
        secretEnc: await sealSecret(c.env, row.id, secret),
        previousSecretEnc: graceSeconds > 0 ? row.secretEnc : null,
        previousExpiresAt: graceSeconds > 0 ? now + graceSeconds * 1000 : null,
        updatedAt: now,
      })
      // Guarded on the secret read: two concurrent rotations cannot both keep "the old one".
      .where(and(eq(webhookEndpoints.id, row.id), eq(webhookEndpoints.secretEnc, row.secretEnc)))
      .returning(),
    auditInsert(
      db,
      {
        orgId,
        actor: actorOf(p),
        action: "webhook_endpoint.secret_rotated",
        target: row.id,
        details: { graceSeconds },
        requestId: c.get("requestId"),
      },
      now,
    ),
  ]);
  if (!updated) throw conflict("The secret was rotated concurrently; read it again.", "conflict");
  return c.json({ ...toEndpoint(updated, now), secret }, 200);
});

const deliveries = createRoute({
  method: "get",
  path: "/{endpointId}/deliveries",
  tags: TAGS,
  summary: "The endpoint's delivery log, newest first",
  security: AUTHENTICATED,
  request: {
    params: EndpointParams,
    query: z.object({
      status: z.enum(["pending", "succeeded", "failed"]).optional(),
      limit: z.coerce.number().int().min(1).max(100).default(50),
      before: z.coerce
        .number()
        .int()
        .min(0)
        .optional()
        .openapi({ description: "Only deliveries created before this time (ms), for paging" }),
    }),
  },
  responses: {
    200: json(z.object({ deliveries: z.array(Delivery) }), "Deliveries"),
    ...problems(400, 401, 403, 404, 429),
  },
});

webhookEndpointRoutes.openapi(deliveries, async (c) => {
  const { orgId } = orgOf(c, "webhooks:read");
  const db = getDb(c.env.DB);
  const row = await ownedEndpoint(db, orgId, c.req.valid("param").endpointId);
  const q = c.req.valid("query");
  const rows = await db
    .select()
    .from(webhookDeliveries)
    .where(
      and(
        eq(webhookDeliveries.endpointId, row.id),
        q.status ? eq(webhookDeliveries.status, q.status) : undefined,
        q.before !== undefined ? lt(webhookDeliveries.createdAt, q.before) : undefined,
      ),
    )
    .orderBy(desc(webhookDeliveries.createdAt), desc(webhookDeliveries.id))
    .limit(q.limit);
  return c.json({ deliveries: rows.map(toDelivery) }, 200);
});

const replay = createRoute({
  method: "post",
  path: "/{endpointId}/deliveries/{deliveryId}/replay",
  tags: TAGS,
  summary:
    "Send a delivery's event again, as a new delivery (the same event id: receivers de-duplicate on it)",
  security: AUTHENTICATED,
  request: { params: DeliveryParams },
  responses: {
    202: json(Delivery, "Queued"),
    ...problems(400, 401, 403, 404, 409, 429),
  },
});

webhookEndpointRoutes.openapi(replay, async (c) => {
  const { p, orgId } = orgOf(c, "webhooks:write");
  const { endpointId, deliveryId } = c.req.valid("param");
  const db = getDb(c.env.DB);
  const endpoint = await ownedEndpoint(db, orgId, endpointId);
  const [original] = await db
    .select()
    .from(webhookDeliveries)
    .where(
      and(eq(webhookDeliveries.id, deliveryId), eq(webhookDeliveries.endpointId, endpoint.id)),
    );
  if (!original) throw notFound("The delivery");
  if (endpoint.status !== "enabled")
    throw conflict(
      "The endpoint is disabled; enable it (PATCH enabled: true) first.",
      "endpoint-disabled",
    );
  const now = Date.now();
  const row: WebhookDeliveryRow = {
    id: newId("whd"),
    endpointId: endpoint.id,
    eventId: original.eventId,
    topic: original.topic,
    status: "pending",
    attempts: 0,
    nextAttemptAt: null,
    lastStatus: null,
    lastError: null,
    replayOf: original.id,
    createdAt: now,
    updatedAt: now,
    deliveredAt: null,
  };
  await db.batch([
    db.insert(webhookDeliveries).values(row),
    auditInsert(
      db,
      {
        orgId,
        actor: actorOf(p),
        action: "webhook_delivery.replayed",
        target: row.id,
        details: { of: original.id, eventId: original.eventId },
        requestId: c.get("requestId"),
      },
      now,
    ),
  ]);
  await c.env.EVENTS_QUEUE.send({ webhookDeliveryId: row.id } satisfies PlatformMessage);
  return c.json(toDelivery(row), 202);
});
