/**
 * The webhook front door: `POST /v1/webhooks/{connectionId}`. The connection's connector checks
 * the provider's signature over the raw bytes (constant time, timestamp window both ways),
 * answers handshakes (Slack's url_verification), records each event under an id derived from the
 * provider's delivery id (a redelivery is the same row, so it is accepted and dropped), queues
 * the work, and answers at once — Slack retries anything slower than 3 seconds.
 */
import { createRoute, z } from "@hono/zod-openapi";
import { bodyLimit } from "hono/body-limit";
import { eq } from "drizzle-orm";
import { createRouter } from "../platform/http/router";
import { sha256Hex } from "../platform/crypto/hash";
import { getDb } from "../platform/db/client";
import { integrationEvents } from "../platform/db/schema";
import { ApiError, notFound } from "../platform/http/problem";
import { IdParam, problems } from "../platform/http/schemas";
import { connectorFor } from "./connectors";
import { getConnection } from "./connections.routes";
import { open } from "./vault";
import { PROVIDER_WEBHOOK_LIMIT, takeDeliveryBudget } from "../access/ratelimit/provider-webhooks";
import { publicRoute } from "../access/authenticate";

export const providerWebhookRoutes = createRouter();
export const MAX_WEBHOOK_BYTES = 1024 * 1024;

export interface EventMessage {
  eventId: string;
}

/** The id of an event: the same provider delivery always maps to the same id. */
export async function eventId(connectionId: string, deliveryId: string): Promise<string> {
  return `iev_${(await sha256Hex(`${connectionId}\n${deliveryId}`)).slice(0, 32)}`;
}

const route = createRoute(
  publicRoute(
    {
      method: "post",
      path: "/{connectionId}",
      tags: ["Integrations"],
      summary:
        "Inbound webhooks from a connected provider (signature-verified, de-duplicated, queued)",
      description:
        "Public: the provider proves itself with its signature (Slack v0, HubSpot v3). Slack's url_verification handshake is answered with its challenge. Rate limit: the `webhook` class, per connection (after the signature check), not the anonymous per-IP one.",
      middleware: [
        bodyLimit({
          maxSize: MAX_WEBHOOK_BYTES,
          onError: () => {
            throw new ApiError({
              status: 413,
              type: "payload-too-large",
              title: "Request body too large",
              detail: `Webhooks are at most ${MAX_WEBHOOK_BYTES} bytes.`,
            });
          },
        }),
      ],
      request: { params: z.object({ connectionId: IdParam("connectionId", "con") }) },
      responses: {
        200: {
          description: "Accepted (or the handshake's answer)",
          content: {
            "application/json": {
              schema: z
                .object({ received: z.number().int(), duplicates: z.number().int() })
                .or(z.object({ challenge: z.string() })),
            },
          },
        },
        ...problems(400, 401, 404, 413, 429, 503),
      },
    },
    { credentials: "ignored" },
  ),
);

providerWebhookRoutes.openapi(route, async (c) => {
  const db = getDb(c.env.DB);
  const row = await getConnection(db, c.req.valid("param").connectionId);
  const connector = row ? connectorFor(row.provider) : null;
  if (!row || row.status === "revoked" || !connector?.webhook)
    throw notFound("The webhook endpoint");
  const rawBody = await c.req.text();
  const credentials = await open<Record<string, string>>(
    c.env,
    row.id,
    "credentials",
    row.credentialsEnc,
    row.keyId,
  );
  const outcome = await connector.webhook(credentials, {
    method: c.req.method,
    url: c.req.url,
    headers: c.req.raw.headers,
    rawBody,
    now: Date.now(),
  });
  if (outcome.kind === "refused") {
    console.warn(
      JSON.stringify({
        level: "warn",
        msg: "webhook refused",
        connectionId: row.id,
        provider: row.provider,
        reason: outcome.reason,
      }),
    );
    throw new ApiError({
      status: 401,
      type: "signature-invalid",
      title: "Webhook refused",
      detail: `The request is not a valid ${connector.label} webhook: ${outcome.reason}.`,
    });
  }
  await takeDeliveryBudget(c, "webhook", `con:${row.id}`, PROVIDER_WEBHOOK_LIMIT);
  if (outcome.kind === "handshake") return c.json(outcome.body as { challenge: string }, 200);

  let received = 0;
  let duplicates = 0;
  const now = Date.now();
  for (const e of outcome.events) {
    const id = await eventId(row.id, e.id);
    const inserted = await db
      .insert(integrationEvents)
      .values({
        id,
        orgId: row.orgId,
        environment: row.environment,
        connectionId: row.id,
        topic: e.topic,
        payload: JSON.stringify(e.payload ?? null),
        createdAt: now,
      })
      .onConflictDoNothing()
      .run();
    if (inserted.meta.changes === 0) {
      duplicates += 1;
      continue;
    }
    try {
      await c.env.EVENTS_QUEUE.send({ eventId: id } satisfies EventMessage);
    } catch (err) {
      // Not queued: forget it, so the provider's retry is not mistaken for a duplicate.
      await db.delete(integrationEvents).where(eq(integrationEvents.id, id));
      throw new ApiError({
        status: 503,
        type: "unavailable",
        title: "Service unavailable",
        detail: "The event could not be queued; it will be accepted on the provider's retry.",
        internal: String(err),
      });
    }
    received += 1;
  }
  return c.json({ received, duplicates }, 200);
});
