import { env } from "cloudflare:workers";
import { beforeAll, describe, expect, it } from "vitest";
import { call, problem, type Account } from "../helpers";
import { publisher } from "../plugin-helpers";
import { connected, standin, until } from "../integration-helpers";
import {
  enqueueDueSyncs,
  runPage,
  startRun,
  MAX_ATTEMPTS,
  recordBackoffMs,
} from "../../src/integrations/sync";
import { getDb } from "../../src/platform/db/client";
import { syncs } from "../../src/platform/db/schema";
import { eq } from "drizzle-orm";

type SfContact = {
  Id: string;
  Atoll_External_Id__c: string;
  Email?: string;
  FirstName?: string;
  LastName: string;
  Title?: string;
  SystemModstamp: string;
};
type Run = {
  status: string;
  fetched: number;
  created: number;
  updated: number;
  unchanged: number;
  failed: number;
  deadLettered: number;
};

const MAPPING = [
  { to: "Email", from: "email", transforms: ["trim", "lowercase"] },
  { to: "FirstName", from: "firstname" },
  { to: "LastName", from: "lastname", default: "Unknown" },
  { to: "Title", from: "jobtitle" },
  { to: "Department", concat: { from: ["company", "jobtitle"], separator: " / " } },
];

let a: Account;
let hubspot: { id: string };
let salesforce: { id: string };
const tag = `t${Date.now()}`;

async function hs(properties: Record<string, string>, id?: string): Promise<{ id: string }> {
  return standin("/__standin/hubspot/contacts", { ...(id ? { id } : {}), properties });
}
async function sfContacts(): Promise<SfContact[]> {
  return (await standin<{ salesforce: { contacts: SfContact[] } }>("/__standin/state")).salesforce
    .contacts;
}
const db = getDb(env.DB);

/** Runs a sync to completion through the real queue (started by the Cron Trigger's function). */
async function scheduledRun(syncId: string, at: number): Promise<Run> {
  const started = await enqueueDueSyncs(env, at);
  expect(started.length).toBeGreaterThanOrEqual(1);
  return until(async () => {
    const s = (await (await call(`/v1/syncs/${syncId}`, { key: a.apiKey })).json()) as {
      runs: (Run & { id: string })[];
    };
    const run = s.runs.find((r) => started.includes(r.id));
    return run && run.status !== "running" ? run : null;
  }, 10_000);
}

/** Runs a sync to completion by calling the page function directly (no queue). */
async function directRun(syncId: string, now = Date.now()): Promise<{ outcomes: string[] }> {
  const [s] = await db.select().from(syncs).where(eq(syncs.id, syncId));
  const run = await startRun(db, s!, "manual", now);
  const outcomes: string[] = [];
  for (let i = 0; i < 20; i++) {
    const o = await runPage(env, { syncId, runId: run!.id }, now);
    outcomes.push(o.kind);
    if (o.kind !== "more") break;
  }
  return { outcomes };
}

beforeAll(async () => {
  a = await publisher("sync");
  hubspot = await connected(a, "hubspot");
  salesforce = await connected(a, "salesforce");
});

