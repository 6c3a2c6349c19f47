/** Data access for API keys. Functions take `db` so that tests call them directly. */
import { and, desc, eq, isNull, type SQL } from "drizzle-orm";
import type { Db } from "../platform/db/client";
import {
  apiKeys,
  memberships,
  organizations,
  type ApiKeyRow,
  type Plan,
  type Role,
} from "../platform/db/schema";
import { newId } from "../platform/crypto/encoding";
import { sha256Hex } from "../platform/crypto/hash";
import { DISPLAY_PREFIX_LENGTH, generateApiKey } from "./tokens/api-key";

export const DEFAULT_KEY_LIFETIME_MS = 90 * 24 * 3600_000;
export const MAX_KEY_LIFETIME_MS = 366 * 24 * 3600_000;

/** Keys expire after 90 days unless the creator chooses otherwise (at most a year). */
export function defaultKeyExpiry(now: number): number {
  return now + DEFAULT_KEY_LIFETIME_MS;
}

/** What authentication needs to know about a key, joined with its holder's membership. */
export interface KeyRecord {
  keyId: string;
  orgId: string;
  userId: string;
  scopes: string[];
  expiresAt: number | null;
  revokedAt: number | null;
  /** Null when the holder is no longer a member of the organization. */
  role: Role | null;
  plan: Plan;
}

export async function findKeyByHash(db: Db, hash: string): Promise<KeyRecord | null> {
  return findKeyRecord(db, eq(apiKeys.hash, hash));
}

/** The key behind a JWT (its `client_id`), with its holder's membership as it is now. */
export async function findKeyRecordById(db: Db, keyId: string): Promise<KeyRecord | null> {
  return findKeyRecord(db, eq(apiKeys.id, keyId));
}

async function findKeyRecord(db: Db, where: SQL): Promise<KeyRecord | null> {
  const [row] = await db
    .select({
      keyId: apiKeys.id,
      orgId: apiKeys.orgId,
      userId: apiKeys.userId,
      scopes: apiKeys.scopes,
      expiresAt: apiKeys.expiresAt,
      revokedAt: apiKeys.revokedAt,
      role: memberships.role,
      plan: organizations.plan,
    })
    .from(apiKeys)
    .innerJoin(organizations, eq(organizations.id, apiKeys.orgId))
    .leftJoin(
      memberships,
      and(eq(memberships.orgId, apiKeys.orgId), eq(memberships.userId, apiKeys.userId)),
    )
    .where(where)
    .limit(1);
  if (!row) return null;
  return { ...row, scopes: row.scopes };
}

export async function findKeyById(db: Db, keyId: string): Promise<ApiKeyRow | null> {
  const [row] = await db.select().from(apiKeys).where(eq(apiKeys.id, keyId)).limit(1);
  return row ?? null;
}

export interface NewKey {
  /** The full secret: returned to the caller once, never stored. */
  secret: string;
  row: typeof apiKeys.$inferInsert;
}

/** Generates a key and the row that stores its hash; the caller inserts it (often in a batch). */
export async function prepareKey(input: {
  orgId: string;
  userId: string;
  name: string;
  scopes: string[];
  expiresAt: number | null;
  now: number;
}): Promise<NewKey> {
  const secret = generateApiKey();
  return {
    secret,
    row: {
      id: newId("key"),
      orgId: input.orgId,
      userId: input.userId,
      name: input.name,
      prefix: secret.slice(0, DISPLAY_PREFIX_LENGTH),
      hash: await sha256Hex(secret),
      scopes: input.scopes,
      createdAt: input.now,
      expiresAt: input.expiresAt,
      revokedAt: null,
    },
  };
}

export async function listKeys(db: Db, orgId: string, userId: string | null): Promise<ApiKeyRow[]> {
  const where = userId
    ? and(eq(apiKeys.orgId, orgId), eq(apiKeys.userId, userId))
    : eq(apiKeys.orgId, orgId);
  return db.select().from(apiKeys).where(where).orderBy(desc(apiKeys.createdAt)).limit(500);
}

/** Marks a key revoked; returns false when it does not exist in `orgId` or was already revoked. */
export function revokeKeyStatement(db: Db, orgId: string, keyId: string, now: number) {
  return db
    .update(apiKeys)
    .set({ revokedAt: now })
    .where(and(eq(apiKeys.id, keyId), eq(apiKeys.orgId, orgId), isNull(apiKeys.revokedAt)))
    .returning({ id: apiKeys.id });
}

/** Revokes every live key a user holds in an organization (when they leave it). */
export function revokeUserKeysStatement(db: Db, orgId: string, userId: string, now: number) {
  return db
    .update(apiKeys)
    .set({ revokedAt: now })
    .where(and(eq(apiKeys.orgId, orgId), eq(apiKeys.userId, userId), isNull(apiKeys.revokedAt)))
    .returning({ id: apiKeys.id });
}
