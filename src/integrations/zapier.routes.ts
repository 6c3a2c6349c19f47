/**
 * Atoll as a Zapier app (REST hooks, https://platform.zapier.com/build/hook-trigger): Zapier
 * authenticates with an Atoll API key (X-API-Key) — `GET /v1/zapier/me` is its auth test —
 * subscribes a hook URL to a topic when a Zap is turned on and unsubscribes it when turned off;
 * events are POSTed to subscribed hooks by the events queue; the polling endpoint returns recent
 * events with stable ids, newest first, for Zapier's sample data and de-duplication.
 */
import { createRoute, z } from "@hono/zod-openapi";
import { and, desc, eq, isNull } from "drizzle-orm";
import { requireScope } from "../access/principal";
import { createRouter } from "../platform/http/router";
import { newId } from "../platform/crypto/encoding";
import { getDb } from "../platform/db/client";
import { integrationEvents, organizations, zapierHooks } from "../platform/db/schema";
import { jsonBody } from "../platform/http/middleware";
import { badRequest, notFound } from "../platform/http/problem";
import { AUTHENTICATED, IdParam, problems, iso } from "../platform/http/schemas";
import { checkEgressUrl, egressOptions } from "./egress-policy";
import { hookSecret } from "./hook-signature";

export const zapierRoutes = createRouter();

const TOPIC = z
  .string()
  .regex(
    /^[a-z][a-z0-9_-]*(?:\.[a-z][a-z0-9_-]*){0,4}$/,
    "must be a dotted lower-case topic such as slack.message",
  );

const me = createRoute({
  method: "get",
  path: "/me",
  tags: ["Zapier"],
  summary: "Zapier's authentication test: who this API key belongs to",
  security: AUTHENTICATED,
  responses: {
    200: {
      description: "The organization",
      content: {
        "application/json": { schema: z.object({ organization: z.string(), id: z.string() }) },
      },
    },
    ...problems(400, 401, 403, 429),
  },
});

zapierRoutes.openapi(me, async (c) => {
  const p = requireScope(c, "integrations:read");
  if (!p.orgId) throw badRequest("Zapier connects to an organization.");
  const [org] = await getDb(c.env.DB)
    .select({ slug: organizations.slug })
    .from(organizations)
    .where(eq(organizations.id, p.orgId));
  return c.json({ organization: org?.slug ?? "", id: p.orgId }, 200);
});

const subscribe = createRoute({
  method: "post",
  path: "/hooks",
  tags: ["Zapier"],
  summary: "Subscribe a Zapier hook URL to a topic (Zapier calls this when a Zap is turned on)",
  security: AUTHENTICATED,
  middleware: [...jsonBody],
  request: {
    body: {
      required: true,
      content: {
        "application/json": {
          schema: z
            .object({ hookUrl: z.string().url().max(2000), event: TOPIC })
            .strict()
            .openapi({
              example: {
                hookUrl: "https://hooks.zapier.com/hooks/standard/123/abc",
                event: "slack.message",
              },
            }),
        },
      },
    },
  },
  responses: {
    201: {
      description:
        'Subscribed. `signingSecret` (shown once) verifies the `Atoll-Signature` header of every delivery (docs/integrations.md, "Zapier").',
      content: {
        "application/json": {
          schema: z.object({
            id: z.string(),
            event: z.string(),
            signingSecret: z.string(),
            createdAt: z.string(),
          }),
        },
      },
    },
    ...problems(400, 401, 403, 413, 415, 429),
  },
});

zapierRoutes.openapi(subscribe, async (c) => {
  const p = requireScope(c, "integrations:write");
  if (!p.orgId) throw badRequest("Zapier connects to an organization.");
  const { hookUrl, event } = c.req.valid("json");
  // The same policy is applied again at each delivery and to each redirect (src/integrations/events.ts).
  const verdict = checkEgressUrl(hookUrl, egressOptions(c.env));
  if (!verdict.ok)
    throw badRequest(`hookUrl ${verdict.message}.`, "validation-failed", {
      errors: [{ path: "hookUrl", message: verdict.message }],
    });
  const row = {
    id: newId("hook"),
    orgId: p.orgId,
    topic: event,
    hookUrl: verdict.url.href,
    createdAt: Date.now(),
    removedAt: null,
  };
  await getDb(c.env.DB).insert(zapierHooks).values(row);
  return c.json(
    {
      id: row.id,
      event,
      signingSecret: await hookSecret(c.env.ATOLL_SECRET_KEY, row.id),
      createdAt: iso(row.createdAt),
    },
    201,
  );
});

const unsubscribe = createRoute({
  method: "delete",
  path: "/hooks/{hookId}",
  tags: ["Zapier"],
  summary: "Unsubscribe a hook (Zapier calls this when a Zap is turned off)",
  security: AUTHENTICATED,
  request: { params: z.object({ hookId: IdParam("hookId", "hook") }) },
  responses: { 204: { description: "Unsubscribed" }, ...problems(400, 401, 403, 404, 429) },
});

zapierRoutes.openapi(unsubscribe, async (c) => {
  const p = requireScope(c, "integrations:write");
  const db = getDb(c.env.DB);
  const { hookId } = c.req.valid("param");
  const [hook] = await db
    .select()
    .from(zapierHooks)
    .where(and(eq(zapierHooks.id, hookId), isNull(zapierHooks.removedAt)));
  if (!hook || hook.orgId !== p.orgId) throw notFound("The hook");
  await db.update(zapierHooks).set({ removedAt: Date.now() }).where(eq(zapierHooks.id, hookId));
  return c.body(null, 204);
});

const poll = createRoute({
  method: "get",
  path: "/triggers/{event}",
  tags: ["Zapier"],
  summary: "Polling trigger: recent events of a topic, newest first, with stable ids",
  security: AUTHENTICATED,
  request: {
    params: z.object({ event: TOPIC.openapi({ param: { name: "event", in: "path" } }) }),
    query: z.object({ limit: z.coerce.number().int().min(1).max(100).default(25) }),
  },
  responses: {
    200: {
      description: "Events (an array, as Zapier expects)",
      content: {
        "application/json": {
          schema: z.array(
            z.object({
              id: z.string(),
              topic: z.string(),
              payload: z.unknown(),
              createdAt: z.string(),
            }),
          ),
        },
      },
    },
    ...problems(400, 401, 403, 429),
  },
});

zapierRoutes.openapi(poll, async (c) => {
  const p = requireScope(c, "integrations:read");
  if (!p.orgId) return c.json([], 200);
  const { event } = c.req.valid("param");
  const rows = await getDb(c.env.DB)
    .select()
    .from(integrationEvents)
    .where(and(eq(integrationEvents.orgId, p.orgId), eq(integrationEvents.topic, event)))
    .orderBy(desc(integrationEvents.createdAt), desc(integrationEvents.id))
    .limit(c.req.valid("query").limit);
  return c.json(
    rows.map((r) => ({
      id: r.id,
      topic: r.topic,
      payload: JSON.parse(r.payload) as unknown,
      createdAt: iso(r.createdAt),
    })),
    200,
  );
});
