/**
 * Delivering platform events (the atoll-events queue's platform messages).
 *
 * `{ platformEventId }` fans an event out: to every active installation in its audience (and its
 * environment, if it has one) granted `events:<topic>`, through the plugin's `/__atoll/event` and
 * the till, as provider events are; and to every enabled webhook endpoint of the audience that
 * takes the topic, as one `webhook_deliveries` row each (unique per endpoint and event, so a
 * retried fan-out creates nothing twice), each queued as `{ webhookDeliveryId }`.
 *
 * `{ webhookDeliveryId }` is one attempt: the endpoint's URL is checked against the egress policy
 * again (it may predate today's rules), the body is signed with every live secret, redirects are
 * not followed, any 2xx is success. A failure schedules the next attempt (RETRY_DELAYS_S) as a
 * delayed message; after MAX_ATTEMPTS the delivery is `failed`. DISABLE_AFTER_FAILURES failed
 * attempts in a row (any delivery) disable the endpoint; the notice is an audit entry and a mail to
 * the organization's owners.
 */
import { and, eq, inArray, sql } from "drizzle-orm";
import { getDb, type Db } from "../platform/db/client";
import { decryptString } from "../platform/crypto/aead";
import { newId } from "../platform/crypto/encoding";
import { sendMail } from "../platform/mail";
import {
  auditLog,
  installations,
  memberships,
  users,
  platformEventPluginDeliveries,
  platformEvents,
  webhookDeliveries,
  webhookEndpoints,
  type PlatformEventRow,
  type WebhookEndpointRow,
} from "../platform/db/schema";
import { ApiError } from "../platform/http/problem";
import { loadSpec } from "../runtime/resolve";
import type { PluginSpec } from "../runtime/spec";
import type { PluginHost } from "../runtime/host";
import { LIFECYCLE, hostFor, invokePlugin, pluginDeadline, pluginRequest } from "../runtime/invoke";
import { hostExports, type HostExports } from "../runtime/loader-host";
import { tilled, type Till } from "../revenue/till";
import { checkEgressUrl, egressOptions } from "../integrations/egress-policy";
import { PlatformMessage } from "./emit";
import { SIGNATURE_HEADER, signatureHeader } from "../contract/webhook-signature";
import type { PlatformEnvelope, PlatformTopic } from "./topics";

/** Seconds before attempt n+1 after attempt n failed (n = 1…5): 1 min, 5 min, 30 min, 2 h, 8 h. */
export const RETRY_DELAYS_S = [60, 300, 1_800, 7_200, 28_800] as const;
export const MAX_ATTEMPTS = RETRY_DELAYS_S.length + 1;
/** Failed attempts in a row (across deliveries) after which an endpoint is disabled. */
export const DISABLE_AFTER_FAILURES = 10;
export const DELIVERY_TIMEOUT_MS = 10_000;
export const USER_AGENT = "Atoll-Webhooks/1";

export function envelopeOf(event: PlatformEventRow): PlatformEnvelope {
  return {
    id: event.id,
    topic: event.topic as PlatformTopic,
    createdAt: new Date(event.createdAt).toISOString(),
    payload: JSON.parse(event.payload) as Record<string, unknown>,
  };
}

export async function getEvent(db: Db, id: string): Promise<PlatformEventRow | null> {
  const [row] = await db.select().from(platformEvents).where(eq(platformEvents.id, id));
  return row ?? null;
}

export interface FanOutReport {
  plugins: string[];
  deliveries: string[];
  failed: { installationId: string; reason: string }[];
}

async function recordPluginDelivery(
  db: Db,
  eventId: string,
  installationId: string,
  status: number,
) {
  await db
    .insert(platformEventPluginDeliveries)
    .values({ eventId, installationId, status, deliveredAt: Date.now() })
    .onConflictDoNothing();
}

