/**
 * Broken object-level authorization, driven from the app's route table.
 *
 * The routes come from `app.routes` (Hono's own table of what the Worker serves), not from the
 * OpenAPI document: the document describes the zod-declared API only, while the table also holds
 * the plugin proxy (/p, /apps), the web UI and anything registered with a plain `app.get`, so a
 * route missing from the document is still caught here.
 *
 * Every route whose path has a parameter must be either in OBJECT_ROUTES (tried by a member of
 * another organization, with all scopes, against a real object of the victim organizations) or in
 * NOT_OBJECT_SCOPED (with the reason). A new route in neither fails the first test, so it cannot
 * be added without deciding how its owner is checked.
 */
import { env } from "cloudflare:workers";
import { Hono } from "hono";
import { beforeAll, describe, expect, inject, it } from "vitest";
import { app } from "../../src/app";
import { BASE, OPERATOR_KEY, call, type Account } from "../helpers";
import { invite } from "../mail-helpers";
import { connected, until } from "../integration-helpers";
import { emitPlatformEvent } from "../../src/events/emit";
import { getDb } from "../../src/platform/db/client";
import { newKey as newSigningKey, register } from "../signing-helpers";
import { examplePackage, publishAndInstall, publisher, rawPackage } from "../plugin-helpers";
import { buy, buyer, newKey, seller, setupPayments } from "../revenue-helpers";

/** Real objects of the victim organizations: `owner` (a publisher and seller) and `customer` (its buyer). */
interface Victim {
  owner: Account;
  customer: Account;
  memberUserId: string;
  memberEmail: string;
  keyId: string;
  installationId: string;
  endpoint: string;
  app: { organization: string; environment: string; app: string };
  plugin: { scope: string; name: string };
  versionInReview: string;
  ratingId: string;
  purchaseId: string;
  subscriptionId: string;
  payoutId: string;
  connectionId: string;
  hookId: string;
  webhookEndpointId: string;
  webhookDeliveryId: string;
  syncId: string;
  tutorial: string;
  publisherKeyId: string;
}

interface Attempt {
  path: (v: Victim) => string;
  body?: (v: Victim) => unknown;
  /** The statuses that show a refusal; 404 unless said (403 for operator-only routes). */
  allowed?: number[];
  /** Whose object it is, for the positive control of reads (the owner unless said). */
  holder?: (v: Victim) => Account;
  /** A web UI route: sent from a signed-in browser session (cookie and CSRF token), as a form. */
  web?: true;
}

/** A web UI refusal: the caller's own dashboard with the error (400) or the not-found page. */
const WEB = [400, 404];

const PROXY_METHODS = ["GET", "POST", "PUT", "PATCH", "DELETE", "HEAD"] as const;
const OPERATOR = [403];

/**
 * How each object-scoped route is tried: the pattern exactly as in app.routes, the victim's object
 * in the path. Reviewed: each names an object that belongs to one organization.
 */
