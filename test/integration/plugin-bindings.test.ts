/**
 * What an installation's settings and secrets become as bindings, on the loader backend and on
 * the dispatch backend (against the strict Cloudflare API stand-in): write-only settings only as
 * secret_text bindings that the SDK reads back into `ctx.config`, and Cloudflare's 5 KB per
 * binding value refused at install and change with the field named, nothing written.
 */
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { app } from "../../src/app";
import { scriptName } from "../../src/runtime/dispatch-host";
import {
  apiLog,
  cf,
  dispatchEnv,
  standInAccount,
  standInDispatcher,
  uploaded,
} from "../dispatch-standin";
import { call, problem, type Account } from "../helpers";
import { examplePackage, publishZip, publisher, repack } from "../plugin-helpers";

/** The hello example with its greeting made a write-only setting. */
const sealedHello = (scope: string) =>
  repack(examplePackage("hello", scope), (m) => ({
    ...m,
    config: {
      type: "object",
      properties: { greeting: { type: "string", minLength: 1, writeOnly: true } },
      additionalProperties: false,
    },
  }));

const GREETING = "Psst-sealed-greeting";

const req = (a: Account, path: string, init: { method?: string; json?: unknown } = {}) =>
  new Request(`http://atoll.test${path}`, {
    method: init.method ?? "GET",
    headers: {
      "x-api-key": a.apiKey,
      ...(init.json !== undefined ? { "content-type": "application/json" } : {}),
    },
    body: init.json !== undefined ? JSON.stringify(init.json) : null,
  });

async function installCount(orgId: string): Promise<number> {
  const row = await env.DB.prepare("SELECT count(*) AS n FROM installations WHERE org_id = ?")
    .bind(orgId)
    .first<{ n: number }>();
  return row?.n ?? 0;
}

describe("write-only settings", () => {
  it("reach the plugin through the SDK on the loader backend", async () => {
    const a = await publisher("wo");
    await publishZip(a, sealedHello(a.slug));
    const res = await call("/v1/installations", {
      method: "POST",
      key: a.apiKey,
      json: { plugin: `@${a.slug}/hello`, grants: ["storage"], config: { greeting: GREETING } },
    });
    expect(res.status).toBe(201);
    const inst = (await res.json()) as { id: string; endpoint: string; config: object };
    expect(inst.config).toEqual({});
    const hello = await call(`${inst.endpoint}/hello/Ada`, { key: a.apiKey });
    expect(await hello.json()).toEqual({ message: `${GREETING}, Ada!` });
  });

  it("travel only as a secret_text binding in the upload; the json binding carries none of it", async () => {
    const a = await publisher("wo");
    await publishZip(a, sealedHello(a.slug));
    const { ns } = standInDispatcher();
    const e = dispatchEnv(ns);
    const res = await app.request(
      req(a, "/v1/installations", {
        method: "POST",
        json: { plugin: `@${a.slug}/hello`, grants: ["storage"], config: { greeting: GREETING } },
      }),
      undefined,
      e,
    );
    expect(res.status).toBe(201);
    const inst = (await res.json()) as { id: string; endpoint: string; createdAt: string };
    const name = scriptName({ installationId: inst.id, revision: Date.parse(inst.createdAt) });
    const script = await uploaded(name);
    expect(script?.metadata.bindings.find((b) => b.name === "CONFIG_greeting")).toEqual({
      type: "secret_text",
      name: "CONFIG_greeting",
      text: JSON.stringify(GREETING),
    });
    const facts = script?.metadata.bindings.find((b) => b.name === "ATOLL");
    expect(facts).toMatchObject({ type: "json", json: { config: {} } });
    const readable = JSON.stringify(
      script?.metadata.bindings.filter((b) => b.type !== "secret_text"),
    );
    expect(readable).not.toContain(GREETING);
    // What Cloudflare's bindings API would give back holds nothing sealed.
    const read = await fetch(
      `${cf.url}/accounts/acc_test/workers/dispatch/namespaces/atoll-plugins/scripts/${name}/bindings`,
      { headers: { authorization: `Bearer ${cf.token}` } },
    );
    expect(read.status).toBe(200);
    const text = await read.text();
    expect(text).toContain("CONFIG_greeting");
    expect(text).not.toContain(GREETING);

    const hello = await app.request(req(a, `${inst.endpoint}/hello/Ada`), undefined, e);
    expect(await hello.json()).toEqual({ message: `${GREETING}, Ada!` });
  });
});

