import { describe, expect, it } from "vitest";
import { call, problem } from "../helpers";
import {
  examplePackage,
  publishAndInstall,
  publishZip,
  publisher,
  repack,
} from "../plugin-helpers";

async function setup() {
  const a = await publisher("u");
  const inst = await publishAndInstall(a, examplePackage("hello", a.slug, "1.0.0"), {
    config: { greeting: "Hi" },
  });
  await publishZip(a, examplePackage("hello", a.slug, "1.1.0"));
  await publishZip(
    a,
    repack(examplePackage("hello", a.slug), (m) => ({
      ...m,
      version: "2.0.0",
      permissions: ["storage", "network:api.stripe.com"],
    })),
  );
  const patch = (json: unknown) =>
    call(`/v1/installations/${inst.id}`, { method: "PATCH", key: a.apiKey, json });
  return { a, inst, patch };
}

describe("changing an installation", () => {
  it("upgrades and downgrades between published versions, keeping config and storage", async () => {
    const { a, inst, patch } = await setup();
    await call(`${inst.endpoint}/visits`, { method: "POST", key: a.apiKey });
    const up = await patch({ version: "1.1.0" });
    expect(up.status).toBe(200);
    expect(await up.json()).toMatchObject({ version: "1.1.0", config: { greeting: "Hi" } });
    expect(await (await call(`${inst.endpoint}/hello/Ada`, { key: a.apiKey })).json()).toEqual({
      message: "Hi, Ada!",
    });
    expect(
      await (await call(`${inst.endpoint}/visits`, { method: "POST", key: a.apiKey })).json(),
    ).toEqual({ visits: 2 });
    expect(
      ((await (await patch({ version: "1.0.0" })).json()) as { version: string }).version,
    ).toBe("1.0.0");
    const history = (await (
      await call(`/v1/installations/${inst.id}/history`, { key: a.apiKey })
    ).json()) as {
      events: { action: string; fromVersion: string | null; toVersion: string | null }[];
    };
    expect(history.events.map((e) => [e.action, e.fromVersion, e.toVersion])).toEqual([
      ["installed", null, "1.0.0"],
      ["upgraded", "1.0.0", "1.1.0"],
      ["downgraded", "1.1.0", "1.0.0"],
    ]);
  });

  it("requires re-granting when the new version asks for more, naming what is missing", async () => {
    const { patch } = await setup();
    const res = await patch({ version: "2.0.0" });
    expect(res.status).toBe(400);
    expect((await problem(res)).detail).toContain("network:api.stripe.com");
    const ok = await patch({ version: "2.0.0", grants: ["storage", "network:api.stripe.com"] });
    expect(ok.status).toBe(200);
    expect(
      ((await ok.json()) as { grants: { permission: string }[] }).grants.map((g) => g.permission),
    ).toContain("network:api.stripe.com");
  });

  it("refuses yanked or unknown target versions and invalid config, changing nothing", async () => {
    const { a, inst, patch } = await setup();
    await call(`/v1/plugins/@${a.slug}/hello/versions/1.1.0/yank`, {
      method: "POST",
      key: a.apiKey,
    });
    expect((await patch({ version: "1.1.0" })).status).toBe(404);
    expect((await patch({ version: "9.9.9" })).status).toBe(404);
    expect((await patch({ config: { greeting: 7 } })).status).toBe(400);
    const got = (await (await call(`/v1/installations/${inst.id}`, { key: a.apiKey })).json()) as {
      version: string;
      config: unknown;
    };
    expect(got).toMatchObject({ version: "1.0.0", config: { greeting: "Hi" } });
  });

  it("keeps the history after uninstall, and hides it from other organizations", async () => {
    const { a, inst } = await setup();
    await call(`/v1/installations/${inst.id}`, { method: "DELETE", key: a.apiKey });
    const history = (await (
      await call(`/v1/installations/${inst.id}/history`, { key: a.apiKey })
    ).json()) as { events: { action: string }[] };
    expect(history.events.map((e) => e.action)).toEqual(["installed", "uninstalled"]);
    const other = await publisher("o");
    expect((await call(`/v1/installations/${inst.id}/history`, { key: other.apiKey })).status).toBe(
      404,
    );
    expect(
      (
        await call(`/v1/installations/${inst.id}`, {
          method: "PATCH",
          key: other.apiKey,
          json: { version: "1.0.0" },
        })
      ).status,
    ).toBe(404);
  });
});
