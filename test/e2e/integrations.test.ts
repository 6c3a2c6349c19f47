/**
 * The integrations walkthrough of docs/integrations.md against the running platform (wrangler dev gateway, the
 * separate plugin host, the provider stand-ins): connect HubSpot and Salesforce, sync contacts
 * with a mapping, see records arrive once and then only the changed one; a Slack mention is
 * verified and reaches the demo's slack-responder plugin, which answers through the connection;
 * a Zapier hook receives the event.
 */
import { createHmac, randomUUID } from "node:crypto";
import { readFileSync } from "node:fs";
import { describe, expect, inject, it } from "vitest";

const base = inject("baseUrl");
const saas = inject("saas");
const creds = JSON.parse(readFileSync(inject("credentialsPath"), "utf8")) as { apiKey: string };
const headers = { "x-api-key": creds.apiKey, "content-type": "application/json" };
const post = (path: string, body: unknown) =>
  fetch(`${base}${path}`, { method: "POST", headers, body: JSON.stringify(body) });

/** Polls gently: the demo key is on the free plan (60 API calls a minute) and later files use it too. */
async function until<T>(
  probe: () => Promise<T | null | undefined>,
  ms = 15_000,
  every = 400,
): Promise<T> {
  const end = Date.now() + ms;
  for (;;) {
    const v = await probe();
    if (v) return v;
    if (Date.now() > end) throw new Error("timed out");
    await new Promise((r) => setTimeout(r, every));
  }
}
const state = async () =>
  (await fetch(`${saas}/__standin/state`)).json() as Promise<{
    salesforce: { contacts: { Atoll_External_Id__c: string; Title?: string; Email?: string }[] };
    slack: { messages: { channel: string; text: string }[] };
    zapier: { hooks: { path: string; body: { topic: string } }[] };
  }>;

describe("integrations, as docs/integrations.md walks them", () => {
  it("syncs HubSpot contacts to Salesforce once, then only what changed", async () => {
    const tag = randomUUID().slice(0, 8);
    const created = await Promise.all(
      ["Ada", "Grace"].map(
        async (first) =>
          (await (
            await fetch(`${saas}/__standin/hubspot/contacts`, {
              method: "POST",
              body: JSON.stringify({
                properties: {
                  email: `${first}.${tag}@Example.com`,
                  firstname: first,
                  lastname: "Demo",
                  jobtitle: "Engineer",
                },
              }),
            })
          ).json()) as { id: string },
      ),
    );
    const hs = await post("/v1/connections", {
      provider: "hubspot",
      credentials: { accessToken: "pat-na1-standin-token" },
      environment: "production",
      baseUrl: `${saas}/hubspot`,
    });
    expect(hs.status).toBe(201);
    const sf = await post("/v1/connections", {
      provider: "salesforce",
      credentials: { clientId: "sf-client", clientSecret: "sf-secret" },
      environment: "production",
      baseUrl: `${saas}/salesforce`,
    });
    expect(sf.status).toBe(201);
    const [{ id: source }, { id: target }] = [
      (await hs.json()) as { id: string },
      (await sf.json()) as { id: string },
    ];
    const s = await post("/v1/syncs", {
      source,
      target,
      object: "contacts",
      intervalSeconds: 900,
      mapping: [
        { to: "Email", from: "email", transforms: ["trim", "lowercase"] },
        { to: "FirstName", from: "firstname" },
        { to: "LastName", from: "lastname", default: "Unknown" },
        { to: "Title", from: "jobtitle" },
      ],
    });
    expect(s.status).toBe(201);
    const { id } = (await s.json()) as { id: string };

    const runTo = async () => {
      const r = await post(`/v1/syncs/${id}/run`, {});
      expect(r.status).toBe(202);
      const run = (await r.json()) as { id: string };
      return until(async () => {
        const sync = (await (await fetch(`${base}/v1/syncs/${id}`, { headers })).json()) as {
          runs: { id: string; status: string; created: number; updated: number; fetched: number }[];
        };
        const done = sync.runs.find((x) => x.id === run.id);
        return done && done.status !== "running" ? done : null;
      });
    };
    const first = await runTo();
    expect(first).toMatchObject({ status: "succeeded" });
    const mine = (await state()).salesforce.contacts.filter((c) =>
      created.some((h) => c.Atoll_External_Id__c === `hubspot-${h.id}`),
    );
    expect(mine).toHaveLength(2);
    expect(mine.map((c) => c.Email).sort()).toEqual([
      `ada.${tag}@example.com`,
      `grace.${tag}@example.com`,
    ]);

    await fetch(`${saas}/__standin/hubspot/contacts`, {
      method: "POST",
      body: JSON.stringify({ id: created[0]?.id, properties: { jobtitle: "Principal Engineer" } }),
    });
    const second = await runTo();
    expect(second).toMatchObject({ status: "succeeded", fetched: 1, updated: 1, created: 0 });
    const after = (await state()).salesforce.contacts.filter((c) =>
      created.some((h) => c.Atoll_External_Id__c === `hubspot-${h.id}`),
    );
    expect(after).toHaveLength(2);
    expect(after.find((c) => c.Atoll_External_Id__c === `hubspot-${created[0]?.id}`)?.Title).toBe(
      "Principal Engineer",
    );
  });

  it("verifies a Slack mention, hands it to slack-responder, which answers; a Zapier hook gets it too", async () => {
    const slack = await post("/v1/connections", {
      provider: "slack",
      credentials: {
        botToken: "xoxb-standin-bot-token",
        signingSecret: "e2e-signing-secret-0123456789",
      },
      environment: "development",
      baseUrl: `${saas}/slack`,
    });
    expect(slack.status).toBe(201);
    const { webhookUrl } = (await slack.json()) as { webhookUrl: string };
    const hookPath = `/zapier/hooks/catch/${randomUUID()}`;
    expect(
      (
        await post("/v1/zapier/hooks", {
          hookUrl: `${saas}${hookPath}`,
          event: "slack.app_mention",
        })
      ).status,
    ).toBe(201);

    const channel = `C${Date.now()}`;
    const raw = JSON.stringify({
      type: "event_callback",
      event_id: `Ev${Date.now()}`,
      event: {
        type: "app_mention",
        user: "U42",
        text: "<@U0ATOLL> ship it",
        channel,
        ts: "1764000000.000200",
      },
    });
    const ts = String(Math.floor(Date.now() / 1000));
    const sig = `v0=${createHmac("sha256", "e2e-signing-secret-0123456789").update(`v0:${ts}:${raw}`).digest("hex")}`;
    const res = await fetch(`${base}${webhookUrl}`, {
      method: "POST",
      headers: {
        "content-type": "application/json",
        "x-slack-signature": sig,
        "x-slack-request-timestamp": ts,
      },
      body: raw,
    });
    expect(res.status).toBe(200);
    const bad = await fetch(`${base}${webhookUrl}`, {
      method: "POST",
      headers: {
        "content-type": "application/json",
        "x-slack-signature": sig,
        "x-slack-request-timestamp": ts,
      },
      body: raw.replace("ship", "sink"),
    });
    expect(bad.status).toBe(401);

    const reply = await until(async () =>
      (await state()).slack.messages.find((m) => m.channel === channel),
    );
    expect(reply.text).toBe("Got it, <@U42>: “ship it”");
    // The stand-in records the path below its /zapier prefix.
    const hook = await until(async () =>
      (await state()).zapier.hooks.find((h) => `/zapier${h.path}` === hookPath),
    );
    expect(hook.body.topic).toBe("slack.app_mention");
  });
});