describe("Cloudflare's 5 KB per binding value", () => {
  // 2,501 characters (the API's 4,096-character cap lets it through), 5,002 bytes of UTF-8.
  const WIDE = "é".repeat(2501);

  it("refuses an install whose secret's binding would exceed it, naming it; nothing is uploaded or stored", async () => {
    const a = await publisher("kb");
    await publishZip(a, examplePackage("payment-gateway", a.slug));
    const account = await standInAccount();
    const { ns } = standInDispatcher(account);
    const res = await app.request(
      req(a, "/v1/installations", {
        method: "POST",
        json: {
          plugin: `@${a.slug}/payment-gateway`,
          grants: ["network:api.stripe.com", "secrets:PAYMENT_API_KEY", "storage", "payments"],
          secrets: { PAYMENT_API_KEY: WIDE },
        },
      }),
      undefined,
      dispatchEnv(ns, cf.token, account),
    );
    expect(res.status).toBe(400);
    const p = await problem(res);
    expect(p.errors).toEqual([
      { path: "secrets.PAYMENT_API_KEY", message: expect.stringMatching(/5002 bytes.*5000/) },
    ]);
    expect(await apiLog(account)).toEqual([]);
    expect(await installCount(a.orgId)).toBe(0);
  });

  it("refuses plain settings that together exceed it (one json binding), naming config", async () => {
    const a = await publisher("kb");
    await publishZip(a, examplePackage("hello", a.slug));
    const res = await call("/v1/installations", {
      method: "POST",
      key: a.apiKey,
      json: {
        plugin: `@${a.slug}/hello`,
        grants: ["storage"],
        config: { greeting: "x".repeat(40) },
      },
    });
    expect(res.status).toBe(201); // the schema's maxLength keeps hello's settings small
    const b = await publisher("kb");
    await publishZip(
      b,
      repack(examplePackage("hello", b.slug), (m) => ({
        ...m,
        config: { type: "object", properties: { greeting: { type: "string" } } },
      })),
    );
    const big = await call("/v1/installations", {
      method: "POST",
      key: b.apiKey,
      json: {
        plugin: `@${b.slug}/hello`,
        grants: ["storage"],
        config: { greeting: "x".repeat(5000) },
      },
    });
    expect(big.status).toBe(400);
    expect((await problem(big)).errors).toEqual([
      { path: "config", message: expect.stringContaining("ATOLL") },
    ]);
    expect(await installCount(b.orgId)).toBe(0);
  });

  it("refuses a change that would make a write-only setting exceed it; the installation is unchanged", async () => {
    const a = await publisher("kb");
    await publishZip(a, sealedHello(a.slug));
    const res = await call("/v1/installations", {
      method: "POST",
      key: a.apiKey,
      json: { plugin: `@${a.slug}/hello`, grants: ["storage"], config: { greeting: GREETING } },
    });
    const inst = (await res.json()) as { id: string; endpoint: string };
    const change = await call(`/v1/installations/${inst.id}`, {
      method: "PATCH",
      key: a.apiKey,
      json: { config: { greeting: WIDE } },
    });
    expect(change.status).toBe(400);
    expect((await problem(change)).errors).toEqual([
      { path: "config.greeting", message: expect.stringContaining("CONFIG_greeting") },
    ]);
    const hello = await call(`${inst.endpoint}/hello/Ada`, { key: a.apiKey });
    expect(await hello.json()).toEqual({ message: `${GREETING}, Ada!` });
  });
});
