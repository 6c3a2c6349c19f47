/**
 * The kill switch: revoking a version stops every running installation of it within one lease
 * (≤ 1 s) on every isolate, not the spec cache's 10 s; each falls back to the version it ran
 * before or answers 503 until the tenant acts; tenants get a notice; everything is audited. A
 * listing suspended with mode "stop" stops its installations the same way.
 *
 * "Isolates" here are gateways with their own per-isolate state: the caches are keyed by the D1
 * binding object, so each gets a distinct D1 object (the same database) and hence its own spec
 * cache and lease limiter, sharing the Durable Objects, as isolates do.
 */
import { env, exports } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { app } from "../../src/app";
import { OPERATOR_KEY, call, problem, type Account } from "../helpers";
import { installPlugin, publishZip, publisher, rawPackage } from "../plugin-helpers";

const source = (answer: string) => `export default { fetch(req) {
  if (new URL(req.url).pathname.startsWith("/__atoll/")) return new Response(null, { status: 404 });
  return new Response(${JSON.stringify(answer)});
} };`;

/** Publishes 1.0.0 and 2.0.0 of one plugin. */
async function twoVersions(a: Account): Promise<string> {
  const name = `@${a.slug}/ks-${Math.random().toString(36).slice(2, 8)}`;
  for (const version of ["1.0.0", "2.0.0"]) {
    const res = await publishZip(a, rawPackage(a.slug, source(`v${version}`), { name, version }));
    expect(res.status).toBe(201);
  }
  return name;
}

async function install(a: Account, plugin: string, version: string) {
  const res = await installPlugin(a, { plugin, version, grants: [] });
  expect(res.status).toBe(201);
  return (await res.json()) as { id: string; endpoint: string };
}

function revoke(key: string, plugin: string, version: string, reason = "a bad release") {
  const [scope, short] = plugin.split("/");
  return call(`/v1/plugins/${scope}/${short}/versions/${version}/revoke`, {
    method: "POST",
    key,
    json: { reason },
  });
}

/** A gateway with its own isolate state (see the file comment). */
function isolate() {
  const db = new Proxy(env.DB, {
    get(target, prop) {
      const v = Reflect.get(target, prop, target) as unknown;
      return typeof v === "function" ? (v as (...a: unknown[]) => unknown).bind(target) : v;
    },
  });
  const e = { ...env, DB: db };
  const ctx = { exports, waitUntil() {}, passThroughOnException() {}, props: {} };
  return (path: string, key: string, json?: unknown) =>
    app.request(
      new Request(`http://atoll.test${path}`, {
        method: json === undefined ? "GET" : "POST",
        headers: {
          "x-api-key": key,
          "cf-connecting-ip": "10.9.9.9",
          ...(json === undefined ? {} : { "content-type": "application/json" }),
        },
        body: json === undefined ? null : JSON.stringify(json),
      }),
      undefined,
      e,
      ctx as unknown as ExecutionContext,
    );
}

async function text(res: Response | Promise<Response>): Promise<string> {
  const r = await res;
  return r.status === 200
    ? await r.text()
    : `${r.status} ${((await r.json()) as { type: string }).type}`;
}

