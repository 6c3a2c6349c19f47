/**
 * The Cron Triggers (wrangler.toml [triggers]): hourly renewals and usage billing (plus pruning
 * expired idempotency keys), daily payouts. Each job is idempotent, so a trigger that fires
 * twice, or overlaps a run started by an operator, moves money once.
 */
import { getDb } from "../platform/db/client";
import { hostFor, pluginDeadline } from "../runtime/invoke";
import { hostExports } from "../runtime/loader-host";
import { pruneIdempotencyKeys } from "./idempotency";
import { runPayouts } from "./payouts";
import { PluginProcessor } from "./processor";
import { renewDue } from "./subscriptions";
import { billUsage } from "./usage-billing";
import { renewalEvents } from "./events";

function processorFor(
  controller: ScheduledController,
  env: Env,
  ctx: ExecutionContext,
): PluginProcessor {
  return new PluginProcessor(
    getDb(env.DB),
    env.ATOLL_SECRET_KEY,
    hostFor(env, () => hostExports(ctx)),
    `cron-${controller.scheduledTime}`,
    pluginDeadline(env),
  );
}

/** Daily: pays developers what is due (src/jobs.ts schedules it). */
export async function payoutJob(
  controller: ScheduledController,
  env: Env,
  ctx: ExecutionContext,
): Promise<void> {
  const run = await runPayouts(getDb(env.DB), processorFor(controller, env, ctx), {
    now: controller.scheduledTime,
  });
  console.log(
    JSON.stringify({
      level: "info",
      msg: "payout run",
      runId: run.runId,
      paid: run.paid.length,
      skipped: run.skipped.length,
      retried: run.retried.length,
    }),
  );
}

/** Hourly: renewals, usage billing, and pruning expired idempotency keys. */
export async function billingJob(
  controller: ScheduledController,
  env: Env,
  ctx: ExecutionContext,
): Promise<void> {
  const db = getDb(env.DB);
  const processor = processorFor(controller, env, ctx);
  const now = controller.scheduledTime;
  const renewals = await renewDue(db, processor, now, 200, renewalEvents(env, db));
  const usage = await billUsage(db, processor, now, env);
  const pruned = await pruneIdempotencyKeys(db, now);
  console.log(
    JSON.stringify({
      level: "info",
      msg: "billing run",
      renewals: renewals.outcomes,
      usageCharged: usage.filter((u) => u.status === "charged").length,
      prunedKeys: pruned,
    }),
  );
}
