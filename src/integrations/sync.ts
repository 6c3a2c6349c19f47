/**
 * Data sync, run durably on a Queue, one page per message: a run claims its sync (one run at a
 * time), retries due failed records, fetches the next page of changes from the source after the
 * sync's cursor, maps each record and upserts it into the target keyed by the source id (the
 * target's external-id field), then checkpoints the cursor. The external-id map (`sync_links`)
 * remembers what was written: an unchanged record is not written again, so a page processed
 * twice — a run interrupted before its checkpoint — never duplicates or rewrites anything.
 * Records that fail are retried with backoff and dead-lettered after MAX_ATTEMPTS. A provider
 * outage or rate limit stops the page and retries the message later (Retry-After honoured).
 */
import { and, asc, desc, eq, isNull, lte, sql } from "drizzle-orm";
import { newId } from "../platform/crypto/encoding";
import { sha256Hex } from "../platform/crypto/hash";
import { getDb, type Db } from "../platform/db/client";
import {
  connections,
  type ConnectionRow,
  syncFailures,
  syncLinks,
  syncRuns,
  syncs,
  type SyncRow,
  type SyncRunRow,
} from "../platform/db/schema";
import { connectorFor } from "./connectors";
import type { ChangedRecord } from "./connectors/types";
import { pausedByDeletion, sender } from "./connections.routes";
import { applyMapping, type MappingRule } from "./mapping";
import { open } from "./vault";

export const PAGE_SIZE = 50;
export const MAX_ATTEMPTS = 5;
export const MAX_RUN_ATTEMPTS = 8;
export const MIN_INTERVAL_SECONDS = 60;
/**
 * Bounds of one run (docs/integrations.md, "Data sync"): a run that reaches one ends `partial` with its cursor kept,
 * and the next run (the next minute) continues from there. A source that keeps asking for more
 * while bringing nothing new (no records, or the same cursor) for MAX_EMPTY_PAGES pages in a row
 * ends the run too, and its connection is flagged.
 */
export const RUN_BOUNDS = { pages: 25, records: 500, wallMs: 5 * 60_000 } as const;
export const MAX_EMPTY_PAGES = 3;

/** Which bound (if any) a run has reached before its next page (pure). */
export function runBound(
  run: Pick<SyncRunRow, "pages" | "fetched" | "startedAt">,
  now: number,
  bounds: { pages: number; records: number; wallMs: number } = RUN_BOUNDS,
): string | null {
  if (run.pages >= bounds.pages) return `${bounds.pages} pages`;
  if (run.fetched >= bounds.records) return `${bounds.records} records`;
  if (now - run.startedAt >= bounds.wallMs) return `${Math.round(bounds.wallMs / 1000)} s`;
  return null;
}

/** Every minute the Cron Trigger starts the syncs that are due. */
export const SYNC_CRON = "* * * * *";

export interface SyncMessage {
  syncId: string;
  runId: string;
}

/** Delay before a failed record's next attempt: 1, 2, 4, 8 … minutes. */
export const recordBackoffMs = (attempts: number) => 60_000 * 2 ** Math.max(0, attempts - 1);

/**
 * Claims the sync for a new run (active, none running) and records the run, in one D1 batch (one
 * transaction): the run row is inserted only if this claim took the sync, and a failure of either
 * statement undoes both, so no sync is ever held by a run that was not recorded. Returns the run,
 * or null when the sync was not free.
 */
export async function startRun(
  db: Db,
  sync: SyncRow,
  trigger: "schedule" | "manual",
  now = Date.now(),
): Promise<SyncRunRow | null> {
  const run: SyncRunRow = {
    id: newId("run"),
    syncId: sync.id,
    trigger,
    status: "running",
    fetched: 0,
    created: 0,
    updated: 0,
    unchanged: 0,
    failed: 0,
    deadLettered: 0,
    pages: 0,
    emptyPages: 0,
    attempts: 0,
    error: null,
    startedAt: now,
    finishedAt: null,
  };
  const [claimed] = await db.batch([
    db
      .update(syncs)
      .set({ runningRunId: run.id, updatedAt: now })
      .where(and(eq(syncs.id, sync.id), eq(syncs.status, "active"), isNull(syncs.runningRunId))),
    // The run row, only where this claim holds the sync (in the same transaction as the claim).
    db.insert(syncRuns).select(
      db
        .select({
          id: sql<string>`${run.id}`.as("id"),
          syncId: syncs.id,
          trigger: sql<SyncRunRow["trigger"]>`${trigger}`.as("trigger"),
          status: sql<SyncRunRow["status"]>`'running'`.as("status"),
          fetched: sql<number>`0`.as("fetched"),
          created: sql<number>`0`.as("created"),
          updated: sql<number>`0`.as("updated"),
          unchanged: sql<number>`0`.as("unchanged"),
          failed: sql<number>`0`.as("failed"),
          deadLettered: sql<number>`0`.as("dead_lettered"),
          pages: sql<number>`0`.as("pages"),
          emptyPages: sql<number>`0`.as("empty_pages"),
          attempts: sql<number>`0`.as("attempts"),
          error: sql<string | null>`NULL`.as("error"),
          startedAt: sql<number>`${now}`.as("started_at"),
          finishedAt: sql<number | null>`NULL`.as("finished_at"),
        })
        .from(syncs)
        .where(and(eq(syncs.id, sync.id), eq(syncs.runningRunId, run.id))),
    ),
  ]);
  return claimed.meta.changes === 1 ? run : null;
}

