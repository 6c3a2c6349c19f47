/**
 * The kill switch: revoking a version stops every running installation of it. In one D1 batch the
 * version becomes `revoked`, each installation on it falls back to the version it ran before (if
 * that one is still good) or stays on it and answers 503 until the tenant acts, the tenant gets a
 * dashboard notice and the audit log an entry, and the batch records the platform events
 * (`version.revoked` to the publisher and the tenants running it, `installation.updated` for each
 * installation moved or stopped), so they exist exactly when the revocation does. Then every
 * installation's Durable Object is told that what isolates cached about it is stale, so each
 * isolate reloads at its next lease (≤ 1 s).
 */
import { and, desc, eq, isNotNull, ne } from "drizzle-orm";
import type { Db } from "../platform/db/client";
import { insertIfPreviousChanged } from "../platform/db/guard";
import { newId } from "../platform/crypto/encoding";
import {
  installationEvents,
  installations,
  orgNotices,
  pluginVersions,
  type InstallationRow,
  type PluginRow,
  type PluginVersionRow,
} from "../platform/db/schema";
import { auditInsert } from "../access/audit";
import { eventRecord } from "../events/emit";
import { installationPayload, versionPayload } from "../events/topics";
import type { RateLimiter } from "../access/ratelimit/durable-object";
import { listVersions, listingStatements } from "./queries";

/** Statuses a tenant may keep running (a yanked version keeps serving existing installs). */
const GOOD: PluginVersionRow["status"][] = ["published", "yanked"];
/** The actor the platform writes into installations' history when it moves them. */
export const KILL_SWITCH_ACTOR = "platform:kill-switch";

export interface Revocation {
  /** Installations moved to their previous good version. */
  fellBack: { installationId: string; orgId: string; to: string }[];
  /** Installations left on the revoked version: they answer 503 until the tenant acts. */
  stopped: { installationId: string; orgId: string }[];
  /** The platform events the batch recorded, to queue (dispatchEvent) now that it committed. */
  eventIds: string[];
}

/** The version installation `inst` ran before `revoked`, if it is still good. */
async function previousGood(
  db: Db,
  inst: Pick<InstallationRow, "id">,
  revoked: PluginVersionRow,
  versions: PluginVersionRow[],
): Promise<PluginVersionRow | null> {
  const [event] = await db
    .select({ from: installationEvents.fromVersion })
    .from(installationEvents)
    .where(
      and(
        eq(installationEvents.installationId, inst.id),
        eq(installationEvents.toVersion, revoked.version),
        isNotNull(installationEvents.fromVersion),
        // A reconfiguration (from the version to itself) says nothing of what ran before it.
        ne(installationEvents.action, "reconfigured"),
      ),
    )
    .orderBy(desc(installationEvents.id))
    .limit(1);
  const prev = versions.find((v) => v.version === event?.from);
  return prev && prev.id !== revoked.id && GOOD.includes(prev.status) ? prev : null;
}

/**
 * Revokes `target` of `plugin` (guarded on its current status) and moves or stops its running
 * installations, all in one batch. Returns what happened to each installation.
 */