describe("a HubSpot → Salesforce contact sync", () => {
  it("syncs on schedule, writes each record once, and then only what changed", async () => {
    const ada = await hs({
      email: `  Ada.${tag}@Example.COM `,
      firstname: "Ada",
      lastname: "Lovelace",
      jobtitle: "Analyst",
      company: "Engines",
    });
    const grace = await hs({
      email: `grace.${tag}@example.com`,
      firstname: "Grace",
      lastname: "Hopper",
      jobtitle: "Admiral",
      company: "Navy",
    });
    const nameless = await hs({ email: `anon.${tag}@example.com`, firstname: "Anon" });
    const res = await call("/v1/syncs", {
      method: "POST",
      key: a.apiKey,
      json: {
        source: hubspot.id,
        target: salesforce.id,
        object: "contacts",
        mapping: MAPPING,
        intervalSeconds: 300,
      },
    });
    expect(res.status).toBe(201);
    const sync = (await res.json()) as { id: string };

    const first = await scheduledRun(sync.id, Date.now());
    expect(first).toMatchObject({ status: "succeeded", created: 3, failed: 0 });
    const mine = (await sfContacts()).filter((c) =>
      [ada.id, grace.id, nameless.id].map((i) => `hubspot-${i}`).includes(c.Atoll_External_Id__c),
    );
    expect(mine).toHaveLength(3);
    expect(mine.find((c) => c.Atoll_External_Id__c === `hubspot-${ada.id}`)).toMatchObject({
      Email: `ada.${tag}@example.com`,
      FirstName: "Ada",
      LastName: "Lovelace",
      Title: "Analyst",
      Department: "Engines / Analyst",
    });
    expect(mine.find((c) => c.Atoll_External_Id__c === `hubspot-${nameless.id}`)?.LastName).toBe(
      "Unknown",
    );

    // Not due yet: nothing starts. At the next interval: nothing changed, nothing written.
    expect(await enqueueDueSyncs(env, Date.now())).toEqual([]);
    const second = await scheduledRun(sync.id, Date.now() + 301_000);
    expect(second).toMatchObject({ status: "succeeded", fetched: 0, created: 0, updated: 0 });

    // One record changes in HubSpot: only it is written.
    const before = await sfContacts();
    await hs({ jobtitle: "Rear Admiral" }, grace.id);
    const third = await scheduledRun(sync.id, Date.now() + 700_000);
    expect(third).toMatchObject({ status: "succeeded", fetched: 1, updated: 1, created: 0 });
    const after = await sfContacts();
    expect(after.find((c) => c.Atoll_External_Id__c === `hubspot-${grace.id}`)?.Title).toBe(
      "Rear Admiral",
    );
    const untouched = (id: string) =>
      [before, after].map(
        (list) => list.find((c) => c.Atoll_External_Id__c === `hubspot-${id}`)?.SystemModstamp,
      );
    expect(new Set(untouched(ada.id)).size).toBe(1);
    expect(after.filter((c) => c.Atoll_External_Id__c.startsWith("hubspot-")).length).toBe(
      before.filter((c) => c.Atoll_External_Id__c.startsWith("hubspot-")).length,
    );

    // A run that lost its checkpoint (interrupted before saving the cursor) re-reads the same
    // records and writes nothing twice.
    await db.update(syncs).set({ cursor: null }).where(eq(syncs.id, sync.id));
    const replay = await scheduledRun(sync.id, Date.now() + 1_100_000);
    expect(replay).toMatchObject({ status: "succeeded", created: 0, updated: 0 });
    expect(replay.unchanged).toBeGreaterThanOrEqual(3);
    expect((await sfContacts()).length).toBe(after.length);
  });
});

describe("sync faults", () => {
  it("stops at a 429, keeps its cursor, and resumes after Retry-After", async () => {
    const b = await publisher("rl");
    const src = await connected(b, "hubspot");
    const dst = await connected(b, "salesforce");
    const s = (await (
      await call("/v1/syncs", {
        method: "POST",
        key: b.apiKey,
        json: {
          source: src.id,
          target: dst.id,
          object: "contacts",
          mapping: MAPPING,
          intervalSeconds: 60,
        },
      })
    ).json()) as { id: string };
    const c = await hs({ email: `rl.${tag}@example.com`, lastname: "Limit" });
    await db
      .update(syncs)
      .set({
        cursor: String(
          Date.parse(
            (c as unknown as { properties: { lastmodifieddate: string } }).properties
              .lastmodifieddate,
          ) - 1,
        ),
      })
      .where(eq(syncs.id, s.id));
    await standin("/__standin/faults", {
      provider: "salesforce",
      status: 429,
      retryAfter: 120,
      count: 1,
      match: `hubspot-${c.id}`,
    });
    const [row] = await db.select().from(syncs).where(eq(syncs.id, s.id));
    const run = await startRun(db, row!, "manual");
    const outcome = await runPage(env, { syncId: s.id, runId: run!.id });
    expect(outcome).toMatchObject({ kind: "retry", delayMs: 120_000 });
    const [kept] = await db.select().from(syncs).where(eq(syncs.id, s.id));
    expect(kept?.cursor).toBe(row?.cursor);
    expect(await runPage(env, { syncId: s.id, runId: run!.id })).toMatchObject({ kind: "done" });
    expect((await sfContacts()).some((x) => x.Atoll_External_Id__c === `hubspot-${c.id}`)).toBe(
      true,
    );
  });

  it(`retries a failing record with backoff and dead-letters it after ${MAX_ATTEMPTS} attempts`, async () => {
    const b = await publisher("dl");
    const src = await connected(b, "hubspot");
    const dst = await connected(b, "salesforce");
    // LastName has no default here: a contact without one cannot be written.
    const mapping = [
      { to: "LastName", from: "lastname" },
      { to: "Email", from: "email" },
    ];
    const s = (await (
      await call("/v1/syncs", {
        method: "POST",
        key: b.apiKey,
        json: { source: src.id, target: dst.id, object: "contacts", mapping, intervalSeconds: 60 },
      })
    ).json()) as { id: string };
    const bad = await hs({ email: `nolast.${tag}@example.com` });
    // Start right before this record (the stand-in's contacts are shared by the whole file).
    await db
      .update(syncs)
      .set({
        cursor: String(
          Date.parse(
            (bad as unknown as { properties: { lastmodifieddate: string } }).properties
              .lastmodifieddate,
          ) - 1,
        ),
      })
      .where(eq(syncs.id, s.id));
    let now = Date.now();
    for (let attempt = 1; attempt <= MAX_ATTEMPTS; attempt++) {
      await directRun(s.id, now);
      now += recordBackoffMs(attempt) + 1_000;
    }
    const dead = (await (
      await call(`/v1/syncs/${s.id}/dead-letters`, { key: b.apiKey })
    ).json()) as { deadLetters: { sourceRecordId: string; attempts: number; error: string }[] };
    expect(dead.deadLetters.filter((d) => d.sourceRecordId === bad.id)).toEqual([
      expect.objectContaining({
        sourceRecordId: bad.id,
        attempts: MAX_ATTEMPTS,
        error: expect.stringMatching(/LastName is required/),
      }),
    ]);
    const runs = (
      (await (await call(`/v1/syncs/${s.id}`, { key: b.apiKey })).json()) as { runs: Run[] }
    ).runs;
    expect(runs[0]).toMatchObject({ status: "partial", deadLettered: 1 });
  });

  it("pauses (no runs start, run-now is refused) and resumes", async () => {
    const b = await publisher("pz");
    const src = await connected(b, "hubspot");
    const dst = await connected(b, "salesforce");
    const s = (await (
      await call("/v1/syncs", {
        method: "POST",
        key: b.apiKey,
        json: {
          source: src.id,
          target: dst.id,
          object: "contacts",
          mapping: MAPPING,
          intervalSeconds: 60,
        },
      })
    ).json()) as { id: string };
    expect(
      await (await call(`/v1/syncs/${s.id}/pause`, { method: "POST", key: b.apiKey })).json(),
    ).toMatchObject({ status: "paused" });
    const [row] = await db.select().from(syncs).where(eq(syncs.id, s.id));
    expect(row?.status).toBe("paused");
    expect((await call(`/v1/syncs/${s.id}/run`, { method: "POST", key: b.apiKey })).status).toBe(
      409,
    );
    expect(
      await (await call(`/v1/syncs/${s.id}/resume`, { method: "POST", key: b.apiKey })).json(),
    ).toMatchObject({ status: "active" });
    expect((await call(`/v1/syncs/${s.id}/run`, { method: "POST", key: b.apiKey })).status).toBe(
      202,
    );
  });
});

