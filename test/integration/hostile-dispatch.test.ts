/**
 * The hostile-plugin suite (test/hostile/suite.ts) against the dispatch backend's path: installs
 * upload a user Worker to the Cloudflare API stand-in, calls go through the stand-in dispatch
 * namespace (test/dispatch-standin.ts), whose outbound side is the real outbound Worker
 * (workers/outbound) and whose subrequest limit is enforced per call as Cloudflare does.
 */
import { inject } from "vitest";
import { app } from "../../src/app";
import type { Account } from "../helpers";
import { dispatchEnv, standInDispatcher } from "../dispatch-standin";
import { hostileSuite, type HostileTarget } from "../hostile/suite";
import { publishZip, publisher, rawPackage } from "../plugin-helpers";

const canary = inject("canary");
let account: Account | undefined;
const { ns } = standInDispatcher();
const e = dispatchEnv(ns);

const request = (a: Account, path: string, init: RequestInit = {}) =>
  app.request(
    new Request(`http://atoll.test${path}`, {
      ...init,
      headers: { ...(init.headers as Record<string, string> | undefined), "x-api-key": a.apiKey },
    }),
    undefined,
    e,
  );

const target: HostileTarget = {
  canary,
  async install(source, manifest = {}) {
    account ??= await publisher("hd");
    const pub = await publishZip(account, rawPackage(account.slug, source, manifest));
    if (pub.status !== 201) throw new Error(`publish: ${pub.status} ${await pub.text()}`);
    const { plugin, permissions } = (await pub.json()) as {
      plugin: string;
      permissions: { permission: string }[];
    };
    const res = await request(account, "/v1/installations", {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ plugin, grants: permissions.map((p) => p.permission) }),
    });
    if (res.status !== 201) throw new Error(`install: ${res.status} ${await res.text()}`);
    return (await res.json()) as { id: string; endpoint: string };
  },
  async call(path, init = {}) {
    account ??= await publisher("hd");
    return request(account, path, init);
  },
  async hits(tag) {
    return (
      (await (await fetch(`${canary}/__canary/hits?tag=${encodeURIComponent(tag)}`)).json()) as {
        hits: number;
      }
    ).hits;
  },
};

hostileSuite("dispatch stand-in", () => target);
