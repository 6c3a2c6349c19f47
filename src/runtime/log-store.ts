/**
 * Where plugins' logs are kept (D1 `installation_logs`) and how they arrive. Every backend ends
 * here: the Worker Loader's tail entrypoint (log-tail.ts), the local plugin host's forward
 * (`POST /__host/logs`), the dispatch namespace's tail consumer (the Worker's `tail()` handler).
 * Records are redacted with the installation's own secrets before they are written (logs.ts);
 * traces of an installation that is no longer active are dropped.
 */
import { and, asc, eq, gt, gte, lt, or, sql } from "drizzle-orm";
import { getDb, type Db, type Statement } from "../platform/db/client";
import { installationLogs } from "../platform/db/schema";
import {
  logRecords,
  secretValuesOf,
  traceHasRecords,
  type LogRecord,
  type TraceLike,
} from "./logs";
import { installationSpec } from "./resolve";

export { LOG_LEVELS } from "./logs";

/** The newest records kept per installation. */
export const LOGS_KEPT = 1_000;
/** No record is kept longer than this. */
export const LOGS_MAX_AGE_MS = 7 * 24 * 3600 * 1000;
const ROWS_PER_INSERT = 20; // 4 parameters each: D1 binds at most 100 per statement

/** Appends records and trims the installation's history to LOGS_KEPT and LOGS_MAX_AGE_MS. */
export async function appendLogs(
  db: Db,
  installationId: string,
  records: readonly LogRecord[],
  now = Date.now(),
): Promise<void> {
  if (records.length === 0) return;
  const statements: Statement[] = [];
  // Written only while the installation is active, checked in the statement itself: a trace that
  // arrives as the installation is uninstalled (its cleanup call's) cannot outlive the uninstall.
  for (let i = 0; i < records.length; i += ROWS_PER_INSERT) {
    const rows = records
      .slice(i, i + ROWS_PER_INSERT)
      .map((r) => sql`(${r.at}, ${r.level}, ${r.message}, ${r.stack ?? null})`);
    // INSERT … SELECT names every column in table order; a NULL id is numbered by SQLite.
    statements.push(
      db.insert(installationLogs).select(
        sql`SELECT NULL, ${installationId}, column1, column2, column3, column4 FROM (VALUES ${sql.join(rows, sql`, `)})
              WHERE EXISTS (SELECT 1 FROM installations WHERE id = ${installationId} AND status = 'active')`,
      ),
    );
  }
  statements.push(
    db
      .delete(installationLogs)
      .where(
        and(
          eq(installationLogs.installationId, installationId),
          or(
            lt(installationLogs.at, now - LOGS_MAX_AGE_MS),
            sql`${installationLogs.id} <= (SELECT id FROM installation_logs WHERE installation_id = ${installationId} ORDER BY id DESC LIMIT 1 OFFSET ${LOGS_KEPT})`,
          ),
        ),
      ),
  );
  await db.batch(statements as [Statement, ...Statement[]]);
}

export interface StoredLog extends LogRecord {
  id: number;
}

/** An installation's records after cursor `after` (a record id), oldest first. */
export async function readLogs(
  db: Db,
  installationId: string,
  after: number,
  limit: number,
): Promise<StoredLog[]> {
  const rows = await db
    .select()
    .from(installationLogs)
    .where(
      and(
        eq(installationLogs.installationId, installationId),
        gt(installationLogs.id, after),
        // The age bound holds on reading too (trimming happens on the next write).
        gte(installationLogs.at, Date.now() - LOGS_MAX_AGE_MS),
      ),
    )
    .orderBy(asc(installationLogs.id))
    .limit(limit);
  return rows.map((r) => ({
    id: r.id,
    at: r.at,
    level: r.level,
    message: r.message,
    ...(r.stack ? { stack: r.stack } : {}),
  }));
}

/** The statement deleting an installation's records (batched with its uninstall). */
export function deleteLogsStatement(db: Db, installationId: string): Statement {
  return db.delete(installationLogs).where(eq(installationLogs.installationId, installationId));
}

/**
 * Records the trace of one invocation of an installation: redacted with its secrets, bounded,
 * appended. An installation that is not active (uninstalled, unknown) records nothing.
 */
export async function recordTrace(
  env: Env,
  installationId: string,
  items: readonly TraceLike[],
): Promise<void> {
  if (!traceHasRecords(items)) return;
  const spec = await installationSpec(env, installationId);
  if (!spec) return;
  await appendLogs(getDb(env.DB), installationId, logRecords(items, secretValuesOf(spec)));
}