/** The Cron Trigger: starts a run of every active sync that is due, and queues its first page. */
export async function enqueueDueSyncs(env: Env, now = Date.now()): Promise<string[]> {
  const db = getDb(env.DB);
  const due = await db
    .select()
    .from(syncs)
    .where(and(eq(syncs.status, "active"), lte(syncs.nextRunAt, now), isNull(syncs.runningRunId)))
    .orderBy(asc(syncs.nextRunAt))
    .limit(100);
  const started: string[] = [];
  for (const s of due) {
    const run = await startRun(db, s, "schedule", now);
    if (!run) continue;
    await env.SYNC_QUEUE.send({ syncId: s.id, runId: run.id } satisfies SyncMessage);
    started.push(run.id);
  }
  // A run whose worker vanished (no progress for an hour) releases its sync.
  await db
    .update(syncs)
    .set({ runningRunId: null })
    .where(and(sql`${syncs.runningRunId} IS NOT NULL`, lte(syncs.updatedAt, now - 3_600_000)));
  return started;
}

/** Why a sync cannot run because a connection of it was deleted, or null (pure). */
export function deletedConnection(
  sync: Pick<SyncRow, "sourceId" | "targetId">,
  source: Pick<ConnectionRow, "id" | "provider" | "status"> | null | undefined,
  target: Pick<ConnectionRow, "id" | "provider" | "status"> | null | undefined,
): string | null {
  for (const [side, id, c] of [
    ["source", sync.sourceId, source],
    ["target", sync.targetId, target],
  ] as const)
    if (!c || c.status === "revoked") return pausedByDeletion(side, id, c?.provider);
  return null;
}

export type PageOutcome =
  | { kind: "more" }
  | { kind: "done" }
  | { kind: "retry"; delayMs: number; reason: string }
  | { kind: "stopped"; reason: string };

async function finish(
  db: Db,
  sync: SyncRow,
  run: SyncRunRow,
  status: SyncRunRow["status"],
  error: string | null,
  now: number,
  nextRunAt = now + sync.intervalSeconds * 1000,
): Promise<void> {
  await db.batch([
    db.update(syncRuns).set({ status, error, finishedAt: now }).where(eq(syncRuns.id, run.id)),
    db
      .update(syncs)
      .set({ runningRunId: null, nextRunAt, updatedAt: now })
      .where(and(eq(syncs.id, sync.id), eq(syncs.runningRunId, run.id))),
  ]);
}

