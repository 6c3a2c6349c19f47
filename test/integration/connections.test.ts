import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { call, problem } from "../helpers";
import { examplePackage, publishAndInstall, publisher } from "../plugin-helpers";
import { CREDENTIALS, connect, connected, saas, standin, until } from "../integration-helpers";
import { slackSignature } from "../../src/integrations/signatures";

const SECRET_VALUES = [
  CREDENTIALS.hubspot.accessToken,
  CREDENTIALS.hubspot.clientSecret,
  CREDENTIALS.salesforce.clientSecret,
  CREDENTIALS.slack.botToken,
  CREDENTIALS.slack.signingSecret,
];

describe("POST /v1/connections", () => {
  it.each(["hubspot", "salesforce", "slack", "generic-crm"] as const)(
    "connects %s, stores the credentials encrypted and never returns them",
    async (provider) => {
      const a = await publisher("conn");
      const res = await connect(a, provider);
      expect(res.status).toBe(201);
      const body = await res.text();
      expect(JSON.parse(body)).toMatchObject({
        provider,
        status: "active",
        environment: "production",
      });
      const list = await (await call("/v1/connections", { key: a.apiKey })).text();
      for (const s of [...SECRET_VALUES, CREDENTIALS["generic-crm"].clientSecret]) {
        expect(body).not.toContain(s);
        expect(list).not.toContain(s);
      }
      const row = await env.DB.prepare(
        "SELECT credentials_enc, key_id FROM connections WHERE id = ?",
      )
        .bind(JSON.parse(body).id)
        .first<{ credentials_enc: string; key_id: string }>();
      expect(row?.credentials_enc).toMatch(/^v1\./);
      for (const s of SECRET_VALUES) expect(row?.credentials_enc).not.toContain(s);
    },
  );

  it.each([
    ["hubspot", { accessToken: "pat-na1-wrong-token" }, /INVALID_AUTHENTICATION/],
    ["salesforce", { clientId: "sf-client", clientSecret: "nope" }, /invalid_client/],
    [
      "slack",
      { botToken: "xoxb-wrong", signingSecret: "slack-signing-secret-0123456789" },
      /invalid_auth/,
    ],
  ] as const)(
    "refuses bad %s credentials with 400 naming the provider's error, storing nothing",
    async (provider, credentials, reason) => {
      const a = await publisher("bad");
      const res = await connect(a, provider, { credentials });
      expect(res.status).toBe(400);
      const p = await problem(res);
      expect(p.type).toMatch(/provider-refused$/);
      expect(p.detail).toMatch(reason);
      for (const v of Object.values(credentials))
        if (v.length > 12) expect(JSON.stringify(p)).not.toContain(v);
      const n = await env.DB.prepare("SELECT COUNT(*) AS n FROM connections WHERE org_id = ?")
        .bind(a.orgId)
        .first<{ n: number }>();
      expect(n?.n).toBe(0);
    },
  );

  it.each([
    [
      "a missing field",
      { provider: "salesforce", credentials: { clientId: "x" } },
      /credentials.clientSecret/,
    ],
    [
      "an unknown field",
      { provider: "slack", credentials: { ...CREDENTIALS.slack, extra: "x" } },
      /unknown field/,
    ],
    [
      "a malformed token",
      { provider: "hubspot", credentials: { accessToken: "not-a-token" } },
      /pat-/,
    ],
    ["an unknown provider", { provider: "myspace", credentials: {} }, /provider/],
    [
      "a base URL with credentials",
      {
        provider: "slack",
        credentials: CREDENTIALS.slack,
        baseUrl: "https://user:pw@slack.example",
      },
      /credentials/,
    ],
    [
      "generic CRM without a base URL",
      { provider: "generic-crm", credentials: CREDENTIALS["generic-crm"] },
      /baseUrl/,
    ],
  ])("refuses %s", async (_what, json, message) => {
    const a = await publisher("val");
    const res = await call("/v1/connections", { method: "POST", key: a.apiKey, json });
    expect(res.status).toBe(400);
    expect(JSON.stringify(await problem(res))).toMatch(message);
  });

  it("answers 502 when the provider fails, and stores nothing", async () => {
    const a = await publisher("down");
    await standin("/__standin/faults", { provider: "hubspot", status: 500, count: 2 });
    const res = await connect(a, "hubspot");
    expect(res.status).toBe(502);
    expect((await problem(res)).type).toMatch(/provider-unavailable$/);
  });

  it("revokes a connection: it stops working and its credentials are gone", async () => {
    const a = await publisher("rev");
    const c = await connected(a, "slack");
    expect(
      (await call(`/v1/connections/${c.id}`, { method: "DELETE", key: a.apiKey })).status,
    ).toBe(204);
    expect(await (await call(`/v1/connections/${c.id}`, { key: a.apiKey })).json()).toMatchObject({
      status: "revoked",
    });
    const row = await env.DB.prepare("SELECT credentials_enc FROM connections WHERE id = ?")
      .bind(c.id)
      .first<{ credentials_enc: string }>();
    expect(row?.credentials_enc).toBe("");
    const other = await publisher("other");
    expect((await call(`/v1/connections/${c.id}`, { key: other.apiKey })).status).toBe(404);
  });
});

