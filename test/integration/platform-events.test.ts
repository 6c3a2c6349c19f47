/**
 * Platform lifecycle events (src/events/): emitted where the lifecycle happens, delivered through
 * the atoll-events queue to plugins granted `events:<topic>` and to the webhook endpoints that
 * organizations register. The receiver is the SaaS stand-in's `/receiver` (Node), which checks
 * each Atoll-Signature with Node's crypto as docs/events.md tells a receiver to.
 */
import { env } from "cloudflare:workers";
import { and, eq } from "drizzle-orm";
import { describe, expect, it } from "vitest";
import { OPERATOR_KEY, call, problem, type Account } from "../helpers";
import {
  installPlugin,
  publishAndInstall,
  publishZip,
  publisher,
  rawPackage,
} from "../plugin-helpers";
import { saas, standin, until } from "../integration-helpers";
import { latestMail } from "../mail-helpers";
import { getDb } from "../../src/platform/db/client";
import {
  auditLog,
  organizations,
  platformEventPluginDeliveries,
  platformEvents,
  webhookDeliveries,
  webhookEndpoints,
} from "../../src/platform/db/schema";
import {
  EVENT_RETENTION_MS,
  dispatchEvent,
  emitPlatformEvent,
  eventRecord,
  pruneEvents,
  redispatchEvents,
} from "../../src/events/emit";
import {
  DISABLE_AFTER_FAILURES,
  MAX_ATTEMPTS,
  RETRY_DELAYS_S,
  attemptDelivery,
} from "../../src/events/deliver";

interface Received {
  raw: string;
  headers: Record<string, string>;
  verified: boolean | null;
}
interface Endpoint {
  id: string;
  url: string;
  status: string;
  secret: string;
  consecutiveFailures: number;
  disabledReason: string | null;
}
interface Delivery {
  id: string;
  eventId: string;
  status: string;
  attempts: number;
  lastStatus: number | null;
  lastError: string | null;
  replayOf: string | null;
}

const receiverName = () => `r${Date.now()}${Math.random().toString(36).slice(2, 8)}`;
const receiverUrl = (name: string) => `${saas()}/receiver/${name}`;

async function received(name: string): Promise<Received[]> {
  return (await standin<{ deliveries: Received[] }>(`/__standin/receiver/${name}`)).deliveries;
}

async function register(
  a: Account,
  url: string,
  topics: string[] = ["version.revoked"],
): Promise<Endpoint> {
  const res = await call("/v1/webhook-endpoints", {
    method: "POST",
    key: a.apiKey,
    json: { url, topics },
  });
  expect(res.status).toBe(201);
  return (await res.json()) as Endpoint;
}

async function deliveriesOf(a: Account, endpointId: string): Promise<Delivery[]> {
  const res = await call(`/v1/webhook-endpoints/${endpointId}/deliveries`, { key: a.apiKey });
  expect(res.status).toBe(200);
  return ((await res.json()) as { deliveries: Delivery[] }).deliveries;
}

/** A receiver that knows `secret`, and an endpoint pointed at it. */
async function receiving(a: Account, topics?: string[]) {
  const name = receiverName();
  const endpoint = await register(a, receiverUrl(name), topics);
  await standin("/__standin/receiver/secrets", { name, secret: endpoint.secret });
  return { name, endpoint };
}

const revoked = (a: Account, version = "1.0.0") =>
  emitPlatformEvent(env, getDb(env.DB), {
    topic: "version.revoked",
    orgIds: [a.orgId],
    payload: { version: { plugin: `@${a.slug}/x`, version }, reason: "test" },
  });

/** Records every event it receives in its storage; answers installation.deleted 200 only with a deadline. */
const WATCHER = `
export default {
  async fetch(request, env) {
    const url = new URL(request.url);
    if (url.pathname === "/__atoll/event") {
      const e = await request.json();
      if (e.topic === "installation.deleted")
        return new Response(null, { status: e.payload && e.payload.dataDeletionDeadline ? 200 : 422 });
      await env.STORAGE.put("ev:" + e.id, JSON.stringify(e));
      return Response.json({ ok: true });
    }
    if (url.pathname.startsWith("/__atoll/")) return Response.json({ ok: true });
    const keys = await env.STORAGE.list("ev:", 1000);
    const events = [];
    for (const k of keys) events.push(JSON.parse(await env.STORAGE.get(k)));
    return Response.json({ events });
  },
};`;