const OBJECT_ROUTES: Record<string, Attempt> = {
  // Organizations, members, keys, audit
  "GET /v1/organizations/:orgId": { path: (v) => `/v1/organizations/${v.owner.orgId}` },
  "GET /v1/organizations/:orgId/members": {
    path: (v) => `/v1/organizations/${v.owner.orgId}/members`,
  },
  "POST /v1/organizations/:orgId/members": {
    path: (v) => `/v1/organizations/${v.owner.orgId}/members`,
    body: () => ({ email: `mole-${Date.now()}@example.test`, role: "owner" }),
  },
  "PATCH /v1/organizations/:orgId/members/:userId": {
    path: (v) => `/v1/organizations/${v.owner.orgId}/members/${v.memberUserId}`,
    body: () => ({ role: "owner" }),
  },
  "DELETE /v1/organizations/:orgId/members/:userId": {
    path: (v) => `/v1/organizations/${v.owner.orgId}/members/${v.memberUserId}`,
  },
  "GET /v1/organizations/:orgId/audit-log": {
    path: (v) => `/v1/organizations/${v.owner.orgId}/audit-log`,
  },
  "GET /v1/organizations/:orgId/notices": {
    path: (v) => `/v1/organizations/${v.owner.orgId}/notices`,
  },
  "GET /v1/organizations/:orgId/signing-keys": {
    path: (v) => `/v1/organizations/${v.owner.orgId}/signing-keys`,
  },
  "POST /v1/organizations/:orgId/signing-keys": {
    path: (v) => `/v1/organizations/${v.owner.orgId}/signing-keys`,
    body: () => ({
      name: "mole",
      publicKey:
        "-----BEGIN PUBLIC KEY-----\nMCowBQYDK2VwAyEAGb9ECWmEzf6FQbrBZ9w7lshQhqowtrbLDFw4rXAxZuE=\n-----END PUBLIC KEY-----",
    }),
  },
  "DELETE /v1/organizations/:orgId/signing-keys/:keyId": {
    path: (v) => `/v1/organizations/${v.owner.orgId}/signing-keys/${v.publisherKeyId}`,
  },
  "DELETE /v1/api-keys/:keyId": { path: (v) => `/v1/api-keys/${v.keyId}` },
  // Plugins and listings: the publisher's own actions
  "POST /v1/plugins/:scope/:name/versions/:version/yank": {
    path: (v) => `/v1/plugins/@${v.plugin.scope}/${v.plugin.name}/versions/1.0.0/yank`,
  },
  "POST /v1/plugins/:scope/:name/versions/:version/revoke": {
    path: (v) => `/v1/plugins/@${v.plugin.scope}/${v.plugin.name}/versions/1.0.0/revoke`,
    body: () => ({ reason: "not yours" }),
  },
  "DELETE /v1/plugins/:scope/:name/versions/:version/yank": {
    path: (v) => `/v1/plugins/@${v.plugin.scope}/${v.plugin.name}/versions/1.0.0/yank`,
  },
  "POST /v1/marketplace/listings/:scope/:name/ratings/:ratingId/reply": {
    path: (v) =>
      `/v1/marketplace/listings/@${v.plugin.scope}/${v.plugin.name}/ratings/${v.ratingId}/reply`,
    body: () => ({ text: "not yours" }),
    allowed: [403, 404],
  },
  // Installations and the plugin proxy
  "GET /v1/installations/:installationId": { path: (v) => `/v1/installations/${v.installationId}` },
  "PATCH /v1/installations/:installationId": {
    path: (v) => `/v1/installations/${v.installationId}`,
    body: () => ({ version: "1.0.0" }),
  },
  "DELETE /v1/installations/:installationId": {
    path: (v) => `/v1/installations/${v.installationId}`,
  },
  "POST /v1/installations/:installationId/execute": {
    path: (v) => `/v1/installations/${v.installationId}/execute`,
    body: () => ({ input: {} }),
  },
  "GET /v1/installations/:installationId/history": {
    path: (v) => `/v1/installations/${v.installationId}/history`,
  },
  "GET /v1/installations/:installationId/logs": {
    path: (v) => `/v1/installations/${v.installationId}/logs`,
  },
  ...Object.fromEntries(
    PROXY_METHODS.flatMap((m) => [
      [`${m} /p/:installationId`, { path: (v: Victim) => v.endpoint }],
      [`${m} /p/:installationId/*`, { path: (v: Victim) => `${v.endpoint}/hello/x` }],
      [
        `${m} /apps/:organization/:environment/:app`,
        { path: (v: Victim) => `/apps/${v.app.organization}/${v.app.environment}/${v.app.app}` },
      ],
      [
        `${m} /apps/:organization/:environment/:app/*`,
        {
          path: (v: Victim) =>
            `/apps/${v.app.organization}/${v.app.environment}/${v.app.app}/entries/1`,
        },
      ],
    ]),
  ),
  // Revenue
  "GET /v1/purchases/:purchaseId": {
    path: (v) => `/v1/purchases/${v.purchaseId}`,
    holder: (v) => v.customer,
  },
  "POST /v1/purchases/:purchaseId/refunds": {
    path: (v) => `/v1/purchases/${v.purchaseId}/refunds`,
    body: () => ({ reason: "requested_by_customer" }),
  },
  "POST /v1/subscriptions/:subscriptionId/cancel": {
    path: (v) => `/v1/subscriptions/${v.subscriptionId}/cancel`,
  },
  "GET /v1/revenue/payouts/:payoutId": { path: (v) => `/v1/revenue/payouts/${v.payoutId}` },
  // Integrations
  "GET /v1/connections/:connectionId": { path: (v) => `/v1/connections/${v.connectionId}` },
  "DELETE /v1/connections/:connectionId": { path: (v) => `/v1/connections/${v.connectionId}` },
  // A provider's delivery: authenticated by the connection's signing secret, not by a key.
  "POST /v1/webhooks/:connectionId": {
    path: (v) => `/v1/webhooks/${v.connectionId}`,
    body: () => ({ type: "event_callback", event: { type: "message", text: "forged" } }),
    allowed: [401, 403, 404],
  },
  "DELETE /v1/zapier/hooks/:hookId": { path: (v) => `/v1/zapier/hooks/${v.hookId}` },
  // Outbound webhook endpoints (src/events/endpoints.routes.ts)
  "GET /v1/webhook-endpoints/:endpointId": {
    path: (v) => `/v1/webhook-endpoints/${v.webhookEndpointId}`,
  },
  "PATCH /v1/webhook-endpoints/:endpointId": {
    path: (v) => `/v1/webhook-endpoints/${v.webhookEndpointId}`,
    body: () => ({ description: "taken", enabled: false }),
  },
  "DELETE /v1/webhook-endpoints/:endpointId": {
    path: (v) => `/v1/webhook-endpoints/${v.webhookEndpointId}`,
  },
  "POST /v1/webhook-endpoints/:endpointId/rotate-secret": {
    path: (v) => `/v1/webhook-endpoints/${v.webhookEndpointId}/rotate-secret`,
    body: () => ({ graceSeconds: 0 }),
  },
  "GET /v1/webhook-endpoints/:endpointId/deliveries": {
    path: (v) => `/v1/webhook-endpoints/${v.webhookEndpointId}/deliveries`,
  },
  "POST /v1/webhook-endpoints/:endpointId/deliveries/:deliveryId/replay": {
    path: (v) =>
      `/v1/webhook-endpoints/${v.webhookEndpointId}/deliveries/${v.webhookDeliveryId}/replay`,
  },
  "GET /v1/syncs/:syncId": { path: (v) => `/v1/syncs/${v.syncId}` },
  "POST /v1/syncs/:syncId/pause": { path: (v) => `/v1/syncs/${v.syncId}/pause` },
  "POST /v1/syncs/:syncId/resume": { path: (v) => `/v1/syncs/${v.syncId}/resume` },
  "POST /v1/syncs/:syncId/run": { path: (v) => `/v1/syncs/${v.syncId}/run` },
  "GET /v1/syncs/:syncId/dead-letters": { path: (v) => `/v1/syncs/${v.syncId}/dead-letters` },
  // Operator-only routes, tried by a non-operator against the victims' objects.
  "PUT /v1/operator/organizations/:orgId/plan": {
    path: (v) => `/v1/operator/organizations/${v.owner.orgId}/plan`,
    body: () => ({ plan: "free" }),
    allowed: OPERATOR,
  },
  "PUT /v1/operator/organizations/:orgId/signature-requirement": {
    path: (v) => `/v1/operator/organizations/${v.owner.orgId}/signature-requirement`,
    body: () => ({ required: true }),
    allowed: OPERATOR,
  },
  "PUT /v1/operator/organizations/:orgId/verified": {
    path: (v) => `/v1/operator/organizations/${v.owner.orgId}/verified`,
    body: () => ({ verified: true }),
    allowed: OPERATOR,
  },
  "POST /v1/operator/versions/:versionId/decision": {
    path: (v) => `/v1/operator/versions/${v.versionInReview}/decision`,
    body: () => ({ decision: "reject", reason: "no" }),
    allowed: OPERATOR,
  },
  "PUT /v1/operator/listings/:scope/:name/suspension": {
    path: (v) => `/v1/operator/listings/@${v.plugin.scope}/${v.plugin.name}/suspension`,
    body: () => ({ suspended: true }),
    allowed: OPERATOR,
  },
  "PUT /v1/operator/ratings/:ratingId/hidden": {
    path: (v) => `/v1/operator/ratings/${v.ratingId}/hidden`,
    body: () => ({ hidden: true }),
    allowed: OPERATOR,
  },
  // The web UI, from the intruder's signed-in browser.
  "POST /dashboard/keys/:id/revoke": {
    path: (v) => `/dashboard/keys/${v.keyId}/revoke`,
    web: true,
    allowed: WEB,
  },
  "POST /dashboard/connections/:id/disconnect": {
    path: (v) => `/dashboard/connections/${v.connectionId}/disconnect`,
    web: true,
    allowed: WEB,
  },
  "POST /dashboard/installations/:id/:action{uninstall|upgrade}": {
    path: (v) => `/dashboard/installations/${v.installationId}/uninstall`,
    web: true,
    allowed: WEB,
  },
  "POST /dashboard/subscriptions/:id/cancel": {
    path: (v) => `/dashboard/subscriptions/${v.subscriptionId}/cancel`,
    web: true,
    allowed: WEB,
  },
  "POST /listings/:scope/:name/reviews/:id/reply": {
    path: (v) => `/listings/@${v.plugin.scope}/${v.plugin.name}/reviews/${v.ratingId}/reply`,
    body: () => ({ text: "not yours" }),
    web: true,
    allowed: [403, 404],
  },
  "GET /publisher/payouts/:id": {
    path: (v) => `/publisher/payouts/${v.payoutId}`,
    web: true,
    allowed: WEB,
  },
  "POST /operator/versions/:id/decision": {
    path: (v) => `/operator/versions/${v.versionInReview}/decision`,
    body: () => ({ decision: "reject", reason: "no" }),
    web: true,
    allowed: WEB,
  },
  "PUT /v1/portal/tutorials/:slug": {
    path: (v) => `/v1/portal/tutorials/${v.tutorial}`,
    body: () => ({
      title: "Defaced",
      difficulty: "beginner",
      order: 1,
      tags: [],
      markdown: "defaced",
    }),
    allowed: OPERATOR,
  },
  "DELETE /v1/portal/tutorials/:slug": {
    path: (v) => `/v1/portal/tutorials/${v.tutorial}`,
    allowed: OPERATOR,
  },
};

