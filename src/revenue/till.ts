/**
 * The till: every way an organization's plugin code runs — its routes (`/p/…`), its app
 * endpoint (`/apps/…`), `execute`, and events delivered to it — passes one entitlement check
 * before and one meter after. A paid listing runs only for an organization that owns it, has a
 * live subscription, or publishes it; every run is counted for usage analytics and billing.
 * Lifecycle hooks the platform itself calls (initialize, cleanup) and the payment processor
 * are not the organization's use and do not pass here.
 */
import type { Context } from "hono";
import type { AppEnv } from "../platform/http/router";
import { getDb } from "../platform/db/client";
import { ApiError } from "../platform/http/problem";
import { entitledToRun, paymentRequired } from "./entitlements";
import type { PluginSpec } from "../runtime/spec";
import { meterCall } from "./meter";

export interface Till {
  env: Env;
  /** Keeps the meter's flush alive after the response (ctx.waitUntil); null: nothing to flush with. */
  waitUntil: ((p: Promise<unknown>) => void) | null;
}

/** The till of a request (app.request() in tests has no ExecutionContext: nothing is flushed). */
export function tillOf(c: Context<AppEnv>): Till {
  try {
    const ctx = c.executionCtx;
    return { env: c.env, waitUntil: (p) => ctx.waitUntil(p) };
  } catch {
    return { env: c.env, waitUntil: null };
  }
}

/** Throws 402 unless the installation's organization may run the listing (cached per isolate like specs). */
export async function admit(till: Till, spec: PluginSpec): Promise<void> {
  if (!spec.paid) return;
  if (!(await entitledToRun(till.env, spec))) throw paymentRequired(spec.plugin);
}

/** Counts one run (written after the response, off the request's path). */
export function meter(till: Till, spec: PluginSpec, status: number, latencyMs: number): void {
  if (!till.waitUntil) return;
  const flushMs = Number(till.env.ATOLL_METER_FLUSH_MS) || undefined;
  meterCall(
    till.env.DB,
    getDb(till.env.DB),
    till.waitUntil,
    {
      installationId: spec.installationId,
      orgId: spec.orgId,
      pluginId: spec.pluginId,
      status,
      latencyMs,
      at: Date.now(),
    },
    flushMs,
  );
}

/**
 * Runs plugin code through the till: admits, runs, meters the outcome (a thrown error counts
 * with its status, 500 if it has none) and returns what `run` returned.
 *
 * @example const { response } = await tilled(till, spec, () => invokePlugin(host, spec, req), (o) => o.response.status);
 */
export async function tilled<T>(
  till: Till,
  spec: PluginSpec,
  run: () => Promise<T>,
  statusOf: (result: T) => number,
): Promise<T> {
  await admit(till, spec);
  const started = Date.now();
  let result: T;
  try {
    result = await run();
  } catch (err) {
    meter(till, spec, err instanceof ApiError ? err.status : 500, Date.now() - started);
    throw err;
  }
  meter(till, spec, statusOf(result), Date.now() - started);
  return result;
}