/** Sends one event to one plugin; a 5xx is a failure (retried), anything else delivered. */
async function sendToPlugin(
  host: PluginHost,
  spec: PluginSpec,
  envelope: PlatformEnvelope,
  deadlineMs: number,
  through: (run: () => Promise<{ response: Response }>) => Promise<{ response: Response }>,
): Promise<number> {
  const req = pluginRequest(
    spec,
    { orgId: spec.orgId, subject: "platform:events", requestId: `evt-${envelope.id}` },
    LIFECYCLE.event,
    {
      method: "POST",
      headers: new Headers({ "content-type": "application/json" }),
      body: JSON.stringify(envelope),
    },
  );
  const { response } = await through(() => invokePlugin(host, spec, req, deadlineMs));
  await response.body?.cancel();
  if (response.status >= 500) throw new Error(`the plugin answered ${response.status}`);
  return response.status;
}

/**
 * The removed plugin's own `installation.deleted` (mandatory, whatever it was granted, as
 * Shopify's uninstall webhook is): sent by the uninstall itself, before the plugin's code and
 * storage are retired — afterwards there is nothing left to call. Best effort: a plugin that
 * fails cannot keep the organization from uninstalling it.
 */
export async function notifyRemovedPlugin(
  env: Env,
  db: Db,
  host: PluginHost,
  spec: PluginSpec,
  eventId: string,
): Promise<{ ok: boolean; status: number }> {
  const event = await getEvent(db, eventId);
  if (!event) return { ok: false, status: 0 };
  try {
    // No secrets: the installation's are already destroyed.
    const status = await sendToPlugin(
      host,
      { ...spec, secrets: {} },
      envelopeOf(event),
      pluginDeadline(env),
      (run) => run(),
    );
    await recordPluginDelivery(db, event.id, spec.installationId, status);
    return { ok: true, status };
  } catch {
    return { ok: false, status: 0 };
  }
}

/** Fans one event out (see the module comment). Plugins that failed are reported for a retry. */
export async function fanOut(
  env: Env,
  exports: () => HostExports,
  eventId: string,
  waitUntil: Till["waitUntil"] = null,
): Promise<FanOutReport> {
  const db = getDb(env.DB);
  const report: FanOutReport = { plugins: [], deliveries: [], failed: [] };
  const event = await getEvent(db, eventId);
  if (!event || event.orgIds.length === 0) return report;
  const envelope = envelopeOf(event);

  const done = new Set(
    (
      await db
        .select({ id: platformEventPluginDeliveries.installationId })
        .from(platformEventPluginDeliveries)
        .where(eq(platformEventPluginDeliveries.eventId, event.id))
    ).map((r) => r.id),
  );
  const active = await db
    .select({
      id: installations.id,
      grants: installations.grants,
      environment: installations.environment,
    })
    .from(installations)
    .where(and(inArray(installations.orgId, event.orgIds), eq(installations.status, "active")));
  const subscribed = active.filter(
    (i) =>
      i.grants.includes(`events:${event.topic}`) &&
      (event.environment === null || i.environment === event.environment) &&
      !done.has(i.id),
  );
  const host = hostFor(env, exports);
  for (const inst of subscribed) {
    try {
      const spec = await loadSpec(db, env.ATOLL_SECRET_KEY, inst.id);
      // A revoked or stopped version never runs: nothing to deliver, nothing to retry.
      if (!spec || spec.halted) continue;
      let status: number;
      try {
        status = await sendToPlugin(host, spec, envelope, pluginDeadline(env), (run) =>
          tilled({ env, waitUntil }, spec, run, (o) => o.response.status),
        );
      } catch (err) {
        // A paid listing the organization no longer has: skipped, not retried.
        if (err instanceof ApiError && err.status === 402) continue;
        throw err;
      }
      await recordPluginDelivery(db, event.id, inst.id, status);
      report.plugins.push(inst.id);
    } catch (err) {
      report.failed.push({
        installationId: inst.id,
        reason: err instanceof Error ? err.message.slice(0, 200) : String(err),
      });
    }
  }

  const endpoints = (
    await db
      .select({ id: webhookEndpoints.id, topics: webhookEndpoints.topics })
      .from(webhookEndpoints)
      .where(
        and(inArray(webhookEndpoints.orgId, event.orgIds), eq(webhookEndpoints.status, "enabled")),
      )
  ).filter((e) => e.topics.includes(event.topic));
  const now = Date.now();
  for (const e of endpoints) {
    await db
      .insert(webhookDeliveries)
      .values({
        id: newId("whd"),
        endpointId: e.id,
        eventId: event.id,
        topic: event.topic,
        status: "pending",
        attempts: 0,
        createdAt: now,
        updatedAt: now,
      })
      .onConflictDoNothing();
  }
  // Queued again on a retried fan-out too: a second message for a delivery finds it claimed.
  const fresh = await db
    .select({ id: webhookDeliveries.id })
    .from(webhookDeliveries)
    .where(
      and(
        eq(webhookDeliveries.eventId, event.id),
        eq(webhookDeliveries.status, "pending"),
        eq(webhookDeliveries.attempts, 0),
      ),
    );
  if (fresh.length > 0)
    await env.EVENTS_QUEUE.sendBatch(
      fresh.map((d) => ({ body: { webhookDeliveryId: d.id } satisfies PlatformMessage })),
    );
  report.deliveries = fresh.map((d) => d.id);
  return report;
}