/** Routes with a path parameter that names no organization's private object, and why. */
const NOT_OBJECT_SCOPED: Record<string, string> = {
  "GET /v1/plugins/:scope/:name":
    "a public read of a plugin's published versions (drafts and review notes hidden from others: bola.test.ts)",
  "GET /v1/marketplace/listings/:scope/:name": "the public marketplace listing",
  "GET /v1/marketplace/listings/:scope/:name/package": "the public download of a published package",
  "GET /v1/marketplace/listings/:scope/:name/openapi.json":
    "the public API description of a published plugin",
  "GET /v1/marketplace/listings/:scope/:name/ratings": "the public reviews of a listing",
  "PUT /v1/marketplace/listings/:scope/:name/rating":
    "the caller's own organization's rating of a public listing (who may rate: ratings.test.ts)",
  "POST /v1/marketplace/listings/:scope/:name/ratings/:ratingId/report":
    "any user may report a public review to the operator; the report is the caller's own (ratings.test.ts)",
  "GET /v1/templates/:scope/:name/package": "the public download of a published template",
  "GET /v1/zapier/triggers/:event":
    "the path names an event topic; the events listed are the caller's own organization's",
  "GET /v1/portal/tutorials/:slug": "a public tutorial",
  "GET /v1/portal/sdks/:language": "a public client-SDK generator; the path names a language",
  ...Object.fromEntries(
    [
      "/p/:installationId",
      "/p/:installationId/*",
      "/apps/:organization/:environment/:app",
      "/apps/:organization/:environment/:app/*",
    ].map((p) => [
      `OPTIONS ${p}`,
      "a CORS preflight, answered by the CORS middleware before any route or plugin runs",
    ]),
  ),
  "GET /listings/:scope/:name": "web: the public listing page",
  "POST /listings/:scope/:name/install":
    "web: installs into the caller's own organization (POST /v1/installations)",
  "POST /listings/:scope/:name/rate": "web: the caller's own rating (PUT …/rating)",
  "GET /portal/tutorials/:slug": "web: a public tutorial page",
  "GET /v1/marketplace/listings/:scope/:name/rating/eligibility":
    "the caller's own organization's eligibility to rate a public listing",
  "POST /listings/:scope/:name/buy":
    "web: the confirmation page of the caller's own organization's purchase (nothing is charged)",
  "POST /listings/:scope/:name/buy/confirm":
    "web: buys for the caller's own organization (POST /v1/purchases)",
};

