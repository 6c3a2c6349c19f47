/** The audit log: who did what to which object. Entries never contain secrets. */
import { and, desc, eq, lt } from "drizzle-orm";
import type { Db } from "../db/client";
import { auditLog, type AuditRow } from "../db/schema";
import type { Principal } from "../auth/principal";

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

/** An insert to put in the same D1 batch as the change it records. */
export function auditInsert(db: Db, entry: AuditEntry, now = Date.now()) {
  return db.insert(auditLog).values({
    at: now,
    orgId: entry.orgId,
    actor: entry.actor,
    action: entry.action,
    target: entry.target ?? null,
    details: JSON.stringify(entry.details ?? {}),
    requestId: entry.requestId ?? null,
  });
}

/** Newest first; `before` is the id of the last entry of the previous page. */
export async function listAudit(db: Db, orgId: string, limit: number, before?: number): Promise<AuditRow[]> {
  const where = before ? and(eq(auditLog.orgId, orgId), lt(auditLog.id, before)) : eq(auditLog.orgId, orgId);
  return db.select().from(auditLog).where(where).orderBy(desc(auditLog.id)).limit(limit);
}