export async function revokeVersion(
  db: Db,
  plugin: PluginRow,
  target: PluginVersionRow,
  who: { actor: string; reason: string; requestId?: string | null },
  now = Date.now(),
): Promise<Revocation> {
  const versions = await listVersions(db, plugin.id);
  const running = await db
    .select()
    .from(installations)
    .where(and(eq(installations.versionId, target.id), eq(installations.status, "active")))
    .limit(5000);
  const out: Revocation = { fellBack: [], stopped: [], eventIds: [] };
  const name = `${plugin.name}@${target.version}`;
  const moves = [];
  const record = (event: Parameters<typeof eventRecord>[1], guarded: boolean) => {
    const ev = eventRecord(db, event, { guarded, now });
    out.eventIds.push(ev.id);
    return ev.statement;
  };
  /** installation.updated for `inst`, now on `version` (`change`: downgraded to it, or stopped on it). */
  const updated = (inst: InstallationRow, version: string, change: "downgraded" | "stopped") =>
    record(
      {
        topic: "installation.updated",
        orgIds: [inst.orgId, plugin.orgId],
        environment: inst.environment,
        payload: {
          ...installationPayload({
            id: inst.id,
            orgId: inst.orgId,
            plugin: plugin.name,
            version,
            environment: inst.environment,
          }),
          change,
          previousVersion: target.version,
          reason: "version-revoked",
        },
      },
      change === "downgraded",
    );
  for (const inst of running) {
    const prev = await previousGood(db, inst, target, versions);
    if (!prev) {
      out.stopped.push({ installationId: inst.id, orgId: inst.orgId });
      moves.push(
        db.insert(orgNotices).values({
          id: newId("ntc"),
          orgId: inst.orgId,
          kind: "version_revoked",
          target: inst.id,
          message: `${name} was revoked (${who.reason}). Installation ${inst.id} (${inst.environment}) is stopped: it answers 503 until you move it to another version.`,
          createdAt: now,
        }),
        updated(inst, target.version, "stopped"),
      );
      continue;
    }
    // Never more than the earlier version declares: grants it did not ask for are dropped.
    const grants = inst.grants.filter((g) => prev.manifest.permissions.includes(g));
    out.fellBack.push({ installationId: inst.id, orgId: inst.orgId, to: prev.version });
    moves.push(
      db
        .update(installations)
        .set({ versionId: prev.id, grants, updatedAt: now })
        .where(
          and(
            eq(installations.id, inst.id),
            eq(installations.versionId, target.id),
            eq(installations.status, "active"),
          ),
        ),
      insertIfPreviousChanged(db, installationEvents, {
        installationId: inst.id,
        orgId: inst.orgId,
        action: "downgraded",
        fromVersion: target.version,
        toVersion: prev.version,
        grants,
        actor: KILL_SWITCH_ACTOR,
        at: now,
      }),
      // Guarded on the history row, which follows the guarded move: a lost race records neither.
      updated(inst, prev.version, "downgraded"),
      db.insert(orgNotices).values({
        id: newId("ntc"),
        orgId: inst.orgId,
        kind: "version_revoked",
        target: inst.id,
        message: `${name} was revoked (${who.reason}). Installation ${inst.id} (${inst.environment}) now runs ${prev.version}, the version it ran before.`,
        createdAt: now,
      }),
    );
  }
  const after = versions.map((v) =>
    v.id === target.id ? { ...v, status: "revoked" as const } : v,
  );
  await db.batch([
    db
      .update(pluginVersions)
      .set({ status: "revoked", revokedAt: now, reviewNote: who.reason })
      .where(and(eq(pluginVersions.id, target.id), eq(pluginVersions.status, target.status))),
    record(
      {
        topic: "version.revoked",
        orgIds: [plugin.orgId, ...running.map((i) => i.orgId)],
        payload: {
          ...versionPayload({
            plugin: plugin.name,
            version: target.version,
            sha256: target.sha256,
          }),
          reason: who.reason,
        },
      },
      true,
    ),
    ...listingStatements(db, plugin, after, now),
    auditInsert(
      db,
      {
        orgId: plugin.orgId,
        actor: who.actor,
        action: "plugin.version_revoked",
        target: name,
        details: {
          reason: who.reason,
          fellBack: out.fellBack.length,
          stopped: out.stopped.length,
        },
        requestId: who.requestId ?? null,
      },
      now,
    ),
    ...moves,
  ]);
  return out;
}

/**
 * Tells every isolate that what it cached about these installations is stale: each one's
 * RateLimiter (`inst:<id>`, the per-installation lease every plugin call takes) answers its next
 * lease with the time, and the gateway reloads the spec (src/gateway/proxy.routes.ts).
 */
export async function invalidateInstallations(
  ns: DurableObjectNamespace<RateLimiter>,
  ids: string[],
  at = Date.now(),
): Promise<void> {
  for (let i = 0; i < ids.length; i += 50)
    await Promise.all(
      ids.slice(i, i + 50).map((id) => ns.get(ns.idFromName(`inst:${id}`)).invalidate(at)),
    );
}