describe("webhook endpoints: registration is hostile-safe", { timeout: 20_000 }, () => {
  it.each([
    ["the cloud metadata address", "https://169.254.169.254/latest/meta-data/"],
    ["a private address", "https://10.0.0.7/hook"],
    ["the metadata address in decimal", "https://2852039166/latest/"],
    ["IPv4-mapped IPv6", "https://[::ffff:127.0.0.1]/hook"],
    ["a wildcard-DNS name that spells loopback", "https://127.0.0.1.nip.io/hook"],
    ["a .internal name", "https://metadata.google.internal/computeMetadata/v1/"],
    ["localhost with a trailing dot", "https://localhost./hook"],
    ["credentials in the URL", "https://user:pw@hooks.example.com/"],
    ["a non-default port", "https://hooks.example.com:8443/"],
    ["a private address over loopback's http exemption", "http://10.0.0.1:8080/"],
    ["file:", "file:///etc/passwd"],
    ["javascript:", "javascript:alert(1)"],
    ["not a URL", "hooks.example.com/x"],
  ])("refuses %s with 400 and stores nothing", async (_what, url) => {
    const a = await publisher("whssrf");
    const res = await call("/v1/webhook-endpoints", {
      method: "POST",
      key: a.apiKey,
      json: { url, topics: ["installation.created"] },
    });
    expect(res.status).toBe(400);
    expect((await problem(res)).type).toMatch(/validation-failed$/);
    const rows = await getDb(env.DB)
      .select()
      .from(webhookEndpoints)
      .where(eq(webhookEndpoints.orgId, a.orgId));
    expect(rows).toHaveLength(0);
  });

  it("refuses an oversized URL, an unknown topic, repeated topics and unknown fields", async () => {
    const a = await publisher("whodd");
    for (const json of [
      { url: `https://hooks.example.com/${"a".repeat(2048)}`, topics: ["installation.created"] },
      { url: "https://hooks.example.com/", topics: ["slack.message"] },
      { url: "https://hooks.example.com/", topics: [] },
      { url: "https://hooks.example.com/", topics: ["purchase.succeeded", "purchase.succeeded"] },
      { url: "https://hooks.example.com/", topics: ["purchase.succeeded"], secret: "mine" },
    ]) {
      const res = await call("/v1/webhook-endpoints", { method: "POST", key: a.apiKey, json });
      expect(res.status).toBe(400);
    }
  });

  it("a key without webhooks:write cannot register; one with webhooks:read can list", async () => {
    const a = await publisher("whscope");
    const res = await call("/v1/api-keys", {
      method: "POST",
      key: a.apiKey,
      json: { name: "read only", scopes: ["webhooks:read"] },
    });
    expect(res.status).toBe(201);
    const { key } = (await res.json()) as { key: string };
    const denied = await call("/v1/webhook-endpoints", {
      method: "POST",
      key,
      json: { url: "https://hooks.example.com/", topics: ["installation.created"] },
    });
    expect(denied.status).toBe(403);
    expect((await call("/v1/webhook-endpoints", { key })).status).toBe(200);
  });

  it("the secret is shown once: never in the list, the read, or the stored row", async () => {
    const a = await publisher("whsec");
    const e = await register(a, "https://hooks.example.com/atoll");
    expect(e.secret).toMatch(/^whsec_/);
    const list = await (await call("/v1/webhook-endpoints", { key: a.apiKey })).text();
    const one = await (await call(`/v1/webhook-endpoints/${e.id}`, { key: a.apiKey })).text();
    expect(list).not.toContain(e.secret);
    expect(one).not.toContain(e.secret);
    const [row] = await getDb(env.DB)
      .select()
      .from(webhookEndpoints)
      .where(eq(webhookEndpoints.id, e.id));
    expect(row?.secretEnc).toMatch(/^v1\./);
    expect(JSON.stringify(row)).not.toContain(e.secret);
  });

  it("another organization's endpoint and deliveries are 404 on every route; replaying its delivery through one's own endpoint is 404", async () => {
    const owner = await publisher("whown");
    const other = await publisher("whother");
    const { endpoint } = await receiving(owner);
    await revoked(owner);
    const [delivery] = await until(async () => {
      const d = await deliveriesOf(owner, endpoint.id);
      return d.length > 0 ? d : null;
    }, 8000);
    const mine = await register(other, "https://hooks.example.com/mine");
    const base = `/v1/webhook-endpoints/${endpoint.id}`;
    for (const [method, path, json] of [
      ["GET", base, undefined],
      ["PATCH", base, { description: "taken" }],
      ["DELETE", base, undefined],
      ["POST", `${base}/rotate-secret`, {}],
      ["GET", `${base}/deliveries`, undefined],
      ["POST", `${base}/deliveries/${delivery!.id}/replay`, undefined],
      ["POST", `/v1/webhook-endpoints/${mine.id}/deliveries/${delivery!.id}/replay`, undefined],
    ] as const) {
      const res = await call(path, {
        method,
        key: other.apiKey,
        ...(json !== undefined ? { json } : {}),
      });
      expect(res.status, `${method} ${path}`).toBe(404);
    }
    // Nothing changed for the owner.
    const still = (await (await call(base, { key: owner.apiKey })).json()) as {
      description: string;
    };
    expect(still.description).toBe("");
    expect(await deliveriesOf(owner, endpoint.id)).toHaveLength(1);
  });
});