/** Every METHOD /pattern in a route table whose path has a parameter. */
function parameterisedRoutes(routes: readonly { method: string; path: string }[]): string[] {
  const out = new Set<string>();
  for (const r of routes)
    if (r.path.includes("/:") && r.method !== "ALL") out.add(`${r.method} ${r.path}`);
  return [...out].sort();
}

/** The routes with a path parameter that neither table names. */
function unclassified(routes: readonly { method: string; path: string }[]): string[] {
  return parameterisedRoutes(routes).filter(
    (r) => !(r in OBJECT_ROUTES) && !(r in NOT_OBJECT_SCOPED),
  );
}

describe("the BOLA route table", () => {
  it("classifies every route with a path parameter: object-scoped (tried below) or not, with a reason", () => {
    const routes = parameterisedRoutes(app.routes);
    expect(routes.length).toBeGreaterThan(60);
    expect(
      unclassified(app.routes),
      "routes with a path parameter in neither OBJECT_ROUTES nor NOT_OBJECT_SCOPED",
    ).toEqual([]);
    const both = Object.keys(OBJECT_ROUTES).filter((r) => r in NOT_OBJECT_SCOPED);
    expect(both).toEqual([]);
    // Entries for routes that no longer exist are stale and would hide a gap.
    const stale = [...Object.keys(OBJECT_ROUTES), ...Object.keys(NOT_OBJECT_SCOPED)].filter(
      (r) => !routes.includes(r),
    );
    expect(stale, "table entries for routes the app no longer serves").toEqual([]);
  });

  it("catches a new object-scoped route that nobody classified", () => {
    const grown = new Hono();
    grown.route("/", app);
    grown.get("/v1/widgets/:widgetId", (c) => c.json({ id: c.req.param("widgetId") }));
    grown.delete("/v1/installations/:installationId/widgets/:widgetId", (c) => c.body(null, 204));
    expect(unclassified(grown.routes)).toEqual([
      "DELETE /v1/installations/:installationId/widgets/:widgetId",
      "GET /v1/widgets/:widgetId",
    ]);
  });
});

