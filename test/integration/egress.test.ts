/**
 * The integrations egress policy at the moment of use: URLs a provider returns (Salesforce's
 * instance_url, at connect and at every refresh), grants already stored, Zapier hook URLs at
 * subscribe and at delivery, redirects, and signed hook deliveries.
 */
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { app } from "../../src/app";
import { BASE, call, problem } from "../helpers";
import { publisher } from "../plugin-helpers";
import { CREDENTIALS, connect, connected, saas, standin, until } from "../integration-helpers";
import { brokerFor } from "../../src/integrations/connections.routes";
import { deliverEvent } from "../../src/integrations/events";
import { seal } from "../../src/integrations/vault";
import { hookSignature } from "../../src/integrations/hook-signature";
import type { HostExports } from "../../src/runtime/loader-host";

type Hook = { path: string; raw: string; signature: string | null; body: { id: string } };
const hooks = async () =>
  (await standin<{ zapier: { hooks: Hook[] } }>("/__standin/state")).zapier.hooks;
/** The stand-in's own port on 0.0.0.0: reaches it on Linux, but is not a loopback name. */
const anyAddress = () => saas().replace("127.0.0.1", "0.0.0.0");

/** A fresh Salesforce client at the stand-in whose token answer names `instanceUrl`. */
async function salesforceClient(
  instanceUrl?: string,
): Promise<{ clientId: string; clientSecret: string }> {
  const client = { clientId: `sf-${crypto.randomUUID()}`, clientSecret: "sf-hostile-secret" };
  await standin("/__standin/salesforce/clients", { ...client, instanceUrl });
  return client;
}

/** The app with production settings (https only, no local stand-ins). */
function production(
  path: string,
  init: RequestInit & { key: string; json: unknown },
): Promise<Response> {
  const headers = new Headers({ "x-api-key": init.key, "content-type": "application/json" });
  const prod = { ...env, ATOLL_ENV: "production", ATOLL_INTEGRATIONS_ALLOW_HTTP: "false" } as Env;
  const ctx = {
    waitUntil: () => undefined,
    passThroughOnException: () => undefined,
    props: {},
  } as unknown as ExecutionContext;
  return Promise.resolve(
    app.fetch(
      new Request(BASE + path, { method: init.method, headers, body: JSON.stringify(init.json) }),
      prod,
      ctx,
    ),
  );
}

async function event(orgId: string, topic: string): Promise<string> {
  const id = `iev_${crypto.randomUUID().replace(/-/g, "")}`;
  await env.DB.prepare(
    "INSERT INTO integration_events (id, org_id, environment, connection_id, topic, payload, created_at) VALUES (?, ?, 'production', NULL, ?, '{\"text\":\"hi\"}', ?)",
  )
    .bind(id, orgId, topic, Date.now())
    .run();
  return id;
}
const noExports = () => ({}) as unknown as HostExports;

