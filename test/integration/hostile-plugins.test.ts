/** The hostile-plugin suite (test/hostile/suite.ts) against the `loader` backend, in workerd. */
import { inject } from "vitest";
import { call } from "../helpers";
import { hostileSuite, type HostileTarget } from "../hostile/suite";
import { publishAndInstall, publisher, rawPackage } from "../plugin-helpers";
import type { Account } from "../helpers";

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
