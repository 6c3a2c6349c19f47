/**
 * `POST /__host/integrations`, the local plugin host's bridge for integration calls: it acts only
 * on a grant the gateway sealed for one installation at one revision, and takes the organization,
 * environment and providers from that installation — never from the request.
 */
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { seal } from "../../src/runtime/host-auth";
import { call, hostRelay } from "../helpers";
import { connected } from "../integration-helpers";
import { publishAndInstall, publisher, rawPackage } from "../plugin-helpers";

const PLUGIN = `export default { fetch() { return new Response("ok"); } };`;

async function grantFor(
  installationId: string,
  opts: { exp?: number; revision?: number; secret?: string } = {},
): Promise<string> {
  const row = await env.DB.prepare("SELECT updated_at AS revision FROM installations WHERE id = ?")
    .bind(installationId)
    .first<{ revision: number }>();
  return seal(opts.secret ?? env.ATOLL_HOST_SECRET ?? "", {
    kind: "grant",
    exp: opts.exp ?? Date.now() + 60_000,
    installationId,
    revision: opts.revision ?? row?.revision ?? 0,
  });
}

const bridge = (body: Record<string, unknown>) => hostRelay("/__host/integrations", body);

describe("POST /__host/integrations (the plugin host's loopback bridge)", () => {
  it("forwards a call with a valid grant to the installation's own organization's connection", async () => {
    const a = await publisher("hb");
    await connected(a, "slack");
    const inst = await publishAndInstall(
      a,
      rawPackage(a.slug, PLUGIN, { permissions: ["integrations:slack"] }),
      { environment: "production" },
    );
    const res = await bridge({
      grant: await grantFor(inst.id),
      provider: "slack",
      path: "/api/auth.test",
      init: { method: "POST" },
    });
    expect(res.status).toBe(200);
    const forwarded = (await res.json()) as { status: number; body: string };
    expect(forwarded.status).toBe(200);
    expect(forwarded.body).toContain('"ok":true');
  });

  it("ignores organization, environment and providers sent by the caller", async () => {
    const victim = await publisher("hv");
    await connected(victim, "slack");
    const attacker = await publisher("ha");
    const inst = await publishAndInstall(
      attacker,
      rawPackage(attacker.slug, PLUGIN, { permissions: ["integrations:slack"] }),
      { environment: "production" },
    );
    const res = await bridge({
      grant: await grantFor(inst.id),
      props: {
        installationId: inst.id,
        orgId: victim.orgId,
        environment: "production",
        providers: ["slack", "hubspot"],
      },
      provider: "slack",
      path: "/api/auth.test",
      init: {},
    });
    // The attacker's organization has no Slack connection: the victim's is never used.
    expect(((await res.json()) as { status: number }).status).toBe(424);
    const other = await bridge({
      grant: await grantFor(inst.id),
      provider: "hubspot",
      path: "/x",
      init: {},
    });
    expect(((await other.json()) as { status: number }).status).toBe(403);
  });

  it.each([
    ["no grant", async () => ({ provider: "slack", path: "/api/auth.test", init: {} }), 403],
    [
      "the old shape (props and the old constant secret)",
      async () => ({
        props: {
          installationId: "ins_x",
          orgId: "org_x",
          environment: "production",
          providers: ["slack"],
        },
        provider: "slack",
        path: "/api/auth.test",
        init: {},
      }),
      403,
    ],
    [
      "a forged grant",
      async () => ({
        grant: "eyJraW5kIjoiZ3JhbnQifQ.AAAA",
        provider: "slack",
        path: "/",
        init: {},
      }),
      403,
    ],
    [
      "a grant sealed with another secret",
      async (id: string) => ({
        grant: await grantFor(id, { secret: "not-the-host-secret" }),
        provider: "slack",
        path: "/",
        init: {},
      }),
      403,
    ],
    [
      "an expired grant",
      async (id: string) => ({
        grant: await grantFor(id, { exp: Date.now() - 1 }),
        provider: "slack",
        path: "/",
        init: {},
      }),
      403,
    ],
    [
      "a grant for an older revision",
      async (id: string) => ({
        grant: await grantFor(id, { revision: -1 }),
        provider: "slack",
        path: "/",
        init: {},
      }),
      403,
    ],
  ])("refuses %s", async (_label, body, status) => {
    const a = await publisher("hr");
    const inst = await publishAndInstall(
      a,
      rawPackage(a.slug, PLUGIN, { permissions: ["integrations:slack"] }),
      { environment: "production" },
    );
    expect((await bridge(await body(inst.id))).status).toBe(status);
  });

  it("refuses the unsealed shape with a valid grant, and a relay sent twice", async () => {
    const a = await publisher("hs");
    await connected(a, "slack");
    const inst = await publishAndInstall(
      a,
      rawPackage(a.slug, PLUGIN, { permissions: ["integrations:slack"] }),
      { environment: "production" },
    );
    const fields = { provider: "slack", path: "/api/auth.test", init: { method: "POST" } };
    const unsealed = await call("/__host/integrations", {
      method: "POST",
      json: { grant: await grantFor(inst.id), ...fields },
    });
    expect(unsealed.status).toBe(403);
    const { sealRelay } = await import("../../src/runtime/host-auth");
    const relay = await sealRelay(
      env.ATOLL_HOST_SECRET ?? "",
      "/__host/integrations",
      await grantFor(inst.id),
      JSON.stringify(fields),
    );
    const send = () => call("/__host/integrations", { method: "POST", body: relay });
    expect((await send()).status).toBe(200);
    expect((await send()).status).toBe(403);
    // A relay sealed for the logs bridge does not open here.
    const elsewhere = await sealRelay(
      env.ATOLL_HOST_SECRET ?? "",
      "/__host/logs",
      await grantFor(inst.id),
      JSON.stringify(fields),
    );
    expect((await call("/__host/integrations", { method: "POST", body: elsewhere })).status).toBe(
      403,
    );
  });
});