describe("POST /v1/plugins/{scope}/{name}/versions/{version}/revoke", () => {
  it("moves an installation back to the version it ran before, with a notice and an audit entry", async () => {
    const a = await publisher("ks");
    const plugin = await twoVersions(a);
    const inst = await install(a, plugin, "1.0.0");
    const up = await call(`/v1/installations/${inst.id}`, {
      method: "PATCH",
      key: a.apiKey,
      json: { version: "2.0.0" },
    });
    expect(up.status).toBe(200);
    expect(await text(call(`${inst.endpoint}/`, { key: a.apiKey }))).toBe("v2.0.0");

    const res = await revoke(a.apiKey, plugin, "2.0.0");
    expect(res.status).toBe(200);
    expect(await res.json()).toMatchObject({ status: "revoked", fellBack: 1, stopped: 0 });
    expect(await text(call(`${inst.endpoint}/`, { key: a.apiKey }))).toBe("v1.0.0");
    const got = (await (await call(`/v1/installations/${inst.id}`, { key: a.apiKey })).json()) as {
      version: string;
    };
    expect(got.version).toBe("1.0.0");
    const notices = (await (
      await call(`/v1/organizations/${a.orgId}/notices`, { key: a.apiKey })
    ).json()) as { notices: { kind: string; target: string; message: string }[] };
    expect(notices.notices[0]).toMatchObject({ kind: "version_revoked", target: inst.id });
    expect(notices.notices[0]?.message).toContain("now runs 1.0.0");
    const audit = (await (
      await call(`/v1/organizations/${a.orgId}/audit-log`, { key: a.apiKey })
    ).json()) as { entries: { action: string; target: string | null }[] };
    expect(audit.entries.map((e) => e.action)).toContain("plugin.version_revoked");
    // Revoked is final, and nobody can install or move to it again.
    expect((await revoke(a.apiKey, plugin, "2.0.0")).status).toBe(409);
    const back = await call(`/v1/installations/${inst.id}`, {
      method: "PATCH",
      key: a.apiKey,
      json: { version: "2.0.0" },
    });
    expect(back.status).toBe(404);
  });

  it("answers 503 naming the revocation when there is no earlier good version, until the tenant moves", async () => {
    const a = await publisher("ks");
    const plugin = await twoVersions(a);
    const inst = await install(a, plugin, "2.0.0");
    const res = await revoke(OPERATOR_KEY, plugin, "2.0.0");
    expect(res.status).toBe(200);
    expect(await res.json()).toMatchObject({ fellBack: 0, stopped: 1 });
    const stopped = await call(`${inst.endpoint}/`, { key: a.apiKey });
    expect(stopped.status).toBe(503);
    const p = await problem(stopped);
    expect(p.type).toMatch(/version-revoked$/);
    expect(p.detail).toContain(`${plugin}@2.0.0`);
    const exec = await call(`/v1/installations/${inst.id}/execute`, {
      method: "POST",
      key: a.apiKey,
      json: { input: {} },
    });
    expect(exec.status).toBe(503);
    // The tenant acts: it moves to 1.0.0 and is served again.
    const moved = await call(`/v1/installations/${inst.id}`, {
      method: "PATCH",
      key: a.apiKey,
      json: { version: "1.0.0" },
    });
    expect(moved.status).toBe(200);
    expect(await text(call(`${inst.endpoint}/`, { key: a.apiKey }))).toBe("v1.0.0");
  });

  it("is the publisher's for its own versions only", async () => {
    const a = await publisher("ks");
    const b = await publisher("ks");
    const plugin = await twoVersions(a);
    const inst = await install(a, plugin, "2.0.0");
    const res = await revoke(b.apiKey, plugin, "2.0.0");
    expect(res.status).toBe(404);
    expect(await text(call(`${inst.endpoint}/`, { key: a.apiKey }))).toBe("v2.0.0");
  });

  it("stops the version on every isolate within the lease time, not the spec cache's", async () => {
    const a = await publisher("ks");
    const plugin = await twoVersions(a);
    const moved = await install(a, plugin, "1.0.0");
    await call(`/v1/installations/${moved.id}`, {
      method: "PATCH",
      key: a.apiKey,
      json: { version: "2.0.0" },
    });
    const other = await publisher("ks");
    const kept = await install(other, plugin, "2.0.0");
    const isolates = [isolate(), isolate(), isolate()];
    // Every isolate has both installations' specs cached and a lease in hand.
    for (const gw of isolates) {
      expect(await text(gw(`${moved.endpoint}/`, a.apiKey))).toBe("v2.0.0");
      expect(await text(gw(`${kept.endpoint}/`, other.apiKey))).toBe("v2.0.0");
    }
    const started = Date.now();
    expect((await revoke(a.apiKey, plugin, "2.0.0")).status).toBe(200);
    const settled = async (gw: ReturnType<typeof isolate>) => {
      for (;;) {
        const m = await text(gw(`${moved.endpoint}/`, a.apiKey));
        const k = await text(gw(`${kept.endpoint}/`, other.apiKey));
        if (m === "v1.0.0" && k === "503 https://atoll.dev/problems/version-revoked")
          return Date.now() - started;
        expect([m, k].some((x) => x === "v2.0.0") || Date.now() - started < 9_000).toBe(true);
        await new Promise((r) => setTimeout(r, 100));
      }
    };
    const times = await Promise.all(isolates.map(settled));
    // The spec cache would take up to 10 s; the lease path takes about one lease (1 s).
    for (const t of times) expect(t).toBeLessThan(3_000);
  });

  it("stops execute on every isolate within the lease time too (execute takes the installation's lease)", async () => {
    const a = await publisher("ks");
    const plugin = await twoVersions(a);
    const inst = await install(a, plugin, "2.0.0");
    const exec = (gw: ReturnType<typeof isolate>) =>
      text(gw(`/v1/installations/${inst.id}/execute`, a.apiKey, { input: {} }));
    const isolates = [isolate(), isolate(), isolate()];
    // Each isolate has the spec cached (the plugin implements no execute: 501).
    for (const gw of isolates)
      expect(await exec(gw)).toBe("501 https://atoll.dev/problems/plugin-no-execute");
    const started = Date.now();
    expect((await revoke(a.apiKey, plugin, "2.0.0")).status).toBe(200);
    const settled = async (gw: ReturnType<typeof isolate>) => {
      for (;;) {
        if ((await exec(gw)) === "503 https://atoll.dev/problems/version-revoked")
          return Date.now() - started;
        expect(Date.now() - started).toBeLessThan(9_000);
        await new Promise((r) => setTimeout(r, 100));
      }
    };
    for (const t of await Promise.all(isolates.map(settled))) expect(t).toBeLessThan(3_000);
  });

  it("execute spends the installation's own limit, as its routes do", async () => {
    const a = await publisher("ks");
    const name = `@${a.slug}/ks-rpm-${Math.random().toString(36).slice(2, 8)}`;
    const res = await publishZip(
      a,
      rawPackage(a.slug, source("ok"), { name, limits: { requestsPerMinute: 2 } }),
    );
    expect(res.status).toBe(201);
    const inst = await install(a, name, "1.0.0");
    const statuses = [];
    for (let i = 0; i < 3; i++)
      statuses.push(
        (
          await call(`/v1/installations/${inst.id}/execute`, {
            method: "POST",
            key: a.apiKey,
            json: { input: {} },
          })
        ).status,
      );
    expect(statuses).toEqual([501, 501, 429]);
    // The routes share the same budget: it is spent.
    expect((await call(`${inst.endpoint}/`, { key: a.apiKey })).status).toBe(429);
  });
});

