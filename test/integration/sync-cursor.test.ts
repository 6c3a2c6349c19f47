/**
 * Issue 17 item 4: a sync delivers every record exactly once even when many records share one
 * modification time (a bulk import, a provider's batch job) — more than a page of them, and a
 * cluster split by a page boundary — and records modified while paging still arrive with their
 * last state. The stand-ins hand out equal timestamps on request and implement the providers' query
 * semantics (SOQL's OR/AND with ORDER BY several fields; HubSpot's one sort rule with ties in no
 * particular order). Each test uses its own Salesforce org / HubSpot portal of the stand-in.
 */
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { eq } from "drizzle-orm";
import { call, problem, type Account } from "../helpers";
import { publisher } from "../plugin-helpers";
import { connect, saas, standin } from "../integration-helpers";
import { PAGE_SIZE, runPage, startRun } from "../../src/integrations/sync";
import { getDb } from "../../src/platform/db/client";
import { syncRuns, syncs } from "../../src/platform/db/schema";

const db = getDb(env.DB);
const uid = () => Math.random().toString(36).slice(2, 10);

type SfContact = { Id: string; LastName: string; Email?: string; Atoll_External_Id__c?: string };
type SfOrg = { contacts: SfContact[]; queries: string[]; writes: string[] };

async function sfOrg(clientId: string): Promise<SfOrg> {
  return standin<SfOrg>(`/__standin/salesforce/orgs/${clientId}`);
}
async function newSfOrg(a: Account): Promise<{ clientId: string; connectionId: string }> {
  const clientId = `sf-${uid()}`;
  await standin("/__standin/salesforce/clients", {
    clientId,
    clientSecret: "sf-secret",
    isolated: true,
  });
  const res = await connect(a, "salesforce", {
    credentials: { clientId, clientSecret: "sf-secret" },
  });
  expect(res.status).toBe(201);
  return { clientId, connectionId: ((await res.json()) as { id: string }).id };
}
async function newPortal(a: Account): Promise<{ token: string; connectionId: string }> {
  const token = `pat-na1-${uid()}`;
  await standin("/__standin/hubspot/portals", { token });
  const res = await connect(a, "hubspot", { credentials: { accessToken: token } });
  expect(res.status).toBe(201);
  return { token, connectionId: ((await res.json()) as { id: string }).id };
}
async function seedSf(clientId: string, at: number, n: number, tag: string): Promise<SfContact[]> {
  const contacts = Array.from({ length: n }, (_, i) => ({
    LastName: `${tag}-${i}`,
    Email: `${tag}-${i}@example.com`,
  }));
  return (
    await standin<{ records: SfContact[] }>("/__standin/salesforce/contacts", {
      clientId,
      modstamp: new Date(at).toISOString(),
      contacts,
    })
  ).records;
}
async function seedHs(
  token: string,
  at: number,
  n: number,
  tag: string,
): Promise<{ id: string }[]> {
  return (
    await standin<{ results: { id: string }[] }>("/__standin/hubspot/contacts", {
      token,
      lastmodifieddate: new Date(at).toISOString(),
      batch: Array.from({ length: n }, (_, i) => ({
        properties: { lastname: `${tag}-${i}`, email: `${tag}-${i}@example.com` },
      })),
    })
  ).results;
}
async function createSync(a: Account, source: string, target: string, mapping: unknown[]) {
  const res = await call("/v1/syncs", {
    method: "POST",
    key: a.apiKey,
    json: { source, target, object: "contacts", mapping, intervalSeconds: 300 },
  });
  expect(res.status).toBe(201);
  return ((await res.json()) as { id: string }).id;
}

/** Runs pages until done; `between(page)` runs after each page (edits made while paging). */
async function runAll(syncId: string, between: (page: number) => Promise<void> = async () => {}) {
  const [s] = await db.select().from(syncs).where(eq(syncs.id, syncId));
  const run = await startRun(db, s!, "manual");
  expect(run).not.toBeNull();
  const outcomes: string[] = [];
  for (let page = 1; page <= 40; page++) {
    const o = await runPage(env, { syncId, runId: run!.id });
    outcomes.push(o.kind);
    if (o.kind !== "more") break;
    await between(page);
  }
  const [r] = await db.select().from(syncRuns).where(eq(syncRuns.id, run!.id));
  return { outcomes, run: r! };
}