/** A browser signed in to the web UI with `apiKey`: its session cookie and CSRF token. */
async function browser(apiKey: string): Promise<{ cookie: string; csrf: string }> {
  const page = await call("/signin", { headers: { accept: "text/html" } });
  const formCookie = (page.headers.get("set-cookie") ?? "").split(";")[0] ?? "";
  const formToken = /name="formToken" value="([^"]+)"/.exec(await page.text())?.[1] ?? "";
  const signedIn = await call("/signin", {
    method: "POST",
    redirect: "manual",
    body: new URLSearchParams({ formToken, apiKey, next: "/" }),
    headers: {
      accept: "text/html",
      cookie: formCookie,
      "content-type": "application/x-www-form-urlencoded",
    },
  });
  const cookie = (signedIn.headers.get("set-cookie") ?? "").split(";")[0] ?? "";
  expect(cookie).toMatch(/^atoll_session=/);
  const home = await (
    await call("/dashboard", { headers: { accept: "text/html", cookie } })
  ).text();
  const csrf = /name="csrf" value="([^"]+)"/.exec(home)?.[1] ?? "";
  expect(csrf).not.toBe("");
  return { cookie, csrf };
}

/** Sends one attempt with the intruder's credential: an API key, or its browser session for web routes. */
function send(
  method: string,
  path: string,
  body: unknown,
  key: string,
  session: { cookie: string; csrf: string } | null,
): Promise<Response> {
  if (!session) return call(path, { method, key, ...(body !== undefined ? { json: body } : {}) });
  const headers = { accept: "text/html", cookie: session.cookie };
  if (method === "GET") return call(path, { headers, redirect: "manual" });
  const form = new URLSearchParams({
    csrf: session.csrf,
    ...((body ?? {}) as Record<string, string>),
  });
  return call(path, {
    method,
    body: form,
    redirect: "manual",
    headers: { ...headers, "content-type": "application/x-www-form-urlencoded" },
  });
}