describe("webhook deliveries", { timeout: 30_000 }, () => {
  it("an event reaches a registered endpoint, signed so that Node's crypto verifies it; the log records it; a replay sends the same event again", async () => {
    const a = await publisher("whok");
    const { name, endpoint } = await receiving(a);
    const eventId = await revoked(a, "2.0.0");
    const [got] = await until(async () => {
      const r = await received(name);
      return r.length > 0 ? r : null;
    }, 8000);
    expect(got!.verified).toBe(true);
    expect(got!.headers["atoll-event-id"]).toBe(eventId);
    expect(got!.headers["atoll-signature"]).toMatch(/^t=\d+,v1=[0-9a-f]{64}$/);
    expect(JSON.parse(got!.raw)).toMatchObject({
      id: eventId,
      topic: "version.revoked",
      payload: { version: { version: "2.0.0" } },
    });
    const [d] = await until(async () => {
      const list = await deliveriesOf(a, endpoint.id);
      return list[0]?.status === "succeeded" ? list : null;
    }, 8000);
    expect(d).toMatchObject({ eventId, attempts: 1, lastStatus: 200 });

    const replay = await call(`/v1/webhook-endpoints/${endpoint.id}/deliveries/${d!.id}/replay`, {
      method: "POST",
      key: a.apiKey,
    });
    expect(replay.status).toBe(202);
    expect(await replay.json()).toMatchObject({ replayOf: d!.id, eventId, status: "pending" });
    const twice = await until(async () => {
      const r = await received(name);
      return r.length > 1 ? r : null;
    }, 8000);
    expect(twice.map((r) => r.headers["atoll-event-id"])).toEqual([eventId, eventId]);
    expect(twice[1]!.verified).toBe(true);
  });

  it("an endpoint that does not take the topic gets nothing", async () => {
    const a = await publisher("whtopic");
    const { endpoint } = await receiving(a, ["purchase.succeeded"]);
    await revoked(a);
    await new Promise((r) => setTimeout(r, 800));
    expect(await deliveriesOf(a, endpoint.id)).toHaveLength(0);
  });

  it("a rotated secret: both verify during the grace period; with no grace the old one stops verifying", async () => {
    const a = await publisher("whrot");
    const { name, endpoint } = await receiving(a);
    const rotated = await call(`/v1/webhook-endpoints/${endpoint.id}/rotate-secret`, {
      method: "POST",
      key: a.apiKey,
      json: { graceSeconds: 3600 },
    });
    expect(rotated.status).toBe(200);
    const next = (await rotated.json()) as Endpoint & { previousSecretExpiresAt: string | null };
    expect(next.secret).not.toBe(endpoint.secret);
    expect(next.previousSecretExpiresAt).not.toBeNull();
    // The receiver still has the old secret: it verifies.
    await revoked(a, "1.0.1");
    const [first] = await until(async () => {
      const r = await received(name);
      return r.length > 0 ? r : null;
    }, 8000);
    expect(first!.verified).toBe(true);
    expect(first!.headers["atoll-signature"]!.split(",")).toHaveLength(3);

    const cut = await call(`/v1/webhook-endpoints/${endpoint.id}/rotate-secret`, {
      method: "POST",
      key: a.apiKey,
      json: { graceSeconds: 0 },
    });
    const latest = (await cut.json()) as Endpoint;
    await revoked(a, "1.0.2");
    const after = await until(async () => {
      const r = await received(name);
      return r.length > 1 ? r : null;
    }, 8000);
    expect(after[1]!.verified).toBe(false); // the receiver's secret is two rotations old
    expect(after[1]!.headers["atoll-signature"]!.split(",")).toHaveLength(2);
    await standin("/__standin/receiver/secrets", { name, secret: latest.secret });
    await revoked(a, "1.0.3");
    const third = await until(async () => {
      const r = await received(name);
      return r.length > 2 ? r : null;
    }, 8000);
    expect(third[2]!.verified).toBe(true);
  });

  it("a failing receiver is retried with backoff, the delivery fails after MAX_ATTEMPTS, and the endpoint is disabled after repeated failures, with a notice; enabled again, a replay goes through", async () => {
    const a = await publisher("whfail");
    const { name, endpoint } = await receiving(a);
    await standin("/__standin/faults", {
      provider: "receiver",
      match: name,
      status: 500,
      count: 1000,
    });
    const db = getDb(env.DB);
    const first = await revoked(a, "3.0.0");
    const second = await revoked(a, "3.0.1");
    // The queue makes each delivery's first attempt at once.
    const rows = await until(async () => {
      const r = await db
        .select()
        .from(webhookDeliveries)
        .where(eq(webhookDeliveries.endpointId, endpoint.id));
      return r.length === 2 && r.every((d) => d.attempts >= 1 && d.lastStatus === 500) ? r : null;
    }, 8000);
    const byEvent = (id: string | null) => rows.find((r) => r.eventId === id)!;
    const d1 = byEvent(first);
    expect(d1.status).toBe("pending");
    expect(d1.lastError).toBe("the receiver answered 500");
    expect(d1.nextAttemptAt! - d1.updatedAt).toBe(RETRY_DELAYS_S[0] * 1000);

    // Not due yet: nothing is sent.
    expect(await attemptDelivery(env, d1.id, d1.updatedAt + 1000)).toEqual({
      outcome: "skipped",
      reason: "not-due",
    });
    // Later attempts, each when due (the delays grow).
    let at = d1.nextAttemptAt!;
    const delays: number[] = [];
    for (let n = 2; n <= MAX_ATTEMPTS; n++) {
      const r = await attemptDelivery(env, d1.id, at);
      if (n < MAX_ATTEMPTS) {
        expect(r.outcome).toBe("retrying");
        if (r.outcome !== "retrying") return;
        delays.push(r.nextAttemptAt - at);
        at = r.nextAttemptAt;
      } else expect(r).toMatchObject({ outcome: "failed", disabled: false });
    }
    expect(delays).toEqual(RETRY_DELAYS_S.slice(1).map((s) => s * 1000));
    const failed = (await deliveriesOf(a, endpoint.id)).find((d) => d.id === d1.id)!;
    expect(failed).toMatchObject({ status: "failed", attempts: MAX_ATTEMPTS, lastStatus: 500 });

    // The second delivery's failures bring the run to DISABLE_AFTER_FAILURES.
    const d2 = byEvent(second);
    let outcome = await attemptDelivery(env, d2.id, Date.now() + 10 * 24 * 3600_000);
    for (let i = 0; i < 10 && outcome.outcome === "retrying"; i++)
      outcome = await attemptDelivery(env, d2.id, outcome.nextAttemptAt);
    expect(outcome).toMatchObject({ outcome: "failed", disabled: true });
    const disabled = (await (
      await call(`/v1/webhook-endpoints/${endpoint.id}`, { key: a.apiKey })
    ).json()) as Endpoint;
    expect(disabled.status).toBe("disabled");
    expect(disabled.consecutiveFailures).toBe(DISABLE_AFTER_FAILURES);
    expect(disabled.disabledReason).toMatch(/failed attempts in a row/);
    const notice = await db
      .select()
      .from(auditLog)
      .where(and(eq(auditLog.orgId, a.orgId), eq(auditLog.action, "webhook_endpoint.disabled")));
    expect(notice).toHaveLength(1);
    const log = await call(`/v1/organizations/${a.orgId}/audit-log`, { key: a.apiKey });
    expect(await log.text()).toContain("webhook_endpoint.disabled");
    const mail = await until(() => latestMail(a.email), 5000);
    expect(mail.subject).toContain(endpoint.id);
    expect(mail.text).toMatch(/disabled after 10 failed attempts in a row/);
    expect(mail.text).not.toContain(endpoint.secret);

    // Disabled: new events create no delivery, replays are refused until it is enabled again.
    await revoked(a, "3.0.2");
    await new Promise((r) => setTimeout(r, 500));
    expect(await deliveriesOf(a, endpoint.id)).toHaveLength(2);
    const refused = await call(`/v1/webhook-endpoints/${endpoint.id}/deliveries/${d1.id}/replay`, {
      method: "POST",
      key: a.apiKey,
    });
    expect(refused.status).toBe(409);
    const healthy = receiverName();
    await standin("/__standin/receiver/secrets", { name: healthy, secret: endpoint.secret });
    const enabled = await call(`/v1/webhook-endpoints/${endpoint.id}`, {
      method: "PATCH",
      key: a.apiKey,
      json: { enabled: true, url: receiverUrl(healthy) },
    });
    expect(await enabled.json()).toMatchObject({ status: "enabled", consecutiveFailures: 0 });
    const replay = await call(`/v1/webhook-endpoints/${endpoint.id}/deliveries/${d1.id}/replay`, {
      method: "POST",
      key: a.apiKey,
    });
    expect(replay.status).toBe(202);
    const [ok] = await until(async () => {
      const r = await received(healthy);
      return r.length > 0 ? r : null;
    }, 8000);
    expect(ok!.verified).toBe(true);
    expect(ok!.headers["atoll-event-id"]).toBe(first);
    expect(await received(name)).toHaveLength(0); // every failing attempt was refused by the fault
  });

  it("a redirect is a failed attempt, never followed", async () => {
    const a = await publisher("whredir");
    const { name, endpoint } = await receiving(a);
    await standin("/__standin/faults", {
      provider: "receiver",
      match: name,
      status: 302,
      count: 1,
    });
    await revoked(a);
    const [d] = await until(async () => {
      const list = await deliveriesOf(a, endpoint.id);
      return list[0]?.lastError ? list : null;
    }, 8000);
    expect(d).toMatchObject({ status: "pending", lastStatus: 302 });
    expect(d!.lastError).toBe("redirects are not followed (302)");
    expect(await received(name)).toHaveLength(0);
  });

  it("a URL stored before today's policy is checked again at delivery and never fetched", async () => {
    const a = await publisher("whstale");
    const { endpoint } = await receiving(a);
    await getDb(env.DB)
      .update(webhookEndpoints)
      .set({ url: "https://169.254.169.254/latest/meta-data/" })
      .where(eq(webhookEndpoints.id, endpoint.id));
    await revoked(a);
    const [d] = await until(async () => {
      const list = await deliveriesOf(a, endpoint.id);
      return list[0]?.lastError ? list : null; // set once the attempt is over
    }, 8000);
    expect(d!.lastStatus).toBeNull();
    expect(d!.lastError).toMatch(/refused: it must name a public host/);
  });
});