/** Processes one page of a run. The queue consumer calls it; tests call it directly. */
export async function runPage(env: Env, msg: SyncMessage, now = Date.now()): Promise<PageOutcome> {
  const db = getDb(env.DB);
  const [sync] = await db.select().from(syncs).where(eq(syncs.id, msg.syncId));
  const [run] = await db.select().from(syncRuns).where(eq(syncRuns.id, msg.runId));
  if (!sync || !run || run.status !== "running" || sync.runningRunId !== run.id)
    return { kind: "stopped", reason: "the run is not current" };
  if (sync.status === "paused") {
    await finish(db, sync, run, run.failed > 0 ? "partial" : "succeeded", "paused", now);
    return { kind: "stopped", reason: "paused" };
  }
  const bound = runBound(run, now);
  if (bound) {
    // Bounded: the cursor is already checkpointed; the next run continues from it at once.
    await finish(
      db,
      sync,
      run,
      "partial",
      `stopped at the run bound (${bound}); the next run continues from the cursor`,
      now,
      now,
    );
    return { kind: "stopped", reason: `bound: ${bound}` };
  }
  const [source] = await db.select().from(connections).where(eq(connections.id, sync.sourceId));
  const [target] = await db.select().from(connections).where(eq(connections.id, sync.targetId));
  const from = source && connectorFor(source.provider);
  const to = target && connectorFor(target.provider);
  const gone = deletedConnection(sync, source, target);
  if (gone || !source || !target || !from?.fetchChanged || !to?.upsert) {
    // A connection deleted before its syncs were paused with it (or during this run): pause now.
    const reason = gone ?? "a connection of this sync cannot be used";
    await finish(db, sync, run, "failed", reason, now);
    await db
      .update(syncs)
      .set({ status: "paused", pausedReason: reason, updatedAt: now })
      .where(eq(syncs.id, sync.id));
    return { kind: "stopped", reason };
  }
  const required = to.objects[sync.object]?.required ?? [];
  const rules = sync.mapping as MappingRule[]; // validated by MappingSchema when the sync was created or changed
  const counts = { fetched: 0, created: 0, updated: 0, unchanged: 0, failed: 0, deadLettered: 0 };
  const sendTarget = sender(env, target.id);
  const sourceCreds = await open<Record<string, string>>(
    env,
    source.id,
    "credentials",
    source.credentialsEnc,
    source.keyId,
  );
  const targetCreds = await open<Record<string, string>>(
    env,
    target.id,
    "credentials",
    target.credentialsEnc,
    target.keyId,
  );

  /** Writes one record; returns "outage" when the target is unavailable (stop the page). */
  const write = async (
    rec: ChangedRecord,
    attemptsBefore: number,
  ): Promise<"ok" | "failed" | { outage: string; delayMs: number }> => {
    const applied = applyMapping(
      rules,
      { id: rec.id, modifiedAt: rec.modifiedAt, ...rec.data },
      required,
    );
    let error: string | null = applied.ok ? null : applied.error;
    if (applied.ok) {
      const hash = await sha256Hex(JSON.stringify(applied.fields));
      const [link] = await db
        .select()
        .from(syncLinks)
        .where(and(eq(syncLinks.syncId, sync.id), eq(syncLinks.sourceRecordId, rec.id)));
      if (link?.hash === hash) {
        counts.unchanged += 1;
        await db
          .delete(syncFailures)
          .where(and(eq(syncFailures.syncId, sync.id), eq(syncFailures.sourceRecordId, rec.id)));
        return "ok";
      }
      const res = await to.upsert!(
        sendTarget,
        sync.object,
        `${source.provider}-${rec.id}`,
        applied.fields,
        targetCreds,
      );
      if (
        !res.ok &&
        (res.reason === "unavailable" || res.reason === "rate_limited" || res.reason === "auth")
      )
        return {
          outage: `${to.label}: ${res.message}`,
          delayMs: res.reason === "rate_limited" ? res.retryAfterMs : 30_000,
        };
      if (res.ok) {
        counts[res.data.created ? "created" : "updated"] += 1;
        await db.batch([
          db
            .insert(syncLinks)
            .values({
              syncId: sync.id,
              sourceRecordId: rec.id,
              targetRecordId: res.data.id,
              hash,
              updatedAt: now,
            })
            .onConflictDoUpdate({
              target: [syncLinks.syncId, syncLinks.sourceRecordId],
              set: { targetRecordId: res.data.id, hash, updatedAt: now },
            }),
          db
            .delete(syncFailures)
            .where(and(eq(syncFailures.syncId, sync.id), eq(syncFailures.sourceRecordId, rec.id))),
        ]);
        return "ok";
      }
      error = `${to.label}: ${res.message}`;
    }
    const attempts = attemptsBefore + 1;
    const dead = attempts >= MAX_ATTEMPTS;
    counts.failed += 1;
    if (dead) counts.deadLettered += 1;
    await db
      .insert(syncFailures)
      .values({
        syncId: sync.id,
        sourceRecordId: rec.id,
        record: JSON.stringify(rec),
        attempts,
        nextAttemptAt: now + recordBackoffMs(attempts),
        error: (error ?? "failed").slice(0, 300),
        dead,
        updatedAt: now,
      })
      .onConflictDoUpdate({
        target: [syncFailures.syncId, syncFailures.sourceRecordId],
        set: {
          record: JSON.stringify(rec),
          attempts,
          nextAttemptAt: now + recordBackoffMs(attempts),
          error: (error ?? "failed").slice(0, 300),
          dead,
          updatedAt: now,
        },
      });
    return "failed";
  };
  const outage = async (reason: string, delayMs: number): Promise<PageOutcome> => {
    const attempts = run.attempts + 1;
    await db
      .update(syncRuns)
      .set({ attempts, error: reason.slice(0, 300), ...bump(counts) })
      .where(eq(syncRuns.id, run.id));
    if (attempts >= MAX_RUN_ATTEMPTS) {
      await finish(
        db,
        sync,
        { ...run, attempts },
        "failed",
        `gave up after ${attempts} attempts: ${reason}`.slice(0, 300),
        now,
      );
      return { kind: "stopped", reason };
    }
    await db.update(syncs).set({ updatedAt: now }).where(eq(syncs.id, sync.id));
    return { kind: "retry", delayMs, reason };
  };

  // 1. Failed records whose retry is due.
  const due = await db
    .select()
    .from(syncFailures)
    .where(
      and(
        eq(syncFailures.syncId, sync.id),
        eq(syncFailures.dead, false),
        lte(syncFailures.nextAttemptAt, now),
      ),
    )
    .limit(20);
  for (const f of due) {
    const w = await write(JSON.parse(f.record) as ChangedRecord, f.attempts);
    if (typeof w === "object") return outage(w.outage, w.delayMs);
  }

  // 2. The next page of changes.
  const page = await from.fetchChanged(
    sender(env, source.id),
    sync.object,
    sync.cursor,
    PAGE_SIZE,
    sourceCreds,
  );
  if (!page.ok) {
    if (page.reason === "rate_limited")
      return outage(`${from.label} rate limit: ${page.message}`, page.retryAfterMs);
    if (page.reason === "unavailable" || page.reason === "malformed")
      return outage(`${from.label}: ${page.message}`, 30_000);
    await finish(db, sync, run, "failed", `${from.label}: ${page.message}`.slice(0, 300), now);
    return { kind: "stopped", reason: page.message };
  }
  counts.fetched = page.data.records.length;
  for (const rec of page.data.records) {
    const [failure] = await db
      .select({ attempts: syncFailures.attempts, dead: syncFailures.dead })
      .from(syncFailures)
      .where(and(eq(syncFailures.syncId, sync.id), eq(syncFailures.sourceRecordId, rec.id)));
    if (failure?.dead) continue; // dead-lettered: not retried until the record changes again
    const w = await write(rec, failure?.attempts ?? 0);
    if (typeof w === "object") return outage(w.outage, w.delayMs);
  }
  // 3. Checkpoint: the cursor moves only once the whole page is written (or parked as a failure).
  const noProgress =
    !page.data.done && (page.data.records.length === 0 || page.data.cursor === sync.cursor);
  const emptyPages = noProgress ? run.emptyPages + 1 : 0;
  await db.batch([
    db
      .update(syncs)
      .set({ cursor: page.data.cursor, updatedAt: now })
      .where(and(eq(syncs.id, sync.id), eq(syncs.runningRunId, run.id))),
    db
      .update(syncRuns)
      .set({ ...bump(counts), pages: sql`${syncRuns.pages} + 1`, emptyPages, attempts: 0 })
      .where(eq(syncRuns.id, run.id)),
  ]);
  if (emptyPages >= MAX_EMPTY_PAGES) {
    const reason = `${from.label} asked for ${emptyPages} more pages in a row without returning anything new`;
    await db
      .update(connections)
      .set({ flagReason: reason, flaggedAt: now })
      .where(eq(connections.id, source.id));
    await finish(
      db,
      sync,
      run,
      "partial",
      `${reason}; the run was stopped and the connection flagged`.slice(0, 300),
      now,
    );
    return { kind: "stopped", reason };
  }
  if (!page.data.done) return { kind: "more" };
  const [after] = await db.select().from(syncRuns).where(eq(syncRuns.id, run.id));
  await finish(db, sync, run, (after?.failed ?? 0) > 0 ? "partial" : "succeeded", null, now);
  return { kind: "done" };
}

