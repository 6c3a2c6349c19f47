/**
 * Races as real concurrent requests: every race ends in one truthful state — history, audit and
 * counters record only what happened.
 */
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { OPERATOR_KEY, call } from "../helpers";
import { connect, standin } from "../integration-helpers";
import { brokerFor } from "../../src/integrations/connections.routes";
import {
  examplePackage,
  installPlugin,
  publishAndInstall,
  publisher,
  rawPackage,
} from "../plugin-helpers";

/** A plugin whose cleanup takes a while, as a real one's might (the race window of uninstall). */
const SLOW_CLEANUP = `export default { async fetch(req) {
  if (new URL(req.url).pathname === "/__atoll/cleanup") await new Promise((r) => setTimeout(r, 300));
  return Response.json({ ok: true });
} }`;

const count = async (q: string, ...binds: unknown[]) =>
  (
    await env.DB.prepare(q)
      .bind(...binds)
      .first<{ n: number }>()
  )?.n ?? -1;
const installCount = (plugin: string) =>
  count("SELECT install_count AS n FROM plugins WHERE name = ?", plugin);

describe("racing PATCHes of one installation", () => {
  it("writes one history event and one audit entry per change that happened, none for the 409s", async () => {
    const a = await publisher("rpatch");
    const inst = await publishAndInstall(a, examplePackage("hello", a.slug, "1.0.0"), {
      config: { greeting: "Hi" },
    });
    const answers = await Promise.all(
      Array.from({ length: 6 }, (_, i) =>
        call(`/v1/installations/${inst.id}`, {
          method: "PATCH",
          key: a.apiKey,
          json: { config: { greeting: `G${i}` } },
        }),
      ),
    );
    const statuses = answers.map((r) => r.status);
    const ok = statuses.filter((s) => s === 200).length;
    expect(ok).toBeGreaterThanOrEqual(1);
    expect(ok + statuses.filter((s) => s === 409).length).toBe(6);
    expect(
      await count(
        "SELECT COUNT(*) AS n FROM installation_events WHERE installation_id = ? AND action = 'reconfigured'",
        inst.id,
      ),
    ).toBe(ok);
    expect(
      await count(
        "SELECT COUNT(*) AS n FROM audit_log WHERE target = ? AND action = 'installation.reconfigured'",
        inst.id,
      ),
    ).toBe(ok);
  });
});

describe("racing DELETEs of one installation", () => {
  it("uninstalls once: one 204, the others 404, the install count drops by one, one history event", async () => {
    const a = await publisher("rdel");
    const inst = await publishAndInstall(a, rawPackage(a.slug, SLOW_CLEANUP));
    // Four more organizations install it, so a wrong count is visible rather than clamped at 0.
    for (let i = 0; i < 4; i++) {
      const b = await publisher("rdelb");
      const res = await installPlugin(b, { plugin: inst.plugin, grants: [] });
      expect(res.status).toBe(201);
    }
    expect(await installCount(inst.plugin)).toBe(5);
    const answers = await Promise.all(
      Array.from({ length: 8 }, () =>
        call(`/v1/installations/${inst.id}`, { method: "DELETE", key: a.apiKey }),
      ),
    );
    const statuses = answers.map((r) => r.status).sort();
    expect(statuses.filter((s) => s === 204)).toHaveLength(1);
    expect(statuses.filter((s) => s !== 204).every((s) => s === 404)).toBe(true);
    expect(await installCount(inst.plugin)).toBe(4);
    expect(
      await count(
        "SELECT COUNT(*) AS n FROM installation_events WHERE installation_id = ? AND action = 'uninstalled'",
        inst.id,
      ),
    ).toBe(1);
    expect(
      await count(
        "SELECT COUNT(*) AS n FROM audit_log WHERE target = ? AND action = 'installation.removed'",
        inst.id,
      ),
    ).toBe(1);
  });
});

describe("POST /v1/operator/install-counts/recount", () => {
  it("recomputes every listing's install count from the active installations, and is operator-only", async () => {
    const a = await publisher("rcount");
    const inst = await publishAndInstall(a, examplePackage("hello", a.slug, "1.0.0"), {
      config: { greeting: "Hi" },
    });
    await env.DB.prepare("UPDATE plugins SET install_count = 42 WHERE name = ?")
      .bind(inst.plugin)
      .run();
    expect(
      (await call("/v1/operator/install-counts/recount", { method: "POST", key: a.apiKey })).status,
    ).toBe(403);
    const res = await call("/v1/operator/install-counts/recount", {
      method: "POST",
      key: OPERATOR_KEY,
    });
    expect(res.status).toBe(200);
    const body = (await res.json()) as {
      corrected: { plugin: string; from: number; to: number }[];
    };
    expect(body.corrected).toContainEqual({ plugin: inst.plugin, from: 42, to: 1 });
    expect(await installCount(inst.plugin)).toBe(1);
    const again = (await (
      await call("/v1/operator/install-counts/recount", { method: "POST", key: OPERATOR_KEY })
    ).json()) as { corrected: { plugin: string }[] };
    expect(again.corrected.some((c) => c.plugin === inst.plugin)).toBe(false);
  });
});

describe("disconnecting during a token refresh", () => {
  it("keeps the connection revoked: the refresh in flight neither re-saves credentials nor reactivates it", async () => {
    const a = await publisher("rrev");
    const client = { clientId: `sf-${crypto.randomUUID()}`, clientSecret: "sf-race-secret" };
    await standin("/__standin/salesforce/clients", client);
    const res = await connect(a, "salesforce", { credentials: client });
    expect(res.status).toBe(201);
    const { id } = (await res.json()) as { id: string };
    // The next token answer takes 1.5 s; the next API call is refused, which starts a refresh.
    await standin("/__standin/salesforce/clients", { ...client, tokenDelayMs: 1500 });
    await standin("/__standin/faults", {
      provider: "salesforce",
      status: 401,
      count: 1,
      match: `race-${id}`,
    });
    const broker = brokerFor(env, id);
    const inFlight = (async () => {
      try {
        return {
          ok: (
            await broker.request(id, {
              path: `/services/data/v59.0/query?q=${encodeURIComponent(`SELECT Id FROM Contact WHERE Name = 'race-${id}'`)}`,
              retries: 0,
            })
          ).ok,
        };
      } catch (err) {
        return { ok: false, error: String(err) };
      }
    })();
    await new Promise((r) => setTimeout(r, 400));
    expect((await call(`/v1/connections/${id}`, { method: "DELETE", key: a.apiKey })).status).toBe(
      204,
    );
    expect((await inFlight).ok).toBe(false);
    const row = await env.DB.prepare(
      "SELECT status, credentials_enc, grant_enc, revoked_at FROM connections WHERE id = ?",
    )
      .bind(id)
      .first<{
        status: string;
        credentials_enc: string;
        grant_enc: string | null;
        revoked_at: number | null;
      }>();
    expect(row).toMatchObject({ status: "revoked", credentials_enc: "", grant_enc: null });
    expect(row?.revoked_at).not.toBeNull();
    // And it cannot be used afterwards, even by the broker that refreshed.
    const after = await (async () => {
      try {
        await broker.request(id, { path: "/services/data/v59.0/sobjects", retries: 0 });
        return "resolved";
      } catch (err) {
        return String(err);
      }
    })();
    expect(after).toMatch(/revoked/);
  }, 20_000);
});