describe("lifecycle events reach plugins and endpoints", { timeout: 30_000 }, () => {
  it("installation.created reaches a plugin granted events:installation.created and the tenant's and the publisher's endpoints; the removed plugin gets its installation.deleted with a data-deletion deadline", async () => {
    const pub = await publisher("evpub");
    const tenant = await publisher("evten");
    const topics = ["installation.created", "installation.deleted", "installation.updated"];
    const tenantHook = await receiving(tenant, topics);
    const publisherHook = await receiving(pub, topics);
    const watcher = await publishAndInstall(
      tenant,
      rawPackage(tenant.slug, WATCHER, {
        permissions: ["storage", "events:installation.created"],
      }),
    );
    // A plugin of another publisher, installed by the tenant.
    const other = await publishAndInstall(
      pub,
      rawPackage(pub.slug, WATCHER, { permissions: ["storage"] }),
    );
    expect(other.id).toBeTruthy();
    const zip = rawPackage(pub.slug, WATCHER, { permissions: ["storage"] });
    const published = await call("/v1/packages", {
      method: "POST",
      key: pub.apiKey,
      body: zip,
      headers: { "content-type": "application/zip" },
    });
    const { plugin } = (await published.json()) as { plugin: string };
    const installed = await call("/v1/installations", {
      method: "POST",
      key: tenant.apiKey,
      json: { plugin, grants: ["storage"] },
    });
    expect(installed.status).toBe(201);
    const inst = (await installed.json()) as { id: string };

    const seen = await until(async () => {
      const res = await call(`${watcher.endpoint}/events`, { key: tenant.apiKey });
      const { events } = (await res.json()) as {
        events: { topic: string; payload: { installation: { id: string } } }[];
      };
      return events.some((e) => e.payload.installation.id === inst.id) ? events : null;
    }, 8000);
    expect(seen.every((e) => e.topic === "installation.created")).toBe(true);
    // Its own installation too, but never the publisher's install in another organization.
    expect(seen.map((e) => e.payload.installation.id)).toContain(watcher.id);
    expect(seen.map((e) => e.payload.installation.id)).not.toContain(other.id);

    const createdAt = (hook: { name: string }) =>
      until(async () => {
        const r = (await received(hook.name)).filter(
          (d) => JSON.parse(d.raw).payload.installation.id === inst.id,
        );
        return r.length > 0 ? r : null;
      }, 8000);
    const [t] = await createdAt(tenantHook);
    const [p] = await createdAt(publisherHook);
    expect(t!.verified).toBe(true);
    expect(p!.verified).toBe(true);
    expect(JSON.parse(t!.raw)).toMatchObject({
      topic: "installation.created",
      payload: { installation: { organization: tenant.orgId, plugin } },
    });

    // Uninstalling the watcher: its own installation.deleted (mandatory, not granted) comes first.
    const removed = await call(`/v1/installations/${watcher.id}`, {
      method: "DELETE",
      key: tenant.apiKey,
    });
    expect(removed.status).toBe(204);
    const [told] = await getDb(env.DB)
      .select()
      .from(platformEventPluginDeliveries)
      .where(eq(platformEventPluginDeliveries.installationId, watcher.id));
    expect(told?.status).toBe(200); // it answered 200 only because the deadline was there
    const [deleted] = await until(async () => {
      const r = (await received(tenantHook.name)).filter(
        (d) => d.headers["atoll-event-topic"] === "installation.deleted",
      );
      return r.length > 0 ? r : null;
    }, 8000);
    const body = JSON.parse(deleted!.raw) as {
      payload: { installation: { id: string }; dataDeletionDeadline: string };
    };
    expect(body.payload.installation.id).toBe(watcher.id);
    const days = (Date.parse(body.payload.dataDeletionDeadline) - Date.now()) / 86_400_000;
    expect(days).toBeGreaterThan(29.9);
    expect(days).toBeLessThanOrEqual(30);
  });

  it("version.published reaches the publisher's endpoint when a version is published", async () => {
    const pub = await publisher("evver");
    const hook = await receiving(pub, ["version.published"]);
    const res = await call("/v1/packages", {
      method: "POST",
      key: pub.apiKey,
      body: rawPackage(pub.slug, WATCHER, { permissions: ["storage"], version: "1.4.0" }),
      headers: { "content-type": "application/zip" },
    });
    expect(res.status).toBe(201);
    const { plugin } = (await res.json()) as { plugin: string };
    const [got] = await until(async () => {
      const r = await received(hook.name);
      return r.length > 0 ? r : null;
    }, 8000);
    expect(got!.verified).toBe(true);
    expect(JSON.parse(got!.raw)).toMatchObject({
      topic: "version.published",
      payload: { version: { plugin, version: "1.4.0" } },
    });
  });

  it("installation.updated carries the change and the previous version", async () => {
    const a = await publisher("evupd");
    const hook = await receiving(a, ["installation.updated"]);
    const name = `@${a.slug}/upd`;
    const inst = await publishAndInstall(
      a,
      rawPackage(a.slug, WATCHER, { name, permissions: ["storage"] }),
    );
    const next = await call("/v1/packages", {
      method: "POST",
      key: a.apiKey,
      body: rawPackage(a.slug, WATCHER, { name, version: "1.1.0", permissions: ["storage"] }),
      headers: { "content-type": "application/zip" },
    });
    expect(next.status).toBe(201);
    const up = await call(`/v1/installations/${inst.id}`, {
      method: "PATCH",
      key: a.apiKey,
      json: { version: "1.1.0" },
    });
    expect(up.status).toBe(200);
    const [got] = await until(async () => {
      const r = await received(hook.name);
      return r.length > 0 ? r : null;
    }, 8000);
    expect(got!.verified).toBe(true);
    expect(JSON.parse(got!.raw)).toMatchObject({
      topic: "installation.updated",
      payload: {
        installation: { id: inst.id, version: "1.1.0" },
        change: "upgraded",
        previousVersion: "1.0.0",
      },
    });
  });

  it("an event recorded but never queued is queued by the minutely cron's redispatch", async () => {
    const a = await publisher("evlost");
    const hook = await receiving(a);
    const db = getDb(env.DB);
    const id = `pev_lost${Date.now()}`;
    await db.insert(platformEvents).values({
      id,
      topic: "version.revoked",
      orgIds: [a.orgId],
      environment: null,
      payload: JSON.stringify({ version: { plugin: "@x/y", version: "9.9.9" } }),
      createdAt: Date.now() - 120_000,
      dispatchedAt: null,
    });
    expect(await redispatchEvents(env, db)).toBeGreaterThanOrEqual(1);
    const [row] = await db.select().from(platformEvents).where(eq(platformEvents.id, id));
    expect(row?.dispatchedAt).not.toBeNull();
    const [got] = await until(async () => {
      const r = await received(hook.name);
      return r.length > 0 ? r : null;
    }, 8000);
    expect(got!.headers["atoll-event-id"]).toBe(id);
  });

  it("the kill switch emits version.revoked to the publisher and the tenants running it, and installation.updated for each installation moved back or stopped; an unrelated organization gets nothing", async () => {
    const pub = await publisher("evrvp");
    const tenant = await publisher("evrvt");
    const bystander = await publisher("evrvb");
    const hook = await receiving(pub, ["version.revoked", "installation.updated"]);
    const bystanderHook = await receiving(bystander, ["version.revoked", "installation.updated"]);
    const watcher = await publishAndInstall(
      tenant,
      rawPackage(tenant.slug, WATCHER, {
        permissions: ["storage", "events:version.revoked", "events:installation.updated"],
      }),
    );
    const name = `@${pub.slug}/bad`;
    for (const version of ["1.0.0", "2.0.0"])
      expect((await publishZip(pub, rawPackage(pub.slug, WATCHER, { name, version }))).status).toBe(
        201,
      );
    // One installation upgraded from 1.0.0 (it falls back), one installed on 2.0.0 (it stops).
    const install = async (version: string, environment: string) => {
      const res = await installPlugin(tenant, { plugin: name, version, environment, grants: [] });
      expect(res.status).toBe(201);
      return ((await res.json()) as { id: string }).id;
    };
    const movedId = await install("1.0.0", "development");
    const up = await call(`/v1/installations/${movedId}`, {
      method: "PATCH",
      key: tenant.apiKey,
      json: { version: "2.0.0" },
    });
    expect(up.status).toBe(200);
    const stoppedId = await install("2.0.0", "staging");
    const res = await call(`/v1/plugins/@${pub.slug}/bad/versions/2.0.0/revoke`, {
      method: "POST",
      key: pub.apiKey,
      json: { reason: "the signing key was compromised" },
    });
    expect(res.status).toBe(200);
    expect(await res.json()).toMatchObject({ fellBack: 1, stopped: 1 });

    type Ev = { id: string; topic: string; payload: Record<string, unknown> };
    const isRevocationEvent = (e: Ev) =>
      e.topic === "version.revoked" ||
      (e.topic === "installation.updated" && e.payload.reason === "version-revoked");
    const events = await until(async () => {
      const r = await call(`${watcher.endpoint}/events`, { key: tenant.apiKey });
      const body = (await r.json()) as { events: Ev[] };
      const mine = body.events.filter(isRevocationEvent);
      return mine.length >= 2 ? mine : null;
    }, 8000);
    // The watcher runs in development: it gets the version.revoked and its environment's update only.
    expect(events.find((e) => e.topic === "version.revoked")).toMatchObject({
      payload: {
        version: { plugin: name, version: "2.0.0" },
        reason: "the signing key was compromised",
      },
    });
    expect(events.find((e) => e.topic === "installation.updated")).toMatchObject({
      payload: {
        installation: { id: movedId, version: "1.0.0", environment: "development" },
        change: "downgraded",
        previousVersion: "2.0.0",
      },
    });
    // The publisher's endpoint: the revocation's three events (beside the tenant's earlier upgrade).
    const got = await until(async () => {
      const r = (await received(hook.name)).filter((d) =>
        isRevocationEvent(JSON.parse(d.raw) as Ev),
      );
      return r.length >= 3 ? r : null;
    }, 8000);
    expect(got.every((d) => d.verified)).toBe(true);
    const bodies = got.map((d) => JSON.parse(d.raw) as Ev);
    expect(bodies.map((b) => b.topic).sort()).toEqual([
      "installation.updated",
      "installation.updated",
      "version.revoked",
    ]);
    expect(
      bodies.find(
        (b) =>
          b.topic === "installation.updated" &&
          (b.payload.installation as { id: string }).id === stoppedId,
      ),
    ).toMatchObject({ payload: { change: "stopped", installation: { version: "2.0.0" } } });
    // The events were recorded in the revocation's batch and queued after it.
    const rows = await getDb(env.DB)
      .select()
      .from(platformEvents)
      .where(eq(platformEvents.id, bodies[0]!.id));
    expect(rows[0]?.dispatchedAt).not.toBeNull();
    expect(await deliveriesOf(bystander, bystanderHook.endpoint.id)).toHaveLength(0);
    expect(await received(bystanderHook.name)).toHaveLength(0);
  });

  it("a listing the operator stops, then lets run again, emits installation.updated (stopped, resumed) for each running installation", async () => {
    const pub = await publisher("evstp");
    const tenant = await publisher("evstt");
    const hook = await receiving(tenant, ["installation.updated"]);
    const name = `@${pub.slug}/stoppable`;
    expect((await publishZip(pub, rawPackage(pub.slug, WATCHER, { name }))).status).toBe(201);
    const res = await installPlugin(tenant, { plugin: name, environment: "staging", grants: [] });
    expect(res.status).toBe(201);
    const { id } = (await res.json()) as { id: string };
    const suspend = (json: Record<string, unknown>) =>
      call(`/v1/operator/listings/@${pub.slug}/stoppable/suspension`, {
        method: "PUT",
        key: OPERATOR_KEY,
        json,
      });
    expect(
      (await suspend({ suspended: true, reason: "malware report", mode: "stop" })).status,
    ).toBe(200);
    expect((await suspend({ suspended: false })).status).toBe(200);
    const got = await until(async () => {
      const r = await received(hook.name);
      return r.length >= 2 ? r : null;
    }, 8000);
    const bodies = got.map((d) => JSON.parse(d.raw) as { payload: Record<string, unknown> });
    expect(bodies.map((b) => [b.payload.change, b.payload.reason]).sort()).toEqual([
      ["resumed", "listing-resumed"],
      ["stopped", "listing-stopped"],
    ]);
    expect(bodies[0]?.payload.installation).toMatchObject({
      id,
      version: "1.0.0",
      environment: "staging",
    });
  });

  it("an event recorded in a batch exists exactly when the change does: a failing batch or a guarded change that lost records none", async () => {
    const db = getDb(env.DB);
    const a = await publisher("evoutbox");
    const event = {
      topic: "version.published" as const,
      orgIds: [a.orgId],
      payload: { version: { plugin: `@${a.slug}/x`, version: "1.0.0" } },
    };
    // The batch fails on its second statement (the organization's id is taken): no event.
    const failing = eventRecord(db, event);
    const [org] = await db.select().from(organizations).where(eq(organizations.id, a.orgId));
    await expect(
      db.batch([failing.statement, db.insert(organizations).values(org!)]),
    ).rejects.toThrow();
    expect(
      await db.select().from(platformEvents).where(eq(platformEvents.id, failing.id)),
    ).toHaveLength(0);
    // A guarded change that changed nothing: the guarded event is not written.
    const lost = eventRecord(db, event, { guarded: true });
    await db.batch([
      db.update(organizations).set({ name: "x" }).where(eq(organizations.id, "org_none")),
      lost.statement,
    ]);
    expect(
      await db.select().from(platformEvents).where(eq(platformEvents.id, lost.id)),
    ).toHaveLength(0);
    // A guarded change that happened: the event is written, and dispatching queues it.
    const won = eventRecord(db, event, { guarded: true });
    await db.batch([
      db.update(organizations).set({ name: org!.name }).where(eq(organizations.id, a.orgId)),
      won.statement,
    ]);
    await dispatchEvent(env, db, won.id);
    const [row] = await db.select().from(platformEvents).where(eq(platformEvents.id, won.id));
    expect(row).toMatchObject({ topic: "version.published", orgIds: [a.orgId] });
    expect(row?.dispatchedAt).not.toBeNull();
  });

  it("events and finished deliveries older than the retention are pruned; a pending one is kept", async () => {
    const a = await publisher("evprune");
    const { endpoint } = await receiving(a);
    const db = getDb(env.DB);
    const old = Date.now() - EVENT_RETENTION_MS - 60_000;
    const rows = [
      { id: `pev_old${Date.now()}`, status: "succeeded" as const },
      { id: `pev_pending${Date.now()}`, status: "pending" as const },
    ];
    for (const r of rows) {
      await db.insert(platformEvents).values({
        id: r.id,
        topic: "version.revoked",
        orgIds: [a.orgId],
        environment: null,
        payload: "{}",
        createdAt: old,
        dispatchedAt: old,
      });
      await db.insert(webhookDeliveries).values({
        id: `whd_${r.id.slice(4)}`,
        endpointId: endpoint.id,
        eventId: r.id,
        topic: "version.revoked",
        status: r.status,
        attempts: 1,
        createdAt: old,
        updatedAt: old,
      });
    }
    await pruneEvents(db);
    const left = await db
      .select({ id: platformEvents.id })
      .from(platformEvents)
      .where(eq(platformEvents.topic, "version.revoked"));
    expect(left.map((r) => r.id)).toContain(rows[1]!.id);
    expect(left.map((r) => r.id)).not.toContain(rows[0]!.id);
    expect((await deliveriesOf(a, endpoint.id)).map((d) => d.eventId)).toEqual([rows[1]!.id]);
  });
});
