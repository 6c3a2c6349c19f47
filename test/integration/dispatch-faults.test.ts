/**
 * The dispatch backend when Cloudflare's API struggles (the API stand-in's fault mode, one fresh
 * account per test so no other test's requests take its faults): 429 and 5xx are retried within
 * bounds, a long Retry-After is not waited for, and an upload that finally fails leaves no
 * installation row and no script behind, even when the API stored it before failing.
 */
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { app } from "../../src/app";
import { ScriptsApi } from "../../src/runtime/cloudflare-api";
import {
  NAMESPACE,
  apiLog,
  cf,
  dispatchEnv,
  queueFaults,
  standInAccount,
  standInDispatcher,
  uploaded,
} from "../dispatch-standin";
import type { Account } from "../helpers";
import { publishZip, publisher, rawPackage } from "../plugin-helpers";

const SOURCE = `export default { fetch() { return new Response("up") } }`;

async function setup() {
  const a = await publisher("df");
  const { plugin } = (await (await publishZip(a, rawPackage(a.slug, SOURCE))).json()) as {
    plugin: string;
  };
  const account = await standInAccount();
  const { ns } = standInDispatcher(account);
  return { a, plugin, account, e: dispatchEnv(ns, cf.token, account) };
}

const install = (a: Account, plugin: string, e: object) =>
  app.request(
    new Request("http://atoll.test/v1/installations", {
      method: "POST",
      headers: { "x-api-key": a.apiKey, "content-type": "application/json" },
      body: JSON.stringify({ plugin, grants: [] }),
    }),
    undefined,
    e,
  );

const rows = async (orgId: string) =>
  (
    await env.DB.prepare("SELECT count(*) AS n FROM installations WHERE org_id = ?")
      .bind(orgId)
      .first<{ n: number }>()
  )?.n;

const scriptOf = (path: string) => path.split("/").at(-1) ?? "";

describe("the dispatch backend against a struggling Cloudflare API", () => {
  it("retries a 429 after its Retry-After and 5xx with backoff; the install succeeds", async () => {
    const { a, plugin, account, e } = await setup();
    await queueFaults(account, [
      { method: "PUT", status: 429, retryAfter: 1 },
      { method: "PUT", status: 503 },
      { method: "PUT", status: 500 },
    ]);
    const started = Date.now();
    const res = await install(a, plugin, e);
    expect(res.status).toBe(201);
    expect(Date.now() - started).toBeGreaterThanOrEqual(1000);
    const puts = (await apiLog(account)).filter((l) => l.method === "PUT");
    expect(puts).toHaveLength(4);
    expect(await uploaded(scriptOf(puts[0]?.path ?? ""), account)).not.toBeNull();
    const { endpoint } = (await res.json()) as { endpoint: string };
    const call = await app.request(
      new Request(`http://atoll.test${endpoint}/`, { headers: { "x-api-key": a.apiKey } }),
      undefined,
      e,
    );
    expect(await call.text()).toBe("up");
  });

  it("gives up after its retries; the script the API stored before failing is deleted, no row is written", async () => {
    const { a, plugin, account, e } = await setup();
    await queueFaults(account, [
      { method: "PUT", status: 500 },
      { method: "PUT", status: 502 },
      { method: "PUT", status: 503 },
      // The last attempt lands, but its answer is a 500: the platform cannot know it landed.
      { method: "PUT", status: 500, store: true },
    ]);
    const res = await install(a, plugin, e);
    expect(res.status).toBe(502);
    expect(((await res.json()) as { type: string }).type).toMatch(/plugin-deploy-failed$/);
    expect(await rows(a.orgId)).toBe(0);
    const log = await apiLog(account);
    expect(log.map((l) => l.method)).toEqual(["PUT", "PUT", "PUT", "PUT", "DELETE"]);
    expect(await uploaded(scriptOf(log[0]?.path ?? ""), account)).toBeNull();
  });

  it("does not hold the caller through a long rate-limit block: 502 with Retry-After at once, nothing left", async () => {
    const { a, plugin, account, e } = await setup();
    await queueFaults(account, [{ method: "PUT", status: 429, retryAfter: 300 }]);
    const started = Date.now();
    const res = await install(a, plugin, e);
    expect(res.status).toBe(502);
    expect(res.headers.get("retry-after")).toBe("300");
    expect(((await res.json()) as { detail: string }).detail).toMatch(/try again in 300 s/);
    expect(Date.now() - started).toBeLessThan(1000);
    expect(await rows(a.orgId)).toBe(0);
    expect((await apiLog(account)).filter((l) => l.method === "PUT")).toHaveLength(1);
  });

  it("retires an installation against DELETE's empty 200 body, and retries a DELETE's 5xx", async () => {
    const { a, plugin, account, e } = await setup();
    const res = await install(a, plugin, e);
    const inst = (await res.json()) as { id: string };
    await queueFaults(account, [{ method: "DELETE", status: 503 }]);
    const del = await app.request(
      new Request(`http://atoll.test/v1/installations/${inst.id}`, {
        method: "DELETE",
        headers: { "x-api-key": a.apiKey },
      }),
      undefined,
      e,
    );
    expect(del.status).toBe(204);
    const log = await apiLog(account);
    expect(log.map((l) => l.method)).toEqual(["PUT", "DELETE", "DELETE"]);
    expect(await uploaded(scriptOf(log[0]?.path ?? ""), account)).toBeNull();
    // The client itself: the stand-in answers a delete as Cloudflare does, 200 and no body.
    const api = new ScriptsApi(cf.url, account, NAMESPACE, cf.token);
    await api.upload("atoll-direct-1", {
      mainModule: "index.js",
      modules: { "index.js": SOURCE },
      compatibilityDate: "2026-11-01",
      bindings: [],
      tags: ["atoll"],
    });
    const raw = await fetch(
      `${cf.url}/accounts/${account}/workers/dispatch/namespaces/${NAMESPACE}/scripts/atoll-direct-1`,
      { method: "DELETE", headers: { authorization: `Bearer ${cf.token}` } },
    );
    expect(raw.status).toBe(200);
    expect(await raw.text()).toBe("");
    await expect(api.delete("atoll-direct-1")).resolves.toBeUndefined(); // already gone: done
  });
});