describe("Salesforce instance_url", () => {
  it.each([
    ["the metadata address", "http://169.254.169.254/latest/meta-data"],
    ["0.0.0.0 (this host)", "ANY"],
    ["credentials in the URL", "http://admin:pw@127.0.0.1:1/salesforce"],
    ["an internal name", "https://metadata.google.internal/computeMetadata/v1"],
    ["a non-http scheme", "file:///etc/passwd"],
  ])(
    "refuses a connection whose token answer names %s, storing nothing",
    async (_what, instanceUrl) => {
      const a = await publisher("sfinst");
      const credentials = await salesforceClient(
        instanceUrl === "ANY" ? `${anyAddress()}/salesforce` : instanceUrl,
      );
      const res = await connect(a, "salesforce", { credentials });
      expect(res.status).toBe(400);
      expect((await problem(res)).detail).toMatch(/instance_url/);
      const n = await env.DB.prepare("SELECT COUNT(*) AS n FROM connections WHERE org_id = ?")
        .bind(a.orgId)
        .first<{ n: number }>();
      expect(n?.n).toBe(0);
    },
  );

  it("does not follow an instance_url that a later refresh changes: the connection goes to error, nothing is fetched there", async () => {
    const a = await publisher("sfswap");
    const credentials = await salesforceClient();
    const c = (await (await connect(a, "salesforce", { credentials })).json()) as { id: string };
    await standin("/__standin/salesforce/clients", {
      ...credentials,
      instanceUrl: `${anyAddress()}/zapier/hooks/catch/sf-${c.id}`,
    });
    await standin("/__standin/faults", {
      provider: "salesforce",
      status: 401,
      count: 1,
      match: `swap-${c.id}`,
    });
    const before = (await hooks()).length;
    const res = await brokerFor(env, c.id)
      .request(c.id, {
        path: `/services/data/v59.0/query?q=${encodeURIComponent(`SELECT Id FROM Contact WHERE Name = 'swap-${c.id}'`)}`,
        retries: 0,
      })
      .catch((err: unknown) => ({ ok: false as const, error: String(err) }));
    expect(res.ok).toBe(false);
    expect((await hooks()).slice(before).some((h) => h.path.includes(c.id))).toBe(false);
    const row = await env.DB.prepare("SELECT status, last_error FROM connections WHERE id = ?")
      .bind(c.id)
      .first<{ status: string; last_error: string }>();
    expect(row).toMatchObject({ status: "error" });
    expect(row?.last_error).toMatch(/instance_url/);
  });

  it("refuses a stored grant whose instance_url is outside the policy, at the moment of use", async () => {
    const a = await publisher("sfstored");
    const c = await connected(a, "salesforce");
    const target = `${anyAddress()}/zapier/hooks/catch/stored-${c.id}`;
    const grant = await seal(env, c.id, "grant", {
      accessToken: "00Dforged",
      expiresAt: null,
      instanceUrl: target,
    });
    await env.DB.prepare("UPDATE connections SET grant_enc = ? WHERE id = ?")
      .bind(grant.enc, c.id)
      .run();
    await brokerFor(env, c.id).forget();
    const before = (await hooks()).length;
    const res = await brokerFor(env, c.id).request(c.id, {
      path: "/x",
      method: "POST",
      retries: 0,
    });
    expect(res).toMatchObject({ ok: false, reason: "egress" });
    const fwd = await brokerFor(env, c.id).forward(c.id, "/x", { method: "POST", body: "{}" });
    expect(fwd.status).toBe(502);
    expect(fwd.body).toMatch(/egress/);
    expect((await hooks()).slice(before).some((h) => h.path.includes(c.id))).toBe(false);
  });
});

