/** The hostile-plugin suite (test/hostile/suite.ts) against the `loader` backend, in workerd. */
import { describe, expect, inject, it } from "vitest";
import { call, type Account } from "../helpers";
import { hostileSuite, type HostileTarget } from "../hostile/suite";
import { connected } from "../integration-helpers";
import { publishAndInstall, publisher, rawPackage } from "../plugin-helpers";

let account: Account | undefined;
const canary = inject("canary");

const target: HostileTarget = {
  canary,
  async install(source, manifest = {}) {
    account ??= await publisher("h");
    return publishAndInstall(account, rawPackage(account.slug, source, manifest));
  },
  async call(path, init = {}) {
    account ??= await publisher("h");
    return call(path, { ...init, key: account.apiKey });
  },
  async hits(tag) {
    const res = await fetch(`${canary}/__canary/hits?tag=${encodeURIComponent(tag)}`);
    return ((await res.json()) as { hits: number }).hits;
  },
};

hostileSuite("loader", () => target);

describe("hostile plugins (loader backend): integration calls", () => {
  it("spend the call's subrequests like fetches do", async () => {
    const a = await publisher("hi");
    await connected(a, "slack");
    const source = `export default { async fetch(req, env) {
      if (new URL(req.url).pathname.startsWith("/__atoll/")) return new Response(null, { status: 404 });
      const statuses = [];
      for (let i = 0; i < 5; i++) statuses.push((await env.INTEGRATIONS.request("slack", "/api/auth.test", { method: "POST" })).status);
      return Response.json({ statuses });
    } };`;
    const inst = await publishAndInstall(
      a,
      rawPackage(a.slug, source, {
        permissions: ["integrations:slack"],
        limits: { subrequests: 2 },
      }),
      { environment: "production" },
    );
    const res = await call(`${inst.endpoint}/go`, { key: a.apiKey });
    expect(await res.json()).toEqual({ statuses: [200, 200, 429, 429, 429] });
  });
});