export type AttemptOutcome =
  | { outcome: "succeeded"; status: number }
  | { outcome: "retrying"; reason: string; nextAttemptAt: number }
  | { outcome: "failed"; reason: string; disabled: boolean }
  | { outcome: "skipped"; reason: "gone" | "done" | "not-due" | "claimed" };

/** The endpoint's live secrets, newest first (the previous one during its grace period). */
async function liveSecrets(env: Env, endpoint: WebhookEndpointRow, now: number): Promise<string[]> {
  const context = `webhook-endpoint:${endpoint.id}:secret`;
  const secrets = [await decryptString(env.ATOLL_SECRET_KEY, endpoint.secretEnc, context)];
  if (endpoint.previousSecretEnc && (endpoint.previousExpiresAt ?? 0) > now)
    secrets.push(await decryptString(env.ATOLL_SECRET_KEY, endpoint.previousSecretEnc, context));
  return secrets;
}

/** One POST; a reason when it was not a 2xx (never the receiver's body: it is not ours to log). */
async function post(
  env: Env,
  endpoint: WebhookEndpointRow,
  headers: Record<string, string>,
  body: string,
): Promise<{ ok: true; status: number } | { ok: false; status: number | null; reason: string }> {
  const verdict = checkEgressUrl(endpoint.url, egressOptions(env));
  if (!verdict.ok)
    return { ok: false, status: null, reason: `the URL is refused: it ${verdict.message}` };
  let res: Response;
  try {
    res = await fetch(verdict.url.href, {
      method: "POST",
      headers,
      body,
      redirect: "manual",
      signal: AbortSignal.timeout(DELIVERY_TIMEOUT_MS),
    });
  } catch (err) {
    const timeout = err instanceof Error && err.name === "TimeoutError";
    return {
      ok: false,
      status: null,
      reason: timeout
        ? `no answer within ${DELIVERY_TIMEOUT_MS / 1000} s`
        : "the connection failed",
    };
  }
  await res.body?.cancel();
  if (res.status >= 200 && res.status < 300) return { ok: true, status: res.status };
  if (res.status >= 300 && res.status < 400)
    return { ok: false, status: res.status, reason: `redirects are not followed (${res.status})` };
  return { ok: false, status: res.status, reason: `the receiver answered ${res.status}` };
}

/**
 * One attempt of one delivery at `now`. Claimed by a guarded update on its attempt count, so two
 * messages for the same delivery send it once.
 */