describe("PUT /v1/operator/listings/{scope}/{name}/suspension with mode stop", () => {
  it("stops running installations (503 on every isolate) and serves them again when lifted", async () => {
    const a = await publisher("ks");
    const plugin = await twoVersions(a);
    const inst = await install(a, plugin, "2.0.0");
    const gw = isolate();
    expect(await text(gw(`${inst.endpoint}/`, a.apiKey))).toBe("v2.0.0");
    const [scope, short] = plugin.split("/");
    const suspend = (json: unknown) =>
      call(`/v1/operator/listings/${scope}/${short}/suspension`, {
        method: "PUT",
        key: OPERATOR_KEY,
        json,
      });
    const res = await suspend({ suspended: true, reason: "malware", mode: "stop" });
    expect(res.status).toBe(200);
    expect(await res.json()).toMatchObject({ suspended: true, mode: "stop" });
    const stopped = await call(`${inst.endpoint}/`, { key: a.apiKey });
    expect(stopped.status).toBe(503);
    expect((await problem(stopped)).type).toMatch(/listing-stopped$/);
    const deadline = Date.now() + 3_000;
    while ((await text(gw(`${inst.endpoint}/`, a.apiKey))) === "v2.0.0")
      expect(Date.now()).toBeLessThan(deadline);
    expect((await suspend({ suspended: false })).status).toBe(200);
    expect(await text(call(`${inst.endpoint}/`, { key: a.apiKey }))).toBe("v2.0.0");
  });

  it('keeps running installations running with mode "hide" (the default)', async () => {
    const a = await publisher("ks");
    const plugin = await twoVersions(a);
    const inst = await install(a, plugin, "2.0.0");
    const [scope, short] = plugin.split("/");
    const res = await call(`/v1/operator/listings/${scope}/${short}/suspension`, {
      method: "PUT",
      key: OPERATOR_KEY,
      json: { suspended: true, reason: "review" },
    });
    expect(await res.json()).toMatchObject({ mode: "hide" });
    expect(await text(call(`${inst.endpoint}/`, { key: a.apiKey }))).toBe("v2.0.0");
  });
});