const count = (xs: string[]) => xs.reduce((m, x) => m.set(x, (m.get(x) ?? 0) + 1), new Map());

// The layout: 5 records, then 120 sharing one timestamp (more than two pages of 50), then a
// cluster that a page boundary splits, then 3 more.
const T0 = Date.parse("2025-03-01T10:00:00.000Z");
const [T1, T2, T3, T4] = [T0 + 1000, T0 + 2000, T0 + 3000, T0 + 4000];

describe("records sharing a modification time", () => {
  it("Salesforce as the source: every record arrives exactly once (ties broken by Id)", async () => {
    expect(PAGE_SIZE).toBe(50);
    const a = await publisher("tie-sf");
    const src = await newSfOrg(a);
    const dst = await newSfOrg(a);
    const tag = uid();
    const seeded = [
      ...(await seedSf(src.clientId, T0, 5, `${tag}a`)),
      ...(await seedSf(src.clientId, T1, 120, `${tag}b`)),
      ...(await seedSf(src.clientId, T2, 40, `${tag}c`)),
      ...(await seedSf(src.clientId, T3, 3, `${tag}d`)),
    ];
    const syncId = await createSync(a, src.connectionId, dst.connectionId, [
      { to: "LastName", from: "LastName" },
      { to: "Email", from: "Email" },
    ]);
    // While paging: a record already delivered and one not yet delivered both change (they move
    // to a later timestamp, as a real edit does).
    const early = seeded[0]!;
    const late = seeded.find((c) => c.LastName === `${tag}c-30`)!;
    const { outcomes, run } = await runAll(syncId, async (page) => {
      if (page === 2)
        await standin("/__standin/salesforce/contacts", {
          clientId: src.clientId,
          modstamp: new Date(T4).toISOString(),
          contacts: [
            { Id: early.Id, LastName: `${tag}-early-edited` },
            { Id: late.Id, LastName: `${tag}-late-edited` },
          ],
        });
    });
    expect(outcomes.at(-1)).toBe("done");
    const target = await sfOrg(dst.clientId);
    const ids = target.contacts.map((c) => c.Atoll_External_Id__c ?? "");
    expect(new Set(ids)).toEqual(new Set(seeded.map((c) => `salesforce-${c.Id}`)));
    expect(target.contacts).toHaveLength(seeded.length);
    // Each record was written once; the one edited after its delivery once more.
    const writes = count(target.writes);
    expect(writes.get(`salesforce-${early.Id}`)).toBe(2);
    expect([...writes.values()].filter((n) => n !== 1)).toEqual([2]);
    expect(run).toMatchObject({ created: seeded.length, updated: 1, failed: 0 });
    const byId = new Map(target.contacts.map((c) => [c.Atoll_External_Id__c, c]));
    expect(byId.get(`salesforce-${early.Id}`)?.LastName).toBe(`${tag}-early-edited`);
    expect(byId.get(`salesforce-${late.Id}`)?.LastName).toBe(`${tag}-late-edited`);
    // The queries are the tie-breaking ones, every one accepted by the SOQL the stand-in parses.
    const queries = (await sfOrg(src.clientId)).queries;
    expect(
      queries
        .slice(1)
        .every((q) =>
          /SystemModstamp > \S+ OR \(SystemModstamp = \S+ AND Id > '[A-Za-z0-9]{18}'\) ORDER BY SystemModstamp ASC, Id ASC/.test(
            q,
          ),
        ),
    ).toBe(true);
  }, 60_000);

  it("HubSpot as the source: every record arrives exactly once (one sort rule, ties unordered)", async () => {
    const a = await publisher("tie-hs");
    const src = await newPortal(a);
    const dst = await newSfOrg(a);
    const tag = uid();
    const seeded = [
      ...(await seedHs(src.token, T0, 5, `${tag}a`)),
      ...(await seedHs(src.token, T1, 120, `${tag}b`)),
      ...(await seedHs(src.token, T2, 60, `${tag}c`)),
      ...(await seedHs(src.token, T3, 3, `${tag}d`)),
    ];
    const syncId = await createSync(a, src.connectionId, dst.connectionId, [
      { to: "LastName", from: "lastname" },
      { to: "Email", from: "email" },
    ]);
    const early = seeded[0]!;
    const late = seeded[5 + 120 + 40]!;
    const { outcomes, run } = await runAll(syncId, async (page) => {
      if (page === 2)
        for (const [c, name] of [
          [early, "early"],
          [late, "late"],
        ] as const)
          await standin("/__standin/hubspot/contacts", {
            token: src.token,
            id: c.id,
            lastmodifieddate: new Date(T4).toISOString(),
            properties: { lastname: `${tag}-${name}-edited` },
          });
    });
    expect(outcomes.at(-1)).toBe("done");
    const target = await sfOrg(dst.clientId);
    expect(new Set(target.contacts.map((c) => c.Atoll_External_Id__c))).toEqual(
      new Set(seeded.map((c) => `hubspot-${c.id}`)),
    );
    expect(target.contacts).toHaveLength(seeded.length);
    const writes = count(target.writes);
    expect(writes.get(`hubspot-${early.id}`)).toBe(2);
    expect([...writes.values()].filter((n) => n !== 1)).toEqual([2]);
    expect(run).toMatchObject({ created: seeded.length, updated: 1, failed: 0 });
    const byId = new Map(target.contacts.map((c) => [c.Atoll_External_Id__c, c]));
    expect(byId.get(`hubspot-${late.id}`)?.LastName).toBe(`${tag}-late-edited`);
    // HubSpot allows one sort rule: the stand-in refuses more, and every search had at most one.
    const portal = await standin<{ searches: { sorts?: unknown[] }[] }>(
      `/__standin/hubspot/portals/${src.token}`,
    );
    expect(portal.searches.every((q) => (q.sorts ?? []).length <= 1)).toBe(true);
  }, 60_000);

  it("a cursor stored in the old format (a bare timestamp) still works, and also recovers the records it skipped at that timestamp", async () => {
    const a = await publisher("legacy");
    const sf = await newSfOrg(a);
    const hs = await newPortal(a);
    const dst = await newSfOrg(a);
    const tag = uid();
    await seedSf(sf.clientId, T0, 3, `${tag}a`);
    const sfAt = await seedSf(sf.clientId, T1, 4, `${tag}b`);
    const sfAfter = await seedSf(sf.clientId, T2, 2, `${tag}c`);
    await seedHs(hs.token, T0, 3, `${tag}a`);
    const hsAt = await seedHs(hs.token, T1, 4, `${tag}b`);
    const hsAfter = await seedHs(hs.token, T2, 2, `${tag}c`);
    const mapSf = [{ to: "LastName", from: "LastName" }];
    const mapHs = [{ to: "LastName", from: "lastname" }];
    const s1 = await createSync(a, sf.connectionId, dst.connectionId, mapSf);
    const s2 = await createSync(a, hs.connectionId, dst.connectionId, mapHs);
    await db
      .update(syncs)
      .set({ cursor: new Date(T1).toISOString() })
      .where(eq(syncs.id, s1));
    await db
      .update(syncs)
      .set({ cursor: String(T1) })
      .where(eq(syncs.id, s2));
    expect((await runAll(s1)).outcomes.at(-1)).toBe("done");
    expect((await runAll(s2)).outcomes.at(-1)).toBe("done");
    const got = new Set((await sfOrg(dst.clientId)).contacts.map((c) => c.Atoll_External_Id__c));
    expect(got).toEqual(
      new Set([
        ...[...sfAt, ...sfAfter].map((c) => `salesforce-${c.Id}`),
        ...[...hsAt, ...hsAfter].map((c) => `hubspot-${c.id}`),
      ]),
    );
  }, 60_000);

  it.each([
    ["2025-03-01T10:00:00Z OR Name != ''", "a timestamp with a clause"],
    ["2025-03-01T10:00:00.000Z|003' OR Name != '", "an id that closes the quote"],
    ["2025-03-01T10:00:00.000Z|003aaaaaaaaaaaa\\' OR LastName != \\'", "an escaped quote"],
    ["2025-03-01T10:00:00.000Z|003aaaaaaaaaaaaAAA LIMIT 1", "an id with trailing SOQL"],
    ["2025-03-01T10:00:00.000Z) OR (Id != null", "a parenthesis"],
  ])(
    "a Salesforce cursor with SOQL in it (%s: %s) never reaches the query",
    async (cursor) => {
      const a = await publisher("inject");
      const src = await newSfOrg(a);
      const dst = await newSfOrg(a);
      await seedSf(src.clientId, T0, 2, uid());
      const syncId = await createSync(a, src.connectionId, dst.connectionId, [
        { to: "LastName", from: "LastName" },
      ]);
      await db.update(syncs).set({ cursor }).where(eq(syncs.id, syncId));
      const { outcomes } = await runAll(syncId);
      expect(outcomes.at(-1)).toBe("done");
      const { queries } = await sfOrg(src.clientId);
      expect(queries.length).toBeGreaterThan(0);
      for (const q of queries) {
        expect(q).not.toMatch(/Name !=|LIMIT 1\b|null|\\'/);
        // Only the two shapes the connector writes, with only a datetime literal and an 18-char Id.
        expect(q).toMatch(
          /^SELECT [A-Za-z, ]+ FROM Contact( WHERE SystemModstamp > [0-9T:.Z-]+ OR \(SystemModstamp = [0-9T:.Z-]+ AND Id > '[A-Za-z0-9]{18}'\))? ORDER BY SystemModstamp ASC, Id ASC LIMIT \d+$/,
        );
      }
    },
    30_000,
  );
});

describe("a source answering ids or timestamps that are not its own", () => {
  it("a Salesforce record whose Id carries SOQL is refused as a malformed answer: the cursor does not take it", async () => {
    const a = await publisher("hostile-id");
    const src = await newSfOrg(a);
    const dst = await newSfOrg(a);
    await standin("/__standin/salesforce/contacts", {
      clientId: src.clientId,
      modstamp: new Date(T0).toISOString(),
      contacts: [{ Id: "003' OR Name != '", LastName: "Hostile" }],
    });
    const syncId = await createSync(a, src.connectionId, dst.connectionId, [
      { to: "LastName", from: "LastName" },
    ]);
    const [s] = await db.select().from(syncs).where(eq(syncs.id, syncId));
    const run = await startRun(db, s!, "manual");
    expect(await runPage(env, { syncId, runId: run!.id })).toMatchObject({ kind: "retry" });
    const [after] = await db.select().from(syncs).where(eq(syncs.id, syncId));
    expect(after?.cursor).toBeNull();
    expect((await sfOrg(dst.clientId)).writes).toEqual([]);
    expect((await sfOrg(src.clientId)).queries.some((q) => q.includes("Name !="))).toBe(false);
  });
});

describe("the stand-ins keep the providers' query rules", () => {
  it("HubSpot's search refuses a second sort rule; Salesforce refuses SOQL outside what it parses", async () => {
    const a = await publisher("rules");
    const { token } = await newPortal(a);
    const search = (sorts: unknown[]) =>
      fetch(`${saas()}/hubspot/crm/v3/objects/contacts/search`, {
        method: "POST",
        headers: { authorization: `Bearer ${token}`, "content-type": "application/json" },
        body: JSON.stringify({ sorts, limit: 5 }),
      });
    expect((await search([{ propertyName: "hs_object_id", direction: "ASCENDING" }])).status).toBe(
      200,
    );
    const two = await search([
      { propertyName: "lastmodifieddate", direction: "ASCENDING" },
      { propertyName: "hs_object_id", direction: "ASCENDING" },
    ]);
    expect(two.status).toBe(400);
    expect(await two.json()).toMatchObject({ category: "VALIDATION_ERROR" });

    const { clientId } = await newSfOrg(a);
    const tok = (await (
      await fetch(`${saas()}/salesforce/services/oauth2/token`, {
        method: "POST",
        headers: { "content-type": "application/x-www-form-urlencoded" },
        body: `grant_type=client_credentials&client_id=${clientId}&client_secret=sf-secret`,
      })
    ).json()) as { access_token: string };
    const soql = (q: string) =>
      fetch(`${saas()}/salesforce/services/data/v59.0/query?q=${encodeURIComponent(q)}`, {
        headers: { authorization: `Bearer ${tok.access_token}` },
      });
    expect(
      (await soql("SELECT Id FROM Contact WHERE SystemModstamp > 2025-03-01T10:00:00Z")).status,
    ).toBe(200);
    for (const bad of [
      "SELECT Id FROM Contact WHERE SystemModstamp > '2025-03-01T10:00:00Z'",
      "SELECT Id FROM Contact WHERE Id > 'a' OR",
      "SELECT Id FROM Contact WHERE Id > 'a'' LIMIT 1",
      "SELECT Id FROM Contact; DELETE Contact",
    ])
      expect((await soql(bad)).status, bad).toBe(400);
  });
});

describe("a sync whose connection is deleted", () => {
  it.each(["source", "target"] as const)(
    "is paused with the reason when its %s connection is deleted, and cannot be resumed",
    async (which) => {
      const a = await publisher(`del-${which}`);
      const src = await newPortal(a);
      const dst = await newSfOrg(a);
      const syncId = await createSync(a, src.connectionId, dst.connectionId, [
        { to: "LastName", from: "lastname" },
      ]);
      const gone = which === "source" ? src.connectionId : dst.connectionId;
      expect(
        (await call(`/v1/connections/${gone}`, { method: "DELETE", key: a.apiKey })).status,
      ).toBe(204);
      const res = await call(`/v1/syncs/${syncId}`, { key: a.apiKey });
      const body = (await res.json()) as { status: string; pausedReason: string | null };
      expect(body.status).toBe("paused");
      expect(body.pausedReason).toBe(
        `the ${which} connection ${gone} (${which === "source" ? "HubSpot" : "Salesforce"}) was deleted`,
      );
      const listed = (await (await call("/v1/syncs", { key: a.apiKey })).json()) as {
        syncs: { id: string; status: string; pausedReason: string | null }[];
      };
      expect(listed.syncs.find((s) => s.id === syncId)).toMatchObject({ status: "paused" });
      const resume = await call(`/v1/syncs/${syncId}/resume`, { method: "POST", key: a.apiKey });
      expect(resume.status).toBe(409);
      expect(await problem(resume)).toMatchObject({
        type: expect.stringMatching(/sync-connection-deleted$/),
        detail: expect.stringMatching(/was deleted/),
      });
      expect(
        (await call(`/v1/syncs/${syncId}/run`, { method: "POST", key: a.apiKey })).status,
      ).toBe(409);
    },
  );

  it("a run of a sync whose connection was deleted earlier (still active) pauses it with the reason", async () => {
    const a = await publisher("del-run");
    const src = await newPortal(a);
    const dst = await newSfOrg(a);
    const syncId = await createSync(a, src.connectionId, dst.connectionId, [
      { to: "LastName", from: "lastname" },
    ]);
    await call(`/v1/connections/${src.connectionId}`, { method: "DELETE", key: a.apiKey });
    // As a sync left active by the code before this fix would be.
    await db
      .update(syncs)
      .set({ status: "active", pausedReason: null })
      .where(eq(syncs.id, syncId));
    const { outcomes, run } = await runAll(syncId);
    expect(outcomes).toEqual(["stopped"]);
    expect(run.status).toBe("failed");
    const [s] = await db.select().from(syncs).where(eq(syncs.id, syncId));
    expect(s).toMatchObject({ status: "paused", runningRunId: null });
    expect(s?.pausedReason).toMatch(/source connection .* was deleted/);
  });

  it("the migration pauses the syncs left active on connections deleted before it, with the reason", async () => {
    const a = await publisher("del-migr");
    const src = await newPortal(a);
    const dst = await newSfOrg(a);
    const syncId = await createSync(a, src.connectionId, dst.connectionId, [
      { to: "LastName", from: "lastname" },
    ]);
    await call(`/v1/connections/${dst.connectionId}`, { method: "DELETE", key: a.apiKey });
    await db
      .update(syncs)
      .set({ status: "active", pausedReason: null })
      .where(eq(syncs.id, syncId));
    const migration = env.TEST_MIGRATIONS.find((m) => m.name.startsWith("0015_sync_paused_reason"));
    expect(migration).toBeDefined();
    for (const q of migration!.queries.filter((q) => /^UPDATE/m.test(q)))
      await env.DB.prepare(q).run();
    const [s] = await db.select().from(syncs).where(eq(syncs.id, syncId));
    expect(s).toMatchObject({
      status: "paused",
      pausedReason: `the target connection ${dst.connectionId} (Salesforce) was deleted`,
    });
  });

  it("a manual pause says so, and resume clears the reason", async () => {
    const a = await publisher("pz-reason");
    const src = await newPortal(a);
    const dst = await newSfOrg(a);
    const syncId = await createSync(a, src.connectionId, dst.connectionId, [
      { to: "LastName", from: "lastname" },
    ]);
    const paused = await call(`/v1/syncs/${syncId}/pause`, { method: "POST", key: a.apiKey });
    expect(await paused.json()).toMatchObject({
      status: "paused",
      pausedReason: "paused by a user",
    });
    const resumed = await call(`/v1/syncs/${syncId}/resume`, { method: "POST", key: a.apiKey });
    expect(await resumed.json()).toMatchObject({ status: "active", pausedReason: null });
  });
});

describe("claiming a run", () => {
  it("claims the sync and records the run in one batch: if recording fails, nothing is claimed", async () => {
    const a = await publisher("claim");
    const src = await newPortal(a);
    const dst = await newSfOrg(a);
    const syncId = await createSync(a, src.connectionId, dst.connectionId, [
      { to: "LastName", from: "lastname" },
    ]);
    // The second half (recording the run) fails, as a crash between the two would leave it.
    const trigger = `no_runs_${syncId}`;
    await env.DB.prepare(
      `CREATE TRIGGER ${trigger} BEFORE INSERT ON sync_runs WHEN NEW.sync_id = '${syncId}' BEGIN SELECT RAISE(ABORT, 'recording the run failed'); END`,
    ).run();
    try {
      const [s] = await db.select().from(syncs).where(eq(syncs.id, syncId));
      await expect(startRun(db, s!, "manual")).rejects.toThrow(/recording the run failed/);
      const [after] = await db.select().from(syncs).where(eq(syncs.id, syncId));
      expect(after?.runningRunId).toBeNull();
    } finally {
      await env.DB.prepare(`DROP TRIGGER ${trigger}`).run();
    }
    // Not stuck: the next claim works, and two at once give one run, recorded once.
    const [s] = await db.select().from(syncs).where(eq(syncs.id, syncId));
    const [x, y] = await Promise.all([startRun(db, s!, "manual"), startRun(db, s!, "manual")]);
    expect([x, y].filter(Boolean)).toHaveLength(1);
    const runs = await db.select().from(syncRuns).where(eq(syncRuns.syncId, syncId));
    expect(runs.map((r) => r.id)).toEqual([(x ?? y)!.id]);
    const [held] = await db.select().from(syncs).where(eq(syncs.id, syncId));
    expect(held?.runningRunId).toBe((x ?? y)!.id);
  });
});