export async function attemptDelivery(
  env: Env,
  deliveryId: string,
  now = Date.now(),
): Promise<AttemptOutcome> {
  const db = getDb(env.DB);
  const [row] = await db
    .select({ d: webhookDeliveries, e: webhookEndpoints, ev: platformEvents })
    .from(webhookDeliveries)
    .innerJoin(webhookEndpoints, eq(webhookEndpoints.id, webhookDeliveries.endpointId))
    .innerJoin(platformEvents, eq(platformEvents.id, webhookDeliveries.eventId))
    .where(eq(webhookDeliveries.id, deliveryId));
  if (!row) return { outcome: "skipped", reason: "gone" };
  const { d, e: endpoint, ev } = row;
  if (d.status !== "pending") return { outcome: "skipped", reason: "done" };
  if (endpoint.status === "disabled") {
    const reason = "the endpoint is disabled";
    await db
      .update(webhookDeliveries)
      .set({ status: "failed", lastError: reason, nextAttemptAt: null, updatedAt: now })
      .where(and(eq(webhookDeliveries.id, d.id), eq(webhookDeliveries.status, "pending")));
    return { outcome: "failed", reason, disabled: true };
  }
  if (d.nextAttemptAt !== null && d.nextAttemptAt > now)
    return { outcome: "skipped", reason: "not-due" };
  const claimed = await db
    .update(webhookDeliveries)
    .set({ attempts: d.attempts + 1, updatedAt: now })
    .where(
      and(
        eq(webhookDeliveries.id, d.id),
        eq(webhookDeliveries.status, "pending"),
        eq(webhookDeliveries.attempts, d.attempts),
      ),
    )
    .returning({ id: webhookDeliveries.id });
  if (claimed.length === 0) return { outcome: "skipped", reason: "claimed" };
  const attempt = d.attempts + 1;

  const body = JSON.stringify(envelopeOf(ev));
  const result = await post(
    env,
    endpoint,
    {
      "content-type": "application/json",
      "user-agent": USER_AGENT,
      [SIGNATURE_HEADER]: await signatureHeader(await liveSecrets(env, endpoint, now), body, now),
      "atoll-event-id": ev.id,
      "atoll-event-topic": ev.topic,
      "atoll-delivery-id": d.id,
      "atoll-delivery-attempt": String(attempt),
    },
    body,
  );

  if (result.ok) {
    await db.batch([
      db
        .update(webhookDeliveries)
        .set({
          status: "succeeded",
          lastStatus: result.status,
          lastError: null,
          nextAttemptAt: null,
          deliveredAt: now,
          updatedAt: now,
        })
        .where(eq(webhookDeliveries.id, d.id)),
      db
        .update(webhookEndpoints)
        .set({ consecutiveFailures: 0 })
        .where(eq(webhookEndpoints.id, endpoint.id)),
    ]);
    return { outcome: "succeeded", status: result.status };
  }

  const last = attempt >= MAX_ATTEMPTS;
  const nextAttemptAt = last ? null : now + (RETRY_DELAYS_S[attempt - 1] ?? 0) * 1000;
  const [, failures] = await db.batch([
    db
      .update(webhookDeliveries)
      .set({
        status: last ? "failed" : "pending",
        lastStatus: result.status,
        lastError: result.reason,
        nextAttemptAt,
        updatedAt: now,
      })
      .where(eq(webhookDeliveries.id, d.id)),
    db
      .update(webhookEndpoints)
      .set({ consecutiveFailures: sql`${webhookEndpoints.consecutiveFailures} + 1` })
      .where(eq(webhookEndpoints.id, endpoint.id))
      .returning({ n: webhookEndpoints.consecutiveFailures }),
  ]);
  const disabled = await disableIfFailing(
    env,
    db,
    endpoint,
    failures[0]?.n ?? 0,
    result.reason,
    now,
  );
  if (last || disabled) return { outcome: "failed", reason: result.reason, disabled };
  await env.EVENTS_QUEUE.send({ webhookDeliveryId: d.id } satisfies PlatformMessage, {
    delaySeconds: RETRY_DELAYS_S[attempt - 1] ?? 60,
  });
  return { outcome: "retrying", reason: result.reason, nextAttemptAt: nextAttemptAt ?? now };
}

