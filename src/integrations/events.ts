/**
 * The events queue's consumer: each event goes to every plugin installed in its organization
 * and environment with `events:<topic>` granted (through the plugin's `/__atoll/event`), and to
 * every Zapier hook subscribed to the topic. Each subscriber that took it is remembered
 * (event_deliveries), so a retried message only goes to those that failed; Zapier's documented
 * `410 Gone` unsubscribes a hook.
 */
import { and, eq, isNull } from "drizzle-orm";
import { getDb, type Db } from "../platform/db/client";
import {
  eventDeliveries,
  installations,
  integrationEvents,
  zapierHooks,
} from "../platform/db/schema";
import { loadSpec } from "../runtime/resolve";
import { LIFECYCLE, hostFor, invokePlugin, pluginDeadline, pluginRequest } from "../runtime/invoke";
import { hostExports, type HostExports } from "../runtime/loader-host";
import { ApiError } from "../platform/http/problem";
import { tilled, type Till } from "../revenue/till";
import { providerRequest } from "./http";
import { egressOptions } from "./egress-policy";
import { HOOK_SIGNATURE_HEADER, hookSecret, signHookDelivery } from "./hook-signature";
import { z } from "zod";
import type { EventMessage } from "./webhooks.routes";

export interface DeliveryReport {
  delivered: string[];
  failed: { target: string; reason: string }[];
}

async function delivered(db: Db, eventId: string): Promise<Set<string>> {
  const rows = await db
    .select({ target: eventDeliveries.target })
    .from(eventDeliveries)
    .where(eq(eventDeliveries.eventId, eventId));
  return new Set(rows.map((r) => r.target));
}

/**
 * Delivers one event to whoever has not received it yet. A plugin receives it through the till
 * (src/revenue/till.ts): a paid listing the organization no longer has is skipped, not retried.
 */
export async function deliverEvent(
  env: Env,
  exports: () => HostExports,
  eventId: string,
  allowHttpHooks: boolean,
  waitUntil: Till["waitUntil"] = null,
): Promise<DeliveryReport> {
  const db = getDb(env.DB);
  const [event] = await db
    .select()
    .from(integrationEvents)
    .where(eq(integrationEvents.id, eventId));
  const report: DeliveryReport = { delivered: [], failed: [] };
  if (!event) return report;
  const done = await delivered(db, eventId);
  const mark = (target: string) =>
    db
      .insert(eventDeliveries)
      .values({ eventId, target, deliveredAt: Date.now() })
      .onConflictDoNothing();
  const envelope = {
    id: event.id,
    topic: event.topic,
    payload: JSON.parse(event.payload) as unknown,
    createdAt: new Date(event.createdAt).toISOString(),
  };

  const active = await db
    .select({ id: installations.id, grants: installations.grants })
    .from(installations)
    .where(
      and(
        eq(installations.orgId, event.orgId),
        eq(installations.environment, event.environment as "production"),
        eq(installations.status, "active"),
      ),
    );
  for (const inst of active.filter((i) => i.grants.includes(`events:${event.topic}`))) {
    const target = `ins:${inst.id}`;
    if (done.has(target)) continue;
    try {
      const spec = await loadSpec(db, env.ATOLL_SECRET_KEY, inst.id);
      // A revoked or stopped version never runs: nothing to deliver, nothing to retry.
      if (!spec || spec.halted) continue;
      const req = pluginRequest(
        spec,
        { orgId: spec.orgId, subject: "platform:events", requestId: `evt-${event.id}` },
        LIFECYCLE.event,
        {
          method: "POST",
          headers: new Headers({ "content-type": "application/json" }),
          body: JSON.stringify(envelope),
        },
      );
      let response: Response;
      try {
        ({ response } = await tilled(
          { env, waitUntil },
          spec,
          () => invokePlugin(hostFor(env, exports), spec, req, pluginDeadline(env)),
          (o) => o.response.status,
        ));
      } catch (err) {
        if (err instanceof ApiError && err.status === 402) continue;
        throw err;
      }
      await response.body?.cancel();
      if (response.status >= 500) throw new Error(`the plugin answered ${response.status}`);
      await mark(target);
      report.delivered.push(target);
    } catch (err) {
      report.failed.push({
        target,
        reason: err instanceof Error ? err.message.slice(0, 200) : String(err),
      });
    }
  }

  const hooks = await db
    .select()
    .from(zapierHooks)
    .where(
      and(
        eq(zapierHooks.orgId, event.orgId),
        eq(zapierHooks.topic, event.topic),
        isNull(zapierHooks.removedAt),
      ),
    );
  // The hook URL (stored, perhaps before today's policy) and any redirect are checked at delivery.
  const egress = { allowLocal: allowHttpHooks && egressOptions(env).allowLocal };
  const body = JSON.stringify(envelope);
  for (const hook of hooks) {
    const target = `hook:${hook.id}`;
    if (done.has(target)) continue;
    const signature = await signHookDelivery(await hookSecret(env.ATOLL_SECRET_KEY, hook.id), body);
    const res = await providerRequest({
      url: hook.hookUrl,
      method: "POST",
      headers: {
        "content-type": "application/json",
        [HOOK_SIGNATURE_HEADER]: signature,
        "atoll-event-id": event.id,
      },
      body,
      schema: z.unknown(),
      retries: 1,
      timeoutMs: 10_000,
      egress,
    });
    if (!res.ok && res.status === 410) {
      await db
        .update(zapierHooks)
        .set({ removedAt: Date.now() })
        .where(eq(zapierHooks.id, hook.id));
      continue;
    }
    if (!res.ok) {
      report.failed.push({ target, reason: res.message });
      continue;
    }
    await mark(target);
    report.delivered.push(target);
  }
  return report;
}

/** The Worker's queue handler for atoll-events. */
export async function consumeEvents(
  batch: MessageBatch<EventMessage>,
  env: Env,
  ctx: ExecutionContext,
): Promise<void> {
  for (const msg of batch.messages) {
    const report = await deliverEvent(
      env,
      () => hostExports(ctx),
      msg.body.eventId,
      env.ATOLL_INTEGRATIONS_ALLOW_HTTP === "true",
      (p) => ctx.waitUntil(p),
    );
    if (report.failed.length > 0) {
      console.warn(
        JSON.stringify({
          level: "warn",
          msg: "event delivery failed; retrying",
          eventId: msg.body.eventId,
          failed: report.failed,
        }),
      );
      msg.retry({ delaySeconds: Math.min(300, 2 ** msg.attempts) });
    } else msg.ack();
  }
}