/** Every D1 row, per table, as JSON (the victims' state). */
async function snapshot(): Promise<Map<string, string[]>> {
  const tables = await env.DB.prepare(
    "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' AND name NOT LIKE '_cf_%' AND name NOT LIKE 'd1_%'",
  ).all<{ name: string }>();
  const out = new Map<string, string[]>();
  for (const { name } of tables.results) {
    const rows = await env.DB.prepare(`SELECT * FROM "${name}"`).all();
    out.set(name, rows.results.map((r) => JSON.stringify(r)).sort());
  }
  return out;
}

describe("another organization against the victims' objects", () => {
  let v: Victim;
  let intruder: Account;

  beforeAll(async () => {
    await setupPayments();
    const dev = await seller("vic");
    const owner = dev.account;
    // A member (through the mailed invitation), a second key, an installation and an app.
    const memberEmail = `member-${owner.slug}@example.test`;
    const member = await invite(owner, memberEmail, "member");
    const key = (await (
      await call("/v1/api-keys", { method: "POST", key: owner.apiKey, json: { name: "ci" } })
    ).json()) as { id: string };
    // The seller's free listing is its hello plugin, 1.0.0; it installs it itself.
    const installed = await call("/v1/installations", {
      method: "POST",
      key: owner.apiKey,
      json: { plugin: dev.free, grants: ["storage"], environment: "production" },
    });
    expect(installed.status).toBe(201);
    const inst = (await installed.json()) as { id: string; endpoint: string };
    const appSource =
      "export default { fetch(req) { return Response.json({ app: 'ledger', secret: 'victim-app-data' }); } }";
    const appInst = await publishAndInstall(
      owner,
      rawPackage(owner.slug, appSource, { name: `@${owner.slug}/ledger`, kind: "app" }),
      { environment: "production" },
    );
    const [, organization = "", environment = "", appName = ""] = appInst.endpoint
      .split("/")
      .slice(1);
    // A version waiting for review.
    await app.request(
      `${BASE}/v1/packages`,
      {
        method: "POST",
        body: examplePackage("hello", owner.slug, "1.1.0"),
        headers: { "x-api-key": owner.apiKey, "content-type": "application/zip" },
      },
      { ...env, ATOLL_AUTO_APPROVE: "false" },
    );
    const review = await env.DB.prepare(
      "SELECT v.id FROM plugin_versions v JOIN plugins p ON p.id = v.plugin_id WHERE p.name = ? AND v.version = '1.1.0'",
    )
      .bind(`@${owner.slug}/hello`)
      .first<{ id: string }>();
    // A customer's review of the listing, after a day's use.
    const fan = await publisher("fan");
    const used = (await (
      await call("/v1/installations", {
        method: "POST",
        key: fan.apiKey,
        json: { plugin: `@${owner.slug}/hello`, grants: ["storage"] },
      })
    ).json()) as { id: string; endpoint: string };
    for (let i = 0; i < 3; i++) await call(`${used.endpoint}/hello/f${i}`, { key: fan.apiKey });
    await env.DB.prepare("UPDATE installations SET created_at = created_at - 90000000 WHERE id = ?")
      .bind(used.id)
      .run();
    for (
      let i = 0;
      i < 60 &&
      ((
        await env.DB.prepare(
          "SELECT SUM(calls) AS n FROM usage_rollups WHERE installation_id = ? AND granularity = 'day'",
        )
          .bind(used.id)
          .first<{ n: number | null }>()
      )?.n ?? 0) < 3;
      i++
    )
      await new Promise((r) => setTimeout(r, 100));
    expect(
      (
        await call(`/v1/marketplace/listings/@${owner.slug}/hello/rating`, {
          method: "PUT",
          key: fan.apiKey,
          json: { stars: 4, review: "mine" },
        })
      ).status,
    ).toBe(200);
    const ratingId =
      (
        (await (await call(`/v1/marketplace/listings/@${owner.slug}/hello/ratings`)).json()) as {
          reviews: { id: string }[];
        }
      ).reviews[0]?.id ?? "";
    // A customer's purchase and subscription, and the seller's payout of them.
    const customer = await buyer("cus");
    const bought = await buy(customer, dev.subscription);
    expect(bought.status).toBe(201);
    const purchase = (await bought.json()) as { id: string; subscription: { id: string } };
    const payout = await call("/v1/revenue/payouts", {
      method: "POST",
      key: owner.apiKey,
      json: { currency: "USD" },
      headers: { "idempotency-key": newKey() },
    });
    expect(payout.status).toBe(201);
    // A connection, a sync between two connections, a Zapier hook.
    const hubspot = await connected(owner, "hubspot");
    const salesforce = await connected(owner, "salesforce");
    const sync = await call("/v1/syncs", {
      method: "POST",
      key: owner.apiKey,
      json: {
        source: hubspot.id,
        target: salesforce.id,
        object: "contacts",
        mapping: [
          { to: "LastName", from: "lastname" },
          { to: "Email", from: "email" },
        ],
        intervalSeconds: 300,
      },
    });
    expect(sync.status).toBe(201);
    const hook = await call("/v1/zapier/hooks", {
      method: "POST",
      key: owner.apiKey,
      json: { hookUrl: `${inject("saas")}/zapier/hooks/catch/bola`, event: "slack.message" },
    });
    expect(hook.status).toBe(201);
    // A webhook endpoint with one delivery in its log.
    const webhook = await call("/v1/webhook-endpoints", {
      method: "POST",
      key: owner.apiKey,
      json: { url: `${inject("saas")}/receiver/bola`, topics: ["version.revoked"] },
    });
    expect(webhook.status).toBe(201);
    const webhookEndpointId = ((await webhook.json()) as { id: string }).id;
    await emitPlatformEvent(env, getDb(env.DB), {
      topic: "version.revoked",
      orgIds: [owner.orgId],
      payload: { version: { plugin: "@x/y", version: "1.0.0" } },
    });
    const webhookDeliveryId = await until(async () => {
      const res = await call(`/v1/webhook-endpoints/${webhookEndpointId}/deliveries`, {
        key: owner.apiKey,
      });
      // Settled (its one attempt made), so the snapshot below sees it as it stays.
      const [d] = ((await res.json()) as { deliveries: { id: string; status: string }[] })
        .deliveries;
      return d?.status === "succeeded" ? d.id : null;
    }, 8000);
    // A tutorial (the operator's portal content).
    const tutorial = `bola-${owner.slug}`;
    expect(
      (
        await call(`/v1/portal/tutorials/${tutorial}`, {
          method: "PUT",
          key: OPERATOR_KEY,
          json: {
            title: "Mine",
            difficulty: "beginner",
            order: 1,
            tags: [],
            markdown: "Original.",
          },
        })
      ).status,
    ).toBeLessThan(300);

    const publisherKeyId = await register(owner, await newSigningKey());
    v = {
      publisherKeyId,
      owner,
      customer,
      memberUserId: member.userId,
      memberEmail,
      keyId: key.id,
      installationId: inst.id,
      endpoint: inst.endpoint,
      app: { organization, environment, app: appName },
      plugin: { scope: owner.slug, name: "hello" },
      versionInReview: review?.id ?? "",
      ratingId,
      purchaseId: purchase.id,
      subscriptionId: purchase.subscription.id,
      payoutId: ((await payout.json()) as { id: string }).id,
      connectionId: hubspot.id,
      hookId: ((await hook.json()) as { id: string }).id,
      webhookEndpointId,
      webhookDeliveryId,
      syncId: ((await sync.json()) as { id: string }).id,
      tutorial,
    };
    for (const [k, value] of Object.entries(v)) expect(value, k).toBeTruthy();
    intruder = await publisher("int");
  }, 60_000);

  it("refuses every object-scoped route (403/404, a web form's error page), reveals nothing and changes nothing", async () => {
    // Let the victims' own background work (usage flushes) settle before the snapshot.
    await new Promise((r) => setTimeout(r, 600));
    const session = await browser(intruder.apiKey);
    const before = await snapshot();
    const leaks = [v.owner.email, v.customer.email, v.memberEmail, "victim-app-data", "Original."];
    const failures: string[] = [];
    for (const [route, tried] of Object.entries(OBJECT_ROUTES)) {
      const method = route.split(" ")[0] ?? "GET";
      const path = tried.path(v);
      const body = tried.body?.(v);
      const res = await send(method, path, body, intruder.apiKey, tried.web ? session : null);
      const text = await res.text();
      const allowed = tried.allowed ?? [404];
      if (!allowed.includes(res.status))
        failures.push(`${route} (${method} ${path}) answered ${res.status}: ${text.slice(0, 200)}`);
      for (const leak of leaks) if (text.includes(leak)) failures.push(`${route} revealed ${leak}`);
    }

    // Nothing of the victims changed: every row is as it was, apart from the intruder's own
    // (its key's last use, its audit entries, its rate-limit and usage rows).
    await new Promise((r) => setTimeout(r, 600));
    const after = await snapshot();
    const mine = [intruder.orgId, intruder.userId, intruder.apiKeyId];
    const changed: string[] = [];
    for (const [table, rows] of after) {
      const was = new Set(before.get(table) ?? []);
      const now = new Set(rows);
      const added = rows.filter((r) => !was.has(r) && !mine.some((id) => r.includes(id)));
      const removed = [...was].filter((r) => !now.has(r) && !mine.some((id) => r.includes(id)));
      if (added.length || removed.length)
        changed.push(
          `${table}: +${added.length} -${removed.length} ${[...removed, ...added].join(" | ").slice(0, 600)}`,
        );
    }
    expect({ failures, changed }).toEqual({ failures: [], changed: [] });

    // The same reads by the objects' holders succeed: the refusals above are about who asks,
    // not about a wrong path.
    const ownerBrowser = await browser(v.owner.apiKey);
    for (const [route, tried] of Object.entries(OBJECT_ROUTES)) {
      if (!route.startsWith("GET ") || tried.allowed === OPERATOR) continue;
      const holder = tried.holder?.(v) ?? v.owner;
      const res = await send(
        "GET",
        tried.path(v),
        undefined,
        holder.apiKey,
        tried.web ? ownerBrowser : null,
      );
      if (res.status !== 200) failures.push(`${route} answered its holder ${res.status}`);
    }
    expect(failures).toEqual([]);

    // And the victims' objects still work for their owners.
    expect((await call(`${v.endpoint}/hello/x`, { key: v.owner.apiKey })).status).toBe(200);
    expect((await call(`/v1/connections/${v.connectionId}`, { key: v.owner.apiKey })).status).toBe(
      200,
    );
    expect((await call(`/v1/purchases/${v.purchaseId}`, { key: v.customer.apiKey })).status).toBe(
      200,
    );
  }, 60_000);
});