describe("Zapier hook URLs", () => {
  it.each([
    ["the metadata address", "https://169.254.169.254/latest/meta-data"],
    ["its decimal form", "https://2852039166/"],
    ["IPv6 loopback", "https://[::1]/hook"],
    ["IPv4-mapped IPv6", "https://[::ffff:169.254.169.254]/hook"],
    ["an .internal name", "https://metadata.google.internal/hook"],
    ["a trailing-dot name", "https://hooks.zapier.com./hooks/catch/1"],
    ["user:password", "https://user:pw@hooks.zapier.com/hooks/catch/1"],
    ["a non-default port", "https://hooks.zapier.com:8443/hooks/catch/1"],
    ["http", "http://hooks.zapier.com/hooks/catch/1"],
  ])("refuses %s in production with 400", async (_what, hookUrl) => {
    const a = await publisher("zapprod");
    const res = await production("/v1/zapier/hooks", {
      method: "POST",
      key: a.apiKey,
      json: { hookUrl, event: "slack.message" },
    });
    expect(res.status).toBe(400);
    expect((await problem(res)).type).toMatch(/validation-failed$/);
    const n = await env.DB.prepare("SELECT COUNT(*) AS n FROM zapier_hooks WHERE org_id = ?")
      .bind(a.orgId)
      .first<{ n: number }>();
    expect(n?.n).toBe(0);
  });

  it("accepts a public https hook in production", async () => {
    const a = await publisher("zapok");
    const res = await production("/v1/zapier/hooks", {
      method: "POST",
      key: a.apiKey,
      json: { hookUrl: "https://hooks.zapier.com/hooks/catch/1/abc", event: "slack.message" },
    });
    expect(res.status).toBe(201);
  });

  it.each([
    ["0.0.0.0", () => `${anyAddress()}/zapier/hooks/catch/x`],
    ["the metadata address", () => "http://169.254.169.254/"],
    ["credentials", () => saas().replace("http://", "http://u:p@") + "/zapier/hooks/catch/x"],
  ])("refuses %s even with the local setting", async (_what, url) => {
    const a = await publisher("zaplocal");
    const res = await call("/v1/zapier/hooks", {
      method: "POST",
      key: a.apiKey,
      json: { hookUrl: url(), event: "slack.message" },
    });
    expect(res.status).toBe(400);
  });

  it("does not deliver to a hook stored before the policy, whose URL it refuses", async () => {
    const a = await publisher("zapold");
    const hookId = `hook_${crypto.randomUUID().replace(/-/g, "").slice(0, 20)}`;
    await env.DB.prepare(
      "INSERT INTO zapier_hooks (id, org_id, topic, hook_url, created_at) VALUES (?, ?, 'old.event', ?, ?)",
    )
      .bind(hookId, a.orgId, `${anyAddress()}/zapier/hooks/catch/old-${a.orgId}`, Date.now())
      .run();
    const report = await deliverEvent(env, noExports, await event(a.orgId, "old.event"), true);
    expect(report.delivered).toEqual([]);
    expect(report.failed[0]?.reason).toMatch(/egress/);
    expect((await hooks()).some((h) => h.path.includes(a.orgId))).toBe(false);
  });

  it("follows a redirect only to a URL the policy allows, and never reports a refused one as delivered", async () => {
    const a = await publisher("zapredir");
    const good = `${saas()}/zapier/hooks/catch/redir-ok-${a.orgId}`;
    const bad = `${anyAddress()}/zapier/hooks/catch/redir-bad-${a.orgId}`;
    for (const [topic, to] of [
      ["redir.ok", good],
      ["redir.bad", bad],
    ] as const) {
      const res = await call("/v1/zapier/hooks", {
        method: "POST",
        key: a.apiKey,
        json: {
          hookUrl: `${saas()}/__standin/redirect?status=307&to=${encodeURIComponent(to)}`,
          event: topic,
        },
      });
      expect(res.status).toBe(201);
    }
    const ok = await deliverEvent(env, noExports, await event(a.orgId, "redir.ok"), true);
    expect(ok.delivered).toHaveLength(1);
    const refused = await deliverEvent(env, noExports, await event(a.orgId, "redir.bad"), true);
    expect(refused.delivered).toEqual([]);
    expect(refused.failed[0]?.reason).toMatch(/egress/);
    const got = await hooks();
    expect(got.some((h) => h.path.includes(`redir-ok-${a.orgId}`))).toBe(true);
    expect(got.some((h) => h.path.includes(`redir-bad-${a.orgId}`))).toBe(false);
  });

  it("signs every delivery with the hook's secret over the timestamp and the body", async () => {
    const a = await publisher("zapsig");
    const sub = await call("/v1/zapier/hooks", {
      method: "POST",
      key: a.apiKey,
      json: { hookUrl: `${saas()}/zapier/hooks/catch/sig-${a.orgId}`, event: "sig.event" },
    });
    expect(sub.status).toBe(201);
    const { signingSecret } = (await sub.json()) as { signingSecret: string };
    expect(signingSecret).toMatch(/^whsec_/);
    const report = await deliverEvent(env, noExports, await event(a.orgId, "sig.event"), true);
    expect(report.delivered).toHaveLength(1);
    const got = await until(async () =>
      (await hooks()).find((h) => h.path.endsWith(`sig-${a.orgId}`)),
    );
    const m = /^t=(\d+),v1=([0-9a-f]{64})$/.exec(got.signature ?? "");
    expect(m).not.toBeNull();
    expect(Math.abs(Number(m![1]) - Date.now() / 1000)).toBeLessThan(60);
    expect(m![2]).toBe(await hookSignature(signingSecret, m![1]!, got.raw));
    expect(m![2]).not.toBe(await hookSignature(signingSecret, m![1]!, got.raw + " "));
    // The secret is not stored anywhere readable, and not listed again.
    const row = await env.DB.prepare("SELECT * FROM zapier_hooks WHERE org_id = ?")
      .bind(a.orgId)
      .first();
    expect(JSON.stringify(row)).not.toContain(signingSecret);
  });
});

void CREDENTIALS;
