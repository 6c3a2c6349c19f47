/** Data access for users, organizations, memberships and invitations. */
import { and, eq, isNull, sql } from "drizzle-orm";
import type { Db } from "../platform/db/client";
import {
  invitations,
  memberships,
  organizations,
  users,
  type OrganizationRow,
  type Role,
  type UserRow,
} from "../platform/db/schema";

export async function getOrganization(db: Db, orgId: string): Promise<OrganizationRow | null> {
  const [row] = await db.select().from(organizations).where(eq(organizations.id, orgId)).limit(1);
  return row ?? null;
}

export async function getUser(db: Db, userId: string): Promise<UserRow | null> {
  const [row] = await db.select().from(users).where(eq(users.id, userId)).limit(1);
  return row ?? null;
}

export async function findUserByEmail(db: Db, email: string): Promise<UserRow | null> {
  const [row] = await db.select().from(users).where(eq(users.email, email)).limit(1);
  return row ?? null;
}

export async function getMembership(db: Db, orgId: string, userId: string) {
  const [row] = await db
    .select()
    .from(memberships)
    .where(and(eq(memberships.orgId, orgId), eq(memberships.userId, userId)))
    .limit(1);
  return row ?? null;
}

export async function listMembers(db: Db, orgId: string) {
  return db
    .select({ user: users, role: memberships.role, joinedAt: memberships.createdAt })
    .from(memberships)
    .innerJoin(users, eq(users.id, memberships.userId))
    .where(eq(memberships.orgId, orgId))
    .orderBy(memberships.createdAt)
    .limit(1000);
}

export async function countOwners(db: Db, orgId: string): Promise<number> {
  const [row] = await db
    .select({ n: sql<number>`count(*)` })
    .from(memberships)
    .where(and(eq(memberships.orgId, orgId), eq(memberships.role, "owner")));
  return row?.n ?? 0;
}

export function setRoleStatement(db: Db, orgId: string, userId: string, role: Role) {
  return db
    .update(memberships)
    .set({ role })
    .where(and(eq(memberships.orgId, orgId), eq(memberships.userId, userId)));
}

export function removeMemberStatement(db: Db, orgId: string, userId: string) {
  return db
    .delete(memberships)
    .where(and(eq(memberships.orgId, orgId), eq(memberships.userId, userId)));
}

export async function findOpenInvitation(db: Db, tokenHash: string, now: number) {
  const [row] = await db
    .select()
    .from(invitations)
    .where(and(eq(invitations.tokenHash, tokenHash), isNull(invitations.acceptedAt)))
    .limit(1);
  if (!row || row.expiresAt <= now) return null;
  return row;
}

/** Marks an invitation used; the `accepted_at IS NULL` guard makes a second use a no-op. */
export function acceptInvitationStatement(
  db: Db,
  invitationId: string,
  userId: string,
  now: number,
) {
  return db
    .update(invitations)
    .set({ acceptedAt: now, acceptedBy: userId })
    .where(and(eq(invitations.id, invitationId), isNull(invitations.acceptedAt)))
    .returning({ id: invitations.id });
}

/** Voids the open invitations of `email` to `orgId` (a new invitation replaces them). */
export function voidOpenInvitationsStatement(db: Db, orgId: string, email: string) {
  return db
    .delete(invitations)
    .where(
      and(
        eq(invitations.orgId, orgId),
        eq(invitations.email, email),
        isNull(invitations.acceptedAt),
      ),
    );
}

export function setPlanStatement(db: Db, orgId: string, plan: OrganizationRow["plan"]) {
  return db.update(organizations).set({ plan }).where(eq(organizations.id, orgId)).returning();
}