describe("the connection broker", () => {
  it("refreshes an expired Salesforce session once, however many calls wait for it", async () => {
    const a = await publisher("sf");
    const c = await connected(a, "salesforce");
    const broker = env.CONNECTION_BROKER.get(env.CONNECTION_BROKER.idFromName(c.id));
    const query = { path: "/services/data/v59.0/query?q=SELECT+Id+FROM+Contact" };
    expect((await broker.request(c.id, query)).ok).toBe(true);
    const before = await broker.refreshCount();
    await new Promise((r) => setTimeout(r, 2100)); // the stand-in's sessions last 2 s in tests
    const results = await Promise.all(
      Array.from({ length: 10 }, () => broker.request(c.id, query)),
    );
    expect(results.every((r) => r.ok)).toBe(true);
    expect((await broker.refreshCount()) - before).toBe(1);
  });
});

describe("webhooks, events and plugins", () => {
  async function slackDelivery(
    connectionId: string,
    body: unknown,
    opts: { skew?: number; secret?: string; tamper?: boolean } = {},
  ): Promise<Response> {
    const raw = JSON.stringify(body);
    const ts = String(Math.floor(Date.now() / 1000) + (opts.skew ?? 0));
    const sig = await slackSignature(opts.secret ?? CREDENTIALS.slack.signingSecret, ts, raw);
    return call(`/v1/webhooks/${connectionId}`, {
      method: "POST",
      body: opts.tamper ? raw.replace("hello", "hellp") : raw,
      headers: {
        "content-type": "application/json",
        "x-slack-signature": sig,
        "x-slack-request-timestamp": ts,
      },
    });
  }

  it("answers Slack's url_verification handshake", async () => {
    const a = await publisher("hs");
    const c = await connected(a, "slack");
    const res = await slackDelivery(c.id, {
      type: "url_verification",
      token: "x",
      challenge: "3eZbrw1aBm2rZgRNFdxV2595E9CY3gmdALWMmHkvFXO7tYXAYM8P",
    });
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({
      challenge: "3eZbrw1aBm2rZgRNFdxV2595E9CY3gmdALWMmHkvFXO7tYXAYM8P",
    });
  });

  it("delivers a verified mention to the plugin, which posts back through the connection; a redelivery is dropped", async () => {
    const a = await publisher("bot");
    const c = await connected(a, "slack");
    const inst = await publishAndInstall(a, examplePackage("slack-responder", a.slug), {
      environment: "production",
    });
    const channel = `C${Date.now()}`;
    const event = {
      type: "event_callback",
      team_id: "T0STANDIN",
      event_id: `Ev${Date.now()}`,
      event: {
        type: "app_mention",
        user: "U123",
        text: "<@U0ATOLL> hello there",
        channel,
        ts: "1700000000.000100",
      },
    };
    const first = await slackDelivery(c.id, event);
    expect(first.status).toBe(200);
    expect(await first.json()).toEqual({ received: 1, duplicates: 0 });
    const again = await slackDelivery(c.id, event);
    expect(await again.json()).toEqual({ received: 0, duplicates: 1 });

    const posted = await until(async () => {
      const mine = (
        await standin<{
          slack: { messages: { channel: string; text: string; thread_ts: string | null }[] };
        }>("/__standin/state")
      ).slack.messages.filter((m) => m.channel === channel);
      return mine.length > 0 ? mine : null;
    }, 8000);
    expect(posted).toHaveLength(1);
    expect(posted[0]).toMatchObject({
      text: "Got it, <@U123>: “hello there”",
      thread_ts: "1700000000.000100",
    });
    const replies = (await (await call(`${inst.endpoint}/replies`, { key: a.apiKey })).json()) as {
      replies: unknown[];
    };
    expect(replies.replies).toHaveLength(1);
  });

  it.each([
    ["a wrong signing secret", { secret: "another-signing-secret-000000" }],
    ["one changed byte", { tamper: true }],
    ["a timestamp 301 s old", { skew: -301 }],
    ["a timestamp 301 s ahead", { skew: 301 }],
  ])("refuses %s with 401", async (_what, opts) => {
    const a = await publisher("sig");
    const c = await connected(a, "slack");
    const res = await slackDelivery(
      c.id,
      { type: "event_callback", event_id: "Ev1", event: { type: "message", text: "hello" } },
      opts,
    );
    expect(res.status).toBe(401);
    expect((await problem(res)).type).toMatch(/signature-invalid$/);
  });

  it("accepts timestamps 299 s off either way", async () => {
    const a = await publisher("win");
    const c = await connected(a, "slack");
    for (const skew of [-299, 299])
      expect(
        (
          await slackDelivery(
            c.id,
            {
              type: "event_callback",
              event_id: `Ev${skew}`,
              event: { type: "message", text: "hello" },
            },
            { skew },
          )
        ).status,
      ).toBe(200);
  });

  it("refuses a body that is not what Slack sends", async () => {
    const a = await publisher("body");
    const c = await connected(a, "slack");
    expect((await slackDelivery(c.id, { hello: "world" })).status).toBe(401);
  });
});