function bump(c: {
  fetched: number;
  created: number;
  updated: number;
  unchanged: number;
  failed: number;
  deadLettered: number;
}) {
  return {
    fetched: sql`${syncRuns.fetched} + ${c.fetched}`,
    created: sql`${syncRuns.created} + ${c.created}`,
    updated: sql`${syncRuns.updated} + ${c.updated}`,
    unchanged: sql`${syncRuns.unchanged} + ${c.unchanged}`,
    failed: sql`${syncRuns.failed} + ${c.failed}`,
    deadLettered: sql`${syncRuns.deadLettered} + ${c.deadLettered}`,
  };
}

/** The sync queue's consumer: one page per message, the next page as a new message. */
export async function consumeSync(batch: MessageBatch<SyncMessage>, env: Env): Promise<void> {
  for (const msg of batch.messages) {
    const outcome = await runPage(env, msg.body);
    if (outcome.kind === "more") await env.SYNC_QUEUE.send(msg.body);
    if (outcome.kind === "retry") {
      msg.retry({ delaySeconds: Math.min(43_200, Math.max(1, Math.ceil(outcome.delayMs / 1000))) });
      continue;
    }
    msg.ack();
  }
}

export async function recentRuns(db: Db, syncId: string, limit = 20): Promise<SyncRunRow[]> {
  return db
    .select()
    .from(syncRuns)
    .where(eq(syncRuns.syncId, syncId))
    .orderBy(desc(syncRuns.startedAt))
    .limit(limit);
}