/** Disables an endpoint that failed too often in a row; an audit entry and a mail to the owners say so. */
async function disableIfFailing(
  env: Env,
  db: Db,
  endpoint: WebhookEndpointRow,
  failures: number,
  lastReason: string,
  now: number,
): Promise<boolean> {
  if (failures < DISABLE_AFTER_FAILURES) return false;
  const reason = `disabled after ${failures} failed attempts in a row; the last: ${lastReason}`;
  const [changed] = await db.batch([
    db
      .update(webhookEndpoints)
      .set({ status: "disabled", disabledReason: reason, disabledAt: now, updatedAt: now })
      .where(and(eq(webhookEndpoints.id, endpoint.id), eq(webhookEndpoints.status, "enabled")))
      .returning({ id: webhookEndpoints.id }),
  ]);
  if (changed.length === 0) return true;
  await db.insert(auditLog).values({
    at: now,
    orgId: endpoint.orgId,
    actor: "platform",
    action: "webhook_endpoint.disabled",
    target: endpoint.id,
    details: { failures, reason: lastReason },
    requestId: null,
  });
  console.warn(
    JSON.stringify({
      level: "warn",
      msg: "webhook endpoint disabled",
      endpointId: endpoint.id,
      failures,
    }),
  );
  await mailOwners(env, db, endpoint, reason);
  return true;
}

/** Best effort: a mail service that is down or absent must not undo the disabling. */
async function mailOwners(env: Env, db: Db, endpoint: WebhookEndpointRow, reason: string) {
  const owners = await db
    .select({ email: users.email })
    .from(memberships)
    .innerJoin(users, eq(users.id, memberships.userId))
    .where(and(eq(memberships.orgId, endpoint.orgId), eq(memberships.role, "owner")));
  const host = new URL(endpoint.url).host;
  for (const { email } of owners) {
    try {
      await sendMail(env, {
        to: email,
        subject: `Atoll disabled your webhook endpoint ${endpoint.id} (${host})`,
        text: `Your webhook endpoint ${endpoint.id} at ${host} was ${reason}.\n\nIt receives no events until it is enabled again: PATCH /v1/webhook-endpoints/${endpoint.id} {"enabled": true}. Failed deliveries can then be replayed from its delivery log.`,
      });
    } catch (err) {
      console.warn(
        JSON.stringify({
          level: "warn",
          msg: "the disabled-endpoint notice was not mailed",
          endpointId: endpoint.id,
          error: String(err),
        }),
      );
    }
  }
}

/** The platform messages of an atoll-events batch (src/jobs.ts hands them here). */
export async function consumePlatformMessages(
  messages: readonly Message<unknown>[],
  env: Env,
  ctx: ExecutionContext,
): Promise<void> {
  for (const msg of messages) {
    const parsed = PlatformMessage.safeParse(msg.body);
    if (!parsed.success) {
      console.error(JSON.stringify({ level: "error", msg: "malformed platform event message" }));
      msg.ack();
      continue;
    }
    try {
      if ("platformEventId" in parsed.data) {
        const report = await fanOut(
          env,
          () => hostExports(ctx),
          parsed.data.platformEventId,
          (p) => ctx.waitUntil(p),
        );
        if (report.failed.length > 0) {
          console.warn(
            JSON.stringify({
              level: "warn",
              msg: "platform event delivery to plugins failed; retrying",
              eventId: parsed.data.platformEventId,
              failed: report.failed,
            }),
          );
          msg.retry({ delaySeconds: Math.min(300, 2 ** msg.attempts) });
          continue;
        }
      } else await attemptDelivery(env, parsed.data.webhookDeliveryId);
      msg.ack();
    } catch (err) {
      console.error(
        JSON.stringify({
          level: "error",
          msg: "platform event message failed",
          error: String(err),
        }),
      );
      msg.retry({ delaySeconds: Math.min(300, 2 ** msg.attempts) });
    }
  }
}