describe("POST /v1/syncs refuses", () => {
  it.each([
    [
      "a source field that does not exist",
      { mapping: [{ to: "LastName", from: "surname" }] },
      /surname is not a field of the source/,
    ],
    [
      "a target field that does not exist",
      {
        mapping: [
          { to: "LastName", from: "lastname" },
          { to: "Nickname", from: "firstname" },
        ],
      },
      /Nickname is not a field of the target/,
    ],
    [
      "a mapping without the target's required field",
      { mapping: [{ to: "Email", from: "email" }] },
      /requires LastName/,
    ],
    [
      "an unknown transform",
      { mapping: [{ to: "LastName", from: "lastname", transforms: ["reverse"] }] },
      /transforms/,
    ],
    [
      "from and concat together",
      {
        mapping: [
          { to: "LastName", from: "lastname", concat: { from: ["firstname", "lastname"] } },
        ],
      },
      /either from or concat/,
    ],
    ["an interval below the minimum", { intervalSeconds: 30 }, /at least 60/],
    ["a non-integer interval", { intervalSeconds: 90.5 }, /interval/i],
  ])("%s", async (_what, patch, message) => {
    const res = await call("/v1/syncs", {
      method: "POST",
      key: a.apiKey,
      json: {
        source: hubspot.id,
        target: salesforce.id,
        object: "contacts",
        mapping: [{ to: "LastName", from: "lastname" }],
        intervalSeconds: 300,
        ...patch,
      },
    });
    expect(res.status).toBe(400);
    expect(JSON.stringify(await problem(res))).toMatch(message);
  });

  it("a Slack connection as a source, the same connection twice, and another organization's connection", async () => {
    const slack = await connected(a, "slack");
    const base = {
      object: "contacts",
      mapping: [{ to: "LastName", from: "lastname" }],
      intervalSeconds: 300,
    };
    expect(
      (
        await call("/v1/syncs", {
          method: "POST",
          key: a.apiKey,
          json: { ...base, source: slack.id, target: salesforce.id },
        })
      ).status,
    ).toBe(400);
    expect(
      (
        await call("/v1/syncs", {
          method: "POST",
          key: a.apiKey,
          json: { ...base, source: hubspot.id, target: hubspot.id },
        })
      ).status,
    ).toBe(400);
    const other = await publisher("oth");
    expect(
      (
        await call("/v1/syncs", {
          method: "POST",
          key: other.apiKey,
          json: { ...base, source: hubspot.id, target: salesforce.id },
        })
      ).status,
    ).toBe(404);
  });
});
