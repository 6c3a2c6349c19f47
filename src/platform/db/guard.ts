/**
 * Statements guarded on the one before them in the same D1 batch. A batch runs its statements in
 * order in one transaction, and SQLite's `changes()` is the number of rows the previous statement
 * changed, so `… WHERE changes() = 1` makes a row (a history event, an audit entry, a counter)
 * follow the change that justifies it — or not happen at all, when a concurrent request won.
 * Chain them: each guarded statement changes one row exactly when its own guard held.
 */
import { getTableColumns, SQL, sql } from "drizzle-orm";
import type { SQLiteTable } from "drizzle-orm/sqlite-core";
import type { Db } from "./client";

/** The condition: the previous statement of this batch changed exactly one row. */
export const previousChangedOne = (): SQL => sql`changes() = 1`;

/**
 * `INSERT INTO table (…) SELECT … WHERE changes() = 1`: `values` is written only if the previous
 * statement in the batch changed exactly one row.
 *
 * @example
 * await db.batch([db.update(t).set(…).where(guard), insertIfPreviousChanged(db, events, { … })]);
 */
export function insertIfPreviousChanged<T extends SQLiteTable>(
  db: Db,
  table: T,
  values: T["$inferInsert"],
) {
  const given = values as Record<string, unknown>;
  // drizzle's INSERT … SELECT lists every insertable column in table order: supply each one (an
  // omitted column takes its static default, else NULL — which an INTEGER PRIMARY KEY numbers).
  const params = Object.entries(getTableColumns(table)).map(([key, col]) =>
    given[key] !== undefined
      ? sql.param(given[key], col)
      : col.default !== undefined && !(col.default instanceof SQL)
        ? sql.param(col.default, col)
        : sql`NULL`,
  );
  return db
    .insert(table)
    .select(sql`SELECT ${sql.join(params, sql`, `)} WHERE ${previousChangedOne()}`);
}
