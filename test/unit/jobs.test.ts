import { env } from "cloudflare:workers";
import { afterEach, describe, expect, it, vi } from "vitest";
import { CRONS, QUEUES, queue, scheduled } from "../../src/jobs";

const ctx = {
  waitUntil: () => undefined,
  passThroughOnException: () => undefined,
  props: {},
  exports: {},
} as unknown as ExecutionContext;

describe("jobs: the cron and queue tables", () => {
  afterEach(() => vi.restoreAllMocks());

  it("names exactly the crons wrangler.toml schedules, and the queues it consumes", () => {
    expect(Object.keys(CRONS).sort()).toEqual(["* * * * *", "0 * * * *", "0 3 * * *"].sort());
    expect(Object.keys(QUEUES).sort()).toEqual(["atoll-events", "atoll-sync"]);
  });

  it("an unknown cron logs an error, fails, and runs nothing (it used to run billing)", async () => {
    const errors = vi.spyOn(console, "error").mockImplementation(() => undefined);
    const logs = vi.spyOn(console, "log").mockImplementation(() => undefined);
    for (const cron of ["*/5 * * * *", "0 4 * * *", "", "constructor", "__proto__", "toString"]) {
      await expect(
        scheduled(
          { cron, scheduledTime: Date.now(), noRetry: () => undefined } as ScheduledController,
          env,
          ctx,
        ),
      ).rejects.toThrow(/unknown cron/);
    }
    expect(errors).toHaveBeenCalledTimes(6);
    expect(String(errors.mock.calls[0]?.[0])).toContain("unknown cron");
    expect(logs).not.toHaveBeenCalled(); // no job wrote its "billing run" / "payout run" line
  });

  it("a batch from an unknown queue is retried (then dead-lettered), never handed to another consumer", async () => {
    const errors = vi.spyOn(console, "error").mockImplementation(() => undefined);
    const retryAll = vi.fn();
    const ackAll = vi.fn();
    for (const name of ["atoll-events-old", "atoll-sync2", "hasOwnProperty"]) {
      await queue(
        {
          queue: name,
          messages: [{ id: "m1", body: {} }],
          retryAll,
          ackAll,
        } as unknown as MessageBatch<unknown>,
        env,
        ctx,
      );
    }
    expect(retryAll).toHaveBeenCalledTimes(3);
    expect(ackAll).not.toHaveBeenCalled();
    expect(errors).toHaveBeenCalledTimes(3);
  });

  it("the hourly cron runs the billing job against real D1", async () => {
    const logs = vi.spyOn(console, "log").mockImplementation(() => undefined);
    await scheduled(
      {
        cron: "0 * * * *",
        scheduledTime: Date.now(),
        noRetry: () => undefined,
      } as ScheduledController,
      env,
      ctx,
    );
    expect(logs.mock.calls.map((c) => String(c[0])).some((l) => l.includes('"billing run"'))).toBe(
      true,
    );
  });
});
