/**
 * Usage metering of plugin calls, off the request's path. Each isolate counts calls per
 * installation and hour in memory; the first call of a window schedules (with `waitUntil`, so
 * it runs after the response and survives it) one flush a moment later that writes every
 * counter of the window as a single D1 batch of additive upserts into the hourly and daily
 * rollups. D1 applies `calls = calls + excluded.calls` atomically, so isolates never overwrite
 * each other's counts. A busy installation costs one D1 batch per isolate per window, however
 * many calls it serves.
 */
import { sql } from "drizzle-orm";
import type { Db } from "../platform/db/client";
import { usageRollups } from "../platform/db/schema";

export const HOUR_MS = 3_600_000;
export const DAY_MS = 24 * HOUR_MS;
/** How long an isolate gathers counts before writing them. */
export const DEFAULT_FLUSH_MS = 2_000;

export interface CallSample {
  installationId: string;
  orgId: string;
  pluginId: string;
  status: number;
  latencyMs: number;
  at: number;
}

interface Counter {
  installationId: string;
  orgId: string;
  pluginId: string;
  hour: number;
  calls: number;
  clientErrors: number;
  serverErrors: number;
  latencyMsSum: number;
  latencyMsMax: number;
}

/** Counters of one isolate; `flush` hands them to D1 and starts afresh. */
export class Meter {
  private counters = new Map<string, Counter>();
  private scheduled = false;

  /** Counts a call; returns true when the caller must schedule a flush (the first of a window). */
  record(s: CallSample): boolean {
    const hour = Math.floor(s.at / HOUR_MS) * HOUR_MS;
    const key = `${s.installationId}|${hour}`;
    let c = this.counters.get(key);
    if (!c) {
      c = {
        installationId: s.installationId,
        orgId: s.orgId,
        pluginId: s.pluginId,
        hour,
        calls: 0,
        clientErrors: 0,
        serverErrors: 0,
        latencyMsSum: 0,
        latencyMsMax: 0,
      };
      this.counters.set(key, c);
    }
    c.calls += 1;
    if (s.status >= 500) c.serverErrors += 1;
    else if (s.status >= 400) c.clientErrors += 1;
    const ms = Math.max(0, Math.round(s.latencyMs));
    c.latencyMsSum += ms;
    if (ms > c.latencyMsMax) c.latencyMsMax = ms;
    if (this.scheduled) return false;
    this.scheduled = true;
    return true;
  }

  /** Takes the window's counters (the next call opens a new window). */
  drain(): Counter[] {
    const out = [...this.counters.values()];
    this.counters = new Map();
    this.scheduled = false;
    return out;
  }
}

/** Writes counters as additive upserts into the hourly and daily rollups, in one batch. */
export async function writeRollups(db: Db, counters: Counter[]): Promise<void> {
  if (counters.length === 0) return;
  const statements = counters.flatMap((c) =>
    (["hour", "day"] as const).map((granularity) =>
      db
        .insert(usageRollups)
        .values({
          installationId: c.installationId,
          orgId: c.orgId,
          pluginId: c.pluginId,
          granularity,
          bucket: granularity === "hour" ? c.hour : Math.floor(c.hour / DAY_MS) * DAY_MS,
          calls: c.calls,
          clientErrors: c.clientErrors,
          serverErrors: c.serverErrors,
          latencyMsSum: c.latencyMsSum,
          latencyMsMax: c.latencyMsMax,
        })
        .onConflictDoUpdate({
          target: [usageRollups.installationId, usageRollups.granularity, usageRollups.bucket],
          set: {
            calls: sql`${usageRollups.calls} + excluded.calls`,
            clientErrors: sql`${usageRollups.clientErrors} + excluded.client_errors`,
            serverErrors: sql`${usageRollups.serverErrors} + excluded.server_errors`,
            latencyMsSum: sql`${usageRollups.latencyMsSum} + excluded.latency_ms_sum`,
            latencyMsMax: sql`MAX(${usageRollups.latencyMsMax}, excluded.latency_ms_max)`,
          },
        }),
    ),
  );
  await db.batch(statements as [(typeof statements)[number], ...(typeof statements)[number][]]);
}

const meters = new WeakMap<D1Database, Meter>();

/**
 * Counts one plugin call. Never awaits on the request's path: the flush runs in `waitUntil`
 * after `flushMs`, and a failed flush is logged, never surfaced to the caller.
 */
export function meterCall(
  d1: D1Database,
  db: Db,
  waitUntil: (p: Promise<unknown>) => void,
  sample: CallSample,
  flushMs = DEFAULT_FLUSH_MS,
): void {
  let meter = meters.get(d1);
  if (!meter) {
    meter = new Meter();
    meters.set(d1, meter);
  }
  if (!meter.record(sample)) return;
  const m = meter;
  waitUntil(
    new Promise((resolve) => setTimeout(resolve, flushMs))
      .then(() => writeRollups(db, m.drain()))
      .catch((err: unknown) =>
        console.error(
          JSON.stringify({
            level: "error",
            msg: "usage flush failed",
            error: err instanceof Error ? err.message : String(err),
          }),
        ),
      ),
  );
}
