/** The audit log: who did what to which object. Entries never contain secrets. */
import { and, desc, eq, lt } from "drizzle-orm";
import type { Db } from "../platform/db/client";
import { insertIfPreviousChanged } from "../platform/db/guard";
import { auditLog, type AuditRow } from "../platform/db/schema";
import type { Principal } from "./principal";

export interface AuditEntry {
  orgId: string | null;
  actor: string;
  action: string;
  target?: string | null;
  details?: Record<string, unknown>;
  requestId?: string | null;
}

export function actorOf(p: Principal | null): string {
  if (!p) return "anonymous";
  if (p.role === "operator") return "operator";
  return p.userId ? `user:${p.userId}` : p.subject;
}

const auditValues = (entry: AuditEntry, now: number) => ({
  at: now,
  orgId: entry.orgId,
  actor: entry.actor,
  action: entry.action,
  target: entry.target ?? null,
  details: entry.details ?? {},
  requestId: entry.requestId ?? null,
});

/** An insert to put in the same D1 batch as the change it records. */
export function auditInsert(db: Db, entry: AuditEntry, now = Date.now()) {
  return db.insert(auditLog).values(auditValues(entry, now));
}

/**
 * The same, written only if the previous statement of the batch changed one row (the guarded
 * change it records): a request that lost a race leaves no entry (src/platform/db/guard.ts).
 */
export function auditInsertIfPreviousChanged(db: Db, entry: AuditEntry, now = Date.now()) {
  return insertIfPreviousChanged(db, auditLog, auditValues(entry, now));
}

/** Newest first; `before` is the id of the last entry of the previous page. */
export async function listAudit(
  db: Db,
  orgId: string,
  limit: number,
  before?: number,
): Promise<AuditRow[]> {
  const where = before
    ? and(eq(auditLog.orgId, orgId), lt(auditLog.id, before))
    : eq(auditLog.orgId, orgId);
  return db.select().from(auditLog).where(where).orderBy(desc(auditLog.id)).limit(limit);
}