describe("Zapier REST hooks", () => {
  it("subscribes a hook, delivers events to it, serves the polling trigger, and unsubscribes", async () => {
    const a = await publisher("zap");
    expect(await (await call("/v1/zapier/me", { key: a.apiKey })).json()).toMatchObject({
      organization: a.slug,
    });
    const hookUrl = `${saas()}/zapier/hooks/catch/${a.orgId}`;
    const sub = await call("/v1/zapier/hooks", {
      method: "POST",
      key: a.apiKey,
      json: { hookUrl, event: "slack.message" },
    });
    expect(sub.status).toBe(201);
    const { id } = (await sub.json()) as { id: string };

    const c = await connected(a, "slack");
    const raw = JSON.stringify({
      type: "event_callback",
      event_id: `EvZ${Date.now()}`,
      event: { type: "message", text: "for zapier", channel: "C1" },
    });
    const ts = String(Math.floor(Date.now() / 1000));
    expect(
      (
        await call(`/v1/webhooks/${c.id}`, {
          method: "POST",
          body: raw,
          headers: {
            "x-slack-signature": await slackSignature(CREDENTIALS.slack.signingSecret, ts, raw),
            "x-slack-request-timestamp": ts,
          },
        })
      ).status,
    ).toBe(200);

    const got = await until(
      async () =>
        (
          await standin<{
            zapier: {
              hooks: {
                path: string;
                body: { id: string; topic: string; payload: { text: string } };
              }[];
            };
          }>("/__standin/state")
        ).zapier.hooks.find((h) => h.path.endsWith(a.orgId)),
      8000,
    );
    expect(got.body).toMatchObject({ topic: "slack.message", payload: { text: "for zapier" } });
    const polled = (await (
      await call("/v1/zapier/triggers/slack.message", { key: a.apiKey })
    ).json()) as { id: string }[];
    expect(polled.map((e) => e.id)).toEqual([got.body.id]);
    expect((await call(`/v1/zapier/hooks/${id}`, { method: "DELETE", key: a.apiKey })).status).toBe(
      204,
    );
    expect((await call(`/v1/zapier/hooks/${id}`, { method: "DELETE", key: a.apiKey })).status).toBe(
      404,
    );
  });

  it("refuses a hook URL that is not a URL and a topic that is not a topic", async () => {
    const a = await publisher("zapbad");
    expect(
      (
        await call("/v1/zapier/hooks", {
          method: "POST",
          key: a.apiKey,
          json: { hookUrl: "nope", event: "slack.message" },
        })
      ).status,
    ).toBe(400);
    expect(
      (
        await call("/v1/zapier/hooks", {
          method: "POST",
          key: a.apiKey,
          json: { hookUrl: "https://hooks.zapier.com/x", event: "Slack Message!" },
        })
      ).status,
    ).toBe(400);
  });
});
