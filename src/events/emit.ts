/**
 * Emitting a platform event: the one function other domains call when something in the lifecycle
 * happens (an installation, a purchase, a renewal, a published or revoked version). The event is
 * recorded (platform_events), then queued on atoll-events; the consumer (src/events/deliver.ts)
 * fans it out to plugins granted `events:<topic>` and to the webhook endpoints of its audience.
 *
 * Emitting never fails the action that caused it (that action is already committed): a failure to
 * record or queue is logged, and an event recorded but not queued is queued again by the minutely
 * cron (`redispatchEvents`).
 */
import { and, asc, eq, isNull, lt, lte, ne, notExists } from "drizzle-orm";
import { z } from "zod";
import type { Db } from "../platform/db/client";
import { newId } from "../platform/crypto/encoding";
import { platformEvents, webhookDeliveries } from "../platform/db/schema";
import { versionPayload, type PlatformTopic } from "./topics";

export interface PlatformEventInput {
  topic: PlatformTopic;
  /**
   * Who receives it: the organizations whose plugins and webhook endpoints get it (a tenant, the
   * publisher of the plugin concerned). Its payload must hold only what each of them may see.
   */
  orgIds: readonly string[];
  /** Plugins receive it only in this environment (absent: in every environment of the audience). */
  environment?: string | null;
  payload: Record<string, unknown>;
}

/** Queue messages of the platform events (on atoll-events, beside the provider events' `{ eventId }`). */
export const PlatformMessage = z.union([
  z.object({ platformEventId: z.string().regex(/^pev_[0-9A-Za-z]{1,40}$/) }).strict(),
  z.object({ webhookDeliveryId: z.string().regex(/^whd_[0-9A-Za-z]{1,40}$/) }).strict(),
]);
export type PlatformMessage = z.infer<typeof PlatformMessage>;

/** Whether a queue message belongs to the platform events (rather than to provider events). */
export function isPlatformMessage(body: unknown): boolean {
  return (
    typeof body === "object" &&
    body !== null &&
    ("platformEventId" in body || "webhookDeliveryId" in body)
  );
}

async function enqueue(env: Pick<Env, "EVENTS_QUEUE">, db: Db, id: string): Promise<void> {
  await env.EVENTS_QUEUE.send({ platformEventId: id } satisfies PlatformMessage);
  await db
    .update(platformEvents)
    .set({ dispatchedAt: Date.now() })
    .where(eq(platformEvents.id, id));
}

/**
 * Records and queues one event; returns its id (null when it could not even be recorded, which is
 * logged). Call it after the change it reports is committed.
 *
 * @example
 * await emitPlatformEvent(c.env, db, {
 *   topic: "version.revoked",
 *   orgIds: [publisherOrgId, ...tenantOrgIds],
 *   payload: { plugin: "@acme/hello", version: "1.2.0", reason: "compromised key" },
 * });
 */
export async function emitPlatformEvent(
  env: Pick<Env, "EVENTS_QUEUE">,
  db: Db,
  event: PlatformEventInput,
  now = Date.now(),
): Promise<string | null> {
  const orgIds = [...new Set(event.orgIds)];
  if (orgIds.length === 0) return null;
  const id = newId("pev");
  try {
    await db.insert(platformEvents).values({
      id,
      topic: event.topic,
      orgIds,
      environment: event.environment ?? null,
      payload: JSON.stringify(event.payload),
      createdAt: now,
      dispatchedAt: null,
    });
  } catch (err) {
    console.error(
      JSON.stringify({
        level: "error",
        msg: "platform event not recorded",
        topic: event.topic,
        error: String(err),
      }),
    );
    return null;
  }
  try {
    await enqueue(env, db, id);
  } catch (err) {
    console.warn(
      JSON.stringify({
        level: "warn",
        msg: "platform event not queued; the cron queues it again",
        eventId: id,
        error: String(err),
      }),
    );
  }
  return id;
}

/** Queues again the events recorded but never queued (older than a minute); run by the minutely cron. */
export async function redispatchEvents(
  env: Pick<Env, "EVENTS_QUEUE">,
  db: Db,
  now = Date.now(),
): Promise<number> {
  const stale = await db
    .select({ id: platformEvents.id })
    .from(platformEvents)
    .where(and(isNull(platformEvents.dispatchedAt), lte(platformEvents.createdAt, now - 60_000)))
    .orderBy(asc(platformEvents.createdAt))
    .limit(100);
  for (const { id } of stale) await enqueue(env, db, id);
  return stale.length;
}

/**
 * `version.revoked`, for the kill switch: to the publisher and to every organization running the
 * version (their plugins granted `events:version.revoked` and their endpoints).
 *
 * @example
 * await emitVersionRevoked(env, db, {
 *   plugin: "@acme/hello", version: "1.2.0", sha256, publisherOrgId, tenantOrgIds, reason: "key compromised",
 * });
 */
export function emitVersionRevoked(
  env: Pick<Env, "EVENTS_QUEUE">,
  db: Db,
  v: {
    plugin: string;
    version: string;
    sha256: string;
    publisherOrgId: string;
    tenantOrgIds: readonly string[];
    reason: string;
  },
  now = Date.now(),
): Promise<string | null> {
  return emitPlatformEvent(
    env,
    db,
    {
      topic: "version.revoked",
      orgIds: [v.publisherOrgId, ...v.tenantOrgIds],
      payload: {
        ...versionPayload({ plugin: v.plugin, version: v.version, sha256: v.sha256 }),
        reason: v.reason,
      },
    },
    now,
  );
}

/** How long events and their delivery logs are kept (replay works within it). */
export const EVENT_RETENTION_MS = 30 * 24 * 3_600_000;

/**
 * Deletes the delivery log entries and events older than EVENT_RETENTION_MS (a pending delivery and
 * its event are kept until it ends); run by the hourly job.
 */
export async function pruneEvents(db: Db, now = Date.now()): Promise<void> {
  const before = now - EVENT_RETENTION_MS;
  await db.batch([
    db
      .delete(webhookDeliveries)
      .where(and(lt(webhookDeliveries.createdAt, before), ne(webhookDeliveries.status, "pending"))),
    db
      .delete(platformEvents)
      .where(
        and(
          lt(platformEvents.createdAt, before),
          notExists(
            db
              .select({ id: webhookDeliveries.id })
              .from(webhookDeliveries)
              .where(eq(webhookDeliveries.eventId, platformEvents.id)),
          ),
        ),
      ),
  ]);
}
