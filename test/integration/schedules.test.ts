/**
 * The Worker's scheduled() handler (src/index.ts → src/jobs.ts), cron by cron, against real D1,
 * the queue and the stand-ins: each cron of the table runs its own job and none of the others',
 * the hourly one prunes expired idempotency keys (and only those), and a cron outside the table
 * is an error that runs nothing.
 */
import { env } from "cloudflare:workers";
import { createExecutionContext, waitOnExecutionContext } from "cloudflare:test";
import { and, eq } from "drizzle-orm";
import { afterEach, beforeAll, describe, expect, it, vi } from "vitest";
import worker from "../../src/index";
import { CRONS } from "../../src/jobs";
import { getDb } from "../../src/platform/db/client";
import { idempotencyKeys, payouts, syncRuns } from "../../src/platform/db/schema";
import { KEY_TTL_MS } from "../../src/revenue/idempotency";
import { call, type Account } from "../helpers";
import { publisher } from "../plugin-helpers";
import { connected } from "../integration-helpers";
import { buy, buyer, seller, setupPayments, type Seller } from "../revenue-helpers";

const db = getDb(env.DB);
let tenant: Account;
let source: { id: string };
let target: { id: string };
let dev: Seller;

/** Calls the Worker's exported scheduled handler as Cloudflare would for `cron`. */
async function fire(cron: string, scheduledTime = Date.now()): Promise<void> {
  const ctx = createExecutionContext();
  const controller = { cron, scheduledTime, type: "scheduled", noRetry: () => undefined };
  try {
    await worker.scheduled(controller as ScheduledController, env, ctx);
  } finally {
    await waitOnExecutionContext(ctx);
  }
}

/** What each job leaves behind, for one fresh fixture per test. */
async function fixture() {
  const res = await call("/v1/syncs", {
    method: "POST",
    key: tenant.apiKey,
    json: {
      source: source.id,
      target: target.id,
      object: "contacts",
      mapping: [{ to: "LastName", from: "lastname", default: "Unknown" }],
      intervalSeconds: 900,
    },
  });
  expect(res.status).toBe(201);
  const sync = (await res.json()) as { id: string };
  const now = Date.now();
  const owner = `org_sched_${now}_${Math.random().toString(36).slice(2)}`;
  const key = (k: string, age: number) => ({
    owner,
    key: k,
    endpoint: "POST /v1/purchases",
    requestHash: "0".repeat(64),
    status: "done" as const,
    responseStatus: 201,
    responseBody: "{}",
    lockedAt: now - age,
    createdAt: now - age,
  });
  await db
    .insert(idempotencyKeys)
    .values([key("expired", KEY_TTL_MS + 60_000), key("fresh", KEY_TTL_MS - 60_000)]);
  return {
    /** Runs the Cron Trigger started for the sync (never a manual one: nobody called /run). */
    syncRuns: async () =>
      (await db.select().from(syncRuns).where(eq(syncRuns.syncId, sync.id))).filter(
        (r) => r.trigger === "schedule",
      ).length,
    keys: async () =>
      (await db.select().from(idempotencyKeys).where(eq(idempotencyKeys.owner, owner)))
        .map((k) => k.key)
        .sort(),
    paidOut: async () =>
      (
        await db
          .select()
          .from(payouts)
          .where(and(eq(payouts.orgId, dev.account.orgId), eq(payouts.status, "paid")))
      ).length,
  };
}

beforeAll(async () => {
  tenant = await publisher("sched");
  source = await connected(tenant, "hubspot");
  target = await connected(tenant, "salesforce");
  // A developer with a payable balance above the payout minimum: what the daily job pays.
  await setupPayments();
  dev = await seller("scheddev");
  expect((await buy(await buyer("schedbuy"), dev.subscription)).status).toBe(201);
});

afterEach(() => vi.restoreAllMocks());

describe("scheduled(): each cron of the table runs its own job, and only it", () => {
  it("the table is the one tested here, cron by cron", () => {
    expect(Object.keys(CRONS).sort()).toEqual(["* * * * *", "0 * * * *", "0 3 * * *"].sort());
  });

  it('"* * * * *" starts the syncs that are due — no billing, no pruning, no payout', async () => {
    const f = await fixture();
    await fire("* * * * *");
    expect(await f.syncRuns()).toBe(1);
    expect(await f.keys()).toEqual(["expired", "fresh"]);
    expect(await f.paidOut()).toBe(0);
  });

  it('"0 * * * *" runs billing and prunes the expired idempotency keys — no sync, no payout', async () => {
    const f = await fixture();
    const logs = vi.spyOn(console, "log");
    await fire("0 * * * *");
    expect(await f.keys()).toEqual(["fresh"]); // pruned on schedule: only the key past its 24 h
    const line = logs.mock.calls.map((c) => String(c[0])).find((l) => l.includes("billing run"));
    expect(JSON.parse(line ?? "{}").prunedKeys).toBeGreaterThanOrEqual(1);
    expect(await f.syncRuns()).toBe(0);
    expect(await f.paidOut()).toBe(0);
  });

  it('"0 3 * * *" pays the developers what is due — no sync, no billing, no pruning', async () => {
    const f = await fixture();
    const logs = vi.spyOn(console, "log");
    await fire("0 3 * * *");
    expect(await f.paidOut()).toBe(1);
    expect(logs.mock.calls.map((c) => String(c[0])).some((l) => l.includes("payout run"))).toBe(
      true,
    );
    expect(await f.syncRuns()).toBe(0);
    expect(await f.keys()).toEqual(["expired", "fresh"]);
  });

  it("a cron outside the table is an error and runs nothing", async () => {
    const errors = vi.spyOn(console, "error").mockImplementation(() => undefined);
    const logs = vi.spyOn(console, "log");
    for (const cron of ["*/5 * * * *", "0 4 * * *", "", "constructor", "__proto__"]) {
      const f = await fixture();
      await expect(fire(cron)).rejects.toThrow(/unknown cron/);
      expect(await f.syncRuns()).toBe(0);
      expect(await f.keys()).toEqual(["expired", "fresh"]);
    }
    expect(errors.mock.calls.filter((c) => String(c[0]).includes("unknown cron"))).toHaveLength(5);
    expect(logs.mock.calls.some((c) => /billing run|payout run/.test(String(c[0])))).toBe(false);
  });
});
