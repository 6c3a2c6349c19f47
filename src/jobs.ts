/**
 * What the Worker runs without a request: the Cron Triggers (wrangler.toml `[triggers]`) and the
 * queue consumers, each named once. A cron not in the table logs an error and fails the invocation;
 * a queue not in it logs an error and retries its batch — a new trigger must be added here on
 * purpose, it never falls through to another job.
 */
import { consumeEvents } from "./integrations/events";
import { consumeSync, enqueueDueSyncs, type SyncMessage } from "./integrations/sync";
import type { EventMessage } from "./integrations/webhooks.routes";
import { billingJob, payoutJob } from "./revenue/scheduled";
import { isPlatformMessage, pruneEvents, redispatchEvents } from "./events/emit";
import { consumePlatformMessages } from "./events/deliver";
import { getDb } from "./platform/db/client";

type CronJob = (controller: ScheduledController, env: Env, ctx: ExecutionContext) => Promise<void>;
type QueueJob = (batch: MessageBatch<unknown>, env: Env, ctx: ExecutionContext) => Promise<void>;

export const CRONS: Readonly<Record<string, CronJob>> = {
  /** Every minute: start the integration syncs that are due; queue platform events left behind. */
  "* * * * *": async (controller, env) => {
    await enqueueDueSyncs(env, controller.scheduledTime);
    await redispatchEvents(env, getDb(env.DB), controller.scheduledTime);
  },
  /** Hourly: renewals, usage billing, pruning idempotency keys; pruning old platform events. */
  "0 * * * *": async (controller, env, ctx) => {
    await billingJob(controller, env, ctx);
    await pruneEvents(getDb(env.DB), controller.scheduledTime);
  },
  /** Daily at 03:00 UTC: developer payouts. */
  "0 3 * * *": payoutJob,
};

export const QUEUES: Readonly<Record<string, QueueJob>> = {
  /** Provider events (`{ eventId }`) and platform events (`{ platformEventId }`, `{ webhookDeliveryId }`). */
  "atoll-events": async (batch, env, ctx) => {
    const platform = batch.messages.filter((m) => isPlatformMessage(m.body));
    const provider = batch.messages.filter((m) => !isPlatformMessage(m.body));
    if (platform.length > 0) await consumePlatformMessages(platform, env, ctx);
    if (provider.length > 0)
      await consumeEvents({ ...batch, messages: provider } as MessageBatch<EventMessage>, env, ctx);
  },
  "atoll-sync": (batch, env) => consumeSync(batch as MessageBatch<SyncMessage>, env),
};

export async function scheduled(
  controller: ScheduledController,
  env: Env,
  ctx: ExecutionContext,
): Promise<void> {
  const job = Object.hasOwn(CRONS, controller.cron) ? CRONS[controller.cron] : undefined;
  if (!job) {
    console.error(
      JSON.stringify({ level: "error", msg: "unknown cron: nothing ran", cron: controller.cron }),
    );
    // An error, not a quiet success: the invocation is recorded as failed (Cloudflare's Cron
    // Events, Miniflare's outcome "exception"), so a schedule left out of the table shows.
    throw new Error(`unknown cron ${JSON.stringify(controller.cron)}: no job is scheduled for it`);
  }
  await job(controller, env, ctx);
}

export async function queue(
  batch: MessageBatch<unknown>,
  env: Env,
  ctx: ExecutionContext,
): Promise<void> {
  const job = Object.hasOwn(QUEUES, batch.queue) ? QUEUES[batch.queue] : undefined;
  if (!job) {
    // Not acknowledged: the messages are retried, then dead-lettered, rather than lost.
    console.error(
      JSON.stringify({
        level: "error",
        msg: "unknown queue: nothing ran",
        queue: batch.queue,
        messages: batch.messages.length,
      }),
    );
    batch.retryAll();
    return;
  }
  await job(batch, env, ctx);
}
