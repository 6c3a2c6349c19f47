import type { BatchItem } from "drizzle-orm/batch";
import { drizzle, type DrizzleD1Database } from "drizzle-orm/d1";

export type Db = DrizzleD1Database;

/** One statement of a D1 batch (`db.batch`), and a non-empty batch of them: the only batch types. */
export type Statement = BatchItem<"sqlite">;
export type Batch = [Statement, ...Statement[]];

const cache = new WeakMap<D1Database, Db>();

/** The drizzle handle for a D1 binding (one per binding object, reused across requests). */
export function getDb(d1: D1Database): Db {
  let db = cache.get(d1);
  if (!db) {
    db = drizzle(d1);
    cache.set(d1, db);
  }
  return db;
}

/** True when a D1 error is a UNIQUE constraint failure on `column` (e.g. "users.email"). */
export function isUniqueViolation(err: unknown, column?: string): boolean {
  const text = collectMessages(err);
  return text.includes("UNIQUE constraint failed") && (!column || text.includes(column));
}

function collectMessages(err: unknown): string {
  const parts: string[] = [];
  let e: unknown = err;
  for (let depth = 0; e && depth < 5; depth++) {
    if (e instanceof Error) {
      parts.push(e.message);
      e = (e as Error & { cause?: unknown }).cause;
    } else {
      parts.push(String(e));
      break;
    }
  }
  return parts.join(" | ");
}
