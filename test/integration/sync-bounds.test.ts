/**
 * Sync runs are bounded: a source that always returns a next cursor cannot keep a sync-queue
 * consumer busy; the run ends `partial` with its cursor kept, the next run continues, and a
 * source that pages without progress is flagged on its connection.
 */
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { eq } from "drizzle-orm";
import { call, type Account } from "../helpers";
import { publisher } from "../plugin-helpers";
import { CREDENTIALS, connect, connected, until } from "../integration-helpers";
import {
  MAX_EMPTY_PAGES,
  RUN_BOUNDS,
  enqueueDueSyncs,
  runBound,
} from "../../src/integrations/sync";
import { getDb } from "../../src/platform/db/client";
import { syncs } from "../../src/platform/db/schema";

type Run = { id: string; status: string; pages: number; fetched: number; error: string | null };
const db = getDb(env.DB);
const MAPPING = [
  { to: "Email", from: "email" },
  { to: "LastName", from: "last_name", default: "Unknown" },
];

async function endlessSync(
  a: Account,
  contactsPath: string,
): Promise<{ syncId: string; sourceId: string }> {
  const res = await connect(a, "generic-crm", {
    credentials: { ...CREDENTIALS["generic-crm"], contactsPath },
  });
  expect(res.status).toBe(201);
  const source = (await res.json()) as { id: string };
  const target = await connected(a, "salesforce");
  const s = await call("/v1/syncs", {
    method: "POST",
    key: a.apiKey,
    json: {
      source: source.id,
      target: target.id,
      object: "contacts",
      mapping: MAPPING,
      intervalSeconds: 3600,
    },
  });
  expect(s.status).toBe(201);
  return { syncId: ((await s.json()) as { id: string }).id, sourceId: source.id };
}

/** Starts the sync's run through the Cron Trigger's function and waits for the real queue to end it. */
async function queuedRun(a: Account, syncId: string, timeoutMs: number): Promise<Run> {
  await db.update(syncs).set({ nextRunAt: 0 }).where(eq(syncs.id, syncId));
  const started = await enqueueDueSyncs(env);
  return until(async () => {
    const s = (await (await call(`/v1/syncs/${syncId}`, { key: a.apiKey })).json()) as {
      runs: Run[];
    };
    const run = s.runs.find((r) => started.includes(r.id));
    return run && run.status !== "running" ? run : null;
  }, timeoutMs);
}

describe("sync run bounds", () => {
  it("stops a source that asks for more pages forever without records: partial, cursor kept, connection flagged", async () => {
    const a = await publisher("endless");
    const { syncId, sourceId } = await endlessSync(a, "/endless");
    const run = await queuedRun(a, syncId, 15_000);
    expect(run.status).toBe("partial");
    expect(run.pages).toBe(MAX_EMPTY_PAGES);
    expect(run.error).toMatch(/without returning anything new/);
    const [s] = await db.select().from(syncs).where(eq(syncs.id, syncId));
    expect(s?.cursor).toBe("|again");
    expect(s?.runningRunId).toBeNull();
    const conn = (await (await call(`/v1/connections/${sourceId}`, { key: a.apiKey })).json()) as {
      flag: { reason: string } | null;
    };
    expect(conn.flag?.reason).toMatch(/without returning anything new/);
  }, 30_000);

  it(`ends a run at ${RUN_BOUNDS.pages} pages as partial with its cursor kept, and the next run continues from it`, async () => {
    const a = await publisher("bounded");
    const { syncId } = await endlessSync(a, "/endless-records");
    const first = await queuedRun(a, syncId, 60_000);
    expect(first).toMatchObject({
      status: "partial",
      pages: RUN_BOUNDS.pages,
      fetched: RUN_BOUNDS.pages * 5,
    });
    expect(first.error).toMatch(/run bound/);
    const [s] = await db.select().from(syncs).where(eq(syncs.id, syncId));
    expect(s?.cursor).toBe(`|${RUN_BOUNDS.pages}`);
    expect(s!.nextRunAt).toBeLessThanOrEqual(Date.now());
    // The next run starts where this one stopped (the stand-in names its pages by cursor).
    const contacts = await env.DB.prepare(
      "SELECT COUNT(*) AS n FROM sync_links WHERE sync_id = ? AND source_record_id LIKE ?",
    )
      .bind(syncId, `e${RUN_BOUNDS.pages}-%`)
      .first<{ n: number }>();
    expect(contacts?.n).toBe(0);
    const second = await queuedRun(a, syncId, 60_000);
    expect(second.status).toBe("partial");
    const continued = await env.DB.prepare(
      "SELECT COUNT(*) AS n FROM sync_links WHERE sync_id = ? AND source_record_id LIKE ?",
    )
      .bind(syncId, `e${RUN_BOUNDS.pages}-%`)
      .first<{ n: number }>();
    expect(continued?.n).toBe(5);
  }, 150_000);

  it("names the bound a run reached: pages, records or wall time", () => {
    const now = Date.now();
    expect(runBound({ pages: 0, fetched: 0, startedAt: now }, now)).toBeNull();
    expect(runBound({ pages: RUN_BOUNDS.pages, fetched: 0, startedAt: now }, now)).toMatch(/pages/);
    expect(runBound({ pages: 1, fetched: RUN_BOUNDS.records, startedAt: now }, now)).toMatch(
      /records/,
    );
    expect(runBound({ pages: 1, fetched: 1, startedAt: now - RUN_BOUNDS.wallMs }, now)).toMatch(
      /s$/,
    );
  });
});
