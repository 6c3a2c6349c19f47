/**
 * Emitting a platform event: the one function other domains call when something in the lifecycle
 * happens (an installation, a purchase, a renewal, a published or revoked version). The event is
 * recorded (platform_events), then queued on atoll-events; the consumer (src/events/deliver.ts)
 * fans it out to plugins granted `events:<topic>` and to the webhook endpoints of its audience.
 *
 * A transactional outbox: where the change is one D1 batch, `eventRecord` puts the event's row in
 * that batch, so the event exists exactly when the change does (never lost when the change
 * commits, never sent when it does not), and `dispatchEvent` queues it after the commit. An event
 * recorded but not queued (the queue was down, the isolate died in between) is queued by the
 * minutely cron (`redispatchEvents`); delivery is idempotent per installation and endpoint.
 * `emitPlatformEvent` records and queues in one step, for changes that are not one batch. Neither
 * fails the action that caused it: a failure to queue is logged.
 */
import { and, asc, eq, isNull, lt, lte, ne, notExists } from "drizzle-orm";
import { z } from "zod";
import type { Db, Statement } from "../platform/db/client";
import { insertIfPreviousChanged } from "../platform/db/guard";
import { newId } from "../platform/crypto/encoding";
import { platformEvents, webhookDeliveries } from "../platform/db/schema";
import type { PlatformTopic } from "./topics";

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

function rowOf(id: string, event: PlatformEventInput, now: number) {
  return {
    id,
    topic: event.topic,
    orgIds: [...new Set(event.orgIds)],
    environment: event.environment ?? null,
    payload: JSON.stringify(event.payload),
    createdAt: now,
    dispatchedAt: null,
  };
}

/**
 * The statement recording `event`, for the batch that makes the change it reports; queue it with
 * `dispatchEvent(env, db, id)` once the batch has committed. `guarded`: the row is written only if
 * the previous statement of the batch changed exactly one row (src/platform/db/guard.ts), so a
 * guarded change that lost a race records no event.
 *
 * @example
 * const ev = eventRecord(db, { topic: "installation.created", orgIds, payload });
 * await db.batch([db.insert(installations).values(row), ev.statement]);
 * await dispatchEvent(c.env, db, ev.id);
 */
export function eventRecord(
  db: Db,
  event: PlatformEventInput,
  { guarded = false, now = Date.now() }: { guarded?: boolean; now?: number } = {},
): { id: string; statement: Statement } {
  const id = newId("pev");
  const row = rowOf(id, event, now);
  return {
    id,
    statement: guarded
      ? insertIfPreviousChanged(db, platformEvents, row)
      : db.insert(platformEvents).values(row),
  };
}

/**
 * Queues an event recorded by `eventRecord` after its batch committed. A failure is logged, not
 * thrown: the minutely cron queues the event later.
 */
export async function dispatchEvent(
  env: Pick<Env, "EVENTS_QUEUE">,
  db: Db,
  id: string,
): Promise<void> {
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
  if (event.orgIds.length === 0) return null;
  const id = newId("pev");
  try {
    await db.insert(platformEvents).values(rowOf(id, event, now));
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
  await dispatchEvent(env, db, id);
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
